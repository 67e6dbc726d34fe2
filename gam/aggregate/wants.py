"""What a request asks of this aggregate, checked against the inventory.

:func:`check_request` turns the part of a parsed request RSpec that is
ours into :class:`NodeWant` and :class:`LinkWant` values, refusing what the
inventory can never provide (an unknown sliver type or image, a host that
does not exist, link latency where links cannot shape it, stitching to
other aggregates, ...) with BadArgs (1) or Unsupported (13) and a message
that names the node or link and says what to change. Nothing here looks at
the schedule: whether the resources are free is decided under lock, in
:mod:`gam.aggregate.allocation`.
"""
from dataclasses import dataclass

from gam.drivers.base import LinkEnd
from gam.errors import BadArgs, InsufficientNodes, Unsupported

LINK_TYPES = (None, "lan", "vlan")


@dataclass(frozen=True)
class NodeWant:
    """One node of the request as this aggregate will provide it.

    ``host`` is set for a bound node; ``candidates`` are the hosts that
    could ever take an unbound one (offering its sliver type and hardware,
    big enough), in inventory order.
    """

    node: object                 # gam.rspec.RequestNode
    sliver_type: object          # gam.inventory.SliverType
    image: object                # gam.inventory.DiskImage
    exclusive: bool
    cores: int | None
    memory_mb: int | None
    host: object | None = None
    candidates: tuple = ()

    @property
    def client_id(self):
        return self.node.client_id

    def describe(self):
        """``default-vm (1 core, 1024 MB)`` or ``raw-pc (whole host)``."""
        if self.exclusive:
            return f"{self.sliver_type.name} (whole host)"
        cores = f"{self.cores} core" + ("s" if self.cores != 1 else "")
        return f"{self.sliver_type.name} ({cores}, {self.memory_mb} MB)"


@dataclass(frozen=True)
class LinkWant:
    link: object                 # gam.rspec.RequestLink
    ends: tuple                  # gam.drivers.base.LinkEnd
    capacity_kbps: int | None
    latency_ms: float | None
    packet_loss: float | None

    @property
    def client_id(self):
        return self.link.client_id


def check_request(request, inventory):
    """``(node wants, link wants)`` of ``request`` (already narrowed with
    ``for_aggregate``); raises BadArgs / Unsupported / InsufficientNodes."""
    if not request.nodes and not request.links:
        raise BadArgs("the request RSpec holds nothing for this aggregate: no node has "
                      f"component_manager_id {inventory.component_manager_id} (or none); "
                      "set it on the nodes this aggregate should provide")
    nodes = tuple(_node(node, inventory) for node in request.nodes)
    links = tuple(_link(link, request, inventory) for link in request.links)
    return nodes, links


def _offered(names):
    return ", ".join(names) or "none"


def _sliver_type(node, inventory):
    types = inventory.sliver_types
    if node.sliver_type is not None:
        chosen = inventory.sliver_type(node.sliver_type)
        if chosen is None:
            raise BadArgs(f"node {node.client_id!r} asks for sliver type "
                          f"{node.sliver_type!r}, which this aggregate does not offer; "
                          f"use one of {_offered(t.name for t in types)}",
                          reason="unknown-sliver-type")
        if node.exclusive is not None and node.exclusive != chosen.exclusive:
            kind = "exclusive" if chosen.exclusive else "shared"
            other = [t.name for t in types if t.exclusive == node.exclusive]
            raise BadArgs(f"node {node.client_id!r} says exclusive=\"{str(node.exclusive).lower()}\" "
                          f"but sliver type {chosen.name!r} is {kind} here; change exclusive "
                          f"or ask for {'a sliver type among ' + _offered(other) if other else 'another sliver type'}")
        return chosen
    chosen = inventory.sliver_type(inventory.default_sliver_type)
    if node.exclusive is not None and node.exclusive != chosen.exclusive:
        matching = [t for t in types if t.exclusive == node.exclusive]
        if not matching:
            kind = "exclusive" if node.exclusive else "shared"
            raise BadArgs(f"node {node.client_id!r} asks for an {kind} node, and this "
                          f"aggregate offers no {kind} sliver type (it offers "
                          f"{_offered(t.name for t in types)})")
        chosen = matching[0]
    return chosen


def _image(node, sliver_type, inventory):
    if node.disk_image is None:
        return inventory.disk_image(sliver_type.default_image)
    image = inventory.disk_image(node.disk_image.name)
    if image is None:
        names = [inventory.disk_image(n).urn for n in sliver_type.disk_images]
        raise BadArgs(f"node {node.client_id!r} asks for disk image "
                      f"{node.disk_image.name!r}, which this aggregate does not have; "
                      f"use one of {_offered(names)} or leave <disk_image> out for the "
                      "default", reason="unknown-image")
    if image.name not in sliver_type.disk_images:
        raise BadArgs(f"node {node.client_id!r}: disk image {image.urn} cannot boot sliver "
                      f"type {sliver_type.name!r}; it offers "
                      f"{_offered(sliver_type.disk_images)}", reason="unknown-image")
    return image


