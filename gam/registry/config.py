"""The registry's configuration: the ``registry:`` section of a YAML file.

Every key has a default, so ``registry: {}`` runs (see etc/registry.yaml
for the annotated list). Values are checked when the file is read; a wrong
one stops the program with a :class:`~gam.errors.ConfigError` naming the
file and the key. Relative paths are taken from the file's directory.
"""
import datetime
import math
import os
import re
from dataclasses import dataclass, replace


from gam.errors import ConfigError
from gam.yamlfile import read_yaml

_AUTHORITY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class RegistrySettings:
    authority: str = "gam"
    state_dir: str = "/var/lib/gam/registry"
    database: str | None = None          # default: sqlite in state_dir
    trust_roots_dir: str | None = None   # other trusted roots; our own root always is
    host: str = "0.0.0.0"
    port: int = 12345
    path: str = "/registry"
    url: str | None = None               # the URL clients use (omni-config)
    max_body_bytes: int = 4 * 1024 * 1024
    db_pool_size: int = 4
    crypto_threads: int = 2
    slice_default_lifetime: datetime.timedelta = datetime.timedelta(days=7)
    slice_max_lifetime: datetime.timedelta = datetime.timedelta(days=60)
    user_credential_lifetime: datetime.timedelta = datetime.timedelta(days=30)
    authority_credential_lifetime: datetime.timedelta = datetime.timedelta(days=30)
    user_certificate_lifetime: datetime.timedelta = datetime.timedelta(days=365)
    authority_certificate_lifetime: datetime.timedelta = datetime.timedelta(days=3650)

    @property
    def database_url(self):
        return self.database or f"sqlite:///{os.path.join(self.state_dir, 'registry.db')}"

    @property
    def public_url(self):
        if self.url:
            return self.url
        host = self.host if self.host not in ("0.0.0.0", "::", "") else _hostname()
        return f"https://{host}:{self.port}{self.path}"

    def with_(self, **changes):
        return replace(self, **changes)


def _hostname():
    import socket
    return socket.getfqdn()


# (yaml path, attribute, kind)
_FIELDS = (
    (("authority",), "authority", "authority"),
    (("state_dir",), "state_dir", "path"),
    (("database",), "database", "str?"),
    (("trust_roots_dir",), "trust_roots_dir", "path?"),
    (("listen", "host"), "host", "str"),
    (("listen", "port"), "port", "port"),
    (("listen", "path"), "path", "urlpath"),
    (("url",), "url", "str?"),
    (("max_body_bytes",), "max_body_bytes", "posint"),
    (("db_pool_size",), "db_pool_size", "posint"),
    (("crypto_threads",), "crypto_threads", "posint"),
    (("slices", "default_lifetime_days"), "slice_default_lifetime", "days"),
    (("slices", "max_lifetime_days"), "slice_max_lifetime", "days"),
    (("credentials", "user_lifetime_days"), "user_credential_lifetime", "days"),
    (("credentials", "authority_lifetime_days"), "authority_credential_lifetime", "days"),
    (("certificates", "user_lifetime_days"), "user_certificate_lifetime", "days"),
    (("certificates", "authority_lifetime_days"), "authority_certificate_lifetime", "days"),
)


def validate_namespace(value, where="authority"):
    """A registry namespace: ':'-separated parts of letters, digits, '-', '_'.

    Dots are refused: SFA clients (omni's sfa framework, sfi) cannot tell a
    dot inside a name from the HRN separator.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string such as 'gam' or 'example:gam'")
    for part in value.split(":"):
        if not _AUTHORITY_PART.match(part):
            hint = (" ('.' is not allowed: SFA clients read it as the HRN separator; use ':' "
                    "for sub-authorities or '-')" if "." in part else "")
            raise ValueError(f"{value!r} is not a valid {where}: each ':'-separated part must "
                             f"be letters, digits, '-' or '_'{hint}")
    return value


def _convert(kind, value, base_dir):
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "authority":
        return validate_namespace(value)
    if kind in ("str", "path"):
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        if kind == "path":
            return os.path.normpath(os.path.join(base_dir, os.path.expanduser(value)))
        return value
    if kind == "urlpath":
        if not isinstance(value, str) or not value.startswith("/"):
            raise ValueError("must be a URL path starting with '/', such as '/registry'")
        return value
    if kind in ("posint", "port"):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if kind == "port"
                                                                             else 1):
            raise ValueError("must be a positive whole number")
        if kind == "port" and value > 65535:
            raise ValueError("must be a TCP port number (0 to 65535)")
        return value
    if kind == "days":
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value <= 0 or value > MAX_DAYS):
            raise ValueError(f"must be a positive number of days, at most {MAX_DAYS} "
                             "(fractions allowed: 0.5 is 12 hours)")
        return datetime.timedelta(days=value)
    raise AssertionError(kind)


#: No lifetime in the registry's configuration is longer than this (100 years).
MAX_DAYS = 36500


def settings_from_dict(section, *, path=None, base_dir="."):
    """RegistrySettings from the ``registry`` mapping; ConfigError names the key."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError("must be a mapping of settings", path=path, key="registry")
    known = {}
    for keys, attr, kind in _FIELDS:
        known.setdefault(keys[0], set()).add(keys[1] if len(keys) > 1 else None)
    for key, value in section.items():
        if key not in known:
            raise ConfigError(f"unknown setting; the settings are {', '.join(sorted(known))}",
                              path=path, key=f"registry.{key}")
        subkeys = known[key] - {None}
        if subkeys:
            if not isinstance(value, dict):
                raise ConfigError(f"must be a mapping with {', '.join(sorted(subkeys))}",
                                  path=path, key=f"registry.{key}")
            for sub in value:
                if sub not in subkeys:
                    raise ConfigError(f"unknown setting; use {', '.join(sorted(subkeys))}",
                                      path=path, key=f"registry.{key}.{sub}")
    values = {}
    for keys, attr, kind in _FIELDS:
        node, present = section, True
        for k in keys:
            if isinstance(node, dict) and k in node:
                node = node[k]
            else:
                present = False
                break
        if not present:
            if kind == "path":
                values[attr] = os.path.normpath(os.path.join(
                    base_dir, getattr(RegistrySettings, attr)))
            continue
        try:
            values[attr] = _convert(kind, node, base_dir)
        except ValueError as e:
            raise ConfigError(str(e), path=path, key="registry." + ".".join(keys)) from None
    settings = RegistrySettings(**values)
    if settings.slice_default_lifetime > settings.slice_max_lifetime:
        raise ConfigError("is longer than slices.max_lifetime_days", path=path,
                          key="registry.slices.default_lifetime_days")
    return settings


def load_settings(path):
    """Read ``path`` (YAML) and return its RegistrySettings."""
    document = read_yaml(path, missing="copy etc/registry.yaml and adapt it")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError("must be a YAML mapping with a 'registry' section", path=path)
    if "registry" not in document:
        raise ConfigError("has no 'registry' section; add 'registry: {}' for the defaults",
                          path=path)
    return settings_from_dict(document["registry"], path=path,
                              base_dir=os.path.dirname(os.path.abspath(path)))


__all__ = ["RegistrySettings", "load_settings", "settings_from_dict", "validate_namespace"]
