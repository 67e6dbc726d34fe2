"""Thread-side primitives on this host: namespaces, links, processes, iptables.

All take a Deadline; commands go through :func:`gam.drivers.proc.thd_run`
(``ip``, ``tc``, ``bridge`` and ``iptables`` from iproute2/iptables).
Reading state (which namespaces, links and processes exist) uses /run/netns,
/sys/class/net and /proc directly: no process per question.
"""
import errno
import json
import os
import shutil
import signal
import threading
import time

from gam.drivers.base import DriverError
from gam.drivers.proc import thd_run

NETNS_DIR = "/run/netns"
# Concurrent `ip netns add` can stack /run/netns mounts: one at a time.
_netns_lock = threading.Lock()


# -- ip / tc ------------------------------------------------------------------

def ip(args, deadline, netns=None, check=True, step=None):
    argv = ["ip"] + (["-n", netns] if netns else []) + list(args)
    return thd_run(argv, deadline, check=check, step=step)


def batch(tool, lines, deadline, netns=None, step=None):
    """Run ``tool -batch -`` (ip, tc or bridge) on ``lines``; one process."""
    if not lines:
        return None
    argv = [tool] + (["-n", netns] if netns else []) + ["-batch", "-"]
    return thd_run(argv, deadline, input="\n".join(lines) + "\n", step=step)


def links_json(deadline, netns=None, kind=None):
    args = ["-j", "link", "show"] + (["type", kind] if kind else [])
    res = ip(args, deadline, netns=netns, step="listing interfaces")
    return json.loads(res.stdout or "[]")


def host_links():
    """Interface names in the host's network namespace."""
    try:
        return os.listdir("/sys/class/net")
    except OSError:
        return []


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def delete_link(name, deadline, netns=None):
    """Delete an interface; absent is fine. Returns True if it was there."""
    res = ip(["link", "del", "dev", name], deadline, netns=netns, check=False,
             step=f"deleting {name}")
    if res.returncode == 0:
        return True
    if "Cannot find device" in res.stderr or "does not exist" in res.stderr:
        return False
    raise DriverError(f"deleting interface {name}: {res.stderr.strip() or 'failed'}")


def wait_link_gone(name, deadline):
    while link_exists(name):
        deadline.check(f"waiting for {name} to go")
        time.sleep(0.01)


# -- network namespaces -------------------------------------------------------

def netns_path(name):
    return os.path.join(NETNS_DIR, name)


def netns_exists(name):
    return os.path.exists(netns_path(name))


def list_netns():
    try:
        return os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []


def netns_add(name, deadline):
    with _netns_lock:
        ip(["netns", "add", name], deadline, step=f"creating network namespace {name}")


def netns_delete(name, deadline):
    if not netns_exists(name):
        return False
    with _netns_lock:
        res = ip(["netns", "del", name], deadline, check=False,
                 step=f"deleting network namespace {name}")
    if res.returncode != 0 and netns_exists(name):
        raise DriverError(f"deleting network namespace {name}: {res.stderr.strip()}")
    return True


# -- processes ----------------------------------------------------------------

def _ns_id(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _pids():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def processes_in(name):
    """``[(pid, comm, in_host_pid_ns, cmdline)]`` of live processes in
    network namespace ``name`` (zombies have no namespaces and are not listed)."""
    try:
        target = _ns_id(netns_path(name))
    except FileNotFoundError:
        return []
    host_pid = _ns_id("/proc/self/ns/pid")
    out = []
    for pid in _pids():
        try:
            if _ns_id(f"/proc/{pid}/ns/net") != target:
                continue
            same = _ns_id(f"/proc/{pid}/ns/pid") == host_pid
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue            # gone meanwhile, or a zombie
        out.append((pid, comm, same, [c.decode("utf-8", "replace") for c in cmd if c]))
    return out


def marked_processes(marker):
    """``{pid: argv}`` of processes whose argv holds ``marker`` (any netns)."""
    out = {}
    needle = marker.encode()
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if needle in raw and raw:
            out[pid] = [c.decode("utf-8", "replace") for c in raw.split(b"\0") if c]
    return out


def marked_environ(name):
    """``{pid: value}`` of processes whose environment sets ``name``."""
    out = {}
    needle = b"\0" + name.encode() + b"="
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                raw = b"\0" + f.read()
        except OSError:
            continue
        at = raw.find(needle)
        if at >= 0:
            value = raw[at + len(needle):].split(b"\0", 1)[0]
            out[pid] = value.decode("utf-8", "replace")
    return out


def kill_and_wait(pids_fn, deadline, what):
    """SIGKILL whatever ``pids_fn()`` lists until it lists nothing."""
    while True:
        pids = pids_fn()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError as e:
                raise DriverError(f"cannot stop process {pid} of {what}: {e.strerror}; "
                                  "the namespace driver must run as root") from e
        deadline.check(f"waiting for the processes of {what} to end")
        time.sleep(0.01)


# -- iptables -----------------------------------------------------------------

def iptables_available():
    return shutil.which("iptables") is not None


def bridge_netfilter_on():
    """True when bridged frames go through iptables (br_netfilter)."""
    try:
        with open("/proc/sys/net/bridge/bridge-nf-call-iptables") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def forward_rule(bridge):
    return ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]


def iptables(args, deadline, check=True, step=None):
    return thd_run(["iptables", "-w", "5"] + list(args), deadline, check=check, step=step)


def forward_rules(deadline):
    """Bridge names that have our FORWARD accept rule (iptables -S)."""
    res = iptables(["-S", "FORWARD"], deadline, step="listing FORWARD rules")
    out = []
    for line in res.stdout.splitlines():
        parts = line.split()
        if (len(parts) == 8 and parts[:2] == ["-A", "FORWARD"] and parts[2] == "-i"
                and parts[4] == "-o" and parts[3] == parts[5] and parts[6:] == ["-j", "ACCEPT"]):
            out.append(parts[3])
    return out


def add_forward_rule(bridge, deadline):
    iptables(["-I"] + forward_rule(bridge), deadline,
             step=f"letting bridged traffic of {bridge} through iptables")


def delete_forward_rule(bridge, deadline):
    """Remove every copy of the rule; absent is fine."""
    while iptables(["-C"] + forward_rule(bridge), deadline, check=False).returncode == 0:
        iptables(["-D"] + forward_rule(bridge), deadline, step=f"removing the rule of {bridge}")


# -- files --------------------------------------------------------------------

def remove_tree(path):
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise DriverError(f"cannot remove {path}: {e.strerror}") from e