def _node(node, inventory):
    sliver_type = _sliver_type(node, inventory)
    image = _image(node, sliver_type, inventory)
    exclusive = sliver_type.exclusive
    cores = memory = None
    if not exclusive:
        cores = node.cores or sliver_type.cores
        memory = node.memory_mb or sliver_type.memory_mb

    def fits(host):
        return exclusive or (cores <= host.cores and memory <= host.memory_mb)

    want = NodeWant(node, sliver_type, image, exclusive, cores, memory)
    if node.component_id is not None:
        host = inventory.host_by_component_id(node.component_id)
        if host is None:
            raise BadArgs(f"node {node.client_id!r} is bound to {node.component_id}, which "
                          "is not a node of this aggregate; use a component_id from "
                          "ListResources, or remove it to let the aggregate choose",
                          reason="unknown-component")
        if sliver_type.name not in host.sliver_types:
            raise BadArgs(f"node {node.client_id!r}: host {host.name} does not offer sliver "
                          f"type {sliver_type.name!r}; it offers "
                          f"{_offered(host.sliver_types)}")
        if node.hardware_type is not None and node.hardware_type != host.hardware_type:
            raise BadArgs(f"node {node.client_id!r} asks for hardware type "
                          f"{node.hardware_type!r}, but host {host.name} is "
                          f"{host.hardware_type!r}")
        if not fits(host):
            raise BadArgs(f"node {node.client_id!r} asks for {want.describe()}, more than "
                          f"host {host.name} has ({host.cores} cores, {host.memory_mb} MB)")
        return NodeWant(node, sliver_type, image, exclusive, cores, memory, host=host)
    candidates = tuple(
        h for h in inventory.hosts
        if sliver_type.name in h.sliver_types
        and (node.hardware_type is None or node.hardware_type == h.hardware_type)
        and fits(h))
    if not candidates:
        hardware = f" of hardware type {node.hardware_type!r}" if node.hardware_type else ""
        raise InsufficientNodes(
            f"no host{hardware} at this aggregate can ever hold node {node.client_id!r} "
            f"as {want.describe()}; ask for less or another sliver type, or look at "
            "ListResources for what the hosts offer")
    return NodeWant(node, sliver_type, image, exclusive, cores, memory,
                    candidates=candidates)


def _link(link, request, inventory):
    caps = inventory.links
    where = f"link {link.client_id!r}"
    if link.link_type not in LINK_TYPES:
        raise Unsupported(f"{where} asks for link type {link.link_type!r}; this aggregate "
                          "makes lan and vlan links only (<link_type name=\"lan\"/>)")
    if link.shared_vlan is not None:
        raise Unsupported(f"{where} asks to join the shared VLAN {link.shared_vlan!r}; "
                          "this aggregate offers no shared VLANs: remove "
                          "<link_shared_vlan> to get a private VLAN")
    remote = request.remote_interface_refs(link)
    if remote:
        raise Unsupported(f"{where} reaches interfaces of other aggregates "
                          f"({', '.join(remote)}); this aggregate cannot stitch links to "
                          "other aggregates: link only nodes of this aggregate")
    capacity = link.max_capacity_kbps
    if capacity is not None and capacity > caps.max_capacity_kbps:
        raise BadArgs(f"{where} asks for {capacity} kbit/s; links here carry at most "
                      f"{caps.max_capacity_kbps} kbit/s: ask for less")
    latencies = [p.latency_ms for p in link.properties if p.latency_ms]
    if latencies and not caps.latency:
        raise Unsupported(f"{where} asks for a latency of {max(latencies)} ms; links at this "
                          "aggregate cannot add latency: remove the latency property")
    losses = [p.packet_loss for p in link.properties if p.packet_loss]
    if losses and not caps.packet_loss:
        raise Unsupported(f"{where} asks for a packet loss of {max(losses)}; links at this "
                          "aggregate cannot drop packets on purpose: remove the packet_loss "
                          "property")
    ends = []
    for ref in link.interface_refs:
        owner = request.node_of_interface(ref)
        node = request.node(owner)
        iface = next(i for i in node.interfaces if i.client_id == ref)
        ip = next((i for i in iface.ips if i.type == "ipv4"), None)
        ends.append(LinkEnd(owner, ref, ip.address if ip else None,
                                ip.netmask if ip else None))
    return LinkWant(link, tuple(ends), capacity, max(latencies) if latencies else None,
                    max(losses) if losses else None)


__all__ = ["NodeWant", "LinkWant", "check_request"]
