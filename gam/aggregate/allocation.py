"""Allocate: book the request's resources and write its slivers, in ONE transaction.

:func:`thd_allocate` runs inside ``DBConnector.run``: it creates the slice
row if needed, places every node (bound ones on their host, unbound ones on
the first host where all their claims are free), locks every resource the
request books in one call (so concurrent Allocates lock in one order and
never deadlock), books every node and every link (a VLAN tag, bandwidth at
the hosts it joins), and inserts one sliver row per node and link. Any
refusal raises and the whole transaction rolls back: Allocate is all or
nothing, and a crash leaves nothing half-written.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime

from gam.aggregate import resources as res
from gam.aggregate.manifest import ALLOCATED, PENDING
from gam.auth.urn import URN
from gam.db.slices import thd_ensure_slice, thd_set_slice_expires
from gam.db.slivers import thd_insert_sliver, thd_list_slivers
from gam.errors import AlreadyExists, Busy, GeniError, InsufficientNodes, Unavailable
from gam.rfc3339 import format_time
from gam.schedule import BOUNDED, POOL, Pool, thd_find_free, thd_lock_all, thd_reserve

#: Unbound nodes: how many candidate hosts are judged per schedule query.
PLACEMENT_CHUNK = 256

#: How many times the nodes are placed again when concurrent requests keep
#: booking the hosts chosen for unbound nodes before they are locked.
PLACEMENT_TRIES = 8


@dataclass(frozen=True)
class AllocationJob:
    """Everything thd_allocate needs, decided on the reactor side."""

    slice_urn: str
    nodes: tuple                 # NodeWant
    links: tuple                 # LinkWant
    start: datetime              # booking [start, end)
    end: datetime
    expires: datetime            # when the allocated slivers lapse unless provisioned
    slice_expires: datetime      # the granting credential's end
    now: datetime
    authority: str               # for sliver URNs
    lan_urn: str                 # component_id of link slivers


def new_sliver_urn(authority):
    """A sliver URN never used before: ``urn:publicid:IDN+<authority>+sliver+<uuid>``."""
    return str(URN(authority, "sliver", uuid.uuid4().hex))


def thd_allocate(conn, job):
    """Book and record ``job``; return the new slivers (nodes, then links).

    Every node is placed first (reading only), then every resource the
    request books is locked in one call, in the global order
    (``gam.schedule.thd_lock_all``), then the nodes and links are booked
    and written. If a host chosen for an unbound node was booked by a
    concurrent request before it was locked, the placement is undone
    (locks included) and made again.
    """
    found = thd_ensure_slice(conn, job.slice_urn, job.slice_expires, job.now)
    if found.shutdown:
        raise Unavailable(f"slice {job.slice_urn} was shut down by an operator at this "
                          "aggregate; it accepts no new resources. Contact the operator",
                          reason="shutdown")
    if job.slice_expires > found.expires:
        thd_set_slice_expires(conn, job.slice_urn, job.slice_expires)
    _check_names(conn, job)
    taken = None
    for _ in range(PLACEMENT_TRIES):
        hosts = _place(conn, job)
        try:
            with conn.begin_nested():       # rolled back, with its locks, to place again
                with thd_lock_all(conn, _resources(job, hosts)):
                    return _book(conn, job, hosts)
        except _Moved as moved:
            taken = moved.client_id
    raise Busy(f"node {taken!r}: each time a host was chosen for it, a request made at the "
               f"same moment booked that host first ({PLACEMENT_TRIES} times); try again",
               reason="contention")


class _Moved(Exception):
    """The host chosen for an unbound node was taken before it was locked."""

    def __init__(self, client_id):
        super().__init__(client_id)
        self.client_id = client_id


def _node_claims(want, host):
    return res.node_claims(host, want.exclusive, want.cores, want.memory_mb)


def _place(conn, job):
    """``{client_id: host}`` for every node: bound ones on their host, unbound
    ones on the first candidate that can take them besides the nodes of the
    request placed before them. Reads only: nothing is locked or booked."""
    hosts = {}
    mine = {}                   # resource -> what the nodes placed so far take of it
    for want in job.nodes:
        host = want.host if want.host is not None else _choose(conn, want, mine, job)
        hosts[want.client_id] = host
        for claim in _node_claims(want, host):
            mine[claim.resource] = mine.get(claim.resource, 0) + getattr(claim, "amount", 1)
    return hosts


def _choose(conn, want, mine, job):
    candidates = want.candidates
    for i in range(0, len(candidates), PLACEMENT_CHUNK):
        asked = []
        for host in candidates[i:i + PLACEMENT_CHUNK]:
            claims = _node_claims(want, host)
            if any(c.kind == BOUNDED and c.resource in mine for c in claims):
                continue
            # A pool must hold this node's share on top of the request's own.
            asked.append((host, tuple(
                Pool(c.name, c.amount + mine.get(c.name, 0)) if c.kind == POOL else c
                for c in claims)))
        free = set(thd_find_free(conn, [c for _, claims in asked for c in claims],
                                 job.start, job.end))
        for host, claims in asked:
            if all(c in free for c in claims):
                return host
    raise InsufficientNodes(
        f"no host can take node {want.client_id!r} ({want.describe()}) from "
        f"{format_time(job.start)} to {format_time(job.end)}: all {len(candidates)} "
        "hosts that could are booked then; ask for another time or fewer resources",
        reason="insufficient-nodes")


def _link_claims(want, hosts):
    return res.link_claims({hosts[end.node_client_id].name for end in want.ends},
                           want.capacity_kbps)


def _resources(job, hosts):
    """The names of every resource the request books, placed on ``hosts``."""
    names = {c.resource for want in job.nodes
             for c in _node_claims(want, hosts[want.client_id])}
    names.update(c.resource for want in job.links for c in _link_claims(want, hosts))
    return names


def _book(conn, job, hosts):
    node_urns = {w.client_id: new_sliver_urn(job.authority) for w in job.nodes}
    link_urns = {w.client_id: new_sliver_urn(job.authority) for w in job.links}
    link_of_interface = {end.interface_client_id: link_urns[w.client_id]
                         for w in job.links for end in w.ends}
    slivers = []
    for want in job.nodes:
        urn = node_urns[want.client_id]
        host = hosts[want.client_id]
        _book_node(conn, want, urn, host, job)
        slivers.append(_insert_node(conn, want, urn, host, link_of_interface, job))
    for want in job.links:
        urn = link_urns[want.client_id]
        slivers.append(_book_link(conn, want, urn, hosts, job))
    return tuple(slivers)


def _check_names(conn, job):
    taken = {}
    for sliver in thd_list_slivers(conn, job.slice_urn):
        taken[sliver.client_id] = sliver.kind
        for iface in sliver.data.get("interfaces") or ():
            taken[iface["client_id"]] = "interface"
    for want in job.nodes:
        names = [want.client_id] + [i.client_id for i in want.node.interfaces]
        for name in names:
            if name in taken:
                raise AlreadyExists(
                    f"slice {job.slice_urn} already has a {taken[name]} {name!r} at this "
                    "aggregate; give the new one another client_id, or delete the old one",
                    reason="duplicate-client-id")
    for want in job.links:
        if want.client_id in taken:
            raise AlreadyExists(
                f"slice {job.slice_urn} already has a {taken[want.client_id]} "
                f"{want.client_id!r} at this aggregate; give the new link another client_id",
                reason="duplicate-client-id")


def _explain(err, prefix):
    """``err`` again, with ``prefix`` naming the node or link it refused."""
    again = type(err)(f"{prefix}: {err.message}", reason=err.reason,
                      geni_code=err.geni_code)
    for attr in ("resource", "conflict"):
        if hasattr(err, attr):
            setattr(again, attr, getattr(err, attr))
    return again


def _book_node(conn, want, urn, host, job):
    try:
        thd_reserve(conn, urn, _node_claims(want, host), job.start, job.end, job.now)
    except GeniError as e:
        if want.host is None:
            raise _Moved(want.client_id) from None     # it was free when chosen
        raise _explain(e, f"node {want.client_id!r} ({want.describe()} on "
                       f"{host.name}) cannot be booked") from None


def _insert_node(conn, want, urn, host, link_of_interface, job):
    interfaces = []
    for iface in want.node.interfaces:
        ip = next((a for a in iface.ips if a.type == "ipv4"), None)
        interfaces.append({"client_id": iface.client_id,
                           "link": link_of_interface.get(iface.client_id),
                           "address": ip.address if ip else None,
                           "netmask": ip.netmask if ip else None})
    data = {"host": host.name, "image": want.image.name, "image_urn": want.image.urn,
            "exclusive": want.exclusive, "cores": want.cores, "memory_mb": want.memory_mb,
            "interfaces": interfaces}
    return thd_insert_sliver(
        conn, urn=urn, slice_urn=job.slice_urn, client_id=want.client_id, kind="node",
        resource_type=want.sliver_type.name, sliver_type=want.sliver_type.name,
        component_id=host.component_id, allocation_state=ALLOCATED,
        operational_state=PENDING, expires=job.expires, start_time=job.start, now=job.now,
        request_xml=want.node.xml, data=data)


def _book_link(conn, want, urn, hosts, job):
    ends = [{"node": end.node_client_id, "interface": end.interface_client_id,
             "address": end.address, "netmask": end.netmask,
             "host": hosts[end.node_client_id].name}
            for end in want.ends]
    try:
        booked = thd_reserve(conn, urn, _link_claims(want, hosts), job.start, job.end,
                             job.now)
    except GeniError as e:
        raise _explain(e, f"link {want.client_id!r} cannot be booked") from None
    tag = booked[0].tag
    data = {"vlan_tag": tag, "capacity_kbps": want.capacity_kbps,
            "latency_ms": want.latency_ms, "packet_loss": want.packet_loss, "ends": ends}
    return thd_insert_sliver(
        conn, urn=urn, slice_urn=job.slice_urn, client_id=want.client_id, kind="link",
        resource_type="link", component_id=job.lan_urn, allocation_state=ALLOCATED,
        operational_state=PENDING, expires=job.expires, start_time=job.start, now=job.now,
        request_xml=want.link.xml, data=data)


__all__ = ["AllocationJob", "thd_allocate", "new_sliver_urn", "PLACEMENT_CHUNK",
           "PLACEMENT_TRIES"]
