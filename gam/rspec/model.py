"""Typed, frozen objects for a parsed request RSpec.

Each node and link keeps ``xml``: its element serialised as a standalone
string (all namespace declarations in scope included), so that a manifest
can echo it later, from another process, with unknown extensions intact.
"""
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Extension:
    """An element in another namespace (an RSpec extension), carried as is."""

    namespace: str
    name: str
    attributes: tuple[tuple[str, str], ...]
    xml: str

    def get(self, attribute, default=None):
        for key, value in self.attributes:
            if key == attribute:
                return value
        return default


@dataclass(frozen=True)
class IP:
    """An address requested for an interface. ``type`` is 'ipv4' or 'ipv6'."""

    address: str
    netmask: str | None
    type: str


@dataclass(frozen=True)
class RequestInterface:
    client_id: str
    ips: tuple[IP, ...] = ()
    component_id: str | None = None


@dataclass(frozen=True)
class DiskImageRef:
    """The disk image a node asks for.

    ``name`` is the ``name`` attribute as written (an image URN, a short
    name, or, for ExoGENI-style requests, a URL); ``url`` is set when the
    name is an http(s) URL; ``version`` is the ``version`` attribute.
    """

    name: str
    url: str | None = None
    version: str | None = None
    os: str | None = None


@dataclass(frozen=True)
class InstallService:
    url: str
    install_path: str


@dataclass(frozen=True)
class ExecuteService:
    shell: str
    command: str


@dataclass(frozen=True)
class Services:
    """The node's ``<services>``: archives to install, then commands to run."""

    installs: tuple[InstallService, ...] = ()
    executes: tuple[ExecuteService, ...] = ()

    def __bool__(self):
        return bool(self.installs or self.executes)


@dataclass(frozen=True)
class RequestNode:
    """One ``<node>`` of a request.

    Bound when ``component_id`` is set (the client chose the host), unbound
    otherwise (the aggregate picks). ``cores``/``memory_mb`` come from the
    emulab ``<xen cores= ram=>`` extension inside ``<sliver_type>``, when
    present.
    """

    client_id: str
    component_id: str | None
    component_manager_id: str | None
    exclusive: bool | None
    sliver_type: str | None
    disk_image: DiskImageRef | None
    hardware_type: str | None
    interfaces: tuple[RequestInterface, ...]
    services: Services
    extensions: tuple[Extension, ...]
    xml: str
    cores: int | None = None
    memory_mb: int | None = None

    @property
    def bound(self):
        return self.component_id is not None


@dataclass(frozen=True)
class LinkProperty:
    """A one-way property of a link: from interface ``source_id`` to ``dest_id``.

    ``capacity_kbps`` in kbit/s, ``latency_ms`` in milliseconds,
    ``packet_loss`` as a fraction (0.01 = 1 %).
    """

    source_id: str
    dest_id: str
    capacity_kbps: int | None = None
    latency_ms: float | None = None
    packet_loss: float | None = None


@dataclass(frozen=True)
class RequestLink:
    """One ``<link>``: the interfaces it joins (client ids) and its properties.

    ``link_type`` is the ``<link_type name>`` ('lan', 'vlan', ...) or None;
    ``shared_vlan`` the name in the shared-vlan extension, or None;
    ``component_managers`` the aggregates the link spans, as written.
    """

    client_id: str
    interface_refs: tuple[str, ...]
    properties: tuple[LinkProperty, ...]
    link_type: str | None
    shared_vlan: str | None
    component_managers: tuple[str, ...]
    extensions: tuple[Extension, ...]
    xml: str

    @property
    def max_capacity_kbps(self):
        """The largest capacity asked for on this link, or None."""
        caps = [p.capacity_kbps for p in self.properties if p.capacity_kbps is not None]
        return max(caps) if caps else None


@dataclass(frozen=True)
class Request:
    """A parsed request RSpec.

    ``extensions`` are the top-level extension elements (stitching, ...);
    ``source`` is the document as received (text). After
    :meth:`for_aggregate`, ``nodes``/``links`` hold only what this
    aggregate must provide and ``skipped_nodes``/``skipped_links`` name the
    rest (client ids).
    """

    nodes: tuple[RequestNode, ...]
    links: tuple[RequestLink, ...]
    extensions: tuple[Extension, ...]
    source: str
    skipped_nodes: tuple[str, ...] = ()
    skipped_links: tuple[str, ...] = ()
    interface_owners: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def node(self, client_id):
        """The node with this client id, or None."""
        for node in self.nodes:
            if node.client_id == client_id:
                return node
        return None

    def link(self, client_id):
        """The link with this client id, or None."""
        for link in self.links:
            if link.client_id == client_id:
                return link
        return None

    @cached_property
    def _owners(self):
        return dict(self.interface_owners)

    def node_of_interface(self, interface_client_id):
        """Client id of the node (any node of the document) owning an interface."""
        return self._owners.get(interface_client_id)

    def remote_interface_refs(self, link):
        """The interfaces of ``link`` that belong to nodes not in ``nodes``
        (nodes of other aggregates, after for_aggregate)."""
        local = {n.client_id for n in self.nodes}
        return tuple(ref for ref in link.interface_refs
                     if self.node_of_interface(ref) not in local)

    def for_aggregate(self, component_manager_id):
        """The part of this request that the aggregate ``component_manager_id``
        must provide. See :func:`gam.rspec.scope.for_aggregate`."""
        from gam.rspec.scope import for_aggregate
        return for_aggregate(self, component_manager_id)
