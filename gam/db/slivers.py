"""Slivers: thread-side store functions and their async wrapper.

Sliver rows are never removed: deleting or expiring a sliver stamps
``deleted_at`` and sets its allocation state to ``geni_unallocated`` (the
aggregate does that once the drivers have freed it and its bookings are
cancelled, in ``gam.aggregate.lifecycle.thd_finish_delete``); the
unique URN column makes sure a sliver URN is never handed out twice.
The ``thd_`` functions take a live connection so the aggregate can put
them in one transaction with the schedule's bookings.
"""
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from gam.db.model import slices, slivers
from gam.db.types import as_utc
from gam.errors import AlreadyExists, SearchFailed

KINDS = ("node", "link")
ALLOCATION_STATES = ("geni_unallocated", "geni_allocated", "geni_provisioned")
UNALLOCATED = "geni_unallocated"

#: Fields ``thd_update_sliver`` may change.
UPDATABLE = frozenset({
    "allocation_state", "operational_state", "error", "expires", "component_id",
    "sliver_type", "request_xml", "data", "start_time",
})


@dataclass(frozen=True)
class Sliver:
    urn: str
    slice_urn: str
    client_id: str
    kind: str
    resource_type: str
    sliver_type: str | None
    component_id: str | None
    allocation_state: str
    operational_state: str
    error: str
    expires: datetime
    start_time: datetime
    created: datetime
    updated: datetime
    deleted_at: datetime | None
    request_xml: str | None
    #: Driver and manifest data (logins, MACs, VLAN tag...); a copy.
    data: dict = field(default_factory=dict, hash=False)

    @property
    def deleted(self):
        return self.deleted_at is not None


_COLUMNS = [c for c in slivers.c if c.name not in ("id", "slice_id")]
_SELECT = (sa.select(*_COLUMNS, slices.c.urn.label("slice_urn"))
           .join_from(slivers, slices, slivers.c.slice_id == slices.c.id))


def _to_sliver(row):
    values = row._asdict()
    values["data"] = dict(values["data"] or {})
    return Sliver(**values)


def _check_fields(kind=None, allocation_state=None):
    if kind is not None and kind not in KINDS:
        raise ValueError(f"sliver kind {kind!r} is not one of {', '.join(KINDS)}")
    if allocation_state is not None and allocation_state not in ALLOCATION_STATES:
        raise ValueError(f"allocation state {allocation_state!r} is not one of "
                         f"{', '.join(ALLOCATION_STATES)}")


def thd_insert_sliver(conn, *, urn, slice_urn, client_id, kind, resource_type,
                      expires, now, sliver_type=None, component_id=None,
                      allocation_state="geni_allocated",
                      operational_state="geni_pending_allocation", error="",
                      start_time=None, request_xml=None, data=None):
    """Add a sliver to an existing slice and return it.

    Raises SearchFailed if the slice is unknown and AlreadyExists if the
    URN was ever used before (deleted slivers included).
    """
    _check_fields(kind, allocation_state)
    slice_id = conn.execute(
        sa.select(slices.c.id).where(slices.c.urn == slice_urn)).scalar()
    if slice_id is None:
        raise SearchFailed(f"slice {slice_urn} is not known at this aggregate; "
                           "create it before adding slivers")
    now = as_utc(now, "now")
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(slivers).values(
                urn=urn, slice_id=slice_id, client_id=client_id, kind=kind,
                resource_type=resource_type, sliver_type=sliver_type,
                component_id=component_id, allocation_state=allocation_state,
                operational_state=operational_state, error=error,
                expires=as_utc(expires, "sliver expiry"),
                start_time=as_utc(start_time or now, "start time"),
                created=now, updated=now, request_xml=request_xml,
                data=dict(data or {})))
    except sa.exc.IntegrityError:
        if conn.execute(sa.select(slivers.c.id).where(slivers.c.urn == urn)).first():
            raise AlreadyExists(
                f"sliver URN {urn} has been used before at this aggregate; "
                "sliver URNs are never reused, make a new one") from None
        raise
    return thd_get_sliver(conn, urn)


