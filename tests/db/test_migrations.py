"""The Alembic migrations build exactly the schema of gam.db.model."""
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from twisted.trial.unittest import SynchronousTestCase

from gam.db.engine import make_engine
from gam.db.migrate import alembic_config, head_revision, thd_current_revision, thd_upgrade
from gam.db.model import metadata

from tests.db.support import PostgresBackend, SQLiteBackend


class MigrationTestsMixin:
    def setUp(self):
        super().setUp()
        self.engine = make_engine(self.db_url(), pool_size=1)
        self.addCleanup(self.engine.dispose)

    def diff(self):
        with self.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(context, metadata)

    def test_empty_database_is_at_no_revision(self):
        with self.engine.begin() as conn:
            self.assertIsNone(thd_current_revision(conn))

    def test_upgrade_matches_model(self):
        with self.engine.begin() as conn:
            thd_upgrade(conn)
        self.assertEqual(self.diff(), [])
        with self.engine.begin() as conn:
            self.assertEqual(thd_current_revision(conn), head_revision())

    def test_model_differs_before_upgrade(self):
        """The comparison can fail: an empty database is missing every table."""
        added = {d[1].name for d in self.diff() if d[0] == "add_table"}
        self.assertTrue({"slices", "slivers", "resources", "reservations"} <= added)

    def test_upgrade_twice_is_a_no_op(self):
        with self.engine.begin() as conn:
            thd_upgrade(conn)
        with self.engine.begin() as conn:
            thd_upgrade(conn)
        self.assertEqual(self.diff(), [])

    def test_downgrade_to_base_and_back(self):
        with self.engine.begin() as conn:
            thd_upgrade(conn)
        with self.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        with self.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        self.assertEqual(tables, set())
        with self.engine.begin() as conn:
            thd_upgrade(conn)
        self.assertEqual(self.diff(), [])


class SQLiteMigrationTests(SQLiteBackend, MigrationTestsMixin, SynchronousTestCase):
    pass


class PostgresMigrationTests(PostgresBackend, MigrationTestsMixin, SynchronousTestCase):
    pass
