"""Expiry driven by a Clock: allocated slivers lapse, leases end, drivers free."""
from datetime import timedelta

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from gam.aggregate.expiry import Expirer, expire_due
from gam.config import Limits
from gam.errors import SearchFailed
from gam.schedule import thd_usage

from tests.aggregate.support import T0, AggregateMixin, auth, node, slice_urn
from tests.db.support import SQLiteBackend

MINUTE = timedelta(minutes=1)


class ExpiryTests(AggregateMixin, SQLiteBackend, TestCase):
    limits = Limits(expiry_interval=30)

    def setUp(self):
        d = super().setUp()

        def started(_):
            # Swept by hand (tick) here; test_loop_runs_on_the_clock starts the loop.
            self.expirer = Expirer(self.am, self.clock, self.limits.expiry_interval)
            self.addCleanup(self.expirer.stop)
        return d.addCallback(started)

    @defer.inlineCallbacks
    def tick(self, delta):
        """Advance the clock and sweep once."""
        self.advance(delta)
        yield defer.Deferred.fromCoroutine(self.expirer.sweep())

    @defer.inlineCallbacks
    def test_allocated_slivers_lapse(self):
        yield self.allocate(node("a", host="node1", sliver_type="raw-pc"))
        yield self.tick(9 * MINUTE)
        self.assertEqual(self.expirer.last, ())
        states = yield self.status()
        self.assertEqual(len(states), 1)
        yield self.tick(MINUTE)
        self.assertEqual(len(self.expirer.last), 1)
        err = yield self.failure_of(self.call("status", auth(), slice_urn(), None, {}))
        self.assertIsInstance(err, SearchFailed)
        usage = yield self.db.read(thd_usage, "host:node1", self.now())
        self.assertEqual(usage.used, 0)
        # never provisioned: nothing for the drivers to free
        self.assertEqual(self.fakes.deletes(), [])
        # and the host is free again for others
        yield self.allocate(node("b", host="node1", sliver_type="raw-pc"), name="other")

    @defer.inlineCallbacks
    def test_provisioned_slivers_end_with_their_lease(self):
        yield self.allocate(node("a"))
        yield self.call("provision", auth(), slice_urn(), None,
                        {"geni_end_time": T0 + timedelta(hours=1)})
        yield self.settle()
        self.assertEqual(len(self.fakes.made), 1)
        yield self.tick(59 * MINUTE)
        self.assertEqual(self.expirer.last, ())
        yield self.tick(MINUTE)
        self.assertEqual(len(self.expirer.last), 1)
        self.assertEqual(self.fakes.made, {})
        self.assertEqual(len(self.fakes.deletes()), 1)

    @defer.inlineCallbacks
    def test_renewed_slivers_stay(self):
        yield self.allocate(node("a"))
        yield self.call("renew", auth(), slice_urn(), None, T0 + timedelta(hours=2), {})
        yield self.tick(61 * MINUTE)
        states = yield self.status()
        self.assertEqual(len(states), 1)

    @defer.inlineCallbacks
    def test_a_renewal_while_the_sweep_waits_for_the_slice_wins(self):
        result = yield self.allocate(node("a"))
        [urn] = [s["geni_sliver_urn"] for s in result["geni_slivers"]]
        yield self.call("provision", auth(), slice_urn(), None,
                        {"geni_end_time": T0 + timedelta(hours=1)})
        yield self.settle()
        # a call on the slice is under way (it holds the slice's lock) ...
        busy = defer.Deferred()

        async def call_under_way():
            async with self.am.locks.hold(str(slice_urn())):
                await busy
        under_way = defer.Deferred.fromCoroutine(call_under_way())
        # ... a Renew comes in a second before the lease ends and waits for it ...
        self.advance(59 * MINUTE + timedelta(seconds=59))
        renewing = self.call("renew", auth(), slice_urn(), None, T0 + timedelta(hours=3), {})
        # ... and the sweep, a second after the end, finds the sliver due and waits too
        waiting = defer.Deferred()
        real_hold = self.am.locks.hold

        def hold(key):
            waiting.callback(key)
            return real_hold(key)
        self.patch(self.am.locks, "hold", hold)
        self.advance(timedelta(seconds=2))
        sweeping = defer.Deferred.fromCoroutine(self.expirer.sweep())
        self.assertEqual((yield waiting), str(slice_urn()))
        self.assertNoResult(renewing)
        self.assertNoResult(sweeping)
        busy.callback(None)
        yield under_way
        renewed = yield renewing
        self.assertEqual(renewed[0]["geni_expires"], T0 + timedelta(hours=3))
        self.assertEqual((yield sweeping), ())
        self.assertEqual(self.fakes.deletes(), [])
        states = yield self.status()
        self.assertEqual(states[urn]["geni_expires"], T0 + timedelta(hours=3))

    @defer.inlineCallbacks
    def test_failed_free_is_retried(self):
        result = yield self.allocate(node("a"))
        urn = result["geni_slivers"][0]["geni_sliver_urn"]
        yield self.call("provision", auth(), slice_urn(), None,
                        {"geni_end_time": T0 + timedelta(hours=1)})
        yield self.settle()
        self.fakes.node.fail_on("delete", urn, "host unreachable", times=1)
        yield self.tick(60 * MINUTE)
        states = yield self.status()
        self.assertEqual(states[urn]["geni_operational_status"], "geni_failed")
        self.assertIn("unreachable", states[urn]["geni_error"])
        # its booking is held while it cannot be freed
        usage = yield self.db.read(thd_usage, "cores:node1", self.now())
        self.assertEqual(usage.used, 1)
        yield self.tick(MINUTE)
        self.assertEqual(self.expirer.last, (urn,))
        self.assertEqual(self.fakes.made, {})

    @defer.inlineCallbacks
    def test_loop_runs_on_the_clock(self):
        yield self.allocate(node("a"))
        self.expirer.start()
        yield self.expirer.wait()                       # the sweep at start: nothing due
        swept = []
        for _ in range(21):                             # 10.5 minutes, 30 s at a time
            self.clock.advance(30)
            yield self.expirer.wait()
            swept.append(self.expirer.last)
        self.assertEqual([len(x) for x in swept], [0] * 19 + [1, 0])
        err = yield self.failure_of(self.call("status", auth(), slice_urn(), None, {}))
        self.assertIsInstance(err, SearchFailed)
        yield self.expirer.stop()
        self.assertFalse(self.expirer.loop.running)

    @defer.inlineCallbacks
    def test_batches_and_a_stuck_sliver_do_not_stop_the_rest(self):
        result = yield self.allocate(*[node(f"n{i}") for i in range(7)])
        urns = [s["geni_sliver_urn"] for s in result["geni_slivers"]]
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        stuck = urns[0]
        self.fakes.node.fail_on("delete", stuck, "host unreachable")
        self.advance(timedelta(days=2))
        expired = yield defer.Deferred.fromCoroutine(expire_due(self.am, self.now(), batch=3))
        self.assertEqual(sorted(expired), sorted(urns[1:]))
        states = yield self.status()
        self.assertEqual(list(states), [stuck])
