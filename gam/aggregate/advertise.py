"""ListResources: the advertisement with availability from the schedule, cached.

Building it reads what is booked now and writes the RSpec, in one read
transaction in the DB pool (off the reactor). The text is reused until the
aggregate changes a booking (:meth:`Advertiser.invalidate`) or ``ttl``
seconds pass (future reservations start by themselves); concurrent callers
share one build.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from twisted.internet import defer

from gam.aggregate.resources import availability
from gam.db.model import reservations, resources
from gam.db.types import as_utc
from gam.rspec import build_advertisement


def thd_in_use(conn, now):
    """``{resource name: amount booked at instant now}``, busy resources only.

    One grouped query over the reservations in force at ``now`` (the
    schedule's half-open ``[start, end)``): its cost grows with what is
    booked, not with the size of the inventory.
    """
    now = as_utc(now, "now")
    query = (sa.select(resources.c.name, sa.func.sum(reservations.c.amount))
             .join_from(reservations, resources,
                        reservations.c.resource_id == resources.c.id)
             .where(reservations.c.end_at > now, reservations.c.start_at <= now)
             .group_by(resources.c.name))
    return {name: int(amount) for name, amount in conn.execute(query)}


def thd_advertisement(conn, inventory, now, available_only):
    free = availability(inventory, thd_in_use(conn, now))
    return build_advertisement(inventory, available=free, available_only=available_only,
                               now=now)


class Advertiser:
    def __init__(self, db, inventory, clock, ttl=5.0):
        self.db = db
        self.inventory = inventory
        self.clock = clock
        self.ttl = ttl
        self._generation = 0
        self._cache = {}        # available_only -> (generation, built at, text)
        self._building = {}     # available_only -> (generation, [waiting Deferreds])

    def invalidate(self):
        """A booking changed: the next ListResources builds afresh."""
        self._generation += 1
        self._cache.clear()

    async def advertisement(self, available_only=False):
        now = self.clock.seconds()
        cached = self._cache.get(available_only)
        if cached is not None and cached[0] == self._generation and now - cached[1] < self.ttl:
            return cached[2]
        pending = self._building.get(available_only)
        if pending is not None and pending[0] == self._generation:
            waiter = defer.Deferred()
            pending[1].append(waiter)
            return await waiter
        generation, waiters = self._generation, []
        self._building[available_only] = (generation, waiters)
        try:
            text = await self.db.read(thd_advertisement, self.inventory,
                                      datetime.fromtimestamp(now, timezone.utc),
                                      available_only)
        except Exception as e:
            if self._building.get(available_only, (None, None))[1] is waiters:
                del self._building[available_only]
            for w in waiters:
                w.errback(e)
            raise
        if self._building.get(available_only, (None, None))[1] is waiters:
            del self._building[available_only]
        if generation == self._generation:
            self._cache[available_only] = (generation, now, text)
        for w in waiters:
            w.callback(text)
        return text


__all__ = ["Advertiser", "thd_advertisement"]
