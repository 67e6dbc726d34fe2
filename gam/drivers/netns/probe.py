"""What this kernel can do for links, found out by trying (never assumed).

:func:`thd_probe` makes a throwaway bridge and veth pair (named with the
probe kind, see names.py) and tries on them: a netem qdisc (latency and
loss), an 802.1q VLAN device, bridge VLAN filtering, and tbf/htb shaping;
then removes them. A kernel built without these says "not supported" and
the handlers refuse what needs them, with a message that says so.
"""
import os
from dataclasses import asdict, dataclass

from gam.drivers.netns import host
from gam.drivers.proc import thd_run


@dataclass(frozen=True)
class Capabilities:
    netem: bool = False
    vlan_8021q: bool = False
    bridge_vlan_filtering: bool = False
    tbf: bool = False
    htb: bool = False
    iptables: bool = False
    bridge_netfilter: bool = False
    notes: tuple = ()

    def as_dict(self):
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d


def _ok(argv, deadline):
    return thd_run(argv, deadline, check=False).returncode == 0


def thd_probe(names, *, deadline):
    """Try each feature on throwaway devices; return Capabilities."""
    token = f"{os.getpid()}-{id(deadline)}"
    br, va, vb = names.probe(token + "b"), names.probe(token + "a"), names.probe(token + "c")
    vlan = names.probe(token + "v")
    notes = []
    found = {}
    try:
        host.ip(["link", "add", br, "type", "bridge"], deadline, step="probing bridges")
        host.ip(["link", "add", va, "type", "veth", "peer", "name", vb], deadline,
                step="probing veth pairs")
        found["bridge_vlan_filtering"] = _ok(
            ["ip", "link", "set", br, "type", "bridge", "vlan_filtering", "1"], deadline)
        found["vlan_8021q"] = _ok(
            ["ip", "link", "add", "link", va, "name", vlan, "type", "vlan", "id", "7"], deadline)
        found["netem"] = _ok(["tc", "qdisc", "add", "dev", va, "root", "netem", "delay", "1ms"],
                             deadline)
        thd_run(["tc", "qdisc", "del", "dev", va, "root"], deadline, check=False)
        found["tbf"] = _ok(["tc", "qdisc", "add", "dev", va, "root", "tbf", "rate", "1mbit",
                            "burst", "32kb", "latency", "50ms"], deadline)
        thd_run(["tc", "qdisc", "del", "dev", va, "root"], deadline, check=False)
        found["htb"] = _ok(["tc", "qdisc", "add", "dev", va, "root", "handle", "1:", "htb"],
                           deadline)
    finally:
        for dev in (vlan, va, br):
            if host.link_exists(dev):
                host.delete_link(dev, deadline)
    if not found.get("netem"):
        notes.append("no netem qdisc (sch_netem): links cannot emulate latency or loss")
    if not found.get("vlan_8021q"):
        notes.append("no 802.1q VLAN devices (8021q): VLAN tags cannot be put on an uplink")
    if not found.get("bridge_vlan_filtering"):
        notes.append("no bridge VLAN filtering: VLAN tags are recorded, each link is "
                     "isolated by a bridge of its own")
    caps = Capabilities(iptables=host.iptables_available(),
                        bridge_netfilter=host.bridge_netfilter_on(), notes=tuple(notes),
                        **found)
    return caps
