"""The AM's YAML configuration (``etc/gam.yaml``), checked before anything starts.

:func:`load_config` reads the file and returns a frozen :class:`Config`;
anything missing or wrong raises :class:`gam.errors.ConfigError` naming the
file and the key (``etc/gam.yaml: am.port: must be an integer from 0 to
65535``). Every key has a default, so an empty file gives a working AM once
its certificate, key and trust roots exist. Relative paths are resolved
against the directory of the configuration file. Layout::

    am:
      host: 0.0.0.0                 # address to listen on
      port: 12346                   # 0 picks a free port
      path: /am/3.0                 # also served on / and /RPC2
      public_url: https://am.example.net:12346/am/3.0   # GetVersion's URL
      urn: urn:publicid:IDN+example.net+authority+am    # default: inventory authority
      state_dir: ../var             # database and other state
    tls:
      certificate: keys/am.pem      # the AM's certificate, then its issuers
      key: keys/am.key
      trust_roots: trusted_roots    # one PEM per trusted authority
    database:
      url: sqlite:////var/lib/gam/gam.db   # default: sqlite file in state_dir
      pool_size: 4
    drivers:
      config_dir: drivers           # the drivers' YAML files (gam.drivers.config)
    limits:
      allocated_lifetime: 10m       # allocated slivers not provisioned expire
      max_lease: 7d                 # longest lease of a provisioned sliver
      max_renew: 30d                # how far ahead of now Renew may go
      max_request_bytes: 4MB        # request body cap
      expiry_interval: 30s          # how often expired slivers are swept
      advertisement_ttl: 5s         # how long a built advertisement is reused
    inventory: {...}                # see gam.inventory

Durations are seconds (a number) or text with a unit: ``90s``, ``10m``,
``2h``, ``7d``. Sizes are bytes or text: ``512KB``, ``4MB`` (powers of 1024).
"""
import math
import os
import re
import socket
from dataclasses import dataclass
from datetime import timedelta


from gam.auth.urn import URN, URNError
from gam.errors import ConfigError
from gam.yamlfile import read_yaml
from gam.inventory import Inventory

DEFAULT_PORT = 12346
DEFAULT_PATH = "/am/3.0"

_SECTIONS = ("am", "tls", "database", "drivers", "limits", "inventory")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+)\s*(?:([kmg])i?b?|b)?\s*$", re.IGNORECASE)
#: No duration in a configuration is longer than this (ten years).
MAX_DURATION = 10 * 365 * 86400
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_BYTES = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


@dataclass(frozen=True)
class Limits:
    """Lifetimes and sizes the AM enforces."""

    allocated_lifetime: timedelta = timedelta(minutes=10)
    max_lease: timedelta = timedelta(days=7)
    max_renew: timedelta = timedelta(days=30)
    max_request_bytes: int = 4 * 1024 * 1024
    expiry_interval: float = 30.0
    advertisement_ttl: float = 5.0


@dataclass(frozen=True)
class Config:
    """Everything the AM needs to start, with paths made absolute."""

    path: str                  # the file this came from (as given), for messages
    host: str
    port: int
    rpc_path: str
    public_url: str | None     # None: derived from the listening port at start
    am_urn: str
    state_dir: str
    certificate: str
    key: str
    trust_roots: str
    database_url: str
    db_pool_size: int
    drivers_dir: str
    inventory: Inventory
    limits: Limits

    @property
    def am_authority(self):
        return URN.parse(self.am_urn).authority

    def url_for_port(self, port):
        """The public URL, or one built from this host's name and ``port``."""
        if self.public_url:
            return self.public_url
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = socket.getfqdn()
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{port}{self.rpc_path}"


def load_config(path):
    """Read and check the YAML file ``path``; raises ConfigError."""
    data = read_yaml(path, missing="pass -c with the path of gam.yaml (see etc/gam.yaml)")
    base = os.path.dirname(os.path.abspath(path))
    return parse_config(data, path=path, base_dir=base)


