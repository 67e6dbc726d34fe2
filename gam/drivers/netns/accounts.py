"""Experimenter accounts of one node: passwd, group, shadow, homes, keys.

A node has its own ``etc/passwd``, ``etc/group`` and ``etc/shadow`` in its
folder, bind-mounted over the host's inside the node's mount namespace:
the host's system accounts (uid < 1000, and nobody) so that programs
work, plus the experimenters from ``geni_users``, with uids from
``uid_base`` up and membership of the login group that the node's sshd
allows. Their homes live in the node folder's ``home`` (mounted on
``/home`` in the node), with the keys in ``~/.ssh/authorized_keys``.

The host's own accounts are not in a node, and the experimenters are not
on the host. The files are rewritten in place (never replaced by rename),
because a bind mount holds on to the file it was made from.
"""
import errno
import os
import re
import shutil
import time
from dataclasses import dataclass

from gam.drivers.base import DriverError
from gam.drivers.ssh import public_key_lines
from gam.errors import GeniCode

LOGIN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
SHELL = "/bin/bash"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    keys: tuple


def check_users(users):
    """``[(name, key lines)]`` for User entries; BADARGS when a name or a
    key cannot be used (before anything is made)."""
    out, seen = [], set()
    for user in users:
        name = user.name or ""
        if not LOGIN.match(name):
            raise DriverError(
                f"user name {name!r} (from {user.urn}) cannot be a login on a node: use "
                "lowercase letters, digits, '_' and '-', at most 32, starting with a letter",
                geni_code=GeniCode.BADARGS)
        if name in seen:
            raise DriverError(f"user {name!r} is listed twice in geni_users; merge the entries",
                              geni_code=GeniCode.BADARGS)
        seen.add(name)
        out.append((name, tuple(public_key_lines(user.keys, owner=f"user {name}"))))
    reserved = sorted(n for n, _ in out if n in system_names())
    if reserved:
        raise DriverError(f"user name(s) {', '.join(reserved)} are system accounts on this "
                          "aggregate's nodes; log in with another name",
                          geni_code=GeniCode.BADARGS)
    return out


def _system(path, id_field):
    lines = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) > id_field and parts[id_field].isdigit():
                    n = int(parts[id_field])
                    if n < 1000 or n == 65534:
                        lines.append(parts)
    except OSError as e:
        raise DriverError(f"cannot read {path}: {e.strerror}") from e
    return lines


def system_names():
    return {p[0] for p in _system("/etc/passwd", 2)}


def _existing(node_dir, uid_base):
    """Experimenter uids already given in this node: {name: uid}."""
    path = os.path.join(node_dir, "etc", "passwd")
    found = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split(":")
                if (len(parts) > 4 and parts[2].isdigit() and int(parts[2]) > uid_base
                        and parts[4].startswith("GENI user")):
                    found[parts[0]] = int(parts[2])
    return found


