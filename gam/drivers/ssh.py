"""SSH from thread-side driver code (Paramiko), bounded by a Deadline.

* :func:`thd_wait_for_ssh` waits until ``host:port`` speaks SSH (and,
  given a user and key, accepts that login), retrying until the deadline;
* :func:`thd_run_command` logs in and runs one command;
* :func:`thd_install_keys` adds public keys to the login's authorized_keys;
* :func:`public_key_lines` checks experimenters' public keys.

Every failure raises DriverError (DriverTimeout when time ran out) whose
message starts with ``ssh USER@HOST:PORT`` and carries Paramiko's own
reason; nothing is swallowed. A known ``host_key`` (a Paramiko PKey or an
OpenSSH public key line) is enforced; without one any host key is taken
(only for hosts the driver itself just made).
"""
import base64
import binascii
import io
import logging
import re
import shlex
import socket
import struct
import time
from dataclasses import dataclass

import paramiko

from gam.drivers.base import DriverError, DriverTimeout
from gam.errors import GeniCode

_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
              "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
              "sk-ecdsa-sha2-nistp256@openssh.com")
_KEY_LINE = re.compile(r"^(?P<type>[a-z0-9@.\-]+) (?P<blob>[A-Za-z0-9+/]+={0,3})(?: [^\r\n]*)?$")
OUTPUT_LIMIT = 1_000_000

# Paramiko logs every failed attempt of its transport thread; without a
# handler Python prints those to stderr. Errors reach callers as
# DriverError; an application that configures logging still gets them.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class HostKeyMismatch(DriverError):
    """The server's host key is not the one expected."""


def where(host, port, user=None):
    return f"ssh {user or '(no login)'}@{host}:{port}"


def public_key_lines(keys, owner="a user"):
    """Each public key (OpenSSH one-line format) checked and stripped; a
    string holding several lines counts as several keys. Options
    (``command=...``) and unknown key types are refused (BADARGS)."""
    out = []
    for key in keys:
        for line in str(key).splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = _KEY_LINE.match(line)
            ok = m is not None and m["type"] in _KEY_TYPES
            if ok:
                ok = _blob_ok(m["type"], m["blob"])
            if not ok:
                shown = line if len(line) <= 40 else line[:37] + "..."
                raise DriverError(f"the SSH public key {shown!r} of {owner} is not a valid "
                                  f"OpenSSH public key line (type one of {', '.join(_KEY_TYPES)}, "
                                  "then base64, then an optional comment)",
                                  geni_code=GeniCode.BADARGS)
            out.append(line)
    return out


_FIELDS = {"ssh-ed25519": 2, "ssh-rsa": 3, "ecdsa-sha2-nistp256": 3,
           "ecdsa-sha2-nistp384": 3, "ecdsa-sha2-nistp521": 3,
           "sk-ssh-ed25519@openssh.com": 3, "sk-ecdsa-sha2-nistp256@openssh.com": 4}


def _blob_ok(kind, blob64):
    """The base64 part is exactly the length-prefixed fields of a ``kind``
    key, the first being the type name (a truncated key fails)."""
    try:
        blob = base64.b64decode(blob64, validate=True)
    except binascii.Error:
        return False
    fields, at = [], 0
    while at < len(blob):
        if at + 4 > len(blob):
            return False
        (n,) = struct.unpack(">I", blob[at:at + 4])
        if at + 4 + n > len(blob):
            return False
        fields.append(blob[at + 4:at + 4 + n])
        at += 4 + n
    if len(fields) != _FIELDS.get(kind) or fields[0] != kind.encode():
        return False
    return "ed25519" not in kind or len(fields[1]) == 32


def load_private_key(text, password=None):
    """A Paramiko PKey from an OpenSSH/PEM private key text."""
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text), password=password)
        except (paramiko.SSHException, ValueError) as e:
            errors.append(f"{cls.__name__}: {e}")
    raise DriverError("cannot read the private key: " + "; ".join(errors))


def _public_key(value):
    if value is None or isinstance(value, paramiko.PKey):
        return value
    kind, blob = str(value).split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


def _fail(host, port, user, e, step):
    """DriverError for Paramiko/socket exception ``e`` during ``step``."""
    at = where(host, port, user)
    if isinstance(e, DriverError):
        return e
    if isinstance(e, paramiko.BadHostKeyException):
        return HostKeyMismatch(f"{at}: the host key is not the expected one (got "
                               f"{e.key.get_name()} {e.key.fingerprint}); refusing to log in")
    if isinstance(e, paramiko.AuthenticationException):
        return DriverError(f"{at}: login refused while {step}: {e}")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return DriverTimeout(f"{at}: timed out while {step}")
    if isinstance(e, paramiko.SSHException):
        return DriverError(f"{at}: SSH failed while {step}: {e}")
    if isinstance(e, OSError):
        return DriverError(f"{at}: cannot connect while {step}: "
                           f"{e.strerror or e.__class__.__name__}")
    return DriverError(f"{at}: {type(e).__name__} while {step}: {e}")


def _thd_handshake(host, port, deadline, host_key):
    """Connect and finish the SSH key exchange; return the server's key."""
    cap = deadline.cap(10, f"connecting to {host}:{port}")
    sock = socket.create_connection((host, port), timeout=cap)
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = cap
        transport.handshake_timeout = cap
        transport.start_client(timeout=cap)
        key = transport.get_remote_server_key()
    finally:
        transport.close()
    if host_key is not None and key != host_key:
        raise HostKeyMismatch(f"{where(host, port)}: the host key is not the expected one "
                              f"(got {key.get_name()} {key.fingerprint}); another service "
                              "may hold the port")
    return key


