"""find_free, usage and listings."""
from twisted.trial.unittest import SynchronousTestCase

from gam.errors import SearchFailed
from gam.schedule import (
    Bounded, Pool, VlanTag, thd_find_free, thd_list_reservations, thd_reserve, thd_usage,
    thd_usage_all)

from tests.db.support import PostgresBackend, SQLiteBackend
from tests.schedule.support import ScheduleMixin, h


class StatusTestsMixin(ScheduleMixin):
    def reserve(self, holder, claims, start, end):
        return self.tx(thd_reserve, holder, claims, start, end)

    def test_find_free_bounded(self):
        self.reserve("a", [Bounded("host1")], h(0), h(2))
        candidates = [Bounded("host1"), Bounded("host2"), Bounded("nope"), Bounded("cores")]
        self.assertEqual(self.tx(thd_find_free, candidates, h(1), h(3)), (Bounded("host2"),))
        self.assertEqual(self.tx(thd_find_free, candidates, h(2), h(3)),
                         (Bounded("host1"), Bounded("host2")))

    def test_find_free_pools_and_vlans(self):
        self.reserve("a", [Pool("cores", 7), VlanTag("vlans", 100), VlanTag("vlans", 101)],
                     h(0), h(1))
        candidates = [Pool("cores", 3), Pool("cores", 4), Pool("cores", 11),
                      VlanTag("vlans"), VlanTag("vlans", 101), VlanTag("vlans", 102)]
        self.assertEqual(self.tx(thd_find_free, candidates, h(0), h(1)),
                         (Pool("cores", 3), VlanTag("vlans"), VlanTag("vlans", 102)))

    def test_find_free_sees_long_reservations(self):
        self.reserve("long", [Bounded("host1")], h(-500), h(500))
        self.assertEqual(self.tx(thd_find_free, [Bounded("host1")], h(100), h(101)), ())

    def test_usage(self):
        self.reserve("a", [Pool("cores", 3), Bounded("host1"), VlanTag("vlans")], h(0), h(2))
        self.reserve("b", [Pool("cores", 4), VlanTag("vlans")], h(1), h(3))
        at_1 = self.tx(thd_usage, "cores", h(1))
        self.assertEqual((at_1.used, at_1.free, at_1.capacity), (7, 3, 10))
        self.assertEqual(at_1.holders, ("a", "b"))
        self.assertEqual(at_1.unit, "cores")
        self.assertEqual(self.tx(thd_usage, "cores", h(2)).used, 4)   # a ended at 2
        self.assertEqual(self.tx(thd_usage, "cores", h(3)).used, 0)
        self.assertEqual(self.tx(thd_usage, "host1", h(0)).holders, ("a",))
        self.assertEqual(self.tx(thd_usage, "host1", h(2)).used, 0)
        vlans = self.tx(thd_usage, "vlans", h(1.5))
        self.assertEqual((vlans.tags, vlans.capacity, vlans.free), ((100, 101), 3, 1))
        self.assertRaises(SearchFailed, self.tx, thd_usage, "nope", h(0))

    def test_usage_all(self):
        self.reserve("a", [Bounded("host2"), Pool("bw", 100)], h(0), h(1))
        usage = {u.resource: u for u in self.tx(thd_usage_all, h(0.5))}
        self.assertEqual(set(usage), {"host1", "host2", "cores", "bw", "vlans"})
        self.assertEqual(usage["host2"].used, 1)
        self.assertEqual(usage["host1"].used, 0)
        self.assertEqual(usage["bw"].used, 100)
        some = self.tx(thd_usage_all, h(0.5), ["host2"])
        self.assertEqual([u.resource for u in some], ["host2"])

    def test_list_reservations(self):
        self.reserve("a", [Bounded("host1")], h(0), h(1))
        self.reserve("b", [Bounded("host1")], h(2), h(3))
        self.reserve("c", [Bounded("host1")], h(4), h(5))
        listed = self.tx(thd_list_reservations, "host1", h(0.5), h(4))
        self.assertEqual([r.holder for r in listed], ["a", "b"])


class SQLiteStatusTests(SQLiteBackend, StatusTestsMixin, SynchronousTestCase):
    pass


class PostgresStatusTests(PostgresBackend, StatusTestsMixin, SynchronousTestCase):
    pass
