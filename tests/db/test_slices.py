"""Slice rows."""
from datetime import timedelta

from twisted.trial.unittest import SynchronousTestCase

from gam.db.slices import (
    thd_ensure_slice, thd_get_slice, thd_set_slice_expires, thd_shutdown_slice)
from gam.errors import SearchFailed

from tests.db.support import T0, EngineMixin, PostgresBackend, SQLiteBackend

SLICE = "urn:publicid:IDN+ch.example+slice+demo"


class SliceTestsMixin(EngineMixin):
    def test_unknown_slice_is_none(self):
        self.assertIsNone(self.tx(thd_get_slice, SLICE))

    def test_ensure_creates_once(self):
        made = self.tx(thd_ensure_slice, SLICE, T0 + timedelta(days=1), T0)
        self.assertEqual(made.urn, SLICE)
        self.assertEqual(made.expires, T0 + timedelta(days=1))
        self.assertEqual(made.created, T0)
        self.assertFalse(made.shutdown)
        again = self.tx(thd_ensure_slice, SLICE, T0 + timedelta(days=9), T0 + timedelta(hours=1))
        self.assertEqual(again, made)

    def test_set_expires(self):
        self.tx(thd_ensure_slice, SLICE, T0 + timedelta(days=1), T0)
        changed = self.tx(thd_set_slice_expires, SLICE, T0 + timedelta(days=3))
        self.assertEqual(changed.expires, T0 + timedelta(days=3))
        self.assertEqual(self.tx(thd_get_slice, SLICE).expires, T0 + timedelta(days=3))

    def test_shutdown_keeps_first_time(self):
        self.tx(thd_ensure_slice, SLICE, T0 + timedelta(days=1), T0)
        first = self.tx(thd_shutdown_slice, SLICE, T0 + timedelta(minutes=5))
        self.assertTrue(first.shutdown)
        self.assertEqual(first.shutdown_at, T0 + timedelta(minutes=5))
        second = self.tx(thd_shutdown_slice, SLICE, T0 + timedelta(minutes=9))
        self.assertEqual(second.shutdown_at, T0 + timedelta(minutes=5))

    def test_unknown_slice_errors(self):
        err = self.assertRaises(SearchFailed, self.tx, thd_shutdown_slice, SLICE, T0)
        self.assertIn(SLICE, str(err))
        self.assertRaises(SearchFailed, self.tx, thd_set_slice_expires, SLICE, T0)


class SQLiteSliceTests(SQLiteBackend, SliceTestsMixin, SynchronousTestCase):
    pass


class PostgresSliceTests(PostgresBackend, SliceTestsMixin, SynchronousTestCase):
    pass
