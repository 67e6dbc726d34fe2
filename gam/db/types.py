"""Column types shared by the tables: time stored as UTC."""
from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def as_utc(value, what="time"):
    """Return ``value`` (a timezone-aware datetime) converted to UTC.

    Naive datetimes are refused: every time inside gam is aware, and a
    naive one is a programming error that would silently shift bookings.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} {value.isoformat()} has no time zone; pass an aware "
            "datetime (e.g. datetime.now(timezone.utc))")
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An aware datetime in, an aware UTC datetime out.

    PostgreSQL keeps it in a ``timestamp with time zone``; SQLite has no
    zones, so the value is stored as naive UTC text, whose fixed-width
    format sorts in time order (the overlap queries rely on that).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
