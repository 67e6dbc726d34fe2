"""Engine set-up: SQLite pragmas and write serialisation, URL handling."""
import importlib.util

import sqlalchemy as sa
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from gam.db.engine import READONLY, is_memory_sqlite, make_engine

from tests.db.support import sqlite_url


class SQLiteEngineTests(SynchronousTestCase):
    def setUp(self):
        self.url = sqlite_url(self)
        self.engine = make_engine(self.url, busy_timeout=0.05)
        self.addCleanup(self.engine.dispose)

    def test_pragmas(self):
        with self.engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("PRAGMA journal_mode").scalar(), "wal")
            self.assertEqual(conn.exec_driver_sql("PRAGMA foreign_keys").scalar(), 1)
            self.assertEqual(conn.exec_driver_sql("PRAGMA busy_timeout").scalar(), 50)

    def test_write_transactions_take_the_lock_at_begin(self):
        """A second writer cannot even begin while one is open (BEGIN IMMEDIATE)."""
        with self.engine.begin():
            other = make_engine(self.url, busy_timeout=0.05)
            self.addCleanup(other.dispose)
            with self.assertRaises(sa.exc.OperationalError) as caught:
                with other.begin():
                    pass
            self.assertIn("locked", str(caught.exception))

    def test_readers_do_not_wait_for_a_writer(self):
        with self.engine.begin() as writer:
            writer.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with self.engine.begin() as writer:
            writer.exec_driver_sql("INSERT INTO t VALUES (1)")
            reader_engine = self.engine.execution_options(**{READONLY: True})
            with reader_engine.begin() as reader:
                # WAL: the reader sees the last committed state, not the write.
                self.assertEqual(reader.exec_driver_sql("SELECT count(*) FROM t").scalar(), 0)

    def test_rollback_undoes(self):
        with self.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                raise KeyError("boom")
        except KeyError:
            pass
        with self.engine.begin() as conn:
            self.assertEqual(conn.exec_driver_sql("SELECT count(*) FROM t").scalar(), 0)

    def test_savepoints_work(self):
        with self.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("INSERT INTO t VALUES (2)")
                    raise KeyError("boom")
            except KeyError:
                pass
        with self.engine.begin() as conn:
            self.assertEqual(conn.exec_driver_sql("SELECT x FROM t").scalars().all(), [1])


class URLTests(SynchronousTestCase):
    def test_memory(self):
        self.assertTrue(is_memory_sqlite("sqlite://"))
        self.assertTrue(is_memory_sqlite("sqlite:///:memory:"))
        self.assertFalse(is_memory_sqlite("sqlite:////tmp/x.db"))
        self.assertFalse(is_memory_sqlite("postgresql://u@h/db"))

    def test_unsupported_backend(self):
        err = self.assertRaises(ValueError, make_engine, "mysql://u:secret@h/db")
        self.assertIn("mysql", str(err))
        self.assertNotIn("secret", str(err))

    def test_postgresql_prefers_psycopg3(self):
        if importlib.util.find_spec("psycopg") is None:
            raise SkipTest("psycopg (3) is not installed")
        engine = make_engine("postgresql://u@localhost/db")
        self.addCleanup(engine.dispose)
        self.assertEqual(engine.url.drivername, "postgresql+psycopg")
        self.assertEqual(engine.dialect.name, "postgresql")
