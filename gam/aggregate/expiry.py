"""Expiry: a LoopingCall that frees slivers whose time is up.

Allocated slivers lapse ``limits.allocated_lifetime`` after their start
unless provisioned; provisioned ones at the end of their lease. Each sweep
takes the due slivers slice by slice (under the slice's lock, so it never
interleaves with a call on that slice), has the drivers free what they
made, then cancels the bookings and marks the slivers deleted. A sliver the
drivers could not free stays, geni_failed with the reason and its booking
held a little longer, and is tried again on the next sweep.

Between its expiry and the sweep that frees it a sliver is *overdue*: calls
that change slivers no longer reach it (``lifecycle.thd_target``), and
calls that book hold its booking first (:mod:`gam.aggregate.holds`), so
nobody is given its resources while it still has them.
"""
from datetime import datetime, timezone

from twisted.internet import defer, task
from twisted.logger import Logger

from gam.aggregate import lifecycle
from gam.aggregate.holds import hold_margin
from gam.db.slivers import thd_get_slivers

log = Logger(namespace="gam.aggregate")


#: Slivers taken per batch (one read, then their slices one by one).
BATCH = 500


async def expire_due(aggregate, now, batch=BATCH):
    """Free every sliver of ``aggregate`` due at ``now``; return their URNs."""
    expired = []
    after = None
    while True:
        due = await aggregate.db.read(lifecycle.thd_expired, now, after, batch)
        if not due:
            return expired
        after = (due[-1].expires, due[-1].urn)
        expired.extend(await _expire(aggregate, due, now))
        if len(due) < batch:
            return expired


async def _expire(aggregate, due, now):
    by_slice = {}
    for sliver in due:
        by_slice.setdefault(sliver.slice_urn, []).append(sliver.urn)
    hold = now + hold_margin(aggregate.limits)
    expired = []
    for slice_urn, urns in by_slice.items():
        async with aggregate.locks.hold(slice_urn):
            # A call may have renewed or deleted some while we waited.
            current = await aggregate.db.read(thd_get_slivers, urns)
            still = [s for s in current if s.expires <= now]
            if not still:
                continue
            deleted, failed = await aggregate.free(still, hold_until=hold)
        expired.extend(s.urn for s in deleted)
        for sliver in failed:
            log.warn("expired sliver {urn} could not be freed: {error}", urn=sliver.urn,
                     error=sliver.error)
    return expired


class Expirer:
    """Runs :func:`expire_due` every ``interval`` seconds on ``clock``."""

    def __init__(self, aggregate, clock, interval):
        self.aggregate = aggregate
        self.clock = clock
        self.interval = interval
        self.loop = task.LoopingCall(self._tick)
        self.loop.clock = clock
        self._done = None
        self._current = None
        self.last = ()

    def _now(self):
        return datetime.fromtimestamp(self.clock.seconds(), timezone.utc)

    def _tick(self):
        d = self._current = defer.Deferred.fromCoroutine(self.sweep())

        def over(result):
            if self._current is d:
                self._current = None
            return result
        return d.addBoth(over)

    def wait(self):
        """A Deferred that fires when the sweep under way (if any) is over."""
        if self._current is None:
            return defer.succeed(None)
        d = defer.Deferred()
        self._current.addBoth(lambda r: (d.callback(None), r)[1])
        return d

    async def sweep(self):
        """One sweep; never raises (a failure is logged and retried next time)."""
        try:
            self.last = tuple(await expire_due(self.aggregate, self._now()))
        except Exception:
            log.failure("expiring slivers failed; trying again in {interval} s",
                        interval=self.interval)
            self.last = ()
        return self.last

    def start(self, now=True):
        if not self.loop.running:
            self._done = self.loop.start(self.interval, now=now)
            self._done.addErrback(lambda f: log.failure("the expiry loop stopped", f))

    def stop(self):
        """Stop the loop; fires when a sweep under way has finished."""
        if not self.loop.running:
            return defer.succeed(None)
        self.loop.stop()
        return self._done if self._done is not None else defer.succeed(None)


__all__ = ["Expirer", "expire_due"]
