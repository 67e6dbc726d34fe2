"""The AM API options the aggregate reads, checked and typed.

The endpoint has already parsed ``geni_start_time``/``geni_end_time`` into
aware UTC datetimes and checked ``geni_rspec_version``; the rest arrives as
the client sent it.
"""
import datetime
import re

from gam.auth.urn import URN, URNError
from gam.drivers.base import User
from gam.errors import BadArgs

UTC = datetime.timezone.utc
#: Login names the drivers can create (what useradd accepts, lower case).
LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
#: An OpenSSH public key line: type, base64 key, optional comment.
SSH_KEY = re.compile(r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)"
                     r" [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$")


def flag(options, name):
    """A boolean option; clients send booleans, 0/1 or 'true'/'false'."""
    value = options.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", ""):
        return value.strip().lower() in ("true", "1")
    raise BadArgs(f"option {name} must be a boolean (true or false), not {value!r}")


def time_option(options, name):
    """An aware UTC datetime, or None when absent."""
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise BadArgs(f"option {name} must be an RFC 3339 date such as "
                      "'2026-11-21T10:00:00Z'")
    return value.astimezone(UTC)


def users(options, required=False):
    """``geni_users`` as a tuple of driver :class:`~gam.drivers.base.User`.

    Each entry is ``{urn: user URN, keys: [SSH public keys]}``; the login
    name is the name part of the URN. Raises BadArgs for a malformed entry.
    """
    value = options.get("geni_users")
    if value is None:
        if required:
            raise BadArgs("geni_update_users needs the option geni_users: a list of "
                          "{urn: user URN, keys: [SSH public keys]}")
        return ()
    if not isinstance(value, (list, tuple)):
        raise BadArgs("option geni_users must be a list of {urn, keys} structs, not "
                      f"{type(value).__name__}")
    out = {}
    for i, entry in enumerate(value, 1):
        where = f"geni_users entry {i}"
        if not isinstance(entry, dict) or "urn" not in entry:
            raise BadArgs(f"{where} must be a struct {{urn: user URN, keys: [SSH public "
                          "keys]}}")
        try:
            urn = URN.parse(str(entry["urn"]), expect_type="user")
        except URNError as e:
            raise BadArgs(f"{where}: {e.message}") from None
        name = urn.name.lower()
        if not LOGIN_NAME.match(name):
            raise BadArgs(f"{where}: the user name {urn.name!r} cannot be a login name: use "
                          "up to 32 letters, digits, '_' or '-', starting with a letter")
        keys = entry.get("keys", [])
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
            raise BadArgs(f"{where}: keys must be a list of SSH public key strings")
        keys = tuple(k.strip() for k in keys if k.strip())
        for key in keys:
            if not SSH_KEY.match(key):
                raise BadArgs(f"{where}: {key[:40]!r}... is not an SSH public key "
                              "(one line: type, base64 key, optional comment)")
        previous = out.get(name)
        if previous is not None:
            keys = previous.keys + tuple(k for k in keys if k not in previous.keys)
        out[name] = User(urn=str(urn), name=name, keys=keys)
    return tuple(out.values())


def users_to_data(users_):
    """JSON form of users, for sliver data."""
    return [{"urn": u.urn, "name": u.name, "keys": list(u.keys)} for u in users_]


def users_from_data(data):
    return tuple(User(urn=u["urn"], name=u["name"], keys=tuple(u["keys"]))
                 for u in data or ())


__all__ = ["flag", "time_option", "users", "users_to_data", "users_from_data"]
