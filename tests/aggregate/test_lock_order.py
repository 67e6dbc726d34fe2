"""Every transaction locks resource rows in one global order: by name.

On PostgreSQL a booking locks its resources' rows (SELECT ... FOR UPDATE);
two transactions that lock the same rows in opposite orders deadlock. So
each transaction that books more than once locks everything it will touch
in one sorted call before it books. The tests watch the calls that lock
rows (``gam.schedule.inventory._lock_rows``) on SQLite, where the same
statements run (SQLite ignores FOR UPDATE; it locks the whole database).
"""
from datetime import timedelta

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from gam.aggregate import allocation
from gam.config import Limits
from gam.errors import Busy, GeniCode
from gam.schedule import inventory

from tests.aggregate.support import (
    T0, AggregateMixin, auth, link, node, node_urn, slice_urn)
from tests.db.support import SQLiteBackend

HOUR = timedelta(hours=1)


class LockSpy:
    """Records each call that locks resource rows (``self.locked``)."""

    def setUp(self):
        d = super().setUp()

        def started(_):
            self.locked = []
            real = inventory._lock_rows

            def spy(conn, names):
                if names:
                    self.locked.append(list(names))
                return real(conn, names)
            self.patch(inventory, "_lock_rows", spy)
        return d.addCallback(started)


class LockOrderTests(LockSpy, AggregateMixin, SQLiteBackend, TestCase):
    limits = Limits(expiry_interval=30)

    def assertOneCallInOrder(self, *hosts, vlan=False):
        """One lock call, sorted, naming every resource of ``hosts``."""
        expected = sorted(f"{kind}:{host}" for host in hosts
                          for kind in ("host", "cores", "memory"))
        if vlan:
            expected.append("vlan:lan")
        self.assertEqual(self.locked, [sorted(expected)])

    @defer.inlineCallbacks
    def test_allocate_locks_all_at_once(self):
        yield self.allocate(node("x", host="node2", sliver_type="raw-pc",
                                 interfaces=[("x:0", None)]),
                            node("y", host="node1", sliver_type="raw-pc",
                                 interfaces=[("y:0", None)]),
                            link("l", "x:0", "y:0"))
        self.assertOneCallInOrder("node1", "node2", vlan=True)

    @defer.inlineCallbacks
    def test_opposite_request_orders_lock_in_the_same_order(self):
        start = T0 + timedelta(days=1)
        for name, hosts in (("one", ("node3", "node2")), ("two", ("node2", "node3"))):
            self.locked.clear()
            options = ({"geni_end_time": start} if name == "one" else
                       {"geni_start_time": start})
            yield self.allocate(*[node(f"n{i}", host=h, sliver_type="raw-pc")
                                  for i, h in enumerate(hosts)], name=name,
                                options=options, expires=T0 + timedelta(days=5))
            self.assertOneCallInOrder("node2", "node3")

    @defer.inlineCallbacks
    def test_unbound_nodes_are_placed_before_anything_is_locked(self):
        yield self.allocate(node("big", sliver_type="raw-pc"), node("a"), node("b"))
        [names] = self.locked
        self.assertEqual(names, sorted(names))
        self.assertEqual({n.split(":")[1] for n in names}, {"node1", "node2"})

    @defer.inlineCallbacks
    def test_provision_and_renew_lock_all_at_once(self):
        yield self.allocate(node("x", host="node4", sliver_type="raw-pc"),
                            node("y", host="node1", sliver_type="raw-pc"),
                            node("z", host="node3"))
        self.locked.clear()
        yield self.call("provision", auth(), slice_urn(), None,
                        {"geni_end_time": T0 + HOUR})
        yield self.settle()
        expected = [["cores:node1", "cores:node3", "cores:node4", "host:node1", "host:node4",
                     "memory:node1", "memory:node3", "memory:node4"]]
        self.assertEqual(self.locked, expected)
        self.locked.clear()
        yield self.call("renew", auth(), slice_urn(), None, T0 + 2 * HOUR, {})
        self.assertEqual(self.locked, expected)

    @defer.inlineCallbacks
    def test_holds_lock_all_at_once(self):
        for name, host in (("s4", "node4"), ("s1", "node1")):
            yield self.allocate(node("pc", host=host, sliver_type="raw-pc"), name=name)
            yield self.call("provision", auth(), slice_urn(name), None,
                            {"geni_end_time": T0 + HOUR})
        yield self.settle()
        self.advance(HOUR + timedelta(seconds=5))
        self.locked.clear()
        yield self.allocate(node("vm", host="node2"), name="other")
        # the holds of the two expired slivers, then the Allocate
        self.assertEqual(self.locked, [
            ["cores:node1", "cores:node4", "host:node1", "host:node4", "memory:node1",
             "memory:node4"],
            ["cores:node2", "memory:node2"]])


class PlacementRaceTests(LockSpy, AggregateMixin, SQLiteBackend, TestCase):
    """A host chosen for an unbound node is booked by another request before
    the Allocate locks it (on PostgreSQL another transaction commits in
    between; here the placement is shown a stale view)."""


    def stale_view(self, times):
        """The placement sees node1 free ``times`` times though it is booked."""
        real = allocation.thd_find_free
        left = [times]

        def find_free(conn, candidates, start, end):
            free = real(conn, candidates, start, end)
            if left[0] > 0:
                left[0] -= 1
                free += tuple(c for c in candidates if c.resource.endswith(":node1"))
            return free
        self.patch(allocation, "thd_find_free", find_free)

    @defer.inlineCallbacks
    def test_placed_again_when_the_host_was_taken(self):
        yield self.allocate(node("first", host="node1", sliver_type="raw-pc"), name="first")
        self.stale_view(1)
        self.locked.clear()
        result = yield self.allocate(node("pc", sliver_type="raw-pc"))
        self.assertIn(f'component_id="{node_urn("node2")}"', result["geni_rspec"])
        self.assertEqual([{n.split(":")[1] for n in names} for names in self.locked],
                         [{"node1"}, {"node2"}])
        states = yield self.status()
        self.assertEqual(len(states), 1)

    @defer.inlineCallbacks
    def test_busy_when_it_keeps_happening(self):
        yield self.allocate(node("first", host="node1", sliver_type="raw-pc"), name="first")
        self.stale_view(allocation.PLACEMENT_TRIES)
        self.locked.clear()
        err = yield self.failure_of(self.allocate(node("pc", sliver_type="raw-pc")))
        self.assertIsInstance(err, Busy)
        self.assertEqual(err.geni_code, GeniCode.BUSY)
        self.assertIn("'pc'", err.message)
        self.assertIn("try again", err.message)
        self.assertEqual(len(self.locked), allocation.PLACEMENT_TRIES)
        err = yield self.failure_of(self.status())
        self.assertEqual(err.geni_code, GeniCode.SEARCHFAILED)   # nothing was written
