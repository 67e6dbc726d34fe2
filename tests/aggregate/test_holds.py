"""A booking lasts until its sliver is freed, not just until its expiry.

Between a sliver's expiry and the sweep that frees it (up to
limits.expiry_interval later, longer when the drivers cannot free it) the
sliver still has its resources; calls that book must see them busy.
"""
from datetime import timedelta

from twisted.internet import defer
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from gam.aggregate import holds
from gam.aggregate.expiry import Expirer
from gam.config import Limits
from gam.errors import GeniCode, Refused
from gam.inventory import Inventory
from gam.schedule import thd_holder_reservations

from tests.aggregate.support import T0, AggregateMixin, auth, node, node_urn, slice_urn
from tests.db.support import SQLiteBackend

HOUR = timedelta(hours=1)
LATER = T0 + timedelta(days=10)         # a credential end that is never in the way


def pc(client_id, host="node1"):
    return node(client_id, host=host, sliver_type="raw-pc")


class HoldMixin(AggregateMixin):
    limits = Limits(expiry_interval=30)
    margin = timedelta(seconds=60)      # 2 x expiry_interval

    def setUp(self):
        d = super().setUp()

        def started(_):
            self.expirer = Expirer(self.am, self.clock, self.limits.expiry_interval)
            self.warnings = []

            def observe(event):
                if event.get("log_level") == LogLevel.warn:
                    self.warnings.append(formatEvent(event))
            globalLogPublisher.addObserver(observe)
            self.addCleanup(globalLogPublisher.removeObserver, observe)
        return d.addCallback(started)

    def sweep(self):
        return defer.Deferred.fromCoroutine(self.expirer.sweep())

    @defer.inlineCallbacks
    def provisioned(self, *elements, name="myslice", end=T0 + HOUR):
        """Allocate and provision ``elements`` with a lease until ``end``; their URNs."""
        result = yield self.allocate(*elements, name=name, expires=LATER)
        yield self.call("provision", auth(LATER), slice_urn(name), None,
                        {"geni_end_time": end})
        yield self.settle()
        return [s["geni_sliver_urn"] for s in result["geni_slivers"]]

    @defer.inlineCallbacks
    def booking_end(self, urn):
        held = yield self.db.read(thd_holder_reservations, urn)
        self.assertTrue(held, f"{urn} holds nothing")
        return max(r.end for r in held)


