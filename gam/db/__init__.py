"""gam's database layer: SQLAlchemy Core, Alembic, a DB thread pool.

``DBConnector`` (gam.db.connector) runs thread-side functions
``thd_...(conn, ...)`` in one transaction each; tables are in
gam.db.model, slices and slivers in gam.db.slices / gam.db.slivers.
"""
