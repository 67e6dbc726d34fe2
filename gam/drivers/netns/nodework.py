"""Thread-side work of the namespace node handler: build, tear down, act.

Everything here runs in the drivers' thread pool with a Deadline and
finds the node's objects by name (``names.py``), so teardown needs no
record of how far a create got: it removes whatever of the node exists.
"""
import os
import socket
from dataclasses import dataclass

from gam.drivers.base import DriverError, NOTREADY, READY, FAILED
from gam.drivers.deadline import Deadline
from gam.drivers.netns import accounts, addressing, host, runtime, shaping
from gam.drivers.netns.names import digest, hostname_for
from gam.drivers.ssh import thd_wait_for_ssh
from gam.errors import GeniCode

STOPPED = "stopped"          # marker file in the node folder after geni_stop


@dataclass(frozen=True)
class Iface:
    client_id: str
    inner: str                   # ethN in the node
    veth: str                    # the host end, in the link's bridge
    bridge: str
    link_sliver: str
    address: object              # IPv4Interface or None
    vlan: int | None             # tag for bridge VLAN filtering, if on
    shaping: tuple               # (capacity_kbps, latency_ms, packet_loss)
    mac: str                     # of the node's end (locally administered, from the names)


def plan_interfaces(settings, plan, stitching):
    """The node's interfaces, checked (BADARGS) before anything is made."""
    out = []
    for n, ip in enumerate(plan.interfaces):
        where = f"interface {ip.client_id} of {plan.client_id}"
        address = addressing.interface(ip.address, ip.netmask, where)
        if not ip.link_sliver:
            raise DriverError(f"{where} is on no link; the namespace driver only makes "
                              "interfaces on links", geni_code=GeniCode.BADARGS)
        link = stitching.get(ip.link_sliver)
        if not link or not link.get("bridge"):
            raise DriverError(f"{where}: link {ip.link_sliver} has no bridge to attach to (it "
                              "was not made by the namespace link handler)")
        out.append(Iface(
            client_id=ip.client_id, inner=f"eth{n}",
            veth=settings.names.veth(plan.sliver_urn, ip.client_id), bridge=link["bridge"],
            link_sliver=ip.link_sliver, address=address,
            vlan=link.get("vlan_tag") if link.get("vlan_mode") == "bridge" else None,
            shaping=shaping.link_shaping(link),
            mac=mac_for(plan.sliver_urn, ip.client_id)))
    addressing.check_unique([(i.client_id, i.address) for i in out], plan.client_id)
    return out


def mac_for(*parts):
    """A stable locally administered unicast MAC (``02:...``) for ``parts``."""
    h = digest(*parts, "mac")
    return "02:" + ":".join(h[i:i + 2] for i in range(0, 10, 2))


def _neighbours(plan, stitching):
    out = []
    for link in stitching.values():
        for end in link.get("ends", ()):
            if end.get("address") and end.get("node") != plan.client_id:
                out.append((end["address"], hostname_for(end["node"])))
    return out


def _wire(ns, ifaces, deadline):
    """veth pairs into the bridges, addresses, shaping."""
    outside, bridge_vlans, inside, tc_out, tc_in = [], [], ["link set lo up"], [], []
    for i in ifaces:
        outside += [f"link add {i.veth} type veth peer name {i.inner} address {i.mac} netns {ns}",
                    f"link set {i.veth} addrgenmode none",
                    f"link set {i.veth} master {i.bridge}",
                    f"link set {i.veth} up"]
        if i.vlan is not None:
            bridge_vlans += [f"vlan add dev {i.veth} vid {i.vlan} pvid untagged",
                             f"vlan del dev {i.veth} vid 1"]
        if i.address is not None:
            inside.append(f"addr add {i.address.with_prefixlen} brd + dev {i.inner}")
        inside.append(f"link set {i.inner} up")
        capacity, latency, loss = i.shaping
        tc_out += shaping.qdisc_lines(i.veth, capacity, latency, loss)
        tc_in += shaping.qdisc_lines(i.inner, capacity)
    host.batch("ip", outside, deadline, step="making the node's veth pairs")
    host.batch("bridge", bridge_vlans, deadline, step="tagging the node's bridge ports")
    host.batch("ip", inside, deadline, netns=ns, step="addressing the node's interfaces")
    host.batch("tc", tc_out, deadline, step="shaping the links (host side)")
    host.batch("tc", tc_in, deadline, netns=ns, step="shaping the links (node side)")


