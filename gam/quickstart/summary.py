"""What ``gam quickstart`` prints once it is up: where everything is, what to try.

Each fact is one line ``  <label>  <value>`` (two or more spaces between),
so that people read it and scripts can pick values out; the same facts are
in ``summary.json``. The last line starts with :data:`READY`.
"""
import datetime
import shlex

from gam.ops.text import relative
from gam.quickstart.layout import DEFAULT_DIR

READY = "Ready"
UTC = datetime.timezone.utc


def _rows(rows):
    width = max(len(label) for label, _ in rows)
    return [f"  {label.ljust(width)}  {value}" for label, value in rows]


def _notes(notes):
    """"created: ...; reused: ..." from {what: state}."""
    by_state = {}
    for what, state in notes.items():
        by_state.setdefault(state, []).append(what)
    return "; ".join(f"{state}: {', '.join(whats)}" for state, whats in by_state.items())


def render(summary, *, now=None):
    """The printed summary of a ``summary.json`` dict; a list of lines."""
    now = now or datetime.datetime.now(UTC)
    ex = summary["experimenter"]
    notes = summary.get("notes", {})
    q = shlex.quote
    directory = summary["directory"]
    expires = datetime.datetime.strptime(ex["slice_expires"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC)
    lines = [f"gam quickstart: a GENI testbed in a box, state in {directory}", ""]
    lines += _rows([
        ("AM (AM API v3)", summary["am_url"]),
        ("AM URN", summary["am_urn"]),
        ("registry (SFA)", summary["registry_url"]),
        ("authority", summary['authority_urn']),
        ("trust root", summary["trust_root"]),
        ("database", summary["database"]),
        ("driver", f"Linux namespaces, prefix {summary['prefix']}, nodes in "
                   f"{summary['netns_dir']}"),
        ("inventory", summary["inventory"]),
        ("log", summary["log"]),
    ])
    lines += ["", f"Experimenter {ex['user']} ({ex['user_urn']})"]
    lines += _rows([
        ("certificate", ex["cert"]),
        ("private key", ex["key"]),
        ("ssh key", ex["ssh_key"]),
        ("ssh public key", ex["ssh_public_key"]),
        ("user credential", ex["user_credential"]),
        ("slice", f"{ex['slice_urn']}, expires {ex['slice_expires']} "
                  f"({relative(expires, now)})"),
        ("slice credential", ex["slice_credential"]),
        ("omni_config", ex["omni_config"]),
        ("geni-lib context", ex["context"]),
        ("geni-lib data dir", ex["geni_lib_dir"]),
        ("request RSpec", ex["rspec"]),
    ])
    if notes:
        lines += ["", f"This start: {_notes(notes)}"]
    omni = f"omni -c {q(ex['omni_config'])} -a gam -V3"
    dir_opt = "" if directory == DEFAULT_DIR else f" --dir {q(directory)}"
    lines += [
        "",
        "Try next: two nodes on a LAN, with omni (geni-tools) ...",
        f"  {omni} allocate {ex['slice_name']} {q(ex['rspec'])}",
        f"  {omni} provision {ex['slice_name']}",
        f"  gam wait {ex['slice_name']}{dir_opt}",
        f"  {omni} describe {ex['slice_name']}     # logins: host and port of each node",
        f"  ssh -i {q(ex['ssh_key'])} -p PORT {ex['user']}@HOST",
        f"  {omni} delete {ex['slice_name']}",
        "... or the same in Python, standard library only (it prints the ssh commands):",
        f"  python3 -m gam.quickstart.demo{dir_opt}",
        f"Watch it: gam status{dir_opt}; gam slice show {ex['slice_name']}{dir_opt}",
        "",
        f"{READY} (pid {summary['pid']}). Stop with Ctrl-C or: gam quickstart --stop{dir_opt}",
    ]
    return lines


def parse(lines):
    """``{label: value}`` of the printed summary lines (the inverse of :func:`render`)."""
    import re
    out = {}
    for line in lines:
        m = re.match(r"^  (\S.*?)\s{2,}(\S.*)$", line)
        if m:
            out.setdefault(m.group(1), m.group(2))
    return out


__all__ = ["render", "parse", "READY"]
