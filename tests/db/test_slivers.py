"""Sliver rows: insert, read, update, delete (tombstones), list the expired."""
from datetime import timedelta

from twisted.internet import defer, reactor
from twisted.trial.unittest import SynchronousTestCase, TestCase

from gam.db.connector import DBConnector
from gam.db.slices import thd_ensure_slice
from gam.db.slivers import (
    Sliver, thd_get_sliver, thd_get_slivers, thd_insert_sliver, thd_list_expired, thd_list_slivers, thd_mark_deleted, thd_update_sliver)
from gam.errors import AlreadyExists, SearchFailed

from tests.db.support import T0, EngineMixin, PostgresBackend, SQLiteBackend

SLICE = "urn:publicid:IDN+ch.example+slice+demo"
OTHER = "urn:publicid:IDN+ch.example+slice+other"


def urn(n):
    return f"urn:publicid:IDN+am.example+sliver+{n}"


class SliverTestsMixin(EngineMixin):
    def setUp(self):
        super().setUp()
        self.tx(thd_ensure_slice, SLICE, T0 + timedelta(days=1), T0)
        self.tx(thd_ensure_slice, OTHER, T0 + timedelta(days=1), T0)

    def insert(self, n, slice_urn=SLICE, **kw):
        values = dict(urn=urn(n), slice_urn=slice_urn, client_id=f"node{n}", kind="node",
                      resource_type="vm", expires=T0 + timedelta(hours=1), now=T0)
        values.update(kw)
        return self.tx(thd_insert_sliver, **values)

    def test_insert_and_get(self):
        made = self.insert(1, sliver_type="xen-vm", component_id="urn:host1",
                           request_xml="<node client_id='node1'/>",
                           data={"vlan": 101, "macs": ["02:00:00:00:00:01"]})
        self.assertIsInstance(made, Sliver)
        self.assertEqual(made.urn, urn(1))
        self.assertEqual(made.slice_urn, SLICE)
        self.assertEqual(made.allocation_state, "geni_allocated")
        self.assertEqual(made.operational_state, "geni_pending_allocation")
        self.assertEqual(made.error, "")
        self.assertEqual(made.start_time, T0)
        self.assertEqual((made.created, made.updated), (T0, T0))
        self.assertEqual(made.data, {"vlan": 101, "macs": ["02:00:00:00:00:01"]})
        self.assertEqual(made.request_xml, "<node client_id='node1'/>")
        self.assertFalse(made.deleted)
        self.assertEqual(self.tx(thd_get_sliver, urn(1)), made)

    def test_unknown_slice(self):
        err = self.assertRaises(SearchFailed, self.insert, 1,
                                slice_urn="urn:publicid:IDN+x+slice+nope")
        self.assertIn("nope", str(err))

    def test_bad_kind(self):
        self.assertRaises(ValueError, self.insert, 1, kind="switch")

    def test_list_by_slice(self):
        self.insert(1)
        self.insert(2, kind="link", resource_type="vlan")
        self.insert(3, slice_urn=OTHER)
        listed = self.tx(thd_list_slivers, SLICE)
        self.assertEqual([s.urn for s in listed], [urn(1), urn(2)])
        self.assertEqual(listed[1].kind, "link")

    def test_get_many_keeps_order_and_skips_unknown(self):
        self.insert(1)
        self.insert(2)
        got = self.tx(thd_get_slivers, [urn(2), urn(9), urn(1), urn(2)])
        self.assertEqual([s.urn for s in got], [urn(2), urn(1)])

    def test_update_states_and_data(self):
        self.insert(1, data={"a": 1})
        later = T0 + timedelta(minutes=3)
        changed = self.tx(thd_update_sliver, urn(1), later,
                          allocation_state="geni_provisioned",
                          operational_state="geni_ready", merge_data={"b": 2})
        self.assertEqual(changed.allocation_state, "geni_provisioned")
        self.assertEqual(changed.operational_state, "geni_ready")
        self.assertEqual(changed.data, {"a": 1, "b": 2})
        self.assertEqual(changed.updated, later)
        self.assertEqual(changed.created, T0)
        replaced = self.tx(thd_update_sliver, urn(1), later, data={"c": 3},
                           error="disk full", expires=T0 + timedelta(days=2))
        self.assertEqual(replaced.data, {"c": 3})
        self.assertEqual(replaced.error, "disk full")
        self.assertEqual(replaced.expires, T0 + timedelta(days=2))

    def test_update_refuses_unknown_fields_and_states(self):
        self.insert(1)
        self.assertRaises(TypeError, self.tx, thd_update_sliver, urn(1), T0, urn="x")
        self.assertRaises(ValueError, self.tx, thd_update_sliver, urn(1), T0,
                          allocation_state="geni_bogus")

    def test_update_unknown(self):
        self.assertRaises(SearchFailed, self.tx, thd_update_sliver, urn(1), T0, error="x")

    def test_delete_keeps_a_tombstone(self):
        self.insert(1)
        self.insert(2)
        gone = self.tx(thd_mark_deleted, [urn(1), urn(7)], T0 + timedelta(minutes=1))
        self.assertEqual([s.urn for s in gone], [urn(1)])
        self.assertEqual(gone[0].allocation_state, "geni_unallocated")
        self.assertEqual(gone[0].deleted_at, T0 + timedelta(minutes=1))
        self.assertIsNone(self.tx(thd_get_sliver, urn(1)))
        self.assertTrue(self.tx(thd_get_sliver, urn(1), include_deleted=True).deleted)
        self.assertEqual([s.urn for s in self.tx(thd_list_slivers, SLICE)], [urn(2)])
        self.assertEqual(len(self.tx(thd_list_slivers, SLICE, include_deleted=True)), 2)
        self.assertRaises(SearchFailed, self.tx, thd_update_sliver, urn(1), T0, error="x")
        # Deleting again marks nothing.
        self.assertEqual(self.tx(thd_mark_deleted, [urn(1)], T0 + timedelta(hours=1)), ())

    def test_urn_never_reused(self):
        self.insert(1)
        err = self.assertRaises(AlreadyExists, self.insert, 1)
        self.assertIn(urn(1), str(err))
        self.tx(thd_mark_deleted, [urn(1)], T0)
        self.assertRaises(AlreadyExists, self.insert, 1, slice_urn=OTHER)

    def test_list_expired(self):
        self.insert(1, expires=T0 + timedelta(minutes=10))
        self.insert(2, expires=T0 + timedelta(minutes=20))
        self.insert(3, expires=T0 + timedelta(minutes=5))
        self.insert(4, expires=T0 + timedelta(minutes=1))
        self.tx(thd_mark_deleted, [urn(4)], T0)
        at = T0 + timedelta(minutes=10)
        self.assertEqual([s.urn for s in self.tx(thd_list_expired, at)], [urn(3), urn(1)])
        # listing changes nothing: freeing them is the aggregate's work
        self.assertEqual([s.urn for s in self.tx(thd_list_slivers, SLICE)],
                         [urn(1), urn(2), urn(3)])


