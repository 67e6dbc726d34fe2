"""Overlap queries on the reservations table and what they mean per kind.

A reservation ``[s, e)`` overlaps ``[start, end)`` iff ``s < end`` and
``e > start``. To keep that a short index range scan on
``(resource_id, start_at)`` whatever the size of the table, the scan is
bounded below by ``start - max_span``, where ``max_span`` is the longest
reservation ever booked on the resource (kept in ``resources.max_span_s``):
no reservation starting earlier can reach ``start``. The cost is then
O(log n + k), k the reservations that start in that window.
"""
from datetime import timedelta

import sqlalchemy as sa

from gam.db.model import reservations as R
from gam.schedule.intervals import first_free_tag, peak, tag_in_ranges

_COLUMNS = (R.c.id, R.c.resource_id, R.c.holder, R.c.start_at, R.c.end_at,
            R.c.amount, R.c.tag)


def window_floor(start, max_span_s):
    return start - timedelta(seconds=max_span_s)


def overlapping(conn, resource_id, max_span_s, start, end, tag=None):
    """Reservation rows of one resource that overlap [start, end)."""
    query = sa.select(*_COLUMNS).where(
        R.c.resource_id == resource_id,
        R.c.start_at >= window_floor(start, max_span_s),
        R.c.start_at < end,
        R.c.end_at > start)
    if tag is not None:
        query = query.where(R.c.tag == tag)
    return conn.execute(query.order_by(R.c.start_at, R.c.id)).all()


def overlapping_many(conn, resource_rows, start, end):
    """{resource id: [rows overlapping [start, end)]} for several resources."""
    found = {row.id: [] for row in resource_rows}
    rows = list(resource_rows)
    for i in range(0, len(rows), 500):
        chunk = rows[i:i + 500]
        floor = window_floor(start, max(r.max_span_s for r in chunk))
        query = sa.select(*_COLUMNS).where(
            R.c.resource_id.in_([r.id for r in chunk]),
            R.c.start_at >= floor, R.c.start_at < end, R.c.end_at > start)
        for row in conn.execute(query.order_by(R.c.start_at, R.c.id)):
            found[row.resource_id].append(row)
    return found


def bounded_conflict(rows, exclude_id=None):
    """The first row that is not ``exclude_id``, or None."""
    return next((r for r in rows if r.id != exclude_id), None)


def pool_peak(rows, start, end):
    """``(peak, from, to)`` of the summed amounts of ``rows`` in [start, end)."""
    return peak(((r.start_at, r.end_at, r.amount) for r in rows), start, end)


def pool_fits(rows, capacity, amount, start, end):
    return pool_peak(rows, start, end)[0] + amount <= capacity


def vlan_choice(rows, ranges, tag=None):
    """A tag free in all of ``rows``' time: ``tag`` if given and free, else
    the lowest free one of ``ranges``; None if there is none."""
    busy = {r.tag for r in rows}
    if tag is not None:
        return tag if tag_in_ranges(tag, ranges) and tag not in busy else None
    return first_free_tag(ranges, busy)
