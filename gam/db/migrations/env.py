"""Alembic environment for gam.

At run time gam hands a live connection in ``config.attributes``; from
the command line (``alembic -c gam/db/alembic.ini ...``) the URL comes
from ``sqlalchemy.url`` in that file or the ``GAM_DB_URL`` variable.
"""
import os

from alembic import context

from gam.db.model import metadata

config = context.config


def _configure(connection):
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from gam.db.engine import make_engine
    url = os.environ.get("GAM_DB_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit(
            "no database URL: set GAM_DB_URL or sqlalchemy.url in alembic.ini")
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def run_migrations_offline():
    context.configure(
        url=os.environ.get("GAM_DB_URL") or config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
