"""The processes of a node: its init + sshd, and its login forwarder.

**The node.** ``nsenter --net=/run/netns/NS unshare --mount --uts --ipc
--pid --fork --kill-child --mount-proc --propagation slave sh -c
INIT_SCRIPT``: inside the node's network namespace, new mount, UTS, IPC
and PID namespaces whose first process (PID 1) sets the host name, mounts
what the node's ``fstab`` lists in one ``mount -a`` (a sysfs of the
node's network, the node's passwd, group, shadow, hosts, /etc/ssh, /home
and /run over the host's, an empty tmpfs over the driver's state folder,
private /tmp, /var/tmp and /dev/shm) and becomes ``sshd -D``. Mounts are
slaves of the host's: nothing the node mounts reaches the host, and when
the host removes another node's namespace that reaches in (no node holds
on to another's namespace). Killing that PID 1 ends every process of the
node and its mounts (the kernel does that for a PID namespace), which is
geni_stop; geni_start runs it again.

**The login forwarder.** The AM opens the login port in the host's
network namespace and hands the listening socket (as fd 3, socket
activation) to a relay running in the node's network namespace as user
nobody, which connects each login to the node's sshd on 127.0.0.1:22:
``systemd-socket-proxyd`` where installed (C, splice), else ``forward.py``
(standard library Python). It is not in the node's PID namespace, so
geni_stop leaves it alone. Sockets keep the namespace they were made in,
so no routing, NAT rule or management interface joins a node to the host.

Processes started here are children of the AM, kept in a table and reaped
when stopped. They carry ``GAM_NODE=NS`` in their environment so that
clean_restart finds strays even outside a namespace.
"""
import errno
import os
import random
import shutil
import socket
import subprocess
import sys
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gam.drivers.base import DriverError
from gam.drivers.netns import host

MARK = "GAM_NODE"
INIT_ARGV0 = "gam-node-init"
FORWARD_MARK = "--gam-forward"
FORWARD_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "forward.py")
PROXYD = ("/lib/systemd/systemd-socket-proxyd", "/usr/lib/systemd/systemd-socket-proxyd")
NOBODY = 65534
LOG = "node.log"
HOST_KEY = "ssh_host_ed25519_key"

INIT_SCRIPT = r"""set -eu
echo "$1" > /proc/sys/kernel/hostname
echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range 2>/dev/null || :
mount -a -T "$2"
exec "$3" -D -e -f /etc/ssh/sshd_config
"""

# fd 0 (the listening socket) becomes fd 3, as socket activation wants.
PROXY_SCRIPT = r"""exec 3<&0 </dev/null
export LISTEN_PID=$$
exec nsenter --net="$1" -- setpriv --reuid=65534 --regid=65534 --clear-groups -- \
    "$2" --connections-max=64 127.0.0.1:22
"""

#: Where the node's own files go over the host's (source under the node folder).
BINDS = (("etc/passwd", "/etc/passwd"), ("etc/group", "/etc/group"),
         ("etc/shadow", "/etc/shadow"), ("etc/hostname", "/etc/hostname"),
         ("etc/hosts", "/etc/hosts"), ("ssh", "/etc/ssh"), ("home", "/home"), ("run", "/run"))
TMPFS = (("gam-tmp", "/tmp", "mode=1777,nosuid,nodev"),
         ("gam-vartmp", "/var/tmp", "mode=1777,nosuid,nodev"),
         ("gam-shm", "/dev/shm", "mode=1777,nosuid,nodev"))

SSHD_CONFIG = """\
# Written by gam for node {hostname}; rewritten at every start.
Port 22
HostKey /etc/ssh/{host_key}
PidFile none
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowGroups {group}
StrictModes yes
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 64:30:256
Subsystem sftp internal-sftp
"""

_lock = threading.Lock()
_children = {}          # netns name -> {"init": Popen, "forward": Popen}


