"""thd_reserve: bounded, pool and VLAN claims, all or nothing."""
from datetime import datetime

from twisted.trial.unittest import SynchronousTestCase

from gam.errors import (
    BadArgs, InsufficientBandwidth, Refused, SearchFailed, VlanUnavailable)
from gam.schedule import (
    Bounded, Pool, Reservation, ResourceSpec, VlanTag, thd_define_resources,
    thd_holder_reservations, thd_reserve)

from tests.db.support import PostgresBackend, SQLiteBackend
from tests.schedule.support import ScheduleMixin, h


class ReserveTestsMixin(ScheduleMixin):
    def reserve(self, holder, claims, start, end):
        return self.tx(thd_reserve, holder, claims, start, end)

    # -- bounded ---------------------------------------------------------
    def test_bounded_reservation(self):
        got = self.reserve("s1", [Bounded("host1")], h(0), h(2))
        self.assertEqual(got, (Reservation("host1", "bounded", "s1", h(0), h(2), 1),))

    def test_bounded_overlap_refused_with_the_conflict(self):
        self.reserve("s1", [Bounded("host1")], h(0), h(2))
        err = self.assertRaises(Refused, self.reserve, "s2", [Bounded("host1")], h(1), h(3))
        self.assertEqual(err.reason, "busy")
        self.assertEqual(err.resource, "host1")
        self.assertEqual(err.conflict, (h(0), h(2)))
        self.assertIn("host1", str(err))
        self.assertIn("2030-06-01T12:00:00Z to 2030-06-01T14:00:00Z", str(err))

    def test_contained_and_containing_intervals_conflict(self):
        self.reserve("s1", [Bounded("host1")], h(2), h(4))
        self.assertRaises(Refused, self.reserve, "s2", [Bounded("host1")], h(3), h(3.5))
        self.assertRaises(Refused, self.reserve, "s3", [Bounded("host1")], h(1), h(5))

    def test_back_to_back_do_not_conflict(self):
        self.reserve("s1", [Bounded("host1")], h(1), h(2))
        self.reserve("s2", [Bounded("host1")], h(2), h(3))   # starts at s1's end
        self.reserve("s3", [Bounded("host1")], h(0), h(1))   # ends at s1's start
        self.assertEqual(self.count_reservations(), 3)

    def test_future_reservation_leaves_now_free(self):
        self.reserve("later", [Bounded("host1")], h(24), h(48))
        self.reserve("now", [Bounded("host1")], h(0), h(24))
        self.assertRaises(Refused, self.reserve, "x", [Bounded("host1")], h(47), h(49))
        self.reserve("after", [Bounded("host1")], h(48), h(49))

    def test_long_reservation_found_from_far_inside(self):
        """A booking that began long before the asked interval still conflicts."""
        self.reserve("long", [Bounded("host1")], h(-1000), h(1000))
        for i in range(20):
            self.reserve(f"short{i}", [Bounded("host2")], h(i), h(i + 1))
        err = self.assertRaises(Refused, self.reserve, "x", [Bounded("host1")], h(500), h(501))
        self.assertEqual(err.conflict, (h(-1000), h(1000)))

    # -- pools -----------------------------------------------------------
    def test_pool_counts_max_concurrent_use(self):
        self.reserve("a", [Pool("cores", 6)], h(0), h(2))
        self.reserve("b", [Pool("cores", 6)], h(2), h(4))
        # 12 cores booked in all, but never more than 6 at once:
        self.reserve("c", [Pool("cores", 4)], h(0), h(4))
        err = self.assertRaises(Refused, self.reserve, "d", [Pool("cores", 1)], h(1), h(3))
        self.assertEqual(err.reason, "insufficient-capacity")
        self.assertIn("cores", str(err))
        self.assertEqual(err.resource, "cores")
        self.assertEqual(err.conflict, (h(1), h(2)))

    def test_pool_fills_exactly(self):
        for i in range(10):
            self.reserve(f"s{i}", [Pool("cores", 1)], h(0), h(1))
        self.assertRaises(Refused, self.reserve, "s10", [Pool("cores", 1)], h(0.5), h(1))
        self.reserve("s11", [Pool("cores", 10)], h(1), h(2))

    def test_pool_more_than_capacity(self):
        err = self.assertRaises(Refused, self.reserve, "s", [Pool("cores", 11)], h(0), h(1))
        self.assertIn("10 cores in all", str(err))

    def test_bandwidth_shortfall_is_insufficient_bandwidth(self):
        self.reserve("a", [Pool("bw", 800)], h(0), h(1))
        err = self.assertRaises(InsufficientBandwidth, self.reserve, "b", [Pool("bw", 300)],
                                h(0), h(1))
        self.assertIn("200 mbps", str(err))
        self.assertEqual(err.reason, "insufficient-bandwidth")
        self.assertEqual(err.geni_code, 25)

    def test_bad_amounts(self):
        for amount in (0, -1, 1.5, True):
            self.assertRaises(BadArgs, self.reserve, "s", [Pool("cores", amount)], h(0), h(1))

    def test_two_claims_on_one_pool_add_up(self):
        self.assertRaises(Refused, self.reserve, "s", [Pool("cores", 6), Pool("cores", 5)],
                          h(0), h(1))
        self.assertEqual(self.count_reservations(), 0)

    # -- VLANs -----------------------------------------------------------
    def test_vlan_picks_lowest_free_tag(self):
        got = [self.reserve(f"s{i}", [VlanTag("vlans")], h(0), h(1))[0].tag for i in range(3)]
        self.assertEqual(got, [100, 101, 102])

    def test_vlan_exhaustion(self):
        for i in range(3):
            self.reserve(f"s{i}", [VlanTag("vlans")], h(0), h(2))
        err = self.assertRaises(VlanUnavailable, self.reserve, "x", [VlanTag("vlans")],
                                h(1), h(3))
        self.assertIn("all 3 VLAN tags", str(err))
        # Free again once the others end (half-open):
        self.assertEqual(self.reserve("y", [VlanTag("vlans")], h(2), h(3))[0].tag, 100)

    def test_vlan_tag_reused_after_its_interval(self):
        self.reserve("a", [VlanTag("vlans", 101)], h(0), h(1))
        self.assertEqual(self.reserve("b", [VlanTag("vlans")], h(0), h(1))[0].tag, 100)
        self.assertEqual(self.reserve("c", [VlanTag("vlans", 101)], h(1), h(2))[0].tag, 101)

    def test_specific_tag_busy(self):
        self.reserve("a", [VlanTag("vlans", 101)], h(0), h(2))
        err = self.assertRaises(VlanUnavailable, self.reserve, "b", [VlanTag("vlans", 101)],
                                h(1), h(3))
        self.assertEqual(err.conflict, (h(0), h(2)))
        self.assertIn("101", str(err))

    def test_specific_tag_not_offered(self):
        err = self.assertRaises(VlanUnavailable, self.reserve, "b", [VlanTag("vlans", 5)],
                                h(0), h(1))
        self.assertIn("100-102", str(err))

    def test_two_any_tag_claims_get_two_tags(self):
        got = self.reserve("s", [VlanTag("vlans"), VlanTag("vlans")], h(0), h(1))
        self.assertEqual([r.tag for r in got], [100, 101])

    # -- all or nothing and errors ----------------------------------------
    def test_failing_claim_leaves_nothing(self):
        self.reserve("a", [Bounded("host2")], h(0), h(1))
        claims = [Bounded("host1"), Pool("cores", 3), VlanTag("vlans"), Bounded("host2")]
        self.assertRaises(Refused, self.reserve, "b", claims, h(0), h(1))
        self.assertEqual(self.count_reservations(), 1)
        self.assertEqual(self.tx(thd_holder_reservations, "b"), ())

    def test_failure_caught_by_caller_still_leaves_nothing(self):
        """thd_reserve undoes its own partial work (savepoint) even when the
        caller catches the error and commits the rest of its transaction."""
        self.reserve("a", [Bounded("host2")], h(0), h(1))

        def thd_try_both(conn):
            try:
                thd_reserve(conn, "b", [Bounded("host1"), Bounded("host2")], h(0), h(1))
            except Refused:
                pass
            return thd_reserve(conn, "b", [Pool("cores", 2)], h(0), h(1))

        self.tx(thd_try_both)
        held = self.tx(thd_holder_reservations, "b")
        self.assertEqual([r.resource for r in held], ["cores"])

    def test_unknown_resource(self):
        err = self.assertRaises(SearchFailed, self.reserve, "s",
                                [Bounded("host1"), Bounded("nope")], h(0), h(1))
        self.assertIn("nope", str(err))
        self.assertEqual(err.resource, "nope")
        self.assertEqual(self.count_reservations(), 0)

    def test_retired_resource(self):
        self.tx(thd_define_resources, [ResourceSpec("host2", "bounded")])
        err = self.assertRaises(SearchFailed, self.reserve, "s", [Bounded("host1")], h(0), h(1))
        self.assertIn("no longer offered", str(err))

    def test_wrong_kind(self):
        err = self.assertRaises(BadArgs, self.reserve, "s", [Bounded("cores")], h(0), h(1))
        self.assertIn("pool", str(err))

    def test_bad_interval(self):
        self.assertRaises(BadArgs, self.reserve, "s", [Bounded("host1")], h(1), h(1))
        self.assertRaises(BadArgs, self.reserve, "s", [Bounded("host1")], h(2), h(1))

    def test_naive_times_refused(self):
        self.assertRaises(ValueError, self.reserve, "s", [Bounded("host1")],
                          datetime(2030, 1, 1), datetime(2030, 1, 2))

    def test_no_claims(self):
        self.assertEqual(self.reserve("s", [], h(0), h(1)), ())


class SQLiteReserveTests(SQLiteBackend, ReserveTestsMixin, SynchronousTestCase):
    pass


class PostgresReserveTests(PostgresBackend, ReserveTestsMixin, SynchronousTestCase):
    pass
