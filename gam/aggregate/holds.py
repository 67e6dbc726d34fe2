"""A booking lasts until its sliver is really freed.

A sliver's booking ends at its expiry, but the sliver (and what the drivers
made for it) goes only when the expiry sweep frees it: up to
``limits.expiry_interval`` later, or later still when the drivers cannot
free it. Until then its resources are in use. So before a call books or
extends anything (Allocate, Provision, Renew), the bookings of *overdue*
slivers (live, expiry passed, booking over or ending within the hold
margin) are held until ``now + hold margin``, and the call's own checks
see those resources busy. The sweep holds a sliver whose freeing failed
the same way. The margin is two sweeps: a hold outlasts the next sweep
even when that one is late.

The holds are made in a transaction of their own, just before the call's
(and only when a cheap read finds an overdue sliver): a hold stands on its
own, since it only keeps the booking of a sliver that still exists, and
once it is committed the call's placement of unbound nodes sees those
hosts busy like any other booking, whatever happens to the call.

A hold that another booking is in the way of (one made for the time after
the overdue sliver's end) cannot be made; it is reported, naming both
slivers, so an operator knows they may share a resource until the old one
is freed.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from gam.db.model import slivers as sliver_table
from gam.errors import GeniError
from gam.rfc3339 import format_time
from gam.schedule import (
    thd_ending_before, thd_extend, thd_holder_reservations, thd_list_reservations,
    thd_lock_all, thd_resources_of)


def hold_margin(limits):
    """How long past ``now`` the booking of an overdue sliver is held."""
    return timedelta(seconds=2 * max(limits.expiry_interval, 1.0))


@dataclass(frozen=True)
class Unheld:
    """An overdue sliver whose booking could not be held."""

    urn: str
    expires: datetime
    resource: str | None     # the resource in the way (None: not known)
    others: tuple            # URNs of the slivers booked on it in the way
    start: datetime | None   # when the clash starts and ends (None: not known)
    end: datetime | None

    def describe(self):
        what = self.resource or "one of its resources"
        others = ", ".join(self.others) or "another sliver"
        when = (f" from {format_time(self.start)} to {format_time(self.end)}"
                if self.start is not None else "")
        return (f"sliver {self.urn} expired at {format_time(self.expires)} but is not "
                f"freed yet, and its booking cannot be held: {what} is booked by "
                f"{others}{when}; both may use {what} at the same time until {self.urn} "
                "is freed")


def thd_overdue(conn, now, until):
    """The URNs (sorted) of the live slivers whose expiry is at or before
    ``now`` and whose booking ends before ``until``.

    Cheap when there are none: one short index range scan of the
    reservations that end before ``until``.
    """
    holders = sorted(thd_ending_before(conn, until))
    t = sliver_table
    overdue = set()
    for i in range(0, len(holders), 500):
        overdue.update(conn.execute(sa.select(t.c.urn).where(
            t.c.urn.in_(holders[i:i + 500]), t.c.deleted_at.is_(None),
            t.c.expires <= now)).scalars())
    return tuple(sorted(overdue))


def thd_hold(conn, urn, until):
    """Keep the booking of sliver ``urn`` until at least ``until``.

    Returns None when it is held (or holds nothing, or already lasts that
    long), else an :class:`Unheld` saying what is in the way.
    """
    ends = [r.end for r in thd_holder_reservations(conn, urn)]
    if not ends or min(ends) >= until:
        return None
    try:
        thd_extend(conn, urn, max(until, *ends))
    except GeniError as e:
        return _unheld(conn, urn, min(ends), until, e)
    return None


def _unheld(conn, urn, end, until, err):
    resource = getattr(err, "resource", None)
    start, stop = getattr(err, "conflict", None) or (None, None)
    others = ()
    lo, hi = max(start or end, end), min(stop or until, until)
    if resource is not None and lo < hi:
        found = thd_list_reservations(conn, resource, lo, hi)
        others = tuple(sorted({r.holder for r in found if r.holder != urn}))
    expires = conn.execute(sa.select(sliver_table.c.expires)
                           .where(sliver_table.c.urn == urn)).scalar()
    return Unheld(urn=urn, expires=expires, resource=resource, others=others,
                  start=start, end=stop)


def thd_hold_overdue(conn, now, until):
    """Hold the bookings of every overdue sliver (:func:`thd_overdue`) until
    ``until``; return the :class:`Unheld` ones.

    The resources of all of them are locked in one call first (the global
    lock order, see ``gam.schedule.thd_lock_all``)."""
    overdue = thd_overdue(conn, now, until)
    if not overdue:
        return []
    unheld = []
    with thd_lock_all(conn, thd_resources_of(conn, overdue)):
        for urn in overdue:
            problem = thd_hold(conn, urn, until)
            if problem is not None:
                unheld.append(problem)
    return unheld


__all__ = ["hold_margin", "Unheld", "thd_overdue", "thd_hold", "thd_hold_overdue"]
