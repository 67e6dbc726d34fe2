"""Reservations in time over half-open intervals ``[start, end)``, in UTC.

Three kinds of resource: *bounded* (one holder at a time), *pool* (an
amount counted against a capacity at every instant) and *vlan* (one
holder per tag). Thread-side functions (``thd_...(conn, ...)``) compose
with the sliver store in one transaction; ``Schedule`` wraps them.
"""
from gam.schedule.booking import thd_cancel, thd_expire, thd_extend, thd_reserve
from gam.schedule.claims import (
    BOUNDED, POOL, VLAN, Bounded, Pool, Reservation, Resource, ResourceSpec, SyncResult,
    Usage, VlanTag)
from gam.schedule.component import Schedule
from gam.schedule.inventory import (
    thd_define_resources, thd_get_resource, thd_list_resources, thd_lock_all)
from gam.schedule.status import (
    thd_ending_before, thd_find_free, thd_holder_reservations, thd_list_reservations,
    thd_resources_of, thd_usage, thd_usage_all)

__all__ = [
    "BOUNDED", "POOL", "VLAN", "Bounded", "Pool", "VlanTag", "Reservation", "Resource",
    "ResourceSpec", "SyncResult", "Usage", "Schedule",
    "thd_reserve", "thd_extend", "thd_cancel", "thd_expire", "thd_define_resources",
    "thd_get_resource", "thd_list_resources", "thd_find_free", "thd_holder_reservations",
    "thd_list_reservations", "thd_usage", "thd_usage_all", "thd_lock_all",
    "thd_resources_of", "thd_ending_before",
]