def thd_connect(host, port, user, pkey, *, deadline, host_key=None):
    """A logged-in ``paramiko.SSHClient`` (close it when done)."""
    host_key = _public_key(host_key)
    client = paramiko.SSHClient()
    if host_key is not None:
        name = host if port == 22 else f"[{host}]:{port}"
        client.get_host_keys().add(name, host_key.get_name(), host_key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    else:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    cap = deadline.cap(30, f"logging in to {host}:{port}")
    try:
        client.connect(host, port=port, username=user, pkey=pkey, timeout=cap,
                       banner_timeout=cap, auth_timeout=cap, channel_timeout=cap,
                       allow_agent=False, look_for_keys=False)
    except Exception as e:
        client.close()
        raise _fail(host, port, user, e, "logging in") from e
    return client


def thd_wait_for_ssh(host, port, *, deadline, user=None, pkey=None, host_key=None,
                     interval=0.05, max_interval=1.0):
    """Wait until ``host:port`` completes an SSH handshake (with the right
    ``host_key`` if given) and, with ``user`` and ``pkey``, accepts that
    login. Returns the server's host key. Raises DriverTimeout with the
    last error when the deadline passes first."""
    host_key = _public_key(host_key)
    last = None
    first = True
    while first or deadline.remaining() > 0:
        first = False
        try:
            if user is None:
                return _thd_handshake(host, port, deadline, host_key)
            client = thd_connect(host, port, user, pkey, deadline=deadline, host_key=host_key)
            key = client.get_transport().get_remote_server_key()
            client.close()
            return key
        except HostKeyMismatch:
            raise
        except Exception as e:
            err = _fail(host, port, user, e, "waiting for SSH")
            if isinstance(err, HostKeyMismatch):
                raise err from e
            if last is None or not deadline.expired:   # keep the telling error
                last = err
        time.sleep(min(interval, deadline.remaining()))
        interval = min(max_interval, interval * 1.5)
    raise DriverTimeout(f"{where(host, port, user)}: no SSH service answered within "
                        f"{deadline.seconds:g} s; last error: {last}")


def _thd_collect(channel, deadline, step, poll=0.05):
    """stdout and stderr (each up to OUTPUT_LIMIT bytes, the rest read and
    dropped) until the command has exited and both are drained."""
    out, err = bytearray(), bytearray()
    while True:
        busy = False
        while channel.recv_ready():
            data = channel.recv(65536)
            out += data[:max(0, OUTPUT_LIMIT - len(out))]
            busy = True
        while channel.recv_stderr_ready():
            data = channel.recv_stderr(65536)
            err += data[:max(0, OUTPUT_LIMIT - len(err))]
            busy = True
        if channel.exit_status_ready() and not channel.recv_ready() \
                and not channel.recv_stderr_ready():
            if channel.eof_received or channel.closed:
                return bytes(out), bytes(err)
        if not busy:
            wait = deadline.cap(poll, step)
            if channel.status_event.is_set():       # exited; EOF is on its way
                time.sleep(wait)
            else:
                channel.status_event.wait(wait)
        deadline.check(step)


@dataclass(frozen=True)
class CommandResult:
    status: int
    stdout: str
    stderr: str


def thd_run_command(host, port, user, pkey, command, *, deadline, host_key=None, check=True):
    """Log in and run ``command`` (a shell string, or an argv list that is
    quoted here), within ``deadline`` as a whole: a command still running
    (or still writing) when it passes is abandoned with DriverTimeout. With
    ``check`` a non-zero exit raises DriverError."""
    if not isinstance(command, str):
        command = " ".join(shlex.quote(str(a)) for a in command)
    step = f"running {command!r}"
    client = thd_connect(host, port, user, pkey, deadline=deadline, host_key=host_key)
    try:
        channel = client.get_transport().open_session(timeout=deadline.cap(30, step))
        channel.exec_command(command)
        out, err = _thd_collect(channel, deadline, step)
        status = channel.recv_exit_status()     # set: _thd_collect waited for it
    except DriverTimeout as e:
        raise type(e)(f"{where(host, port, user)}: {e.message}", reason=e.reason,
                      geni_code=e.geni_code) from e
    except Exception as e:
        raise _fail(host, port, user, e, step) from e
    finally:
        client.close()
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    if check and status != 0:
        tail = " ".join(stderr.split())[-300:] or "no message"
        raise DriverError(f"{where(host, port, user)}: {command!r} failed with exit status "
                          f"{status}: {tail}")
    return CommandResult(status, stdout, stderr)


def thd_install_keys(host, port, user, pkey, keys, *, deadline, host_key=None):
    """Add the public ``keys`` the login ``user`` does not have yet to its
    ``~/.ssh/authorized_keys``. Returns how many were added."""
    lines = public_key_lines(keys, owner=user)
    script = ["umask 077", "mkdir -p ~/.ssh", "touch ~/.ssh/authorized_keys", "n=0"]
    for line in lines:
        q = shlex.quote(line)
        script.append(f"grep -qxF {q} ~/.ssh/authorized_keys || "
                      f"{{ printf '%s\\n' {q} >> ~/.ssh/authorized_keys; n=$((n+1)); }}")
    script.append('echo "$n"')
    res = thd_run_command(host, port, user, pkey, "; ".join(script), deadline=deadline,
                          host_key=host_key)
    try:
        return int(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        raise DriverError(f"{where(host, port, user)}: installing keys printed "
                          f"{res.stdout!r}, not a count") from e
