"""Concurrent bookings through DBConnector.run never double-book.

Many transactions run at once in the DB thread pool, each checking and
then inserting; the resource lock (BEGIN IMMEDIATE on SQLite, SELECT ...
FOR UPDATE on PostgreSQL) must make exactly the right number succeed.
"""
import threading
from datetime import timedelta

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from gam.db.connector import DBConnector
from gam.errors import Refused
from gam.schedule import (
    Bounded, Pool, ResourceSpec, VlanTag, thd_define_resources, thd_reserve, thd_usage)
from gam.schedule.status import thd_list_reservations

from tests.db.support import PostgresBackend, SQLiteBackend
from tests.schedule.support import h

REQUESTS = 50
THREADS = 10


class ConcurrencyTestsMixin:
    @defer.inlineCallbacks
    def setUp(self):
        self.db = DBConnector(self.db_url(), reactor=reactor, pool_size=THREADS)
        yield self.db.start()
        self.addCleanup(self.db.stop)
        yield self.db.run(thd_define_resources, [
            ResourceSpec("host", "bounded"),
            ResourceSpec("cores", "pool", capacity=10, unit="cores"),
            ResourceSpec("vlans", "vlan", ranges=((100, 104),)),
        ])
        self.threads_seen = set()

    def thd_reserve_noting_thread(self, conn, *args):
        self.threads_seen.add(threading.get_ident())
        return thd_reserve(conn, *args)

    @defer.inlineCallbacks
    def race(self, claim):
        """REQUESTS reservations of ``claim`` over intervals that differ but
        all overlap on [h(0) + 49 min, h(1)); returns (successes, errors)."""
        calls = [self.db.run(self.thd_reserve_noting_thread, f"sliver{i}", [claim],
                             h(0) + timedelta(minutes=i), h(1) + timedelta(minutes=i))
                 for i in range(REQUESTS)]
        results = yield defer.DeferredList(calls, consumeErrors=True)
        wins = [value for ok, value in results if ok]
        losses = [value.value for ok, value in results if not ok]
        return wins, losses

    @defer.inlineCallbacks
    def test_bounded_exactly_one(self):
        wins, losses = yield self.race(Bounded("host"))
        self.assertEqual(len(wins), 1)
        self.assertEqual(len(losses), REQUESTS - 1)
        for err in losses:
            self.assertIsInstance(err, Refused)
            self.assertEqual(err.resource, "host")
            self.assertIn("host is booked from", str(err))
        held = yield self.db.read(thd_list_reservations, "host", h(-1), h(3))
        self.assertEqual(len(held), 1)
        self.assertGreater(len(self.threads_seen), 1)

    @defer.inlineCallbacks
    def test_pool_exactly_capacity(self):
        wins, losses = yield self.race(Pool("cores", 1))
        self.assertEqual(len(wins), 10)
        self.assertEqual(len(losses), REQUESTS - 10)
        for err in losses:
            self.assertIsInstance(err, Refused)
            self.assertEqual(err.reason, "insufficient-capacity")
        usage = yield self.db.read(thd_usage, "cores", h(0.9))
        self.assertEqual(usage.used, 10)

    @defer.inlineCallbacks
    def test_vlan_tags_distinct(self):
        wins, losses = yield self.race(VlanTag("vlans"))
        tags = sorted(r[0].tag for r in wins)
        self.assertEqual(tags, [100, 101, 102, 103, 104])
        self.assertEqual(len(losses), REQUESTS - 5)


class SQLiteConcurrencyTests(SQLiteBackend, ConcurrencyTestsMixin, TestCase):
    pass


class PostgresConcurrencyTests(PostgresBackend, ConcurrencyTestsMixin, TestCase):
    pass
