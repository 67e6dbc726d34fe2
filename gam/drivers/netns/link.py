"""NetnsLinkHandler: a link or LAN as a bridge of its own on this host.

Each link sliver gets a bridge (``<prefix>b<hash>``) with no address of
any kind (IPv6 address generation off), so the host is not reachable over
it and bridges of different slices are never joined: a node only reaches
the nodes on its own links. Node handlers attach veth pairs to the bridge
from the outcome data (``bridge``) and shape them from ``capacity_kbps``,
``latency_ms`` and ``packet_loss``.

The scheduled VLAN tag is always recorded (``vlan_tag``); it is put on the
wire where the probe found the means, and ``vlan_mode`` says how:
``uplink`` (an 802.1q device on the configured ``uplink`` NIC joins the
bridge: frames leave the host tagged), ``bridge`` (bridge VLAN filtering:
the ports carry the tag inside the bridge) or ``none`` (``vlan_note``
says why). Latency and loss need netem; without it create refuses them.

Where bridged frames pass through iptables (br_netfilter), a ``FORWARD
-i BR -o BR -j ACCEPT`` rule keeps a restrictive FORWARD policy from
cutting the link; delete removes it.
"""

from twisted.logger import Logger

from gam.drivers import base
from gam.drivers.calls import run_in_pool
from gam.drivers.deadline import Deadline
from gam.drivers.netns import addressing, host
from gam.drivers.netns.probe import Capabilities, thd_probe
from gam.drivers.netns.settings import parse_link
from gam.errors import GeniCode

log = Logger()


def _check(plan, caps):
    where = f"link {plan.client_id}"
    cap = plan.capacity_kbps
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0):
        raise base.DriverError(f"{where}: capacity {cap!r} is not a positive number of kbps",
                               geni_code=GeniCode.BADARGS)
    if plan.packet_loss is not None and not 0 <= plan.packet_loss <= 1:
        raise base.DriverError(f"{where}: packet_loss {plan.packet_loss!r} must be a fraction "
                               "from 0 to 1", geni_code=GeniCode.BADARGS)
    if plan.latency_ms is not None and plan.latency_ms < 0:
        raise base.DriverError(f"{where}: latency {plan.latency_ms!r} ms is negative",
                               geni_code=GeniCode.BADARGS)
    if (plan.latency_ms or plan.packet_loss) and not caps.netem:
        raise base.DriverError(
            f"{where}: this aggregate cannot emulate latency or packet loss (the kernel has "
            "no netem qdisc); remove them from the link or use another aggregate",
            geni_code=GeniCode.UNSUPPORTED)
    ends = [(f"{e.interface_client_id} of {e.node_client_id}",
             addressing.interface(e.address, e.netmask,
                                  f"{where}: interface {e.interface_client_id}"))
            for e in plan.ends]
    addressing.check_unique(ends, where)


def _vlan_mode(settings, caps, plan):
    """(mode, note) for the plan's tag on this host."""
    if plan.vlan_tag is None:
        return "none", "no VLAN tag was scheduled for this link"
    if not 1 <= plan.vlan_tag <= 4094:
        raise base.DriverError(f"link {plan.client_id}: VLAN tag {plan.vlan_tag} is outside "
                               "1-4094", geni_code=GeniCode.BADARGS)
    if settings.uplink:
        if not caps.vlan_8021q:
            raise base.DriverError(
                f"link {plan.client_id}: uplink {settings.uplink} is configured but this kernel "
                "has no 802.1q VLAN devices (load the 8021q module)",
                geni_code=GeniCode.UNAVAILABLE)
        if not host.link_exists(settings.uplink):
            raise base.DriverError(f"link {plan.client_id}: the uplink {settings.uplink} does "
                                   "not exist on this host; fix uplink in the driver config",
                                   geni_code=GeniCode.UNAVAILABLE)
        return "uplink", f"tagged {plan.vlan_tag} on {settings.uplink}"
    if caps.bridge_vlan_filtering:
        return "bridge", f"tagged {plan.vlan_tag} inside the bridge (VLAN filtering)"
    return "none", ("this kernel has no bridge VLAN filtering and no uplink is configured: "
                    "the tag is recorded, the link is isolated by a bridge of its own")


def _want_rule(settings):
    if settings.forward_rule == "never":
        return False
    if settings.forward_rule == "always":
        return True
    return host.iptables_available() and host.bridge_netfilter_on()


def thd_create(settings, caps, plan, *, deadline):
    _check(plan, caps)
    mode, note = _vlan_mode(settings, caps, plan)
    br = settings.names.bridge(plan.sliver_urn)
    up = settings.names.uplink(plan.sliver_urn)
    if host.link_exists(br):
        raise base.DriverError(f"link {plan.client_id}: bridge {br} already exists; delete the "
                               "sliver first", geni_code=GeniCode.ALREADYEXISTS)
    rule = _want_rule(settings)
    try:
        lines = [f"link add {br} type bridge" + (" vlan_filtering 1" if mode == "bridge" else ""),
                 f"link set {br} addrgenmode none", f"link set {br} up"]
        if mode == "uplink":
            lines += [f"link add link {settings.uplink} name {up} type vlan id {plan.vlan_tag}",
                      f"link set {up} master {br}", f"link set {up} up"]
        host.batch("ip", lines, deadline, step=f"making bridge {br}")
        if rule:
            host.add_forward_rule(br, deadline)
    except BaseException as e:
        note_ = _cleanup_note(settings, plan.sliver_urn, br)
        if isinstance(e, base.DriverError):
            raise type(e)(f"link {plan.client_id}: {e}; {note_}", reason=e.reason,
                          geni_code=e.geni_code) from e
        raise
    return {
        "bridge": br, "vlan_tag": plan.vlan_tag, "vlan_mode": mode,
        "vlan_on_wire": mode != "none", "vlan_note": note,
        "uplink_dev": up if mode == "uplink" else None,
        "capacity_kbps": plan.capacity_kbps, "latency_ms": plan.latency_ms,
        "packet_loss": plan.packet_loss, "forward_rule": rule,
        "ends": [{"node": e.node_client_id, "interface": e.interface_client_id,
                  "address": e.address, "netmask": e.netmask} for e in plan.ends],
    }


