"""The schedule's vocabulary: claims, resources, reservations, usage.

All plain frozen dataclasses; times are aware UTC datetimes and
intervals are half-open, ``[start, end)``.
"""
from dataclasses import dataclass
from datetime import datetime

BOUNDED = "bounded"
POOL = "pool"
VLAN = "vlan"
KINDS = (BOUNDED, POOL, VLAN)

#: Pool units that make a shortfall an InsufficientBandwidth (geni_code 25).
BANDWIDTH_UNITS = frozenset({"bps", "kbps", "mbps", "gbps"})


@dataclass(frozen=True)
class Bounded:
    """The named resource, whole (one holder at a time): a host, a port."""

    name: str
    kind = BOUNDED

    @property
    def resource(self):
        return self.name


@dataclass(frozen=True)
class Pool:
    """``amount`` units of a capacity pool (cores, memory MB, bandwidth)."""

    name: str
    amount: int
    kind = POOL

    @property
    def resource(self):
        return self.name


@dataclass(frozen=True)
class VlanTag:
    """A VLAN tag of pool ``pool``: ``tag`` itself, or any free one if None."""

    pool: str
    tag: int | None = None
    kind = VLAN

    @property
    def resource(self):
        return self.pool


@dataclass(frozen=True)
class ResourceSpec:
    """One resource of the inventory, as ``thd_define_resources`` takes it.

    bounded: ``capacity`` is 1 (None means 1); pool: ``capacity`` is the
    total, ``unit`` names it (``cores``, ``mb``, ``mbps``...); vlan:
    ``ranges`` is a sequence of inclusive ``(low, high)`` tag pairs and
    ``capacity`` is left None (it is the number of tags).
    """

    name: str
    kind: str
    capacity: int | None = None
    unit: str | None = None
    ranges: tuple = ()


@dataclass(frozen=True)
class Resource:
    name: str
    kind: str
    capacity: int
    unit: str | None
    ranges: tuple
    retired: bool


@dataclass(frozen=True)
class Reservation:
    """A booking of ``resource`` by ``holder`` (a sliver URN) for [start, end)."""

    resource: str
    kind: str
    holder: str
    start: datetime
    end: datetime
    amount: int
    tag: int | None = None


@dataclass(frozen=True)
class Usage:
    """How much of a resource is booked at instant ``at``."""

    resource: str
    kind: str
    capacity: int
    used: int
    at: datetime
    unit: str | None = None
    holders: tuple = ()
    #: VLAN pools: the tags in use at ``at``.
    tags: tuple = ()

    @property
    def free(self):
        return max(self.capacity - self.used, 0)


@dataclass(frozen=True)
class SyncResult:
    """What ``thd_define_resources`` changed (resource names, sorted)."""

    added: tuple = ()
    changed: tuple = ()
    retired: tuple = ()