class SQLiteSliverTests(SQLiteBackend, SliverTestsMixin, SynchronousTestCase):
    pass


class PostgresSliverTests(PostgresBackend, SliverTestsMixin, SynchronousTestCase):
    pass


class ComponentTests(SQLiteBackend, TestCase):
    """The async wrappers reach the same functions through the pool."""

    @defer.inlineCallbacks
    def test_round_trip(self):
        db = DBConnector(self.db_url(), reactor=reactor, pool_size=2)
        yield db.start()
        self.addCleanup(db.stop)
        made = yield db.slices.ensure_slice(SLICE, T0 + timedelta(days=1), T0)
        self.assertEqual(made.urn, SLICE)
        yield db.slivers.insert_sliver(urn=urn(1), slice_urn=SLICE, client_id="n1",
                                       kind="node", resource_type="vm",
                                       expires=T0 + timedelta(hours=1), now=T0)
        got = yield db.slivers.get_sliver(urn(1))
        self.assertEqual(got.client_id, "n1")
        listed = yield db.slivers.list_slivers(SLICE)
        self.assertEqual([s.urn for s in listed], [urn(1)])
        yield db.slivers.update_sliver(urn(1), T0, operational_state="geni_ready")
        got = yield db.slivers.get_slivers([urn(1)])
        self.assertEqual(got[0].operational_state, "geni_ready")
        gone = yield db.slivers.mark_deleted([urn(1)], T0)
        self.assertEqual(len(gone), 1)
        expired = yield db.slivers.list_expired(T0 + timedelta(days=1))
        self.assertEqual(expired, ())
