"""Booking: reserve, extend, cancel and expire, atomically.

Check-then-insert is only safe if nobody else can insert in between, so
every booking first locks the rows of the resources it touches
(``lock_resources``: ``SELECT ... FOR UPDATE`` in name order on
PostgreSQL; on SQLite the transaction already holds the write lock from
``BEGIN IMMEDIATE``), then checks, then writes. A transaction that books
or extends more than once locks everything it will touch in one call
first (``thd_lock_all``), so that all transactions take row locks in one
order (by name) and cannot deadlock. Each call works inside a savepoint,
so a refused claim leaves nothing behind even if the caller catches the
error and goes on with its transaction.

Errors (``gam.errors``), each with ``.resource`` and, where there is one,
``.conflict = (start, end)``:

- a bounded resource already booked: ``Refused`` (reason ``busy``); the
  aggregate raises ``InsufficientNodes`` itself when no candidate of an
  unbound node is free (``thd_find_free``);
- a pool short of capacity: ``InsufficientBandwidth`` for bandwidth units
  (bps, kbps, mbps, gbps), else ``Refused`` (reason ``insufficient-capacity``);
- no free VLAN tag, a busy or unoffered tag: ``VlanUnavailable``;
- an unknown or retired resource: ``SearchFailed``;
- a bad interval, amount or claim: ``BadArgs``.
"""
from datetime import datetime, timezone

import sqlalchemy as sa

from gam.db.model import reservations as R
from gam.db.model import resources
from gam.db.types import as_utc
from gam.errors import BadArgs
from gam.schedule.claims import BOUNDED, POOL, Reservation
from gam.schedule.intervals import check_interval, fmt, span_seconds
from gam.schedule.inventory import lock_resources
from gam.schedule.overlap import bounded_conflict, overlapping, pool_peak, vlan_choice
from gam.schedule.refusals import (
    busy, conflict, ranges_of, short, too_big, vlan_busy, vlan_refusal)
from gam.schedule.status import thd_holder_reservations


def _check_claim(claim, row):
    if claim.kind != row.kind:
        raise conflict(BadArgs(
            f"{row.name} is a {row.kind} resource and cannot be claimed as {claim.kind}"),
            row.name)
    if claim.kind == POOL:
        amount = claim.amount
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise conflict(BadArgs(
                f"the amount asked of {row.name} must be a whole number above 0, "
                f"not {amount!r}"), row.name)


def thd_reserve(conn, holder, claims, start, end, now=None):
    """Book every claim for ``holder`` over [start, end), or none of them.

    ``claims`` are ``Bounded``, ``Pool`` and ``VlanTag`` values; returns the
    ``Reservation``s in claim order (a ``VlanTag(pool)`` comes back with the
    tag picked). ``now`` (default: the wall clock) only stamps ``created``.
    Raises the errors listed in the module docstring.
    """
    if not isinstance(holder, str) or not holder:
        raise ValueError("holder must be a non-empty string (a sliver URN)")
    start, end = check_interval(start, end)
    claims = tuple(claims)
    if not claims:
        return ()
    now = as_utc(now, "now") if now is not None else datetime.now(timezone.utc)
    locked = lock_resources(conn, [c.resource for c in claims])
    for claim in claims:
        _check_claim(claim, locked[claim.resource])
    span = span_seconds(start, end)
    max_span = {row.id: row.max_span_s for row in locked.values()}
    booked = []
    with conn.begin_nested():
        for claim in claims:
            row = locked[claim.resource]
            # Widen the scan floor first: claims of this same call count too.
            max_span[row.id] = max(max_span[row.id], span)
            tag = getattr(claim, "tag", None)
            hits = overlapping(conn, row.id, max_span[row.id], start, end)
            amount = 1
            if row.kind == BOUNDED:
                hit = bounded_conflict(hits)
                if hit is not None:
                    raise busy(row.name, hit, start, end)
            elif row.kind == POOL:
                amount = claim.amount
                if amount > row.capacity:
                    raise too_big(row, amount)
                level, when_from, when_to = pool_peak(hits, start, end)
                if level + amount > row.capacity:
                    raise short(row, amount, level, when_from, when_to, start, end)
            else:
                tag = vlan_choice(hits, ranges_of(row), tag)
                if tag is None:
                    raise vlan_refusal(row, getattr(claim, "tag", None), hits, start, end)
            conn.execute(sa.insert(R).values(
                resource_id=row.id, holder=holder, amount=amount, tag=tag,
                start_at=start, end_at=end, created=now))
            booked.append(Reservation(resource=row.name, kind=row.kind, holder=holder,
                                      start=start, end=end, amount=amount, tag=tag))
        _widen(conn, locked.values(), max_span)
    return tuple(booked)


