"""DBConnector: pool, one transaction per run, migrations at start."""
import sqlalchemy as sa
from twisted.application import service
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from gam.db.connector import DBConnector
from gam.db.migrate import head_revision, thd_current_revision

from tests.db.support import SQLiteBackend


def thd_make_table(conn):
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")


def thd_insert(conn, value, fail=None):
    conn.execute(sa.text("INSERT INTO t VALUES (:x)"), {"x": value})
    if fail is not None:
        raise fail


def thd_values(conn):
    return conn.exec_driver_sql("SELECT x FROM t ORDER BY x").scalars().all()


class ConnectorTests(SQLiteBackend, TestCase):
    def setUp(self):
        self.db = DBConnector(self.db_url(), reactor=reactor, pool_size=3)
        self.addCleanup(self.db.stop)

    async def _start(self):
        await self.db.start()
        await self.db.run(thd_make_table)

    @defer.inlineCallbacks
    def test_start_migrates_to_head(self):
        self.assertFalse(self.db.started)
        yield self.db.start()
        self.assertTrue(self.db.started)
        rev = yield self.db.read(thd_current_revision)
        self.assertEqual(rev, head_revision())

    @defer.inlineCallbacks
    def test_run_commits_on_return(self):
        yield defer.ensureDeferred(self._start())
        result = yield self.db.run(thd_insert, 1)
        self.assertIsNone(result)
        values = yield self.db.read(thd_values)
        self.assertEqual(values, [1])

    @defer.inlineCallbacks
    def test_run_rolls_back_and_propagates_the_exception(self):
        yield defer.ensureDeferred(self._start())
        boom = KeyError("boom")
        with self.assertRaises(KeyError) as caught:
            yield self.db.run(thd_insert, 2, fail=boom)
        self.assertIs(caught.exception, boom)
        values = yield self.db.read(thd_values)
        self.assertEqual(values, [])

    @defer.inlineCallbacks
    def test_run_returns_the_function_result(self):
        yield defer.ensureDeferred(self._start())
        yield self.db.run(thd_insert, 5)
        yield self.db.run(thd_insert, 3)
        values = yield self.db.read(thd_values)
        self.assertEqual(values, [3, 5])

    @defer.inlineCallbacks
    def test_run_before_start_fails_clearly(self):
        with self.assertRaises(RuntimeError) as caught:
            yield self.db.run(thd_values)
        self.assertIn("start()", str(caught.exception))

    @defer.inlineCallbacks
    def test_stop_then_run_fails_and_restart_works(self):
        yield defer.ensureDeferred(self._start())
        yield self.db.run(thd_insert, 7)
        yield self.db.stop()
        self.assertFalse(self.db.started)
        self.assertIsNone(self.db.engine)
        with self.assertRaises(RuntimeError):
            yield self.db.run(thd_values)
        yield self.db.start()  # the data is still there, migrations a no-op
        values = yield self.db.read(thd_values)
        self.assertEqual(values, [7])

    @defer.inlineCallbacks
    def test_start_and_stop_are_idempotent(self):
        yield self.db.start()
        yield self.db.start()
        yield self.db.stop()
        yield self.db.stop()

    @defer.inlineCallbacks
    def test_as_a_service(self):
        parent = service.MultiService()
        self.db.setServiceParent(parent)
        parent.startService()
        yield self.db.ready
        rev = yield self.db.read(thd_current_revision)
        self.assertEqual(rev, head_revision())
        yield parent.stopService()
        self.assertFalse(self.db.started)

    def test_pool_size_must_be_positive(self):
        self.assertRaises(ValueError, DBConnector, "sqlite://", reactor, 0)

    def test_no_engine_before_start(self):
        self.assertIsNone(self.db.engine)


class MemoryConnectorTests(TestCase):
    @defer.inlineCallbacks
    def test_memory_database_uses_one_thread(self):
        db = DBConnector("sqlite://", reactor=reactor, pool_size=8)
        self.assertEqual(db.pool_size, 1)
        yield db.start()
        self.addCleanup(db.stop)
        yield db.run(thd_make_table)
        yield defer.gatherResults([db.run(thd_insert, i) for i in range(5)])
        values = yield db.read(thd_values)
        self.assertEqual(values, [0, 1, 2, 3, 4])