def thd_create(settings, plan, stitching, *, deadline):
    """Build the node; return its outcome data. On failure remove all of
    it and raise DriverError saying what failed and what was cleaned."""
    names = settings.names
    ns = names.netns(plan.sliver_urn)
    node_dir = os.path.join(settings.state_dir, ns)
    hostname = hostname_for(plan.client_id)
    users = accounts.check_users(plan.users)
    ifaces = plan_interfaces(settings, plan, stitching)
    if host.netns_exists(ns) or os.path.exists(node_dir):
        raise DriverError(f"{plan.client_id}: namespace {ns} or {node_dir} already exists; "
                          "delete the sliver first", geni_code=GeniCode.ALREADYEXISTS)
    try:
        os.makedirs(node_dir, mode=0o700)
        os.makedirs(os.path.join(node_dir, "home"), mode=0o755)
        accounts.thd_write_identity(node_dir, hostname, _neighbours(plan, stitching))
        made = accounts.thd_write_accounts(node_dir, users, uid_base=settings.uid_base,
                                           group=settings.group)
        host_key = runtime.thd_write_ssh(node_dir, hostname, settings.group)
        host.netns_add(ns, deadline)
        _wire(ns, ifaces, deadline)
        sock = runtime.open_login_socket(settings.bind, settings.ports, deadline)
        port = sock.getsockname()[1]
        runtime.thd_spawn_forwarder(ns, sock, node_dir, settings.forwarder)
        runtime.thd_spawn_node(ns, node_dir, hostname, settings.state_dir, settings.sshd)
        _wait_ready(settings, ns, node_dir, port, host_key, deadline)
    except BaseException as e:
        note = _cleanup_note(settings, ns, node_dir, [i.veth for i in ifaces])
        if isinstance(e, DriverError):
            raise type(e)(f"{plan.client_id}: {e}; {note}", reason=e.reason,
                          geni_code=e.geni_code) from e
        if isinstance(e, OSError):
            raise DriverError(f"{plan.client_id}: {e}; {note}") from e
        raise
    login_host = settings.hostname or _fqdn()
    return {
        "netns": ns, "dir": node_dir, "hostname": hostname, "host": plan.host,
        "login_port": port, "host_key": host_key, "veths": [i.veth for i in ifaces],
        "users": [a.name for a in made if a.keys],
        "logins": [{"username": a.name, "hostname": login_host, "port": port}
                   for a in made if a.keys],
        "interfaces": {i.client_id: {
            "name": i.inner, "mac": i.mac, "host_veth": i.veth,
            "link_sliver": i.link_sliver,
            "address": str(i.address.ip) if i.address else None,
            "netmask": str(i.address.netmask) if i.address else None} for i in ifaces},
    }


def _fqdn():
    return socket.getfqdn()


def _wait_ready(settings, ns, node_dir, port, host_key, deadline):
    try:
        thd_wait_for_ssh(settings.connect_address(), port, deadline=deadline,
                         host_key=host_key)
    except DriverError as e:
        state = runtime.thd_status(ns)
        tail = runtime.log_tail(node_dir)
        raise type(e)(f"the node's sshd did not come up ({e}); processes: "
                      f"{', '.join(k for k, v in state.items() if v) or 'none'}"
                      f"{'; node log: ' + tail if tail else ''}",
                      reason=e.reason, geni_code=e.geni_code) from e


def _cleanup_note(settings, ns, node_dir, veths):
    try:
        thd_teardown(ns, node_dir, veths,
                     deadline=Deadline(settings.cleanup_timeout, f"removing node {ns}"))
    except DriverError as e:
        return f"removing what was made also failed ({e}); clean_restart will retry"
    return "everything made for it was removed"


