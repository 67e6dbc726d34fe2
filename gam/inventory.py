"""What this aggregate offers: hosts, sliver types, disk images, link capabilities.

Loaded from the ``inventory:`` part of the YAML configuration (a plain
dict) with :meth:`Inventory.from_dict`; every wrong or missing value raises
:class:`gam.errors.ConfigError` naming the file and the key
(``inventory.hosts[2].cores``). Everything has a default, so an empty or
absent ``inventory:`` section gives a small working inventory
(:meth:`Inventory.default`). Example::

    inventory:
      authority: gam.localhost
      default_sliver_type: default-vm
      disk_images:
        - {name: UBUNTU22-64-STD, os: Linux, version: "22.04"}
      sliver_types:
        - {name: default-vm, exclusive: false, cores: 1, memory_mb: 1024}
        - {name: raw-pc, exclusive: true}
      hosts:
        - {name: node1, hardware_type: pc, cores: 8, memory_mb: 16384}
        - {name: node2, sliver_types: [default-vm]}
      links:
        vlan_tags: "1000-1999"
        max_capacity_kbps: 1000000
        latency: false
        packet_loss: false
"""
import re
from dataclasses import dataclass, field
from types import MappingProxyType

from gam.errors import ConfigError
from gam.rspec import _urn

DEFAULT_AUTHORITY = "gam.localhost"
DEFAULT_PATH = "etc/gam.yaml"

_AUTHORITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*(:[A-Za-z0-9][A-Za-z0-9.\-]*)*$")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
_VLAN_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class DiskImage:
    """A disk image that slivers can boot.

    ``name`` is as configured (a short name like ``UBUNTU22-64-STD`` or a full
    image URN); ``urn`` is always the full URN (short names get this
    aggregate's authority).
    """

    name: str
    urn: str
    os: str | None = None
    version: str | None = None
    description: str | None = None

    def matches(self, ref):
        """True if ``ref`` (short name or URN, from a request) names this image."""
        if ref == self.name:
            return True
        mine, theirs = _urn.split(self.urn), _urn.split(ref)
        if theirs is None:
            return mine is not None and ref == mine[2]
        return (mine is not None and _urn.same_authority(mine[0], theirs[0])
                and mine[1:] == theirs[1:])


@dataclass(frozen=True)
class SliverType:
    """A kind of sliver: shared (``exclusive=False``: a VM or container with
    its own ``cores``/``memory_mb``, several per host) or exclusive (the
    whole host; ``cores``/``memory_mb`` are None)."""

    name: str
    exclusive: bool
    disk_images: tuple[str, ...]
    default_image: str
    cores: int | None = None
    memory_mb: int | None = None


@dataclass(frozen=True)
class Host:
    """A physical host that slivers run on."""

    name: str
    component_id: str
    hardware_type: str
    cores: int
    memory_mb: int
    sliver_types: tuple[str, ...]


@dataclass(frozen=True)
class LinkCapabilities:
    """What links between slivers can do here.

    ``vlan_tags`` are inclusive ranges. ``latency``/``packet_loss`` say
    whether those link properties can be honoured (they need netem, so they
    default to False).
    """

    vlan_tags: tuple[tuple[int, int], ...] = ((1000, 1999),)
    max_capacity_kbps: int = 1_000_000
    latency: bool = False
    packet_loss: bool = False

    @property
    def vlan_tag_count(self):
        return sum(hi - lo + 1 for lo, hi in self.vlan_tags)

    def contains_vlan_tag(self, tag):
        return any(lo <= tag <= hi for lo, hi in self.vlan_tags)

    def iter_vlan_tags(self):
        for lo, hi in self.vlan_tags:
            yield from range(lo, hi + 1)

    @property
    def vlan_tags_text(self):
        """The ranges as text, e.g. ``"1000-1999,3000"``."""
        return ",".join(str(lo) if lo == hi else "%d-%d" % (lo, hi)
                        for lo, hi in self.vlan_tags)


def _default_disk_images(authority):
    return (
        DiskImage("UBUNTU22-64-STD", _urn.make(authority, "image", "UBUNTU22-64-STD"),
                  "Linux", "22.04", "Ubuntu 22.04 LTS, 64-bit"),
        DiskImage("UBUNTU24-64-STD", _urn.make(authority, "image", "UBUNTU24-64-STD"),
                  "Linux", "24.04", "Ubuntu 24.04 LTS, 64-bit"),
    )


