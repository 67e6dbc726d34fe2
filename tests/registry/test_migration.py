"""Migration 0002 adds the registry's tables on top of the AM's and takes them away."""
import sqlalchemy as sa
from alembic import command
from twisted.trial.unittest import SynchronousTestCase

from gam.db.engine import make_engine
from gam.db.migrate import alembic_config, thd_current_revision, thd_upgrade
from tests.db.support import PostgresBackend, SQLiteBackend

AM_TABLES = {"slices", "slivers", "resources", "reservations"}
REGISTRY_TABLES = {"reg_records", "reg_members"}


class RegistryMigrationMixin:
    def setUp(self):
        super().setUp()
        self.engine = make_engine(self.db_url(), pool_size=1)
        self.addCleanup(self.engine.dispose)

    def tables(self):
        with self.engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names()) - {"alembic_version"}

    def test_up_from_0001_and_down_again(self):
        with self.engine.begin() as conn:
            thd_upgrade(conn, "0001")
        self.assertEqual(self.tables(), AM_TABLES)
        with self.engine.begin() as conn:
            thd_upgrade(conn, "0002")
            self.assertEqual(thd_current_revision(conn), "0002")
        self.assertEqual(self.tables(), AM_TABLES | REGISTRY_TABLES)
        with self.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        self.assertEqual(self.tables(), AM_TABLES)

    def test_keys_are_unique(self):
        with self.engine.begin() as conn:
            thd_upgrade(conn, "0002")
        row = {"key": "user+gam+a", "urn": "urn:publicid:IDN+gam+user+a", "type": "user",
               "parent": "gam", "gid": "x", "uuid": "u", "ssh_keys": [],
               "created": "2030-01-01 00:00:00", "updated": "2030-01-01 00:00:00"}
        table = sa.table("reg_records", *[sa.column(k) for k in row])
        with self.engine.begin() as conn:
            conn.execute(sa.insert(table).values(**{**row, "ssh_keys": "[]"}))
        with self.assertRaises(sa.exc.IntegrityError):
            with self.engine.begin() as conn:
                conn.execute(sa.insert(table).values(**{**row, "ssh_keys": "[]"}))


class SQLiteRegistryMigrationTests(SQLiteBackend, RegistryMigrationMixin, SynchronousTestCase):
    pass


class PostgresRegistryMigrationTests(PostgresBackend, RegistryMigrationMixin,
                                     SynchronousTestCase):
    pass
