"""50 concurrent Allocates: exactly the right ones win, on SQLite and PostgreSQL."""
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from gam.errors import Refused
from gam.schedule.status import thd_list_reservations

from tests.aggregate.support import T0, AggregateMixin, auth, node, rspec, slice_urn
from tests.db.support import PostgresBackend, SQLiteBackend

CALLS = 50


class ConcurrentAllocateMixin(AggregateMixin):
    pool_size = 10

    @defer.inlineCallbacks
    def race(self, element):
        calls = [self.call("allocate", auth(), slice_urn(f"s{i}"), rspec(element), {})
                 for i in range(CALLS)]
        results = yield defer.DeferredList(calls, consumeErrors=True)
        wins = [value for ok, value in results if ok]
        losses = [value.value for ok, value in results if not ok]
        return wins, losses

    @defer.inlineCallbacks
    def test_one_bound_node_one_winner(self):
        wins, losses = yield self.race(node("pc", host="node1", sliver_type="raw-pc"))
        self.assertEqual(len(wins), 1)
        self.assertEqual(len(losses), CALLS - 1)
        for err in losses:
            self.assertIsInstance(err, Refused)
            self.assertEqual(err.geni_code, 7)
            self.assertIn("node 'pc'", err.message)
            self.assertIn("node1", err.message)
            self.assertIn("choose another time or another resource", err.message)
        held = yield self.db.read(thd_list_reservations, "host:node1", T0, T0.replace(year=2031))
        self.assertEqual(len(held), 1)
        self.assertEqual(held[0].holder, wins[0]["geni_slivers"][0]["geni_sliver_urn"])

    @defer.inlineCallbacks
    def test_opposite_orders_never_deadlock(self):
        # Every call books a VM on node1 and one on node2, half of them naming
        # node2 first: each locks both hosts' rows in one go, in name order.
        pairs = [(node("a", host="node1"), node("b", host="node2")),
                 (node("b", host="node2"), node("a", host="node1"))]
        calls = [self.call("allocate", auth(), slice_urn(f"s{i}"), rspec(*pairs[i % 2]), {})
                 for i in range(CALLS)]
        results = yield defer.DeferredList(calls, consumeErrors=True)
        wins = [value for ok, value in results if ok]
        losses = [value.value for ok, value in results if not ok]
        self.assertEqual(len(wins), 4)                  # 4 cores on each host
        self.assertEqual({type(e) for e in losses}, {Refused})

    @defer.inlineCallbacks
    def test_unbound_vms_never_overbook(self):
        # 4 hosts x 4 cores: 16 one-core VMs fit, the rest are refused.
        wins, losses = yield self.race(node("vm"))
        self.assertEqual(len(wins), 16)
        self.assertEqual(len(losses), CALLS - 16)
        self.assertEqual({e.geni_code for e in losses}, {26})


class SQLiteConcurrencyTests(ConcurrentAllocateMixin, SQLiteBackend, TestCase):
    pass


class PostgresConcurrencyTests(ConcurrentAllocateMixin, PostgresBackend, TestCase):
    pass