def _default_sliver_types(image_names):
    return (
        SliverType("default-vm", False, image_names, image_names[0], cores=1, memory_mb=1024),
        # the sliver type geni-lib's and Emulab's request examples name
        SliverType("emulab-xen", False, image_names, image_names[0], cores=1, memory_mb=1024),
        SliverType("raw-pc", True, image_names, image_names[0]),
    )


@dataclass(frozen=True)
class Inventory:
    """Everything this aggregate can hand out. Build with from_dict/default/generate."""

    authority: str
    hosts: tuple[Host, ...]
    sliver_types: tuple[SliverType, ...]
    disk_images: tuple[DiskImage, ...]
    links: LinkCapabilities = LinkCapabilities()
    default_sliver_type: str = "default-vm"
    _by_name: dict = field(init=False, repr=False, compare=False, hash=False)
    _by_urn: dict = field(init=False, repr=False, compare=False, hash=False)
    _types: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_name", MappingProxyType({h.name: h for h in self.hosts}))
        object.__setattr__(self, "_by_urn", MappingProxyType(
            {h.component_id.lower(): h for h in self.hosts}))
        object.__setattr__(self, "_types", MappingProxyType(
            {t.name: t for t in self.sliver_types}))

    @property
    def component_manager_id(self):
        """``urn:publicid:IDN+<authority>+authority+cm``."""
        return _urn.make(self.authority, "authority", "cm")

    def host(self, name):
        """The host called ``name``, or None."""
        return self._by_name.get(name)

    def host_by_component_id(self, component_id):
        """The host with this component URN (case-insensitive), or None."""
        return self._by_urn.get(component_id.lower())

    def sliver_type(self, name):
        """The sliver type called ``name``, or None."""
        return self._types.get(name)

    def disk_image(self, ref):
        """The disk image a request names (short name or URN), or None."""
        for image in self.disk_images:
            if image.matches(ref):
                return image
        return None

    def hosts_offering(self, sliver_type):
        """The hosts that offer ``sliver_type`` (a name)."""
        return tuple(h for h in self.hosts if sliver_type in h.sliver_types)

    def host_is_exclusive(self, host):
        """True if the host offers an exclusive sliver type (advertised as exclusive)."""
        return any(self._types[t].exclusive for t in host.sliver_types)

    # -- construction --------------------------------------------------

    @classmethod
    def default(cls, authority=DEFAULT_AUTHORITY):
        """A small working inventory: 4 hosts offering every default sliver type."""
        return cls.generate(4, authority=authority, cores=4, memory_mb=8192)

    @classmethod
    def generate(cls, count, *, authority=DEFAULT_AUTHORITY, cores=8, memory_mb=16384,
                 hardware_type="pc", prefix="node"):
        """An inventory of ``count`` identical hosts ``node1``..``nodeN`` (benches, tests)."""
        if count < 1:
            raise ValueError("an inventory needs at least one host")
        images = _default_disk_images(authority)
        types = _default_sliver_types(tuple(i.name for i in images))
        type_names = tuple(t.name for t in types)
        hosts = tuple(
            Host("%s%d" % (prefix, i), _urn.make(authority, "node", "%s%d" % (prefix, i)),
                 hardware_type, cores, memory_mb, type_names)
            for i in range(1, count + 1))
        return cls(authority, hosts, types, images, LinkCapabilities(), types[0].name)

    @classmethod
    def from_dict(cls, data, path=DEFAULT_PATH):
        """Build from the ``inventory:`` mapping of the config file (None: defaults).

        Raises ConfigError naming ``path`` and the key on any wrong value.
        """
        return _Loader(path).inventory(data)


