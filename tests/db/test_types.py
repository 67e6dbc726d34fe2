"""UTCDateTime: aware in, aware UTC out, naive refused."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from twisted.trial.unittest import SynchronousTestCase

from gam.db.engine import make_engine
from gam.db.types import UTCDateTime, as_utc

from tests.db.support import sqlite_url

PARIS_SUMMER = timezone(timedelta(hours=2))


class AsUTCTests(SynchronousTestCase):
    def test_converts_to_utc(self):
        when = datetime(2030, 6, 1, 14, 0, tzinfo=PARIS_SUMMER)
        self.assertEqual(as_utc(when), datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc))
        self.assertEqual(as_utc(when).tzinfo, timezone.utc)

    def test_naive_refused(self):
        err = self.assertRaises(ValueError, as_utc, datetime(2030, 6, 1), "start")
        self.assertIn("start", str(err))
        self.assertIn("time zone", str(err))

    def test_not_a_datetime(self):
        self.assertRaises(TypeError, as_utc, "2030-06-01T00:00:00Z")


class ColumnTests(SynchronousTestCase):
    def setUp(self):
        self.engine = make_engine(sqlite_url(self))
        self.addCleanup(self.engine.dispose)
        self.table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                              sa.Column("at", UTCDateTime))
        with self.engine.begin() as conn:
            self.table.metadata.create_all(conn)

    def test_round_trip_is_utc(self):
        when = datetime(2030, 6, 1, 14, 0, 0, 123456, tzinfo=PARIS_SUMMER)
        with self.engine.begin() as conn:
            conn.execute(sa.insert(self.table).values(id=1, at=when))
            back = conn.execute(sa.select(self.table.c.at)).scalar()
            raw = conn.exec_driver_sql("SELECT at FROM t").scalar()
        self.assertEqual(back, when)
        self.assertEqual(back.tzinfo, timezone.utc)
        self.assertTrue(raw.startswith("2030-06-01 12:00:00.123456"), raw)

    def test_comparison_uses_instants(self):
        early = datetime(2030, 6, 1, 11, 0, tzinfo=timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(sa.insert(self.table).values(id=1, at=early))
            later_in_paris = datetime(2030, 6, 1, 12, 30, tzinfo=PARIS_SUMMER)  # 10:30Z
            hits = conn.execute(sa.select(self.table.c.id)
                                .where(self.table.c.at < later_in_paris)).all()
        self.assertEqual(hits, [])

    def test_naive_bind_refused(self):
        with self.engine.begin() as conn:
            self.assertRaises(sa.exc.StatementError, conn.execute,
                              sa.insert(self.table).values(id=1, at=datetime(2030, 1, 1)))
