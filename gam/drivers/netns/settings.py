"""The namespace handlers' own configuration keys, checked.

Node handler (``etc/drivers/netns.yaml``)::

    prefix: gam                  # names of host objects (see names.py)
    state_dir: /var/lib/gam/netns   # node folders (root only, 0700)
    login:
      bind: 0.0.0.0              # where login ports listen on the host
      hostname: am.example.net   # what logins say (default: this host's FQDN)
      ports: 30000-39999         # range for login ports; 0 = any free port
      forwarder: auto            # proxyd (systemd-socket-proxyd) | python | auto
    sshd: /usr/sbin/sshd
    uid_base: 20000              # first uid/gid for experimenters
    group: geni                  # the group allowed to log in to nodes
    cleanup_timeout: 60          # seconds for removing a failed node

Link handler::

    prefix: gam
    uplink: eth1                 # optional: put each link's VLAN on this NIC
    forward_rule: auto           # auto | always | never (iptables FORWARD accept)
"""
import ipaddress
import os
import re
from dataclasses import dataclass

from gam.drivers.config import COMMON_KEYS, Checker, parse_timeouts
from gam.drivers.netns.names import Names

NODE_KEYS = {"prefix", "state_dir", "login", "sshd", "uid_base", "group", "cleanup_timeout"}
LINK_KEYS = {"prefix", "uplink", "forward_rule", "cleanup_timeout"}
LOGIN_KEYS = {"bind", "hostname", "ports", "forwarder"}
_PORTS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_GROUP = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")


@dataclass(frozen=True)
class NodeSettings:
    names: Names
    state_dir: str
    bind: str
    hostname: str | None
    ports: tuple                 # (first, last); (0, 0) = any free port
    forwarder: str               # auto | proxyd | python
    sshd: str
    uid_base: int
    group: str
    cleanup_timeout: float
    timeouts: dict

    def connect_address(self):
        """Where the AM itself reaches the login ports."""
        if self.bind in ("0.0.0.0", ""):
            return "127.0.0.1"
        if self.bind == "::":
            return "::1"
        return self.bind


@dataclass(frozen=True)
class LinkSettings:
    names: Names
    uplink: str | None
    forward_rule: str
    cleanup_timeout: float
    timeouts: dict


def _names(chk, own):
    try:
        return Names(own.get("prefix", "gam"))
    except ValueError as e:
        chk.fail("prefix", str(e))


def _ports(chk, value):
    m = _PORTS.match(str(value))
    if not m:
        chk.fail("login.ports", f"{value!r} is not a port or a range like 30000-39999")
    first, last = int(m[1]), int(m[2] or m[1])
    if first == 0 and last == 0:
        return 0, 0
    if not 1 <= first <= last <= 65535:
        chk.fail("login.ports", f"{value!r}: ports run from 1 to 65535, the first no larger "
                                "than the last (0 alone means any free port)")
    return first, last


def parse_node(raw, path=None, key=None):
    chk = Checker(path, key)
    own = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    chk.mapping(own, "", NODE_KEYS | COMMON_KEYS)
    login = chk.mapping(own.get("login"), "login", LOGIN_KEYS)
    bind = login.get("bind", "0.0.0.0")
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        chk.fail("login.bind", f"{bind!r} is not an IP address of this host")
    hostname = login.get("hostname")
    if hostname is not None:
        chk.string(hostname, "login.hostname")
    state_dir = chk.path_of(own.get("state_dir", "/var/lib/gam/netns"), "state_dir")
    if state_dir == "/":
        chk.fail("state_dir", "must not be /")
    sshd = own.get("sshd", "/usr/sbin/sshd")
    if not os.path.isabs(chk.string(sshd, "sshd")):
        chk.fail("sshd", "must be an absolute path (sshd re-executes itself)")
    group = chk.string(own.get("group", "geni"), "group", _GROUP, "a POSIX group name")
    forwarder = login.get("forwarder", "auto")
    if forwarder not in ("auto", "proxyd", "python"):
        chk.fail("login.forwarder", f"must be auto, proxyd or python, not {forwarder!r}")
    return NodeSettings(
        names=_names(chk, own), state_dir=state_dir, bind=bind, hostname=hostname,
        ports=_ports(chk, login.get("ports", "30000-39999")), forwarder=forwarder, sshd=sshd,
        uid_base=chk.number(own.get("uid_base", 20000), "uid_base", 1000, integer=True,
                            maximum=2**31 - 70000),
        group=group,
        cleanup_timeout=chk.number(own.get("cleanup_timeout", 60), "cleanup_timeout", 1),
        timeouts=parse_timeouts(raw, chk))


def parse_link(raw, path=None, key=None):
    chk = Checker(path, key)
    own = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    chk.mapping(own, "", LINK_KEYS | COMMON_KEYS)
    uplink = own.get("uplink")
    if uplink is not None:
        chk.string(uplink, "uplink", _IFNAME, "a network interface name")
    rule = own.get("forward_rule", "auto")
    if rule not in ("auto", "always", "never"):
        chk.fail("forward_rule", f"must be auto, always or never, not {rule!r}")
    return LinkSettings(
        names=_names(chk, own), uplink=uplink, forward_rule=rule,
        cleanup_timeout=chk.number(own.get("cleanup_timeout", 30), "cleanup_timeout", 1),
        timeouts=parse_timeouts(raw, chk))
