"""Slices known to the AM: thread-side functions and their async wrapper.

The ``thd_`` functions take a live connection so the aggregate can
compose them with bookings and sliver changes in one transaction
(``db.run(fn)`` where ``fn`` calls several of them).
"""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from gam.db.model import slices
from gam.db.types import as_utc
from gam.errors import SearchFailed


@dataclass(frozen=True)
class Slice:
    urn: str
    expires: datetime
    shutdown: bool
    shutdown_at: datetime | None
    created: datetime


def _to_slice(row):
    return Slice(urn=row.urn, expires=row.expires, shutdown=bool(row.shutdown),
                 shutdown_at=row.shutdown_at, created=row.created)


def thd_get_slice(conn, urn):
    """The slice ``urn``, or None."""
    row = conn.execute(sa.select(slices).where(slices.c.urn == urn)).first()
    return _to_slice(row) if row else None


def thd_ensure_slice(conn, urn, expires, now):
    """The slice ``urn``, created with ``expires`` if it is new.

    An existing slice is returned unchanged (see ``thd_set_slice_expires``).
    """
    found = thd_get_slice(conn, urn)
    if found is not None:
        return found
    try:
        # A savepoint: on PostgreSQL a concurrent creator of the same slice
        # makes this insert fail; the slice then exists and is read below.
        with conn.begin_nested():
            conn.execute(sa.insert(slices).values(
                urn=urn, expires=as_utc(expires, "slice expiry"), shutdown=False,
                created=as_utc(now, "now")))
    except sa.exc.IntegrityError:
        pass
    return thd_get_slice(conn, urn)


def _require(conn, urn):
    found = thd_get_slice(conn, urn)
    if found is None:
        raise SearchFailed(f"slice {urn} is not known at this aggregate; "
                           "allocate resources in it first")
    return found


def thd_set_slice_expires(conn, urn, expires):
    """Set the slice's expiry (e.g. from a renewed slice credential)."""
    _require(conn, urn)
    conn.execute(sa.update(slices).where(slices.c.urn == urn)
                 .values(expires=as_utc(expires, "slice expiry")))
    return thd_get_slice(conn, urn)


def thd_shutdown_slice(conn, urn, now):
    """Flag the slice as shut down; the first shutdown time is kept."""
    found = _require(conn, urn)
    if not found.shutdown:
        conn.execute(sa.update(slices).where(slices.c.urn == urn)
                     .values(shutdown=True, shutdown_at=as_utc(now, "now")))
    return thd_get_slice(conn, urn)


class SlicesComponent:
    """Async face of this module: each method returns a Deferred."""

    def __init__(self, db):
        self.db = db

    def get_slice(self, urn):
        return self.db.read(thd_get_slice, urn)

    def ensure_slice(self, urn, expires, now):
        return self.db.run(thd_ensure_slice, urn, expires, now)

    def set_slice_expires(self, urn, expires):
        return self.db.run(thd_set_slice_expires, urn, expires)

    def shutdown_slice(self, urn, now):
        return self.db.run(thd_shutdown_slice, urn, now)