def _cleanup_note(settings, urn, br):
    try:
        thd_teardown(settings, urn, {"bridge": br},
                     deadline=Deadline(settings.cleanup_timeout, f"removing bridge {br}"))
    except base.DriverError as e:
        return f"removing what was made also failed ({e}); clean_restart will retry"
    return "everything made for it was removed"


def thd_teardown(settings, urn, data, *, deadline):
    br = (data or {}).get("bridge") or settings.names.bridge(urn)
    up = settings.names.uplink(urn)
    problems = []
    if host.iptables_available():
        try:
            host.delete_forward_rule(br, deadline)
        except base.DriverError as e:
            problems.append(str(e))
    for dev in (up, br):
        try:
            host.delete_link(dev, deadline)
        except base.DriverError as e:
            problems.append(str(e))
    if problems:
        raise base.DriverError(f"could not remove all of link {br}: {'; '.join(problems)}")


def thd_poll(settings, urn, data, *, deadline):
    br = (data or {}).get("bridge") or settings.names.bridge(urn)
    try:
        with open(f"/sys/class/net/{br}/flags") as f:
            up = int(f.read(), 16) & 1
    except OSError:
        return base.FAILED, f"bridge {br} is gone from this host"
    return (base.READY, "") if up else (base.FAILED, f"bridge {br} is down")


def thd_clean(settings, live, *, deadline):
    names = settings.names
    keep = {(d or {}).get("bridge") or names.bridge(u): u for u, d in live.items()}
    keep_up = {names.uplink(u) for u in live}
    problems = []
    stale_rules = []
    if host.iptables_available():
        try:
            stale_rules = [b for b in host.forward_rules(deadline)
                           if names.parse(b) and b not in keep]
        except base.DriverError as e:
            problems.append(str(e))
    for br in stale_rules:
        try:
            host.delete_forward_rule(br, deadline)
        except base.DriverError as e:
            problems.append(str(e))
    links = host.host_links()
    for dev in names.ours(links, "u") + names.ours(links, "p"):
        if dev not in keep_up:
            _try(problems, host.delete_link, dev, deadline)
    for br in names.ours(links, "b"):
        if br not in keep:
            log.info("removing leftover bridge {br}", br=br)
            _try(problems, host.delete_link, br, deadline)
    if problems:
        raise base.DriverError("clean restart left some leftovers: " + "; ".join(problems))
    return [u for br, u in keep.items() if not host.link_exists(br)]


def _try(problems, fn, *args):
    try:
        fn(*args)
    except base.DriverError as e:
        problems.append(str(e))


class NetnsLinkHandler(base.Handler):
    """Links and LANs as bridges; see the module doc."""

    kind = "link"

    def __init__(self, settings, *, threadpool, reactor=None, name="netns-link"):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self.name = name
        self.threadpool = threadpool
        self.reactor = reactor
        self.caps = None
        self.problem = None

    @classmethod
    def from_config(cls, raw, *, threadpool, reactor=None, path=None, key=None):
        return cls(parse_link(raw, path=path, key=key), threadpool=threadpool,
                   reactor=reactor, name=(key or "netns-link").rsplit(".", 1)[-1])

    def _call(self, op, fn, *args, what):
        return run_in_pool(self.reactor, self.threadpool, fn, self.settings, *args,
                           timeout=self.settings.timeouts[op], what=what)

    async def start(self):
        """Probe what the kernel can do (latency, VLANs) once."""
        try:
            self.caps = await run_in_pool(self.reactor, self.threadpool, thd_probe,
                                          self.settings.names, timeout=30,
                                          what="probing the kernel")
            self.problem = None
        except base.DriverError as e:
            self.caps, self.problem = Capabilities(), str(e)
            log.error("{name}: links cannot be made on this host: {error}", name=self.name,
                      error=e)
        for note in self.caps.notes:
            log.info("{name}: {note}", name=self.name, note=note)

    def capabilities(self):
        caps = self.caps or Capabilities()
        return {"actions": (), "capacity": caps.tbf, "latency": caps.netem,
                "packet_loss": caps.netem,
                "vlan_on_wire": bool(caps.bridge_vlan_filtering
                                     or (self.settings.uplink and caps.vlan_8021q)),
                "probe": caps.as_dict()}

    async def create(self, plan, stitching):
        if self.caps is None or self.problem:
            await self.start()
        if self.problem:
            raise base.DriverError(f"{self.name} cannot make links on this host: "
                                   f"{self.problem}", geni_code=GeniCode.UNAVAILABLE)
        data = await self._call("create", thd_create, self.caps, plan,
                                what=f"create of link {plan.client_id}")
        return base.Outcome(plan.sliver_urn, base.READY, data)

    async def delete(self, sliver_urn, data):
        await self._call("delete", thd_teardown, sliver_urn, dict(data or {}),
                         what=f"delete of link {sliver_urn}")

    async def poll(self, sliver_urn, data):
        state, error = await self._call("poll", thd_poll, sliver_urn, dict(data or {}),
                                        what=f"poll of link {sliver_urn}")
        return base.Outcome(sliver_urn, state, dict(data or {}), error)

    async def clean_restart(self, live):
        return await self._call("clean_restart", thd_clean, dict(live or {}),
                                what=f"clean restart of {self.name}")


__all__ = ["NetnsLinkHandler"]
