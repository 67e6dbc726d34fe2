"""Read-side schedule queries: free candidates, usage, listings."""
from datetime import timedelta

import sqlalchemy as sa

from gam.db.model import reservations as R
from gam.db.model import resources
from gam.db.types import as_utc
from gam.schedule.claims import BOUNDED, POOL, VLAN, Reservation, Usage
from gam.schedule.intervals import check_interval
from gam.schedule.overlap import (
    bounded_conflict, overlapping, overlapping_many, pool_fits, vlan_choice)
from gam.schedule.inventory import unknown_resource

_RESERVATION = sa.select(
    resources.c.name, resources.c.kind, R.c.holder, R.c.start_at, R.c.end_at,
    R.c.amount, R.c.tag).join_from(R, resources, R.c.resource_id == resources.c.id)

#: [at, at + _INSTANT) holds exactly the reservations in force at ``at``
#: (times are stored to the microsecond).
_INSTANT = timedelta(microseconds=1)


def to_reservation(row):
    return Reservation(resource=row.name, kind=row.kind, holder=row.holder,
                       start=row.start_at, end=row.end_at, amount=row.amount,
                       tag=row.tag)


def thd_holder_reservations(conn, holder):
    """Every reservation of ``holder``, by resource name."""
    query = _RESERVATION.where(R.c.holder == holder).order_by(resources.c.name, R.c.id)
    return tuple(to_reservation(row) for row in conn.execute(query))


def thd_resources_of(conn, holders):
    """The names of the resources ``holders`` book (any of them), sorted."""
    holders = sorted(set(holders))
    names = set()
    for i in range(0, len(holders), 500):
        query = (sa.select(resources.c.name).distinct()
                 .join_from(R, resources, R.c.resource_id == resources.c.id)
                 .where(R.c.holder.in_(holders[i:i + 500])))
        names.update(conn.execute(query).scalars())
    return tuple(sorted(names))


def thd_ending_before(conn, when):
    """The holders (a set) of the reservations that end before ``when``.

    A short index range scan on ``end_at``: reservations go when their
    holder is freed, so few end in the past.
    """
    when = as_utc(when, "when")
    # No DISTINCT: SQLite would answer it by scanning the whole holder index.
    return set(conn.execute(sa.select(R.c.holder).where(R.c.end_at < when)).scalars())


def thd_list_reservations(conn, resource, start, end):
    """Reservations of ``resource`` that overlap [start, end), by start."""
    start, end = check_interval(start, end)
    row = _resource_row(conn, resource)
    hits = overlapping(conn, row.id, row.max_span_s, start, end)
    return tuple(Reservation(resource=row.name, kind=row.kind, holder=h.holder,
                             start=h.start_at, end=h.end_at, amount=h.amount, tag=h.tag)
                 for h in hits)


def _resource_row(conn, name):
    row = conn.execute(sa.select(resources).where(resources.c.name == name)).first()
    if row is None:
        raise unknown_resource(name)
    return row


def thd_find_free(conn, candidates, start, end):
    """The claims among ``candidates`` that could be booked for [start, end).

    Each candidate is judged alone (two claims on one pool are not added
    up); unknown, retired and wrong-kind candidates are left out. Nothing
    is locked: ``thd_reserve`` checks again under lock.
    """
    start, end = check_interval(start, end)
    candidates = tuple(candidates)
    names = sorted({c.resource for c in candidates})
    rows = {}
    for i in range(0, len(names), 500):
        query = sa.select(
            resources.c.id, resources.c.name, resources.c.kind, resources.c.capacity,
            resources.c.ranges, resources.c.max_span_s,
        ).where(resources.c.name.in_(names[i:i + 500]), resources.c.retired == sa.false())
        rows.update((r.name, r) for r in conn.execute(query))
    hits = overlapping_many(conn, rows.values(), start, end)
    free = []
    for claim in candidates:
        row = rows.get(claim.resource)
        if row is None or row.kind != claim.kind:
            continue
        taken = hits[row.id]
        if claim.kind == BOUNDED:
            ok = bounded_conflict(taken) is None
        elif claim.kind == POOL:
            ok = (0 < claim.amount <= row.capacity
                  and pool_fits(taken, row.capacity, claim.amount, start, end))
        else:
            ranges = tuple(tuple(r) for r in row.ranges or ())
            ok = vlan_choice(taken, ranges, claim.tag) is not None
        if ok:
            free.append(claim)
    return tuple(free)


def _usage(row, taken, at):
    now_held = [h for h in taken if h.start_at <= at < h.end_at]
    return Usage(
        resource=row.name, kind=row.kind, capacity=row.capacity, unit=row.unit,
        used=sum(h.amount for h in now_held), at=at,
        holders=tuple(sorted({h.holder for h in now_held})),
        tags=tuple(sorted(h.tag for h in now_held if h.tag is not None))
        if row.kind == VLAN else ())


def thd_usage(conn, resource, at):
    """``Usage`` of one resource at instant ``at``; SearchFailed if unknown."""
    at = as_utc(at, "at")
    row = _resource_row(conn, resource)
    taken = overlapping(conn, row.id, row.max_span_s, at, at + _INSTANT)
    return _usage(row, taken, at)


def thd_usage_all(conn, at, names=None):
    """``Usage`` at ``at`` of every live resource (or of ``names``), by name."""
    at = as_utc(at, "at")
    query = sa.select(resources).where(resources.c.retired == sa.false())
    if names is not None:
        query = query.where(resources.c.name.in_(list(names)))
    rows = conn.execute(query.order_by(resources.c.name)).all()
    hits = overlapping_many(conn, rows, at, at + _INSTANT)
    return tuple(_usage(row, hits[row.id], at) for row in rows)
