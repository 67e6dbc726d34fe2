"""Databases for tests: a fresh SQLite file, or PostgreSQL when asked for.

PostgreSQL tests run when ``GAM_TEST_POSTGRES_URL`` names a database the
tests may wipe (e.g. ``postgresql://gam@localhost/gam_test``); otherwise
they skip, saying so.
"""
import os
from datetime import datetime, timezone

import sqlalchemy as sa
from twisted.trial.unittest import SkipTest

from gam.db.engine import make_engine
from gam.db.migrate import thd_upgrade
from gam.db.model import metadata

POSTGRES_ENV = "GAM_TEST_POSTGRES_URL"
T0 = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)


def sqlite_url(testcase):
    folder = os.path.abspath(testcase.mktemp())
    os.makedirs(folder)
    return f"sqlite:///{os.path.join(folder, 'gam.db')}"


def postgres_url():
    """The test PostgreSQL URL, emptied of gam's tables; SkipTest if unset."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        raise SkipTest(f"PostgreSQL tests need {POSTGRES_ENV}=postgresql://user@host/db "
                       "(a database they may wipe); it is not set")
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
    return url


class SQLiteBackend:
    """Mixin: ``self.db_url()`` gives a new, empty database."""

    backend = "sqlite"

    def db_url(self):
        return sqlite_url(self)


class PostgresBackend:
    backend = "postgresql"

    def db_url(self):
        return postgres_url()


class EngineMixin:
    """Mixin: ``self.engine`` on a migrated database; ``self.tx(fn, ...)``
    runs ``fn(conn, ...)`` in one write transaction, like DBConnector.run."""

    def setUp(self):
        super().setUp()
        self.engine = make_engine(self.db_url(), pool_size=2)
        self.addCleanup(self.engine.dispose)
        with self.engine.begin() as conn:
            thd_upgrade(conn)

    def tx(self, fn, *args, **kwargs):
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)
