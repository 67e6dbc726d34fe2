"""Values on the XML-RPC wire: RFC 3339 times, and results made sendable.

GENI clients expect dates as RFC 3339 strings, never ``dateTime.iso8601``,
and no XML-RPC nil. :func:`to_wire` turns a handler's result into what
XML-RPC can carry (datetimes become strings, URNs their text, tuples lists)
and refuses ``None`` anywhere in it: that is a bug of the handler, reported
with the path to the offending value.
"""
import datetime
import xmlrpc.client

from gam.auth.urn import URN
from gam.errors import BadArgs

from gam.rfc3339 import UTC, format_time
from gam.rfc3339 import parse_time as _parse_rfc3339


def parse_time(value, what="time"):
    """An aware UTC datetime from what a client sent.

    Accepts RFC 3339 strings ending in ``Z``, with an offset (``+00:00``)
    or without one (taken as UTC), an XML-RPC ``dateTime.iso8601`` (UTC) or
    a datetime. Raises BadArgs naming ``what``.
    """
    if isinstance(value, xmlrpc.client.DateTime):
        try:
            return datetime.datetime.strptime(value.value, "%Y%m%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            value = value.value
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise BadArgs(f"{what} must be an RFC 3339 date string such as "
                      f"'2026-11-21T10:00:00Z', not {type(value).__name__}")
    try:
        return _parse_rfc3339(value)
    except ValueError:
        raise BadArgs(f"{what} {value!r} is not an RFC 3339 date; send it as "
                      "'2026-11-21T10:00:00Z'") from None


class NilInResult(TypeError):
    """A result held None (XML-RPC nil), which GENI clients cannot read."""

    def __init__(self, path):
        super().__init__(f"the result holds None at {path}; XML-RPC nil is never sent")
        self.path = path


class UnsendableResult(TypeError):
    """A result held a value XML-RPC cannot carry."""

    def __init__(self, path, value):
        super().__init__(f"the result holds a {type(value).__name__} at {path}, which "
                         "XML-RPC cannot carry")
        self.path = path


_PLAIN = (str, bool, int, float, xmlrpc.client.Binary)


def to_wire(value, path="value"):
    """A copy of ``value`` that XML-RPC can send without nil or dateTime.

    Raises :class:`NilInResult` or :class:`UnsendableResult` with the path
    (``value['geni_slivers'][0]['geni_expires']``) of the first bad value.
    """
    if value is None:
        raise NilInResult(path)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime.datetime):
        return format_time(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, URN):
        return str(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnsendableResult(f"{path} (a key)", key)
            out[key] = to_wire(item, f"{path}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_wire(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise UnsendableResult(path, value)


__all__ = ["format_time", "parse_time", "to_wire", "NilInResult", "UnsendableResult"]