def _widen(conn, rows, max_span):
    for row in rows:
        if max_span[row.id] > row.max_span_s:
            conn.execute(sa.update(resources)
                         .where(resources.c.id == row.id,
                                resources.c.max_span_s < max_span[row.id])
                         .values(max_span_s=max_span[row.id]))


def _holder_rows(conn, holder):
    return conn.execute(
        sa.select(R.c.id, R.c.resource_id, R.c.start_at, R.c.end_at, R.c.amount,
                  R.c.tag, resources.c.name)
        .join_from(R, resources, R.c.resource_id == resources.c.id)
        .where(R.c.holder == holder).order_by(resources.c.name, R.c.id)).all()


def thd_extend(conn, holder, new_end):
    """Move the end of all of ``holder``'s reservations to ``new_end``.

    Renewal: the added time is checked against every other booking (and
    the resource's current capacity), all or nothing; shortening always
    works. Returns the holder's reservations as they are now (empty if it
    holds none). BadArgs if ``new_end`` is not after a reservation's start.
    """
    new_end = as_utc(new_end, "new end")
    mine = _holder_rows(conn, holder)
    if not mine:
        return ()
    for own in mine:
        if new_end <= own.start_at:
            raise conflict(BadArgs(
                f"the new end {fmt(new_end)} is not after the start {fmt(own.start_at)} "
                f"of the reservation of {own.name}; ask for a later end"), own.name)
    locked = lock_resources(conn, [own.name for own in mine])
    by_id = {row.id: row for row in locked.values()}
    max_span = {row.id: row.max_span_s for row in locked.values()}
    for own in mine:
        max_span[own.resource_id] = max(max_span[own.resource_id],
                                        span_seconds(own.start_at, new_end))
    with conn.begin_nested():
        conn.execute(sa.update(R).where(R.c.holder == holder).values(end_at=new_end))
        _widen(conn, locked.values(), max_span)
        for own in mine:
            if new_end <= own.end_at:
                continue
            row = by_id[own.resource_id]
            lo, hi = own.end_at, new_end
            hits = overlapping(conn, row.id, max_span[row.id], lo, hi, tag=own.tag)
            if row.kind == POOL:
                level, when_from, when_to = pool_peak(hits, lo, hi)
                if level > row.capacity:
                    raise short(row, own.amount, level - own.amount, when_from,
                                when_to, lo, hi)
                continue
            hit = bounded_conflict(hits, exclude_id=own.id)
            if hit is None:
                continue
            if row.kind == BOUNDED:
                raise busy(row.name, hit, lo, hi)
            raise vlan_busy(row, own.tag, hit, lo, hi)
    return thd_holder_reservations(conn, holder)


def thd_cancel(conn, holder):
    """Remove all of ``holder``'s reservations; return what was removed."""
    gone = thd_holder_reservations(conn, holder)
    if gone:
        conn.execute(sa.delete(R).where(R.c.holder == holder))
    return gone


def thd_expire(conn, now):
    """Remove reservations that ended at or before ``now``; return their holders."""
    now = as_utc(now, "now")
    holders = conn.execute(
        sa.select(R.c.holder).where(R.c.end_at <= now).distinct()).scalars().all()
    if holders:
        conn.execute(sa.delete(R).where(R.c.end_at <= now))
    return tuple(sorted(holders))
