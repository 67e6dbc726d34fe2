"""Driver configuration: which handler serves which resource type, and how.

One or more YAML files (``etc/drivers/*.yaml``, in the spirit of FABRIC's
``vm_handler_config.yml``)::

    pool_size: 16                  # threads shared by all handlers (optional)
    enabled: true                  # false: the file is skipped (an example, say)
    handlers:
      netns-node:                  # a name, for logs and messages
        class: gam.drivers.netns.NetnsNodeHandler    # dotted path
        resource_types: [namespace]  # node sliver types, or [link]
        description: Linux namespaces on this host
        timeout: 120               # seconds, for every operation ...
        timeouts: {create: 180, poll: 20}   # ... or per operation
        retries: 1                 # extra attempts after a failure that may pass
        retry_delay: 2             # seconds between attempts
        pool_size: 8               # at most this many operations of it at once
        # driver: netns-node       # instead of class: a short name (DRIVERS)
        # ... and the handler's own keys (playbooks:, state_dir:, ...),
        # which the handler checks itself.

The keys above are read here (:data:`COMMON_KEYS`); the handler's class
gets the whole mapping through ``from_config(raw, threadpool=, reactor=,
path=, key=)`` and checks its own keys. Every mistake raises
:class:`gam.errors.ConfigError` naming the file and the key
(``handlers.netns-node.timeouts.create``).
"""
import importlib
import math
import os
import re
from dataclasses import dataclass, field
from types import MappingProxyType


from gam.drivers.base import Handler
from gam.errors import ConfigError
from gam.yamlfile import read_yaml

#: Operations with a timeout of their own.
OPERATIONS = ("create", "delete", "poll", "perform", "clean_restart")
#: Keys read by the driver manager; the rest belong to the handler.
COMMON_KEYS = frozenset({"class", "driver", "resource_types", "description", "timeout",
                         "timeouts", "retries", "retry_delay", "pool_size"})
#: Short names for ``driver:`` (instead of a dotted ``class:``).
DRIVERS = MappingProxyType({
    "netns-node": "gam.drivers.netns.NetnsNodeHandler",
    "netns-link": "gam.drivers.netns.NetnsLinkHandler",
    "ansible": "gam.drivers.ansible_handler.AnsibleHandler",
})
TOP_KEYS = frozenset({"pool_size", "handlers", "enabled"})
DEFAULT_TIMEOUTS = MappingProxyType({"create": 300, "delete": 120, "poll": 30,
                                     "perform": 180, "clean_restart": 600})
