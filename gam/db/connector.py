"""The database connector: an engine, a bounded DB thread pool, migrations.

Every public DB call runs a thread-side function ``fn(conn, *args)`` in
the pool, inside one transaction, and hands back a Deferred::

    db = DBConnector("sqlite:////var/lib/gam/gam.db")
    await db.start()                     # pool up, schema at Alembic head
    res = await db.run(thd_reserve, holder, claims, start, end)
    await db.stop()

Nothing is created at import or construction time: the engine and the
threads appear in ``start()``.
"""
from twisted.application import service
from twisted.internet import defer, threads
from twisted.logger import Logger
from twisted.python import threadpool

from gam.db.engine import DEFAULT_BUSY_TIMEOUT, READONLY, is_memory_sqlite, make_engine
from gam.db.migrate import thd_upgrade
from gam.db.slices import SlicesComponent
from gam.db.slivers import SliversComponent

log = Logger()


class DBConnector(service.Service):
    """Owns the engine and the DB thread pool; runs transactions in it.

    ``pool_size`` bounds both the threads and the pooled connections.
    ``upgrade`` (default True) runs the Alembic migrations in ``start()``.
    Usable on its own (``start``/``stop``) or as a child service.
    Components: ``db.slices`` and ``db.slivers`` (async wrappers).
    """

    name = "db"

    def __init__(self, url, reactor=None, pool_size=4, *,
                 busy_timeout=DEFAULT_BUSY_TIMEOUT, upgrade=True, echo=False):
        if reactor is None:
            from twisted.internet import reactor
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, not {pool_size}")
        if is_memory_sqlite(url):
            pool_size = 1  # one shared connection: one thread at a time
        self.url = url
        self.pool_size = pool_size
        self.engine = None
        self._read_engine = None
        self._reactor = reactor
        self._busy_timeout = busy_timeout
        self._upgrade = upgrade
        self._echo = echo
        self._pool = None
        self._shutdown_trigger = None
        self.slices = SlicesComponent(self)
        self.slivers = SliversComponent(self)

    @property
    def started(self):
        return self._pool is not None

    def start(self):
        """Create the engine, start the pool, migrate. Returns a Deferred."""
        if self._pool is not None:
            return defer.succeed(None)
        self.engine = make_engine(self.url, pool_size=self.pool_size,
                                  busy_timeout=self._busy_timeout, echo=self._echo)
        self._read_engine = self.engine.execution_options(**{READONLY: True})
        self._pool = threadpool.ThreadPool(minthreads=0, maxthreads=self.pool_size,
                                           name="gam-db")
        self._pool.start()
        self._shutdown_trigger = self._reactor.addSystemEventTrigger(
            "during", "shutdown", self._stop_now)
        if not self._upgrade:
            return defer.succeed(None)
        d = self.run(thd_upgrade)

        def failed(f):
            log.failure("database migration failed", f)
            self._stop_now()
            return f
        d.addErrback(failed)
        return d

    def stop(self):
        """Stop the pool (waits for running transactions) and drop the engine."""
        if self._pool is None:
            return defer.succeed(None)
        if self._shutdown_trigger is not None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None
        pool, self._pool = self._pool, None
        engine, self.engine, self._read_engine = self.engine, None, None
        # ThreadPool.stop joins its threads; do it off the reactor thread.
        d = threads.deferToThreadPool(self._reactor, self._reactor.getThreadPool(),
                                      pool.stop)
        d.addCallback(lambda _: engine.dispose())
        return d

    def _stop_now(self):
        self._shutdown_trigger = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.stop()
            engine, self.engine, self._read_engine = self.engine, None, None
            engine.dispose()

    # twisted.application.service.IService
    def startService(self):
        super().startService()
        self.ready = self.start()
        return self.ready

    def stopService(self):
        super().stopService()
        return self.stop()

    def run(self, fn, *args, **kwargs):
        """Run ``fn(conn, *args, **kwargs)`` in one write transaction, in the pool.

        Commits when ``fn`` returns, rolls back when it raises; the Deferred
        fires with ``fn``'s result or fails with its exception unchanged.
        On SQLite the transaction begins with ``BEGIN IMMEDIATE``.
        """
        return self._defer(False, fn, args, kwargs)

    def read(self, fn, *args, **kwargs):
        """Like ``run`` for ``fn`` that only reads (no write lock on SQLite)."""
        return self._defer(True, fn, args, kwargs)

    def _defer(self, readonly, fn, args, kwargs):
        if self._pool is None:
            return defer.fail(RuntimeError(
                "the database is not started: call DBConnector.start() first"))
        engine = self._read_engine if readonly else self.engine
        return threads.deferToThreadPool(
            self._reactor, self._pool, _thd_transaction, engine, fn, args, kwargs)


def _thd_transaction(engine, fn, args, kwargs):
    with engine.begin() as conn:
        return fn(conn, *args, **kwargs)
