"""Engines for SQLite (the default) and PostgreSQL, set up for bookings.

SQLite: WAL journal, foreign keys on, a busy timeout, and every write
transaction opened with ``BEGIN IMMEDIATE`` so that writers take the
database's write lock *before* they read: two bookings can never check
the same free slot and both insert. Read-only transactions
(``READONLY`` execution option) open with a plain ``BEGIN``.

PostgreSQL: psycopg 3 when no driver is named, ``READ COMMITTED`` (each
statement sees what committed before it, which the schedule needs after it
has locked resource rows with ``SELECT ... FOR UPDATE``).
"""
import importlib.util

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

#: Execution option naming a read-only transaction (no write lock on SQLite).
READONLY = "gam_readonly"

DEFAULT_BUSY_TIMEOUT = 30.0


def is_memory_sqlite(url):
    url = make_url(url)
    return (url.get_backend_name() == "sqlite"
            and url.database in (None, "", ":memory:"))


def make_engine(url, *, pool_size=5, busy_timeout=DEFAULT_BUSY_TIMEOUT, echo=False):
    """Build an engine for ``url`` (a string or ``sqlalchemy.engine.URL``).

    ``pool_size`` should match the number of DB threads. An in-memory
    SQLite URL (``sqlite://``) gets a single shared connection: use it with
    one DB thread only (``DBConnector`` does that for you).
    """
    url = make_url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, pool_size, busy_timeout, echo)
    if backend == "postgresql":
        return _postgresql_engine(url, pool_size, busy_timeout, echo)
    raise ValueError(
        f"database URL {url.render_as_string(hide_password=True)!r} names "
        f"backend {backend!r}; gam supports sqlite:///<file> and "
        "postgresql://user@host/dbname")


def _sqlite_engine(url, pool_size, busy_timeout, echo):
    kwargs = {"connect_args": {"timeout": busy_timeout, "check_same_thread": False}}
    if is_memory_sqlite(url):
        kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(pool_size=pool_size, max_overflow=0)
    engine = sa.create_engine(url, echo=echo, **kwargs)
    timeout_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take BEGIN away from the sqlite3 module; we emit our own below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(READONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url, pool_size, busy_timeout, echo):
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg"):
        url = url.set(drivername="postgresql+psycopg")
    # lock_timeout: a row lock held too long fails the waiter instead of
    # hanging it forever.
    options = f"-c lock_timeout={int(busy_timeout * 1000)}"
    return sa.create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=0, pool_pre_ping=True,
        isolation_level="READ COMMITTED", connect_args={"options": options})