DEFAULT_POOL_SIZE = 16
DEFAULT_DIR = "etc/drivers"
DEFAULT_FILES = ("etc/drivers/netns.yaml",)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class Checker:
    """Raise ConfigError naming ``path`` and ``key`` + a sub-key."""

    def __init__(self, path, key=None):
        self.path = path
        self.key = key

    def fail(self, sub, message):
        full = ".".join(str(p) for p in (self.key, sub) if p not in (None, ""))
        raise ConfigError(message, path=self.path, key=full or None)

    def mapping(self, value, sub, allowed=None):
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(sub, f"must be a mapping, not {type(value).__name__}")
        if allowed is not None:
            unknown = sorted(str(k) for k in set(value) - set(allowed))
            if unknown:
                self.fail(sub, f"unknown key(s) {', '.join(unknown)}; known keys are "
                               f"{', '.join(sorted(allowed))}")
        return value

    def number(self, value, sub, minimum, integer=False, maximum=None):
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if (not ok or isinstance(value, bool) or not math.isfinite(value) or value < minimum
                or (maximum is not None and value > maximum)):
            kind = "an integer" if integer else "a number"
            upto = f" and <= {maximum}" if maximum is not None else ""
            self.fail(sub, f"must be {kind} >= {minimum}{upto}, not {value!r}")
        return value

    def string(self, value, sub, pattern=None, hint=""):
        if not isinstance(value, str) or not value:
            self.fail(sub, f"must be a non-empty string, not {value!r}")
        if pattern is not None and not pattern.match(value):
            self.fail(sub, f"{value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def boolean(self, value, sub):
        if not isinstance(value, bool):
            self.fail(sub, f"must be true or false, not {value!r}")
        return value

    def path_of(self, value, sub, base=None):
        """A path; relative ones are taken from the config file's folder."""
        value = os.path.expanduser(self.string(value, sub))
        if base is None:
            base = os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()
        return os.path.normpath(os.path.join(base, value))


@dataclass(frozen=True)
class HandlerSpec:
    """One ``handlers:`` entry, its common keys checked."""

    name: str
    cls: type
    resource_types: tuple
    timeouts: dict                   # operation -> seconds
    retries: int = 0
    retry_delay: float = 0.0
    pool_size: int | None = None
    description: str = ""
    raw: dict = field(default_factory=dict)   # the whole mapping
    path: str | None = None
    key: str = ""

    def checker(self):
        return Checker(self.path, self.key)

    def own(self, allowed):
        """The handler's own keys (all but COMMON_KEYS), each in ``allowed``."""
        own = {k: v for k, v in self.raw.items() if k not in COMMON_KEYS}
        Checker(self.path, self.key).mapping(own, "", set(allowed) | COMMON_KEYS)
        return own


@dataclass(frozen=True)
class DriversConfig:
    pool_size: int | None            # None: not configured (DEFAULT_POOL_SIZE)
    handlers: tuple                  # HandlerSpec
    sources: tuple = ()              # the files read

    def spec_for(self, resource_type):
        for spec in self.handlers:
            if resource_type in spec.resource_types:
                return spec
        return None


def load_class(dotted, chk, sub):
    """Import ``package.module.Class`` (a Handler with ``from_config``)."""
    chk.string(dotted, sub, _DOTTED, "give a dotted path like package.module.Class")
    module, _, attr = dotted.rpartition(".")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        chk.fail(sub, f"cannot import {module}: {e}; check the spelling and that the "
                      "package is installed")
    cls = getattr(mod, attr, None)
    if cls is None:
        chk.fail(sub, f"{module} has no {attr}")
    if not (isinstance(cls, type) and issubclass(cls, Handler)):
        chk.fail(sub, f"{dotted} is not a subclass of gam.drivers.base.Handler")
    if not callable(getattr(cls, "from_config", None)):
        chk.fail(sub, f"{dotted} has no from_config(raw, threadpool=, reactor=, path=, key=) "
                      "classmethod to build it from this configuration")
    return cls


def parse_timeouts(raw, chk):
    """``timeout`` (every operation) and ``timeouts`` (per operation)."""
    default = raw.get("timeout")
    if default is not None:
        chk.number(default, "timeout", 0.001)
    per_op = chk.mapping(raw.get("timeouts"), "timeouts", set(OPERATIONS))
    return {op: chk.number(per_op[op], f"timeouts.{op}", 0.001) if op in per_op
            else (default if default is not None else DEFAULT_TIMEOUTS[op])
            for op in OPERATIONS}


def parse_handler(name, raw, path=None, key=None):
    key = key or f"handlers.{name}"
    chk = Checker(path, key)
    raw = chk.mapping(raw, "")
    if not isinstance(name, str) or not _NAME.match(name):
        chk.fail("", f"the handler name {name!r} must be letters, digits, '.', '_' or '-'")
    if ("class" in raw) == ("driver" in raw):
        chk.fail("class", "give either class: (package.module.Class) or driver: (one of "
                          f"{', '.join(DRIVERS)}), not both or neither")
    if "driver" in raw:
        if raw["driver"] not in DRIVERS:
            chk.fail("driver", f"unknown driver {raw['driver']!r}; known drivers are "
                               f"{', '.join(DRIVERS)} (or give class: instead)")
        cls = load_class(DRIVERS[raw["driver"]], chk, "driver")
    else:
        cls = load_class(raw["class"], chk, "class")
    types = raw.get("resource_types")
    if (not isinstance(types, list) or not types
            or not all(isinstance(t, str) and t for t in types)):
        chk.fail("resource_types", "must be a non-empty list of resource types (node sliver "
                                   "types such as namespace, or link)")
    if len(set(types)) != len(types):
        chk.fail("resource_types", "names a resource type twice")
    pool = raw.get("pool_size")
    description = raw.get("description", "")
    if not isinstance(description, str):
        chk.fail("description", "must be a string")
    return HandlerSpec(
        name=name, cls=cls, resource_types=tuple(types),
        timeouts=parse_timeouts(raw, chk),
        retries=chk.number(raw.get("retries", 0), "retries", 0, integer=True, maximum=10),
        retry_delay=chk.number(raw.get("retry_delay", 0), "retry_delay", 0),
        pool_size=None if pool is None else chk.number(pool, "pool_size", 1, integer=True),
        description=description, raw=dict(raw), path=path, key=key)


def parse_config(doc, path=None):
    """Check one file's document (a dict); return a DriversConfig."""
    chk = Checker(path)
    if doc is None:
        doc = {}
    # Top-level keys starting with x- are free (holders of YAML anchors).
    doc = chk.mapping(doc, "")
    chk.mapping({k: v for k, v in doc.items() if not str(k).startswith("x-")}, "", TOP_KEYS)
    enabled = doc.get("enabled", True)
    if not isinstance(enabled, bool):
        chk.fail("enabled", f"must be true or false, not {enabled!r}")
    if not enabled:      # kept in the folder, not used (its classes are not even loaded)
        return DriversConfig(pool_size=None, handlers=(), sources=(path,) if path else ())
    pool = doc.get("pool_size")
    if pool is not None:
        chk.number(pool, "pool_size", 1, integer=True, maximum=1024)
    handlers = chk.mapping(doc.get("handlers"), "handlers")
    specs = tuple(parse_handler(name, raw, path) for name, raw in handlers.items())
    return merge([DriversConfig(pool_size=pool, handlers=specs,
                                sources=(path,) if path else ())])


def merge(configs):
    """One DriversConfig from several; a resource type or handler name
    configured twice is an error naming both places."""
    types, names, specs, sources, pool = {}, {}, [], [], None
    for cfg in configs:
        sources.extend(cfg.sources)
        if cfg.pool_size is not None:
            pool = max(pool or 0, cfg.pool_size)
        for spec in cfg.handlers:
            where = f"{spec.path or '<dict>'}: {spec.key}"
            if spec.name in names:
                raise ConfigError(f"handler {spec.name!r} is also defined at {names[spec.name]}; "
                                  "give it another name", path=spec.path, key=spec.key)
            names[spec.name] = where
            for t in spec.resource_types:
                if t in types:
                    raise ConfigError(f"resource type {t!r} is already served by {types[t]}; "
                                      "each type has one handler",
                                      path=spec.path, key=f"{spec.key}.resource_types")
                types[t] = where
            specs.append(spec)
    return DriversConfig(pool_size=pool, handlers=tuple(specs), sources=tuple(sources))


def load_config(paths=DEFAULT_FILES):
    """Read and check driver config files (a path, a folder of ``*.yaml``,
    or a list of them); return one DriversConfig."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            files.extend(sorted(os.path.join(p, n) for n in os.listdir(p)
                                if n.endswith((".yaml", ".yml"))))
        else:
            files.append(p)
    if not files:
        raise ConfigError("no driver configuration files found; give at least one "
                          "(see etc/drivers/README.md)", path=", ".join(map(str, paths)) or None)
    cfg = merge([parse_config(read_yaml(f), f) for f in files])
    if not cfg.handlers:
        raise ConfigError("configures no handler; add a handlers: mapping",
                          path=", ".join(files), key="handlers")
    return cfg
