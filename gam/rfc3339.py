"""RFC 3339 date-times, the only date form on gam's wire and in its documents.

Output is always UTC with ``Z`` and whole seconds
(``2026-11-21T10:00:00Z``); input accepts ``Z``, any offset, fractional
seconds, and naive values (taken as UTC), as GENI clients send them.
"""
import datetime

UTC = datetime.timezone.utc


def format_time(when):
    """``2026-11-21T10:00:00Z`` for an aware datetime (naive counts as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """An aware UTC datetime from RFC 3339 / ISO 8601 text; ValueError if it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    value = text.strip()
    if value[-1] in "Zz":
        value = value[:-1] + "+00:00"
    when = datetime.datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