class _Loader:
    """Checks one ``inventory:`` mapping, key by key."""

    def __init__(self, path):
        self.path = path

    def fail(self, key, message):
        raise ConfigError(message, path=self.path, key=key)

    # -- typed getters -------------------------------------------------

    def mapping(self, value, key, known):
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, "must be a mapping (key: value lines), not %s"
                      % _kind(value))
        for k in value:
            if k not in known:
                self.fail("%s.%s" % (key, k), "unknown key; the keys allowed here are %s"
                          % ", ".join(known))
        return value

    def sequence(self, value, key):
        if not isinstance(value, list):
            self.fail(key, "must be a list, not %s" % _kind(value))
        return value

    def text(self, value, key, *, pattern=None, what="a name"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, "must be %s (text), not %s" % (what, _kind(value)))
        value = str(value).strip()
        if not value:
            self.fail(key, "must not be empty")
        if pattern is not None and not pattern.match(value):
            self.fail(key, "%r is not %s" % (value, what))
        return value

    def number(self, value, key, *, minimum=1):
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "must be a whole number, not %s" % _kind(value))
        if value < minimum:
            self.fail(key, "must be at least %d, not %d" % (minimum, value))
        return value

    def boolean(self, value, key):
        if not isinstance(value, bool):
            self.fail(key, "must be true or false, not %s" % _kind(value))
        return value

    def names(self, value, key, allowed, what):
        items = self.sequence(value, key)
        if not items:
            self.fail(key, "must list at least one %s" % what)
        out = []
        for i, item in enumerate(items):
            k = "%s[%d]" % (key, i)
            name = self.text(item, k, what="a %s name" % what)
            if name not in allowed:
                self.fail(k, "%r is not a configured %s; known: %s"
                          % (name, what, ", ".join(allowed)))
            if name in out:
                self.fail(k, "%r is listed twice" % name)
            out.append(name)
        return tuple(out)

    # -- sections ------------------------------------------------------

    def inventory(self, data):
        top = "inventory"
        data = self.mapping(data, top, ("authority", "default_sliver_type", "disk_images",
                                        "sliver_types", "hosts", "links"))
        authority = DEFAULT_AUTHORITY
        if "authority" in data:
            authority = self.text(data["authority"], top + ".authority", pattern=_AUTHORITY,
                                  what="an authority name like gam.localhost or geni:site")
        if "disk_images" in data:
            images = self.disk_images(data["disk_images"], top + ".disk_images", authority)
        else:
            images = _default_disk_images(authority)
        image_names = tuple(i.name for i in images)
        if "sliver_types" in data:
            types = self.sliver_types(data["sliver_types"], top + ".sliver_types", image_names)
        else:
            types = _default_sliver_types(image_names)
        type_names = tuple(t.name for t in types)
        default_type = type_names[0]
        if "default_sliver_type" in data:
            key = top + ".default_sliver_type"
            default_type = self.text(data["default_sliver_type"], key, what="a sliver type")
            if default_type not in type_names:
                self.fail(key, "%r is not a configured sliver type; known: %s"
                          % (default_type, ", ".join(type_names)))
        if "hosts" in data:
            hosts = self.hosts(data["hosts"], top + ".hosts", authority, type_names)
        else:
            hosts = Inventory.generate(4, authority=authority, cores=4, memory_mb=8192).hosts
            hosts = tuple(Host(h.name, h.component_id, h.hardware_type, h.cores, h.memory_mb,
                               type_names) for h in hosts)
        links = self.links(data.get("links"), top + ".links")
        return Inventory(authority, hosts, types, images, links, default_type)

    def disk_images(self, value, key, authority):
        items = self.sequence(value, key)
        if not items:
            self.fail(key, "must list at least one disk image")
        out = []
        for i, item in enumerate(items):
            k = "%s[%d]" % (key, i)
            item = self.mapping(item, k, ("name", "os", "version", "description"))
            if "name" not in item:
                self.fail(k + ".name", "is missing: every disk image needs a name "
                          "(a short name like UBUNTU22-64-STD or an image URN)")
            name = self.text(item["name"], k + ".name", what="a disk image name")
            parts = _urn.split(name)
            if parts is not None:
                if parts[1] != "image":
                    self.fail(k + ".name", "%r is a URN but not of an image "
                              "(urn:publicid:IDN+<authority>+image+<name>)" % name)
                urn = name
            elif _IMAGE_NAME.match(name):
                urn = _urn.make(authority, "image", name)
            else:
                self.fail(k + ".name", "%r is neither a short name (letters, digits, "
                          "'.', '_', '-', ':') nor an image URN" % name)
            if any(d.name == name for d in out):
                self.fail(k + ".name", "disk image %r is listed twice" % name)
            extra = {f: self.text(item[f], "%s.%s" % (k, f), what="text")
                     for f in ("os", "version", "description") if item.get(f) is not None}
            out.append(DiskImage(name, urn, **extra))
        return tuple(out)

    def sliver_types(self, value, key, image_names):
        items = self.sequence(value, key)
        if not items:
            self.fail(key, "must list at least one sliver type")
        out = []
        for i, item in enumerate(items):
            k = "%s[%d]" % (key, i)
            item = self.mapping(item, k, ("name", "exclusive", "cores", "memory_mb",
                                          "disk_images", "default_image"))
            if "name" not in item:
                self.fail(k + ".name", "is missing: every sliver type needs a name "
                          "(e.g. default-vm, raw-pc)")
            name = self.text(item["name"], k + ".name", pattern=re.compile(r"^[\w.\-]+$"),
                             what="a sliver type name (letters, digits, '.', '_', '-')")
            if any(t.name == name for t in out):
                self.fail(k + ".name", "sliver type %r is listed twice" % name)
            exclusive = self.boolean(item.get("exclusive", False), k + ".exclusive")
            if exclusive:
                for f in ("cores", "memory_mb"):
                    if item.get(f) is not None:
                        self.fail("%s.%s" % (k, f), "an exclusive sliver type gets the "
                                  "whole host; remove %s (set it on the host)" % f)
                cores = memory = None
            else:
                cores = self.number(item.get("cores", 1), k + ".cores")
                memory = self.number(item.get("memory_mb", 1024), k + ".memory_mb")
            images = image_names
            if "disk_images" in item:
                images = self.names(item["disk_images"], k + ".disk_images", image_names,
                                    "disk image")
            default = images[0]
            if "default_image" in item:
                default = self.text(item["default_image"], k + ".default_image",
                                    what="a disk image name")
                if default not in images:
                    self.fail(k + ".default_image", "%r is not among this sliver type's "
                              "disk images (%s)" % (default, ", ".join(images)))
            out.append(SliverType(name, exclusive, images, default, cores, memory))
        return tuple(out)

    def hosts(self, value, key, authority, type_names):
        items = self.sequence(value, key)
        if not items:
            self.fail(key, "must list at least one host")
        out = []
        seen = set()
        for i, item in enumerate(items):
            k = "%s[%d]" % (key, i)
            item = self.mapping(item, k, ("name", "hardware_type", "cores", "memory_mb",
                                          "sliver_types"))
            if "name" not in item:
                self.fail(k + ".name", "is missing: every host needs a name")
            name = self.text(item["name"], k + ".name",
                             pattern=re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"),
                             what="a host name (letters, digits, '.', '_', '-')")
            if name.lower() in seen:
                self.fail(k + ".name", "host %r is listed twice" % name)
            seen.add(name.lower())
            hardware = self.text(item.get("hardware_type", "pc"), k + ".hardware_type",
                                 what="a hardware type name")
            cores = self.number(item.get("cores", 4), k + ".cores")
            memory = self.number(item.get("memory_mb", 8192), k + ".memory_mb")
            types = type_names
            if "sliver_types" in item:
                types = self.names(item["sliver_types"], k + ".sliver_types", type_names,
                                   "sliver type")
            out.append(Host(name, _urn.make(authority, "node", name), hardware, cores,
                            memory, types))
        return tuple(out)

    def links(self, value, key):
        data = self.mapping(value, key, ("vlan_tags", "max_capacity_kbps", "latency",
                                         "packet_loss"))
        default = LinkCapabilities()
        tags = default.vlan_tags
        if "vlan_tags" in data:
            tags = self.vlan_tags(data["vlan_tags"], key + ".vlan_tags")
        capacity = default.max_capacity_kbps
        if "max_capacity_kbps" in data:
            capacity = self.number(data["max_capacity_kbps"], key + ".max_capacity_kbps")
        latency = self.boolean(data.get("latency", False), key + ".latency")
        loss = self.boolean(data.get("packet_loss", False), key + ".packet_loss")
        return LinkCapabilities(tags, capacity, latency, loss)

    def vlan_tags(self, value, key):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            pieces = [(key, p) for p in str(value).split(",")]
        else:
            pieces = [("%s[%d]" % (key, i), p)
                      for i, p in enumerate(self.sequence(value, key))]
        ranges = []
        for k, piece in pieces:
            if isinstance(piece, bool) or not isinstance(piece, (str, int)):
                self.fail(k, "must be a VLAN tag or a range like 1000-1999, not %s"
                          % _kind(piece))
            match = _VLAN_RANGE.match(str(piece))
            if not match:
                self.fail(k, "%r is not a VLAN tag or a range like 1000-1999" % piece)
            lo = int(match.group(1))
            hi = int(match.group(2) or lo)
            if not 1 <= lo <= hi <= 4094:
                self.fail(k, "%r: VLAN tags run from 1 to 4094 and a range goes low-high"
                          % piece)
            for a, b in ranges:
                if lo <= b and a <= hi:
                    self.fail(k, "%r overlaps the range %d-%d" % (piece, a, b))
            ranges.append((lo, hi))
        if not ranges:
            self.fail(key, "must give at least one VLAN tag range")
        return tuple(sorted(ranges))


def _kind(value):
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean (%s)" % str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text (%r)" % value
    return "%s (%r)" % (type(value).__name__, value)