def _register(ns, role, proc):
    with _lock:
        old = _children.setdefault(ns, {}).get(role)
        _children[ns][role] = proc
    if old is not None:
        old.poll()


def reap(ns, roles=("init", "forward"), timeout=2.0):
    """Collect the exit status of our children for ``ns`` (no zombies)."""
    with _lock:
        procs = _children.get(ns, {})
        mine = [procs.pop(r) for r in roles if r in procs]
        if ns in _children and not _children[ns]:
            del _children[ns]
    for proc in mine:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


def reap_finished():
    """Collect any child that ended by itself."""
    with _lock:
        procs = [p for roles in _children.values() for p in roles.values()]
    for p in procs:
        p.poll()


# -- preparing ------------------------------------------------------------------

def thd_write_ssh(node_dir, hostname, group):
    """sshd_config and (once) an ed25519 host key; returns the public key line."""
    ssh = os.path.join(node_dir, "ssh")
    os.makedirs(ssh, mode=0o755, exist_ok=True)
    key = os.path.join(ssh, HOST_KEY)
    if not os.path.exists(key):
        private = ed25519.Ed25519PrivateKey.generate()
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
        public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH)
        with open(key + ".pub", "wb") as f:
            f.write(public + f" gam node {hostname}\n".encode())
    with open(os.path.join(ssh, "sshd_config"), "w", encoding="utf-8") as f:
        f.write(SSHD_CONFIG.format(hostname=hostname, host_key=HOST_KEY, group=group))
    with open(key + ".pub", encoding="utf-8") as f:
        return " ".join(f.read().split()[:2])


def _fstab_path(path):
    return path.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")


def thd_write_fstab(node_dir, hide):
    """The node's mounts (see module doc); a fresh /run folder. Returns its path."""
    run = os.path.join(node_dir, "run")
    shutil.rmtree(run, ignore_errors=True)
    os.makedirs(os.path.join(run, "sshd"), mode=0o755)
    os.chmod(run, 0o755)
    lines = ["gam-sys /sys sysfs rw,nosuid,nodev,noexec 0 0"]
    covered = [t for _, t in BINDS[5:]] + [t for _, t, _ in TMPFS]
    for src, target in BINDS:
        if os.path.exists(target):
            lines.append(f"{_fstab_path(os.path.join(node_dir, src))} {target} none bind 0 0")
    if not any(hide == c or hide.startswith(c + "/") for c in covered):
        lines.append(f"gam-hidden {_fstab_path(hide)} tmpfs mode=0700,size=64k 0 0")
    lines += [f"{name} {target} tmpfs {opts} 0 0" for name, target, opts in TMPFS]
    path = os.path.join(node_dir, "fstab")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def log_tail(node_dir, lines=5):
    try:
        with open(os.path.join(node_dir, LOG), encoding="utf-8", errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(t.strip() for t in tail if t.strip())


# -- the node's own processes ---------------------------------------------------

def _env(ns):
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", MARK: ns}


def thd_spawn_node(ns, node_dir, hostname, hide, sshd):
    """Start the node's PID 1 (see module doc); returns at once."""
    fstab = thd_write_fstab(node_dir, hide)
    argv = ["nsenter", f"--net={host.netns_path(ns)}", "--", "unshare", "--mount", "--uts",
            "--ipc", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation",
            "slave", "--", "/bin/sh", "-c", INIT_SCRIPT, INIT_ARGV0, hostname, fstab, sshd]
    with open(os.path.join(node_dir, LOG), "ab") as log:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=_env(ns), start_new_session=True, close_fds=True)
        except OSError as e:
            raise DriverError(f"cannot start the node's processes: {e.strerror}") from e
    _register(ns, "init", proc)


def node_pids(ns):
    """The node's own processes (its PID namespace and the unshare above it)."""
    return [pid for pid, _, same, argv in host.processes_in(ns)
            if not same or INIT_ARGV0 in argv]