class GapTests(HoldMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_allocate_before_the_sweep_is_refused_until_it_frees(self):
        [old] = yield self.provisioned(pc("old"))
        self.advance(HOUR + timedelta(seconds=5))        # lease over, no sweep yet
        err = yield self.failure_of(self.allocate(pc("new"), name="other"))
        self.assertIsInstance(err, Refused)
        self.assertEqual(err.geni_code, GeniCode.REFUSED)
        self.assertIn("node1", err.message)
        self.assertEqual((yield self.booking_end(old)), self.now() + self.margin)
        self.assertEqual(list(self.fakes.made), [old])
        # the sweep frees it; now the host is free
        yield self.sweep()
        self.assertEqual(self.expirer.last, (old,))
        result = yield self.allocate(pc("new"), name="other")
        self.assertEqual(len(result["geni_slivers"]), 1)
        self.assertEqual(self.warnings, [])

    @defer.inlineCallbacks
    def test_unbound_node_goes_to_another_host(self):
        yield self.provisioned(pc("old"))
        self.advance(HOUR + timedelta(seconds=5))
        result = yield self.allocate(node("new", sliver_type="raw-pc"), name="other")
        self.assertIn(f'component_id="{node_urn("node2")}"', result["geni_rspec"])

    @defer.inlineCallbacks
    def test_a_sliver_that_cannot_be_freed_keeps_its_booking(self):
        [old] = yield self.provisioned(pc("old"))
        self.fakes.node.fail_on("delete", old, "host unreachable", times=1)
        self.advance(HOUR + timedelta(seconds=5))
        yield self.sweep()
        self.assertEqual(self.expirer.last, ())
        self.assertEqual((yield self.booking_end(old)), self.now() + self.margin)
        # later than that hold, but before the next sweep: still held
        self.advance(self.margin + timedelta(seconds=1))
        err = yield self.failure_of(self.allocate(pc("new"), name="other"))
        self.assertIsInstance(err, Refused)
        yield self.sweep()
        self.assertEqual(self.expirer.last, (old,))
        yield self.allocate(pc("new"), name="other")

    @defer.inlineCallbacks
    def test_provision_and_renew_hold_too(self):
        [old] = yield self.provisioned(pc("old"))
        self.advance(HOUR - timedelta(minutes=1))
        mine = yield self.allocate(node("vm", host="node2"), name="other", expires=LATER)
        self.advance(timedelta(minutes=1, seconds=5))
        yield self.call("renew", auth(LATER), slice_urn("other"), None,
                        self.now() + HOUR, {})
        self.assertEqual((yield self.booking_end(old)), self.now() + self.margin)
        self.advance(self.margin)
        yield self.call("provision", auth(LATER), slice_urn("other"), None, {})
        self.assertEqual((yield self.booking_end(old)), self.now() + self.margin)
        self.assertEqual(len(mine["geni_slivers"]), 1)

    @defer.inlineCallbacks
    def test_a_hold_another_booking_is_in_the_way_of_is_logged(self):
        [old] = yield self.provisioned(pc("old"))
        # booked, back to back, from the end of old's lease
        result = yield self.allocate(pc("next"), name="next", expires=LATER,
                                     options={"geni_start_time": T0 + HOUR})
        [nxt] = [s["geni_sliver_urn"] for s in result["geni_slivers"]]
        self.advance(HOUR + timedelta(seconds=5))
        yield self.allocate(node("vm", host="node2"), name="other")
        self.assertEqual((yield self.booking_end(old)), T0 + HOUR)     # not held
        [warning] = self.warnings
        self.assertIn(old, warning)
        self.assertIn(nxt, warning)
        self.assertIn(":node1 is booked by", warning)
        # the sweep cannot free it either: that hold fails too, and says so
        self.fakes.node.fail_on("delete", old, "host unreachable", times=1)
        yield self.sweep()
        then = self.warnings[1:]                  # the hold and the failed free
        self.assertEqual(len(then), 2)
        self.assertEqual([w for w in then if old in w and nxt in w], [then[0]])
        self.assertIn("could not be freed", then[1])


class PoolHoldTests(HoldMixin, SQLiteBackend, TestCase):
    # one host of 2 cores: two 1-core VMs at a time
    inventory = Inventory.generate(1, cores=2, memory_mb=4096)

    @defer.inlineCallbacks
    def test_renew_is_refused_while_an_expired_sliver_holds_the_capacity(self):
        yield self.provisioned(node("old"), name="old")
        [mine] = yield self.provisioned(node("mine"), end=T0 + HOUR + timedelta(seconds=30))
        # a third VM booked from when mine ends; old's lease is over by then
        yield self.allocate(node("third"), name="third", expires=LATER,
                            options={"geni_start_time": T0 + HOUR + timedelta(seconds=30)})
        self.advance(HOUR + timedelta(seconds=5))        # old expired, not swept
        err = yield self.failure_of(self.call("renew", auth(LATER), slice_urn(), None,
                                              T0 + 2 * HOUR, {}))
        self.assertIsInstance(err, Refused)
        self.assertIn("cores:node1", err.message)
        yield self.sweep()                               # old is freed
        renewed = yield self.call("renew", auth(LATER), slice_urn(), None, T0 + 2 * HOUR, {})
        self.assertEqual([s["geni_sliver_urn"] for s in renewed], [mine])
        self.assertEqual(self.warnings, [])


class OverdueTests(HoldMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_which_slivers_are_overdue(self):
        [old] = yield self.provisioned(pc("old"))
        [soon] = yield self.provisioned(pc("soon", host="node2"), name="soon",
                                        end=T0 + HOUR + timedelta(seconds=30))
        [gone] = yield self.provisioned(pc("gone", host="node3"), name="gone")
        yield self.call("delete", auth(LATER), slice_urn("gone"), None, {})
        # allocated, lapsed, but booked for the day: nothing to hold
        yield self.allocate(pc("lapsed", host="node4"), name="lapsed")
        now = T0 + HOUR + timedelta(seconds=5)
        self.advance(now - self.now())
        until = now + self.margin
        overdue = yield self.db.read(holds.thd_overdue, now, until)
        self.assertEqual(overdue, (old,))
        self.assertNotIn(soon, overdue)
        self.assertNotIn(gone, overdue)
        self.assertEqual((yield self.db.read(holds.thd_overdue, T0, T0 + self.margin)), ())