def parse_config(data, *, path="gam.yaml", base_dir="."):
    """A Config from the parsed YAML ``data`` (None: all defaults)."""
    return _Reader(path, base_dir).config(data)


class _Reader:
    def __init__(self, path, base_dir):
        self.path = path
        self.base = base_dir

    def fail(self, key, message):
        raise ConfigError(message, path=self.path, key=key)

    # -- typed values --------------------------------------------------

    def section(self, data, key, known):
        value = data.get(key) if isinstance(data, dict) else None
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping (key: value lines), not {_kind(value)}")
        for name in value:
            if name not in known:
                self.fail(f"{key}.{name}", "unknown key; the keys allowed here are "
                          + ", ".join(known))
        return value

    def text(self, value, key):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, f"must be text, not {_kind(value)}")
        value = str(value).strip()
        if not value:
            self.fail(key, "must not be empty")
        return value

    def integer(self, value, key, low, high):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be an integer from {low} to {high}, not {_show(value)}")
        return value

    def duration(self, value, key, minimum=1.0):
        seconds = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str):
            match = _DURATION.match(value)
            if match:
                seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        if seconds is None or not math.isfinite(seconds):
            self.fail(key, f"must be a duration such as 90s, 10m, 2h or 7d (or seconds), "
                      f"not {_show(value)}")
        if seconds > MAX_DURATION:
            self.fail(key, f"must be at most {MAX_DURATION // 86400:g} days, not {_show(value)}")
        if seconds < minimum:
            self.fail(key, f"must be at least {minimum:g} seconds, not {_show(value)}")
        return seconds

    def size(self, value, key, minimum=1024):
        size = None
        if isinstance(value, int) and not isinstance(value, bool):
            size = value
        elif isinstance(value, str):
            match = _SIZE.match(value)
            if match:
                size = int(match.group(1)) * _UNIT_BYTES[(match.group(2) or "").lower()]
        if size is None:
            self.fail(key, f"must be a size such as 4MB or 512KB (or bytes), not "
                      f"{_show(value)}")
        if size < minimum:
            self.fail(key, f"must be at least {minimum} bytes, not {_show(value)}")
        return size

    def file_path(self, value, key, *, directory=False, must_exist=True):
        value = os.path.expanduser(self.text(value, key))
        full = os.path.normpath(os.path.join(self.base, value))
        if must_exist:
            if directory and not os.path.isdir(full):
                self.fail(key, f"the directory {full} does not exist; create it"
                          + (" and put the PEM certificates of the trusted authorities in "
                             "it" if key == "tls.trust_roots" else ""))
            if not directory and not os.path.isfile(full):
                self.fail(key, f"the file {full} does not exist; create it or point "
                          f"{key} at the right file")
        return full

    # -- the document --------------------------------------------------

    def config(self, data):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail(None, f"must hold a mapping of sections ({', '.join(_SECTIONS)}), "
                      f"not {_kind(data)}")
        for name in data:
            if name not in _SECTIONS:
                self.fail(str(name), "unknown section; the sections are "
                          + ", ".join(_SECTIONS))
        inventory = Inventory.from_dict(data.get("inventory"), self.path)
        am = self.section(data, "am", ("host", "port", "path", "public_url", "urn",
                                       "state_dir"))
        host = self.text(am.get("host", "0.0.0.0"), "am.host")
        port = self.integer(am.get("port", DEFAULT_PORT), "am.port", 0, 65535)
        rpc_path = self.text(am.get("path", DEFAULT_PATH), "am.path")
        if not rpc_path.startswith("/"):
            self.fail("am.path", f"must start with '/', like {DEFAULT_PATH}, not {rpc_path!r}")
        public_url = None
        if am.get("public_url") is not None:
            public_url = self.text(am["public_url"], "am.public_url")
            if not re.match(r"^https://([^/\s:\[\]]+|\[[0-9A-Fa-f:.]+\])(:\d+)?(/\S*)?$",
                            public_url):
                self.fail("am.public_url", "must be an absolute https URL such as "
                          f"https://am.example.net:12346{DEFAULT_PATH}, not {public_url!r}")
        am_urn = self.urn(am.get("urn"), inventory)
        state_dir = self.file_path(am.get("state_dir", "var"), "am.state_dir",
                                   directory=True, must_exist=False)

        tls = self.section(data, "tls", ("certificate", "key", "trust_roots"))
        certificate = self.file_path(tls.get("certificate", "keys/am.pem"),
                                     "tls.certificate")
        key = self.file_path(tls.get("key", "keys/am.key"), "tls.key")
        trust_roots = self.file_path(tls.get("trust_roots", "trusted_roots"),
                                     "tls.trust_roots", directory=True)

        database = self.section(data, "database", ("url", "pool_size"))
        if database.get("url") is not None:
            url = self.text(database["url"], "database.url")
            if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
                self.fail("database.url", "must be sqlite:///<file> or "
                          f"postgresql://user@host/dbname, not {url!r}")
        else:
            url = "sqlite:///" + os.path.join(state_dir, "gam.db")
        pool_size = self.integer(database.get("pool_size", 4), "database.pool_size", 1, 64)

        drivers = self.section(data, "drivers", ("config_dir",))
        drivers_dir = self.file_path(drivers.get("config_dir", "drivers"),
                                     "drivers.config_dir", directory=True, must_exist=False)

        limits = self.limits(self.section(data, "limits", (
            "allocated_lifetime", "max_lease", "max_renew", "max_request_bytes",
            "expiry_interval", "advertisement_ttl")))
        return Config(
            path=self.path, host=host, port=port, rpc_path=rpc_path, public_url=public_url,
            am_urn=am_urn, state_dir=state_dir, certificate=certificate, key=key,
            trust_roots=trust_roots, database_url=url, db_pool_size=pool_size,
            drivers_dir=drivers_dir, inventory=inventory,
            limits=limits)

    def urn(self, value, inventory):
        if value is None:
            return str(URN(inventory.authority, "authority", "am"))
        text = self.text(value, "am.urn")
        try:
            urn = URN.parse(text)
        except URNError as e:
            self.fail("am.urn", f"{e}; write it like urn:publicid:IDN+example.net+authority+am")
        if urn.type != "authority":
            self.fail("am.urn", f"{text} is a {urn.type} URN; the AM's URN is an authority "
                      "URN like urn:publicid:IDN+example.net+authority+am")
        return str(urn)

    def limits(self, data):
        d = Limits()
        allocated = self.duration(data.get("allocated_lifetime",
                                           d.allocated_lifetime.total_seconds()),
                                  "limits.allocated_lifetime", minimum=10)
        lease = self.duration(data.get("max_lease", d.max_lease.total_seconds()),
                              "limits.max_lease", minimum=60)
        renew = self.duration(data.get("max_renew", d.max_renew.total_seconds()),
                              "limits.max_renew", minimum=60)
        if renew < lease:
            self.fail("limits.max_renew", "must be at least limits.max_lease "
                      f"({lease:g} s): Renew could otherwise not reach what Provision gives")
        if allocated > lease:
            self.fail("limits.allocated_lifetime", "must not be longer than limits.max_lease")
        body = self.size(data.get("max_request_bytes", d.max_request_bytes),
                         "limits.max_request_bytes")
        interval = self.duration(data.get("expiry_interval", d.expiry_interval),
                                 "limits.expiry_interval", minimum=0.1)
        ttl = self.duration(data.get("advertisement_ttl", d.advertisement_ttl),
                            "limits.advertisement_ttl", minimum=0)
        return Limits(timedelta(seconds=allocated), timedelta(seconds=lease),
                      timedelta(seconds=renew), body, interval, ttl)


def _show(value):
    return repr(value) if isinstance(value, str) else _kind(value)


def _kind(value):
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text ({value!r})"
    return f"{value!r}"


__all__ = ["Config", "Limits", "load_config", "parse_config", "DEFAULT_PORT", "DEFAULT_PATH"]
