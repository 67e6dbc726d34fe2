"""Bookings and sliver rows change together, in one DBConnector.run."""
from datetime import timedelta

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from gam.db.connector import DBConnector
from gam.db.slices import thd_ensure_slice
from gam.db.slivers import thd_insert_sliver, thd_list_slivers
from gam.errors import Refused
from gam.schedule import (
    Bounded, ResourceSpec, Schedule, VlanTag, thd_define_resources, thd_reserve)

from tests.db.support import T0, SQLiteBackend
from tests.schedule.support import h

SLICE = "urn:publicid:IDN+ch.example+slice+demo"


def thd_allocate(conn, n, host):
    """What the aggregate does: slice, sliver row and booking, all or nothing."""
    thd_ensure_slice(conn, SLICE, T0 + timedelta(days=1), T0)
    urn = f"urn:publicid:IDN+am.example+sliver+{n}"
    thd_insert_sliver(conn, urn=urn, slice_urn=SLICE, client_id=f"n{n}", kind="node",
                      resource_type="raw-pc", component_id=host,
                      expires=h(1), now=T0)
    return thd_reserve(conn, urn, [Bounded(host)], h(0), h(1))


class OneTransactionTests(SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def setUp(self):
        self.db = DBConnector(self.db_url(), reactor=reactor, pool_size=2)
        yield self.db.start()
        self.addCleanup(self.db.stop)
        yield self.db.run(thd_define_resources, [ResourceSpec("host1", "bounded")])

    @defer.inlineCallbacks
    def test_refused_booking_rolls_back_the_sliver(self):
        yield self.db.run(thd_allocate, 1, "host1")
        with self.assertRaises(Refused):
            yield self.db.run(thd_allocate, 2, "host1")
        slivers = yield self.db.read(thd_list_slivers, SLICE)
        self.assertEqual([s.client_id for s in slivers], ["n1"])


class ScheduleComponentTests(SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_async_wrappers(self):
        db = DBConnector(self.db_url(), reactor=reactor, pool_size=2)
        yield db.start()
        self.addCleanup(db.stop)
        schedule = Schedule(db)
        synced = yield schedule.define_resources(
            [ResourceSpec("host1", "bounded"), ResourceSpec("v", "vlan", ranges=((7, 8),))])
        self.assertEqual(synced.added, ("host1", "v"))
        got = yield schedule.reserve("s", [Bounded("host1"), VlanTag("v")], h(0), h(1))
        self.assertEqual([r.tag for r in got], [None, 7])
        free = yield schedule.find_free([Bounded("host1")], h(0), h(1))
        self.assertEqual(free, ())
        usage = yield schedule.usage("v", h(0))
        self.assertEqual(usage.tags, (7,))
        extended = yield schedule.extend("s", h(2))
        self.assertEqual({r.end for r in extended}, {h(2)})
        held = yield schedule.holder_reservations("s")
        self.assertEqual(len(held), 2)
        expired = yield schedule.expire(h(2))
        self.assertEqual(expired, ("s",))
        cancelled = yield schedule.cancel("s")
        self.assertEqual(cancelled, ())
        resources = yield schedule.list_resources()
        self.assertEqual([r.name for r in resources], ["host1", "v"])
