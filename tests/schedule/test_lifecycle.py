"""Extend (renew), cancel and expire."""
from twisted.trial.unittest import SynchronousTestCase

from gam.errors import BadArgs, Refused, SearchFailed, VlanUnavailable
from gam.schedule import (
    Bounded, Pool, ResourceSpec, VlanTag, thd_cancel, thd_define_resources, thd_expire,
    thd_extend, thd_holder_reservations, thd_reserve)

from tests.db.support import PostgresBackend, SQLiteBackend
from tests.schedule.support import INVENTORY, ScheduleMixin, h


class LifecycleTestsMixin(ScheduleMixin):
    def reserve(self, holder, claims, start, end):
        return self.tx(thd_reserve, holder, claims, start, end)

    def ends(self, holder):
        return {r.resource: r.end for r in self.tx(thd_holder_reservations, holder)}

    # -- extend ----------------------------------------------------------
    def test_extend_moves_every_end(self):
        self.reserve("s", [Bounded("host1"), Pool("cores", 2), VlanTag("vlans")], h(0), h(1))
        got = self.tx(thd_extend, "s", h(5))
        self.assertEqual({r.end for r in got}, {h(5)})
        self.assertEqual(self.ends("s"), {"host1": h(5), "cores": h(5), "vlans": h(5)})
        self.assertEqual([r.tag for r in got if r.kind == "vlan"], [100])

    def test_extend_into_a_later_booking_is_refused_and_changes_nothing(self):
        self.reserve("s", [Bounded("host1"), Bounded("host2")], h(0), h(1))
        self.reserve("later", [Bounded("host2")], h(3), h(4))
        err = self.assertRaises(Refused, self.tx, thd_extend, "s", h(3.5))
        self.assertEqual(err.resource, "host2")
        self.assertEqual(err.conflict, (h(3), h(4)))
        self.assertEqual(self.ends("s"), {"host1": h(1), "host2": h(1)})
        # Up to the later booking's start is fine (half-open).
        self.tx(thd_extend, "s", h(3))
        self.assertEqual(self.ends("s"), {"host1": h(3), "host2": h(3)})

    def test_extend_pool_rechecks_capacity(self):
        self.reserve("s", [Pool("cores", 4)], h(0), h(1))
        self.reserve("later", [Pool("cores", 6)], h(2), h(3))
        self.tx(thd_extend, "s", h(3))            # 4 + 6 = 10 fits
        self.reserve("more", [Pool("cores", 1)], h(3), h(4))
        self.reserve("more2", [Pool("cores", 6)], h(3.5), h(4))
        err = self.assertRaises(Refused, self.tx, thd_extend, "s", h(4))  # 4 + 7 > 10
        self.assertEqual(err.conflict, (h(3.5), h(4)))
        self.assertEqual(self.ends("s"), {"cores": h(3)})

    def test_extend_vlan_keeps_tag_and_checks_it(self):
        self.reserve("s", [VlanTag("vlans", 101)], h(0), h(1))
        self.reserve("other", [VlanTag("vlans", 101)], h(2), h(3))
        self.reserve("third", [VlanTag("vlans", 100)], h(1), h(5))
        self.assertRaises(VlanUnavailable, self.tx, thd_extend, "s", h(2.5))
        got = self.tx(thd_extend, "s", h(2))
        self.assertEqual([(r.tag, r.end) for r in got], [(101, h(2))])

    def test_extend_far_then_conflict_found(self):
        """Extending widens the scan window: later overlap checks still see it."""
        self.reserve("s", [Bounded("host1")], h(0), h(1))
        self.tx(thd_extend, "s", h(24 * 30))
        self.assertRaises(Refused, self.reserve, "x", [Bounded("host1")], h(24 * 20), h(24 * 21))

    def test_shorten(self):
        self.reserve("s", [Bounded("host1")], h(0), h(5))
        self.tx(thd_extend, "s", h(2))
        self.reserve("x", [Bounded("host1")], h(2), h(5))

    def test_new_end_before_start(self):
        self.reserve("s", [Bounded("host1")], h(2), h(5))
        self.assertRaises(BadArgs, self.tx, thd_extend, "s", h(2))

    def test_extend_nothing(self):
        self.assertEqual(self.tx(thd_extend, "nobody", h(5)), ())

    def test_extend_on_retired_resource(self):
        self.reserve("s", [Bounded("host1")], h(0), h(1))
        self.tx(thd_define_resources, [spec for spec in INVENTORY if spec.name != "host1"])
        self.assertRaises(SearchFailed, self.tx, thd_extend, "s", h(2))

    def test_extend_checks_the_current_capacity(self):
        self.reserve("s", [Pool("cores", 4)], h(0), h(1))
        self.reserve("t", [Pool("cores", 4)], h(1), h(2))
        self.tx(thd_define_resources, [ResourceSpec("cores", "pool", 6, "cores")])
        self.assertRaises(Refused, self.tx, thd_extend, "s", h(2))

    # -- cancel ----------------------------------------------------------
    def test_cancel_frees(self):
        self.reserve("s", [Bounded("host1"), Pool("cores", 10), VlanTag("vlans", 100)],
                     h(0), h(1))
        gone = self.tx(thd_cancel, "s")
        self.assertEqual({r.resource for r in gone}, {"host1", "cores", "vlans"})
        self.assertEqual(self.tx(thd_holder_reservations, "s"), ())
        self.reserve("t", [Bounded("host1"), Pool("cores", 10), VlanTag("vlans", 100)],
                     h(0), h(1))
        self.assertEqual(self.tx(thd_cancel, "s"), ())

    # -- expire ----------------------------------------------------------
    def test_expire_ends_what_is_past(self):
        self.reserve("a", [Bounded("host1")], h(0), h(1))
        self.reserve("b", [Bounded("host2")], h(0), h(2))
        self.reserve("c", [Pool("cores", 1)], h(0), h(1))
        self.reserve("future", [Bounded("host1")], h(5), h(6))
        self.assertEqual(self.tx(thd_expire, h(0.5)), ())
        self.assertEqual(self.tx(thd_expire, h(1)), ("a", "c"))
        self.assertEqual(self.count_reservations(), 2)
        self.assertEqual(self.tx(thd_expire, h(1)), ())
        self.assertEqual(self.tx(thd_expire, h(10)), ("b", "future"))
        self.assertEqual(self.count_reservations(), 0)


class SQLiteLifecycleTests(SQLiteBackend, LifecycleTestsMixin, SynchronousTestCase):
    pass


class PostgresLifecycleTests(PostgresBackend, LifecycleTestsMixin, SynchronousTestCase):
    pass