def thd_teardown(ns, node_dir, veths=(), *, deadline):
    """Remove every trace of node ``ns`` (idempotent). Raises DriverError
    listing what could not be removed, after trying everything."""
    problems = []

    def step(what, fn, *args):
        try:
            fn(*args)
        except (DriverError, OSError) as e:
            problems.append(f"{what}: {e}")

    if host.netns_exists(ns):
        step("processes", runtime.thd_kill_all, ns, deadline)
        step("interfaces", _delete_inner_veths, ns, deadline)
    if runtime.stray_processes(_Only(ns), ()):
        step("stray processes", host.kill_and_wait,
             lambda: list(runtime.stray_processes(_Only(ns), ())), deadline, f"node {ns}")
    runtime.reap(ns)
    for veth in veths:
        if host.link_exists(veth):
            step(f"interface {veth}", host.delete_link, veth, deadline)
    step("network namespace", host.netns_delete, ns, deadline)
    step("folder", host.remove_tree, node_dir)
    if problems:
        raise DriverError(f"could not remove all of node {ns}: {'; '.join(problems)}")


class _Only:
    """A Names stand-in that recognises one namespace name only."""

    def __init__(self, ns):
        self.ns = ns

    def parse(self, name):
        return ("n", name) if name == self.ns else None


def _delete_inner_veths(ns, deadline):
    inner = [d["ifname"] for d in host.links_json(deadline, netns=ns, kind="veth")]
    host.batch("ip", [f"link del dev {n}" for n in inner], deadline, netns=ns,
               step="deleting the node's veth pairs")


# -- state and actions ------------------------------------------------------------

def thd_poll(ns, node_dir, *, deadline):
    """``(state, error)`` of a node now."""
    if not host.netns_exists(ns) or not os.path.isdir(node_dir):
        return FAILED, f"node {ns} is gone from this host"
    if os.path.exists(os.path.join(node_dir, STOPPED)):
        return NOTREADY, ""
    state = runtime.thd_status(ns)
    if state["sshd"] and state["forward"]:
        return READY, ""
    missing = [k for k in ("sshd", "forward") if not state[k]]
    return FAILED, (f"the node's {' and '.join(missing).replace('forward', 'login forwarder')} "
                    "stopped; geni_restart starts it again")


def thd_stop(ns, node_dir, *, deadline):
    if not host.netns_exists(ns):
        raise DriverError(f"node {ns} is gone from this host; delete the sliver")
    with open(os.path.join(node_dir, STOPPED), "w"):
        pass
    runtime.thd_stop_node(ns, deadline)
    return NOTREADY


def thd_start(settings, data, *, deadline):
    ns, node_dir = data["netns"], data["dir"]
    if not host.netns_exists(ns) or not os.path.isdir(node_dir):
        raise DriverError(f"node {ns} is gone from this host; delete the sliver")
    state = runtime.thd_status(ns)
    if not state["forward"]:
        sock = runtime.open_login_socket(settings.bind, settings.ports, deadline,
                                         exact=data["login_port"])
        runtime.thd_spawn_forwarder(ns, sock, node_dir, settings.forwarder)
    if not state["node"]:
        host_key = runtime.thd_write_ssh(node_dir, data["hostname"], settings.group)
        runtime.thd_spawn_node(ns, node_dir, data["hostname"], settings.state_dir,
                               settings.sshd)
    else:
        host_key = data["host_key"]
    try:
        os.unlink(os.path.join(node_dir, STOPPED))
    except FileNotFoundError:
        pass
    _wait_ready(settings, ns, node_dir, data["login_port"], host_key, deadline)
    return READY


def thd_update_users(settings, data, users, *, deadline):
    """Install ``users`` (the full list); return the new data."""
    checked = accounts.check_users(users)
    node_dir = data["dir"]
    if not os.path.isdir(node_dir):
        raise DriverError(f"node {data['netns']} is gone from this host; delete the sliver")
    deadline.check("writing accounts")
    made = accounts.thd_write_accounts(node_dir, checked, uid_base=settings.uid_base,
                                       group=settings.group)
    login_host = (data.get("logins") or [{}])[0].get("hostname") or settings.hostname or _fqdn()
    new = dict(data)
    new["users"] = [a.name for a in made if a.keys]
    new["logins"] = [{"username": a.name, "hostname": login_host, "port": data["login_port"]}
                     for a in made if a.keys]
    return new
