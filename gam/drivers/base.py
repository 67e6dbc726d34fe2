"""The contract between the aggregate and the drivers.

The aggregate knows GENI (slices, slivers, states, the database); a driver
knows a substrate (namespaces on this host, VMs on a hypervisor, a switch).
Between them are plain frozen dataclasses: *plans* going down (what to
build) and *outcomes* coming up (what was built, as data the aggregate
stores and later hands back for delete, poll and actions).

Handlers are chosen by resource type (a node's sliver type, or ``link``)
from YAML configuration; each handler runs its blocking work in the
drivers' bounded thread pool and answers with Deferreds (``async def``
methods here, wrapped with ``defer.Deferred.fromCoroutine`` by callers).
Every operation has a timeout enforced inside the work, not only by
cancelling a Deferred.
"""
import abc
from dataclasses import dataclass, field

from gam.errors import GeniError, GeniCode

# Operational states a driver reports (AM API v3).
NOTREADY = "geni_notready"
CONFIGURING = "geni_configuring"
READY = "geni_ready"
FAILED = "geni_failed"
STOPPING = "geni_stopping"
UPDATING_USERS = "geni_updating_users"

# Operational actions a node handler may perform.
START = "geni_start"
STOP = "geni_stop"
RESTART = "geni_restart"
UPDATE_USERS = "geni_update_users"
ACTIONS = (START, STOP, RESTART, UPDATE_USERS)


class DriverError(GeniError):
    """A substrate operation failed; the message is what the experimenter sees
    in ``geni_error`` (what broke, on which host, and what was cleaned up)."""

    geni_code = GeniCode.ERROR
    default_reason = "driver"


class DriverTimeout(DriverError):
    geni_code = GeniCode.TIMEDOUT
    default_reason = "timed-out"


@dataclass(frozen=True)
class User:
    """An experimenter account: ``name`` is the login (from the URN's name)."""

    urn: str
    name: str
    keys: tuple


@dataclass(frozen=True)
class InterfacePlan:
    client_id: str
    link_sliver: str | None = None     # the link sliver it attaches to
    address: str | None = None         # requested IPv4 address
    netmask: str | None = None


@dataclass(frozen=True)
class NodePlan:
    sliver_urn: str
    slice_urn: str
    client_id: str
    host: str                          # inventory host name the schedule chose
    sliver_type: str
    image: str | None = None
    cores: int | None = None
    memory_mb: int | None = None
    interfaces: tuple = ()             # InterfacePlan
    users: tuple = ()                  # User


@dataclass(frozen=True)
class LinkEnd:
    node_client_id: str
    interface_client_id: str
    address: str | None = None
    netmask: str | None = None


@dataclass(frozen=True)
class LinkPlan:
    sliver_urn: str
    slice_urn: str
    client_id: str
    vlan_tag: int | None = None        # from the schedule
    capacity_kbps: int | None = None
    latency_ms: float | None = None
    packet_loss: float | None = None
    ends: tuple = ()                   # LinkEnd


@dataclass(frozen=True)
class Outcome:
    """What a create produced. ``data`` is JSON-serialisable: the aggregate
    stores it with the sliver and passes it back to delete/poll/perform and
    clean_restart. For nodes it holds at least ``logins``
    (``[{username, hostname, port}]``) and ``interfaces``
    (``{client_id: {mac, address, netmask}}``); for links ``vlan_tag`` and
    whatever a node handler needs to attach to it (``stitching``)."""

    sliver_urn: str
    state: str
    data: dict = field(default_factory=dict)
    error: str = ""


class Handler(abc.ABC):
    """One kind of resource on one kind of substrate.

    ``create`` either returns an Outcome in state READY, or raises
    DriverError after removing whatever it had made (nothing is left
    half-done). ``delete`` removes everything for the sliver and is
    idempotent: deleting what is already gone succeeds.
    """

    #: "node" or "link"
    kind = "node"

    @abc.abstractmethod
    async def create(self, plan, stitching):
        """Build ``plan`` (a NodePlan or LinkPlan). ``stitching`` maps link
        sliver URNs to the ``data`` of their link outcomes (for nodes)."""

    @abc.abstractmethod
    async def delete(self, sliver_urn, data):
        """Remove everything ``create`` made for this sliver."""

    async def modify(self, sliver_urn, data, plan):
        raise DriverError(f"{type(self).__name__} cannot modify slivers in place; delete "
                          "and allocate again", geni_code=GeniCode.UNSUPPORTED)

    @abc.abstractmethod
    async def poll(self, sliver_urn, data):
        """The operational state of the sliver now (READY, FAILED, ...)."""

    async def perform(self, sliver_urn, data, action, users=()):
        """Carry out an operational action; return the new state."""
        raise DriverError(f"{type(self).__name__} does not support {action}",
                          geni_code=GeniCode.UNSUPPORTED)

    @abc.abstractmethod
    async def clean_restart(self, live):
        """After an AM restart: ``live`` maps sliver URNs to their data for the
        slivers the database still holds. Remove anything this handler finds
        on its substrate that belongs to no live sliver; return the URNs of
        live slivers whose resources are gone (the aggregate marks them
        failed)."""

    def capabilities(self):
        """What this handler can do, for the advertisement and for refusing
        requests it cannot honour (e.g. ``{"latency": False}``)."""
        return {}
