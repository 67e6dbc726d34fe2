"""Bring a database to the newest schema with Alembic, from code.

No ``alembic.ini`` is read: the configuration is built here and points
at the migration scripts shipped in ``gam/db/migrations``.
"""
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None):
    """An Alembic ``Config`` for gam's migrations, bound to ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision():
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def thd_current_revision(conn):
    """The revision the database is at, or None for an empty database."""
    return MigrationContext.configure(conn).get_current_revision()


def thd_upgrade(conn, revision="head"):
    """Run the migrations up to ``revision`` on ``conn`` (inside its transaction)."""
    command.upgrade(alembic_config(conn), revision)
