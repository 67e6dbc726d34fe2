"""thd_lock_all: a transaction locks everything it books in one call, by name.

On PostgreSQL each lock is a ``SELECT ... FOR UPDATE``; two transactions
that lock the same rows in different orders can deadlock. The row locks
are taken in ``inventory._lock_rows``; the tests watch its calls (on
SQLite, where the statements run the same way).
"""
from twisted.trial.unittest import SynchronousTestCase

from gam.errors import Refused, SearchFailed
from gam.schedule import (
    Bounded, Pool, thd_extend, thd_holder_reservations, thd_lock_all, thd_reserve)
from gam.schedule import inventory

from tests.db.support import PostgresBackend, SQLiteBackend
from tests.schedule.support import ScheduleMixin, h


class LockAllTestsMixin(ScheduleMixin):
    def setUp(self):
        super().setUp()
        self.locked = []
        real = inventory._lock_rows

        def spy(conn, names):
            self.locked.append(list(names))
            return real(conn, names)
        self.patch(inventory, "_lock_rows", spy)

    def test_without_it_each_booking_locks_its_own(self):
        def book(conn):
            thd_reserve(conn, "a", [Bounded("host2")], h(0), h(1))
            thd_reserve(conn, "b", [Bounded("host1")], h(0), h(1))
        self.tx(book)
        self.assertEqual(self.locked, [["host2"], ["host1"]])

    def test_bookings_inside_lock_nothing_more(self):
        def book(conn):
            with thd_lock_all(conn, ["host2", "host1", "cores", "host2"]):
                thd_reserve(conn, "a", [Bounded("host2"), Pool("cores", 2)], h(0), h(1))
                thd_reserve(conn, "b", [Bounded("host1")], h(0), h(1))
                thd_extend(conn, "a", h(2))
        self.tx(book)
        self.assertEqual(self.locked, [["cores", "host1", "host2"]])
        self.assertEqual([r.end for r in self.tx(thd_holder_reservations, "a")], [h(2), h(2)])

    def test_a_resource_not_locked_up_front_is_a_bug(self):
        def book(conn):
            with thd_lock_all(conn, ["host2"]):
                thd_reserve(conn, "a", [Bounded("host2")], h(0), h(1))
                thd_reserve(conn, "b", [Bounded("host1")], h(0), h(1))
        err = self.assertRaises(RuntimeError, self.tx, book)
        self.assertIn("host1", str(err))
        self.assertEqual(self.count_reservations(), 0)

    def test_bookings_inside_still_check_and_refuse(self):
        self.tx(thd_reserve, "a", [Bounded("host1")], h(0), h(2))

        def book(conn):
            with thd_lock_all(conn, ["host1", "nowhere"]):
                self.assertRaises(SearchFailed, thd_reserve, conn, "b", [Bounded("nowhere")],
                                  h(0), h(1))
                thd_reserve(conn, "b", [Bounded("host1")], h(1), h(3))
        self.assertRaises(Refused, self.tx, book)
        self.assertEqual(self.count_reservations(), 1)

    def test_the_block_ends_with_its_transaction_work(self):
        def nested(conn):
            with thd_lock_all(conn, ["host1"]):
                with thd_lock_all(conn, ["host2"]):
                    pass
        self.assertRaises(RuntimeError, self.tx, nested)

        def after(conn):
            with thd_lock_all(conn, ["host1"]):
                pass
            thd_reserve(conn, "a", [Bounded("host2")], h(0), h(1))
        self.locked.clear()
        self.tx(after)
        self.assertEqual(self.locked, [["host1"], ["host2"]])


class SQLiteLockAllTests(SQLiteBackend, LockAllTestsMixin, SynchronousTestCase):
    pass


class PostgresLockAllTests(PostgresBackend, LockAllTestsMixin, SynchronousTestCase):
    pass