def thd_stop_node(ns, deadline):
    """Kill every process of the node (not the forwarder) and reap them."""
    host.kill_and_wait(lambda: node_pids(ns), deadline, f"node {ns}")
    reap(ns, ("init",))


def thd_status(ns):
    """``{"node": bool, "sshd": bool, "forward": bool}`` from /proc."""
    reap_finished()
    procs = host.processes_in(ns)
    marked = host.marked_environ(MARK)
    return {"node": any(not same for _, _, same, _ in procs),
            "sshd": any(comm == "sshd" and not same for _, comm, same, _ in procs),
            "forward": any(same and marked.get(pid) == ns and INIT_ARGV0 not in argv
                           for pid, _, same, argv in procs)}


# -- logins ---------------------------------------------------------------------

def open_login_socket(bind, ports, deadline, exact=None):
    """A listening socket on ``bind`` and a free port of ``ports``
    (``(0, 0)``: any), or exactly port ``exact``."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    if exact:
        candidates = [exact]
    elif ports == (0, 0):
        candidates = [0]
    else:
        first, last = ports
        candidates = list(range(first, last + 1))
        random.shuffle(candidates)
    last_error = None
    for port in candidates:
        deadline.check("finding a free login port")
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind, port))
            sock.listen(64)
            return sock
        except OSError as e:
            sock.close()
            if e.errno != errno.EADDRINUSE:
                raise DriverError(f"cannot listen on {bind} port {port} for logins: "
                                  f"{e.strerror}; check login.bind in the driver configuration") from e
            last_error = e
    span = f"port {exact}" if exact else f"ports {ports[0]}-{ports[1]}"
    raise DriverError(f"no free login port on {bind} ({span} all in use: {last_error}); "
                      "widen login.ports in the driver configuration")


def proxyd():
    """systemd-socket-proxyd's path, or None."""
    return next((p for p in PROXYD if os.access(p, os.X_OK)), None)


def thd_spawn_forwarder(ns, sock, node_dir, kind="auto"):
    """Start the login forwarder with ``sock`` (closed here afterwards):
    ``kind`` is ``proxyd``, ``python`` or ``auto`` (proxyd if installed)."""
    relay = proxyd() if kind in ("auto", "proxyd") else None
    if kind == "proxyd" and relay is None:
        sock.close()
        raise DriverError("login.forwarder is proxyd but systemd-socket-proxyd is not "
                          "installed (apt-get install systemd)")
    if relay:
        argv = ["/bin/sh", "-c", PROXY_SCRIPT, "gam-forward", host.netns_path(ns), relay]
        env = dict(_env(ns), LISTEN_FDS="1")
        fds = {"stdin": sock.fileno()}
    else:
        fd = sock.fileno()
        argv = ["nsenter", f"--net={host.netns_path(ns)}", "--", sys.executable, "-I", "-S",
                FORWARD_PY, FORWARD_MARK, ns, str(fd), "127.0.0.1", "22"]
        env = _env(ns)
        fds = {"stdin": subprocess.DEVNULL, "pass_fds": (fd,)}
    try:
        with open(os.path.join(node_dir, LOG), "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=log, env=env,
                                    start_new_session=True, close_fds=True, **fds)
    except OSError as e:
        raise DriverError(f"cannot start the login forwarder: {e.strerror}") from e
    finally:
        sock.close()
    _register(ns, "forward", proc)


def thd_kill_all(ns, deadline):
    """Kill every process in the node's network namespace and reap ours."""
    host.kill_and_wait(lambda: [p[0] for p in host.processes_in(ns)], deadline, f"node {ns}")
    reap(ns)


def stray_processes(names, live):
    """``{pid: netns}`` of processes marked ``GAM_NODE=NS`` (found through
    their environment, in any namespace) whose NS is ours and not in ``live``."""
    out = {}
    for pid, ns in host.marked_environ(MARK).items():
        if names.parse(ns) and ns not in live:
            out[pid] = ns
    return out
