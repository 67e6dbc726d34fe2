"""What the operator views read from the AM's database (read-only).

The ``thd_`` functions take a connection and return plain dataclasses;
:func:`read` runs one of them in a read-only transaction on an engine of
its own (the commands run outside any reactor, beside a running AM: SQLite
in WAL mode and PostgreSQL both let them read while the AM writes).
"""
import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from gam.aggregate.resources import (
    VLAN_POOL, cores_resource, host_resource, memory_resource)
from gam.auth.urn import URN, URNError
from gam.db.engine import READONLY, make_engine
from gam.db.model import slices as slice_table
from gam.db.model import slivers as sliver_table
from gam.db.slices import thd_get_slice
from gam.db.slivers import thd_list_slivers
from gam.errors import ConfigError
from gam.schedule.status import thd_usage_all


@dataclass(frozen=True)
class SliverRow:
    urn: str
    client_id: str
    kind: str
    type: str
    host: str
    allocation: str
    operational: str
    expires: object
    error: str
    logins: tuple          # "user@host:port"


@dataclass(frozen=True)
class SliceRow:
    urn: str
    expires: object
    shutdown: bool
    slivers: tuple         # SliverRow, live ones

    @property
    def name(self):
        return slice_name(self.urn)


@dataclass(frozen=True)
class HostUse:
    name: str
    whole: bool            # held by an exclusive sliver
    cores_used: int
    cores: int
    memory_used: int
    memory_mb: int
    slivers: int


@dataclass(frozen=True)
class Overview:
    slices: tuple          # SliceRow with live slivers
    idle_slices: int       # slices known here with no live sliver
    hosts: tuple           # HostUse
    vlan_used: int
    vlan_total: int


def slice_name(urn):
    try:
        return URN.parse(urn).name
    except URNError:
        return urn


def logins_of(data):
    out = []
    for login in ((data or {}).get("driver") or {}).get("logins") or ():
        try:
            out.append(f"{login['username']}@{login['hostname']}:{int(login.get('port', 22))}")
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(out)


def sliver_row(sliver):
    return SliverRow(
        urn=sliver.urn, client_id=sliver.client_id, kind=sliver.kind,
        type=sliver.sliver_type or sliver.resource_type,
        host=(sliver.data or {}).get("host") or "-",
        allocation=sliver.allocation_state, operational=sliver.operational_state,
        expires=sliver.expires, error=sliver.error or "", logins=logins_of(sliver.data))


def thd_slice(conn, urn):
    """The slice ``urn`` with its live slivers, or None when unknown here."""
    found = thd_get_slice(conn, urn)
    if found is None:
        return None
    return SliceRow(found.urn, found.expires, found.shutdown,
                    tuple(sliver_row(s) for s in thd_list_slivers(conn, urn)))


def thd_slice_urns(conn, name):
    """URNs of the slices known here whose URN is ``name`` or whose name is."""
    urns = conn.execute(sa.select(slice_table.c.urn).order_by(slice_table.c.urn)).scalars()
    wanted = name.lower()
    return [u for u in urns if u.lower() == wanted or slice_name(u).lower() == wanted]


def thd_live_count(conn):
    """``(live slivers, slices they are in)``."""
    row = conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(
        sliver_table.c.slice_id))).where(sliver_table.c.deleted_at.is_(None))).one()
    return int(row[0]), int(row[1])


def thd_overview(conn, inventory, now):
    """Slices with live slivers, and the inventory's use at ``now``."""
    live_ids = sa.select(sliver_table.c.slice_id).where(sliver_table.c.deleted_at.is_(None))
    urns = conn.execute(sa.select(slice_table.c.urn).where(slice_table.c.id.in_(live_ids))
                        .order_by(slice_table.c.urn)).scalars().all()
    total = conn.execute(sa.select(sa.func.count()).select_from(slice_table)).scalar()
    slices = tuple(thd_slice(conn, u) for u in urns)
    usage = {u.resource: u for u in thd_usage_all(conn, now)}
    per_host = {}
    for s in slices:
        for sliver in s.slivers:
            if sliver.kind == "node":
                per_host[sliver.host] = per_host.get(sliver.host, 0) + 1
    hosts = []
    for host in inventory.hosts:
        whole = usage.get(host_resource(host.name))
        cores = usage.get(cores_resource(host.name))
        memory = usage.get(memory_resource(host.name))
        hosts.append(HostUse(
            name=host.name, whole=bool(whole and whole.used),
            cores_used=cores.used if cores else 0, cores=host.cores,
            memory_used=memory.used if memory else 0, memory_mb=host.memory_mb,
            slivers=per_host.get(host.name, 0)))
    vlan = usage.get(VLAN_POOL)
    return Overview(slices=slices, idle_slices=int(total) - len(slices), hosts=tuple(hosts),
                    vlan_used=vlan.used if vlan else 0, vlan_total=vlan.capacity if vlan else 0)


def read(url, fn, *args, what="the AM's database"):
    """Run ``fn(conn, *args)`` in a read-only transaction on ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or not os.path.exists(path):
            raise ConfigError(f"{what} {path or url} does not exist yet: it is made when the "
                              "service first starts (gam am, or gam quickstart)")
    engine = make_engine(url, pool_size=1)
    try:
        with engine.execution_options(**{READONLY: True}).begin() as conn:
            return fn(conn, *args)
    except sa.exc.OperationalError as e:
        raise ConfigError(f"cannot read {what} ({url}): {e.orig}; has the service started "
                          "once, so that its tables exist?") from None
    finally:
        engine.dispose()


__all__ = ["SliverRow", "SliceRow", "HostUse", "Overview", "thd_slice", "thd_slice_urns",
           "thd_live_count", "thd_overview", "read", "slice_name", "logins_of"]