def _write_in_place(path, text, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.truncate()
    os.chmod(path, mode)


def thd_write_accounts(node_dir, users, *, uid_base, group):
    """Write the node's account files and homes for ``users`` (from
    :func:`check_users`); keep uids of accounts the node already has.
    Accounts no longer listed keep their home but lose their keys.
    Returns the Accounts."""
    existing = _existing(node_dir, uid_base)
    wanted = dict(users)
    accounts, used = [], set(existing.values())
    for name in sorted(set(existing) | set(wanted)):
        uid = existing.get(name)
        if uid is None:
            uid = uid_base + 1
            while uid in used:
                uid += 1
            used.add(uid)
        accounts.append(Account(name, uid, tuple(wanted.get(name, ()))))
    passwd = [":".join(p) for p in _system("/etc/passwd", 2)]
    # System groups without their members: a host sudoer's name must not
    # make a node's experimenter of that name a sudoer.
    groups = [":".join(p[:3]) + ":" for p in _system("/etc/group", 2)]
    days = int(time.time() // 86400)
    shadow = [f"{p.split(':')[0]}:!:{days}::::::" for p in passwd]
    for a in accounts:
        passwd.append(f"{a.name}:x:{a.uid}:{a.uid}:GENI user {a.name}:/home/{a.name}:{SHELL}")
        groups.append(f"{a.name}:x:{a.uid}:")
        shadow.append(f"{a.name}:*:{days}:0:99999:7:::")
    groups.append(f"{group}:x:{uid_base}:{','.join(a.name for a in accounts)}")
    etc = os.path.join(node_dir, "etc")
    os.makedirs(etc, mode=0o755, exist_ok=True)
    _write_in_place(os.path.join(etc, "passwd"), "\n".join(passwd) + "\n", 0o644)
    _write_in_place(os.path.join(etc, "group"), "\n".join(groups) + "\n", 0o644)
    _write_in_place(os.path.join(etc, "shadow"), "\n".join(shadow) + "\n", 0o600)
    for a in accounts:
        _write_home(node_dir, a)
    return accounts


def _write_home(node_dir, account):
    """Make the home and write the keys. Everything under the home belongs
    to the experimenter, who may have planted symlinks there: the files
    are reached through directory descriptors, never following links."""
    home = os.path.join(node_dir, "home", account.name)
    fresh = not os.path.exists(home)
    os.makedirs(home, mode=0o755, exist_ok=True)
    if fresh and os.path.isdir("/etc/skel"):
        for entry in os.listdir("/etc/skel"):
            src = os.path.join("/etc/skel", entry)
            if os.path.isfile(src) and not os.path.islink(src):
                shutil.copyfile(src, os.path.join(home, entry))
                os.chown(os.path.join(home, entry), account.uid, account.uid)
    os.chown(home, account.uid, account.uid)
    os.chmod(home, 0o755)
    hfd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        sfd = _own_dir(hfd, ".ssh", home)
        try:
            os.fchown(sfd, account.uid, account.uid)
            os.fchmod(sfd, 0o700)
            tmp = f".authorized_keys.gam-{os.urandom(6).hex()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                         dir_fd=sfd)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("".join(k + "\n" for k in account.keys))
                os.fchown(f.fileno(), account.uid, account.uid)
            try:
                os.replace(tmp, "authorized_keys", src_dir_fd=sfd, dst_dir_fd=sfd)
            except OSError as e:
                os.unlink(tmp, dir_fd=sfd)
                raise DriverError(f"cannot install the keys of {account.name}: "
                                  f"~/.ssh/authorized_keys: {e.strerror}") from e
        finally:
            os.close(sfd)
    finally:
        os.close(hfd)


def _own_dir(parent_fd, name, where):
    """Open directory ``name`` under ``parent_fd``; a file or symlink in
    its place is removed and a directory made."""
    for _ in range(2):
        try:
            return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
        except FileNotFoundError:
            pass
        except (NotADirectoryError, OSError) as e:
            if not isinstance(e, NotADirectoryError) and e.errno != errno.ELOOP:   # a symlink
                raise
            os.unlink(name, dir_fd=parent_fd)
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            pass
    raise DriverError(f"cannot make {where}/{name}: something keeps replacing it")


def hosts_file(hostname, neighbours):
    """/etc/hosts for a node; ``neighbours``: [(address, host name)]."""
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{hostname}",
             "::1\tlocalhost ip6-localhost ip6-loopback"]
    seen = set()
    for address, name in neighbours:
        if (address, name) not in seen:
            seen.add((address, name))
            lines.append(f"{address}\t{name}")
    return "\n".join(lines) + "\n"


def thd_write_identity(node_dir, hostname, neighbours):
    etc = os.path.join(node_dir, "etc")
    os.makedirs(etc, mode=0o755, exist_ok=True)
    _write_in_place(os.path.join(etc, "hostname"), hostname + "\n", 0o644)
    _write_in_place(os.path.join(etc, "hosts"), hosts_file(hostname, neighbours), 0o644)
