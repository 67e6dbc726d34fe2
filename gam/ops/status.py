"""``gam status`` and ``gam slice show``: the AM's slices at a glance.

Both read the AM's database through its configuration (never the wire), so
they show what the AM itself holds, also for slices whose credentials the
operator does not have; ``slice show`` adds the registry's record of the
slice when a registry configuration is at hand.
"""
import datetime
import sys

from gam.config import load_config
from gam.errors import ConfigError
from gam.ops import sources, views
from gam.ops.text import counted, relative, short_state, stamp, table

UTC = datetime.timezone.utc


def _now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def sliver_lines(slivers, now, *, with_slice=None):
    """The table of slivers (with a SLICE column when ``with_slice`` names it)."""
    headers = ["CLIENT_ID", "KIND", "TYPE", "HOST", "ALLOCATION", "OPERATIONAL", "EXPIRES",
               "LOGIN"]
    if with_slice is not None:
        headers.insert(0, "SLICE")
    rows = []
    for s in slivers:
        row = [s.client_id, s.kind, s.type, s.host, short_state(s.allocation),
               short_state(s.operational), relative(s.expires, now),
               ", ".join(s.logins) or "-"]
        if with_slice is not None:
            row.insert(0, with_slice(s))
        rows.append(row)
    lines = table(headers, rows)
    for s in slivers:
        if s.error:
            lines.append(f"  ! {s.client_id}: {s.error}")
    return lines


def render_overview(overview, now, *, source):
    lines = [f"gam status: {source}, at {stamp(now)}", ""]
    n = sum(len(s.slivers) for s in overview.slices)
    lines.append(f"SLICES ({len(overview.slices)} with live slivers"
                 + (f", {overview.idle_slices} without" if overview.idle_slices else "") + ")")
    if overview.slices:
        lines += table(["SLICE", "EXPIRES", "SLIVERS", "STATES"], [
            [s.name + (" (shut down)" if s.shutdown else ""), relative(s.expires, now),
             len(s.slivers), counted(v.operational for v in s.slivers)]
            for s in overview.slices])
    else:
        lines.append("  none")
    lines += ["", f"SLIVERS ({n})"]
    if n:
        by_urn = {v.urn: s.name for s in overview.slices for v in s.slivers}
        lines += sliver_lines([v for s in overview.slices for v in s.slivers], now,
                              with_slice=lambda v: by_urn[v.urn])
    else:
        lines.append("  none")
    lines += ["", "INVENTORY (in use now)"]
    lines += table(["HOST", "SLIVERS", "CORES", "MEMORY", "WHOLE"], [
        [h.name, h.slivers, f"{h.cores_used}/{h.cores}",
         f"{h.memory_used}/{h.memory_mb} MB", "yes" if h.whole else "-"]
        for h in overview.hosts])
    lines.append(f"  VLAN tags: {overview.vlan_used} of {overview.vlan_total} in use")
    return lines


def render_slice(name, urn, am_slice, record, now):
    """Lines for one slice: the registry's record (or None) and the AM's view."""
    lines = [f"slice {name}  {urn}"]
    if record is not None:
        who = ", ".join(str(u.name) for u in record.researchers) or "-"
        state = "removed" if record.removed_at else (
            "expired" if record.expires and record.expires <= now else "live")
        lines.append(f"  registry  {state}, expires {stamp(record.expires)} "
                     f"({relative(record.expires, now)}), researchers: {who}")
    if am_slice is None:
        lines.append("  AM        no slivers here ever")
        return lines
    lines.append(f"  AM        expires {stamp(am_slice.expires)} "
                 f"({relative(am_slice.expires, now)}), {len(am_slice.slivers)} live slivers: "
                 f"{counted(s.operational for s in am_slice.slivers)}"
                 + (", shut down" if am_slice.shutdown else ""))
    if am_slice.slivers:
        lines.append("")
        lines += sliver_lines(am_slice.slivers, now)
        lines.append("")
        lines += ["  " + line for line in table(["SLIVER", "URN"], [
            [s.client_id, s.urn] for s in am_slice.slivers], indent="")]
    return lines


def cmd_status(args):
    try:
        path = sources.am_config_path(args.config, args.dir)
        config = load_config(path)
        now = _now()
        overview = views.read(config.database_url, views.thd_overview, config.inventory, now)
    except ConfigError as e:
        print(f"gam status: {e}", file=sys.stderr)
        return 2
    print("\n".join(render_overview(overview, now, source=f"AM {config.am_urn} ({path})")))
    return 0


def _registry_record(registry_config, name):
    """``(slice URN, record or None)`` from the registry, or None without one."""
    if registry_config is None:
        return None
    from gam.registry import hrn as hrnmod
    from gam.registry import records
    from gam.registry.config import load_settings
    settings = load_settings(registry_config)
    if name.lower().startswith("urn:") or "." in name:
        urn = hrnmod.one_urn(name, "slice")
    else:
        urn = hrnmod.one_urn(f"{hrnmod.namespace_hrn(settings.authority)}.{name}", "slice")

    def thd(conn):
        return records.thd_get(conn, urn, include_removed=True)
    return urn, views.read(settings.database_url, thd, what="the registry's database")


def cmd_slice_show(args):
    """``gam slice show NAME``: exit status 0, or 1 when the slice is unknown."""
    try:
        am_path = None
        try:
            am_path = sources.am_config_path(args.am_config, args.dir)
        except ConfigError:
            if args.am_config or args.dir:
                raise
        reg_path = sources.registry_config_path(args.config, args.dir)
        if am_path is None and reg_path is None:
            raise ConfigError("no configuration found; pass --dir (a quickstart), "
                              "--am-config (the AM's gam.yaml) or -c (registry.yaml)")
        now = _now()
        found = _registry_record(reg_path, args.name) if reg_path else None
        urn, record = found if found else (None, None)
        am_slice = None
        if am_path is not None:
            config = load_config(am_path)
            if urn is None:
                urns = views.read(config.database_url, views.thd_slice_urns, args.name)
                if len(urns) > 1:
                    raise ConfigError(f"{args.name} names {len(urns)} slices here ("
                                      + ", ".join(urns) + "); give the full URN")
                urn = urns[0] if urns else None
            if urn is not None:
                am_slice = views.read(config.database_url, views.thd_slice, str(urn))
    except ConfigError as e:
        print(f"gam slice show: {e}", file=sys.stderr)
        return 2
    except Exception as e:   # a malformed name (URNError, BadArgs) says what it expects
        print(f"gam slice show: {e}", file=sys.stderr)
        return 2
    if urn is None or (record is None and am_slice is None):
        print(f"gam slice show: no slice {args.name} at the registry or the AM; "
              "'gam status' lists the AM's slices", file=sys.stderr)
        return 1
    print("\n".join(render_slice(views.slice_name(str(urn)), urn, am_slice, record, now)))
    return 0


__all__ = ["cmd_status", "cmd_slice_show", "render_overview", "render_slice", "sliver_lines"]