def thd_get_sliver(conn, urn, include_deleted=False):
    """The sliver ``urn`` or None (deleted slivers only if asked for)."""
    query = _SELECT.where(slivers.c.urn == urn)
    if not include_deleted:
        query = query.where(slivers.c.deleted_at.is_(None))
    row = conn.execute(query).first()
    return _to_sliver(row) if row else None


def thd_get_slivers(conn, urns, include_deleted=False):
    """The slivers among ``urns`` that exist, in the order asked, no repeats."""
    urns = list(dict.fromkeys(urns))
    found = {}
    for i in range(0, len(urns), 500):
        query = _SELECT.where(slivers.c.urn.in_(urns[i:i + 500]))
        if not include_deleted:
            query = query.where(slivers.c.deleted_at.is_(None))
        for row in conn.execute(query):
            found[row.urn] = _to_sliver(row)
    return tuple(found[u] for u in urns if u in found)


def thd_list_slivers(conn, slice_urn, include_deleted=False):
    """The slivers of a slice, oldest first."""
    query = _SELECT.where(slices.c.urn == slice_urn).order_by(slivers.c.id)
    if not include_deleted:
        query = query.where(slivers.c.deleted_at.is_(None))
    return tuple(_to_sliver(row) for row in conn.execute(query))


def thd_update_sliver(conn, urn, now, *, merge_data=None, **changes):
    """Change fields of a live sliver and return it.

    ``changes`` may name any of ``UPDATABLE``; ``data=`` replaces the JSON
    data while ``merge_data=`` adds/overwrites keys in it. Raises
    SearchFailed if the sliver is unknown or deleted.
    """
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"cannot update sliver field(s) {', '.join(sorted(unknown))}")
    _check_fields(allocation_state=changes.get("allocation_state"))
    current = thd_get_sliver(conn, urn)
    if current is None:
        raise SearchFailed(f"sliver {urn} does not exist at this aggregate "
                           "(or was deleted or expired)")
    for key in ("expires", "start_time"):
        if key in changes:
            changes[key] = as_utc(changes[key], key)
    if merge_data:
        changes["data"] = {**changes.get("data", current.data), **merge_data}
    changes["updated"] = as_utc(now, "now")
    conn.execute(sa.update(slivers).where(slivers.c.urn == urn).values(**changes))
    return thd_get_sliver(conn, urn)


def thd_mark_deleted(conn, urns, now):
    """Mark live slivers among ``urns`` deleted; return them as they are now.

    Unknown or already deleted URNs are skipped (the result says which
    were marked).
    """
    live = thd_get_slivers(conn, urns)
    if not live:
        return ()
    now = as_utc(now, "now")
    conn.execute(sa.update(slivers)
                 .where(slivers.c.urn.in_([s.urn for s in live]),
                        slivers.c.deleted_at.is_(None))
                 .values(deleted_at=now, updated=now, allocation_state=UNALLOCATED))
    return thd_get_slivers(conn, [s.urn for s in live], include_deleted=True)


def thd_list_expired(conn, now):
    """Live slivers whose expiry is at or before ``now``, soonest first."""
    query = (_SELECT.where(slivers.c.deleted_at.is_(None),
                           slivers.c.expires <= as_utc(now, "now"))
             .order_by(slivers.c.expires, slivers.c.id))
    return tuple(_to_sliver(row) for row in conn.execute(query))


class SliversComponent:
    """Async face of this module: each method returns a Deferred."""

    def __init__(self, db):
        self.db = db

    def insert_sliver(self, **kwargs):
        return self.db.run(thd_insert_sliver, **kwargs)

    def get_sliver(self, urn, include_deleted=False):
        return self.db.read(thd_get_sliver, urn, include_deleted)

    def get_slivers(self, urns, include_deleted=False):
        return self.db.read(thd_get_slivers, urns, include_deleted)

    def list_slivers(self, slice_urn, include_deleted=False):
        return self.db.read(thd_list_slivers, slice_urn, include_deleted)

    def update_sliver(self, urn, now, **changes):
        return self.db.run(thd_update_sliver, urn, now, **changes)

    def mark_deleted(self, urns, now):
        return self.db.run(thd_mark_deleted, urns, now)

    def list_expired(self, now):
        return self.db.read(thd_list_expired, now)
