"""The manifest RSpec (Allocate, Provision, Describe) built from per-sliver parts.

A slice's slivers come from several Allocate calls and live in the
database; each stores the ``xml`` of its request node or link. The manifest
is rebuilt from those stored fragments plus what the aggregate decided
(sliver ids, hosts, logins, MAC addresses, VLAN tags). The request's
elements, including unknown extensions, are echoed unchanged; gam only adds
attributes and elements. What it emits validates against the bundled
``manifest.xsd`` (tested).
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from gam.rspec import namespaces as ns
from gam.rfc3339 import format_time as rfc3339
from gam.rspec.model import IP
from gam.safexml import safe_parser


@dataclass(frozen=True)
class Login:
    """An SSH login for one user: ``<login authentication hostname port username/>``."""

    username: str
    hostname: str
    port: int = 22
    authentication: str = "ssh-keys"


@dataclass(frozen=True)
class InterfacePart:
    """What the aggregate decided for one interface of a node (matched by client_id).

    ``ips`` are added to those the request gave (same address: not repeated).
    """

    client_id: str
    sliver_id: str | None = None
    mac_address: str | None = None
    component_id: str | None = None
    ips: tuple[IP, ...] = ()


@dataclass(frozen=True)
class NodePart:
    """One node sliver: its stored request ``xml`` plus the aggregate's decisions.

    ``host`` becomes ``<host name=...>`` (the sliver's host name);
    ``sliver_type``/``disk_image`` are written only where the request left
    them out; ``extra_xml`` holds extension elements (strings) to append.
    """

    xml: str
    sliver_id: str
    component_id: str
    component_manager_id: str
    host: str | None = None
    logins: tuple[Login, ...] = ()
    interfaces: tuple[InterfacePart, ...] = ()
    sliver_type: str | None = None
    disk_image: str | None = None
    exclusive: bool | None = None
    extra_xml: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkInterfacePart:
    client_id: str
    sliver_id: str | None = None
    component_id: str | None = None


@dataclass(frozen=True)
class LinkPart:
    """One link sliver: its stored request ``xml``, sliver id and VLAN tag
    (``vlantag`` is required by the manifest schema)."""

    xml: str
    sliver_id: str
    vlantag: int | str
    interface_refs: tuple[LinkInterfacePart, ...] = ()
    component_manager_id: str | None = None


def _fragment(xml, what):
    try:
        el = etree.fromstring(xml.encode("utf-8"), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError("stored %s xml is not well-formed: %s" % (what, exc)) from None
    if el.tag != ns.q(what):
        raise ValueError("stored %s xml holds <%s>, not a %s" % (what, el.tag, what))
    return el


def _child(parent, name):
    return parent.find(ns.q(name))


def _set(el, name, value):
    if value is not None:
        el.set(name, str(value))


def _node(part):
    el = _fragment(part.xml, "node")
    _set(el, "sliver_id", part.sliver_id)
    _set(el, "component_id", part.component_id)
    _set(el, "component_manager_id", part.component_manager_id)
    if part.exclusive is not None:
        el.set("exclusive", "true" if part.exclusive else "false")
    sliver_type = _child(el, "sliver_type")
    if sliver_type is None and part.sliver_type is not None:
        sliver_type = etree.SubElement(el, ns.q("sliver_type"), name=part.sliver_type)
    if (sliver_type is not None and part.disk_image is not None
            and _child(sliver_type, "disk_image") is None):
        etree.SubElement(sliver_type, ns.q("disk_image"), name=part.disk_image)
    interfaces = {i.get("client_id", "").strip(): i for i in el.iterchildren(ns.q("interface"))}
    for iface in part.interfaces:
        iel = interfaces.get(iface.client_id)
        if iel is None:
            iel = etree.SubElement(el, ns.q("interface"), client_id=iface.client_id)
        _set(iel, "sliver_id", iface.sliver_id)
        _set(iel, "mac_address", iface.mac_address)
        _set(iel, "component_id", iface.component_id)
        have = {ip.get("address", "").strip() for ip in iel.iterchildren(ns.q("ip"))}
        for ip in iface.ips:
            if ip.address in have:
                continue
            attrs = {"address": ip.address, "type": ip.type}
            if ip.netmask is not None:
                attrs["netmask"] = ip.netmask
            etree.SubElement(iel, ns.q("ip"), attrs)
    if part.logins:
        services = _child(el, "services")
        if services is None:
            services = etree.SubElement(el, ns.q("services"))
        for login in part.logins:
            etree.SubElement(services, ns.q("login"), {
                "authentication": login.authentication, "hostname": login.hostname,
                "port": str(login.port), "username": login.username})
    if part.host is not None:
        etree.SubElement(el, ns.q("host"), name=part.host)
    for extra in part.extra_xml:
        el.append(etree.fromstring(extra.encode("utf-8"), safe_parser()))
    return el


def _link(part):
    el = _fragment(part.xml, "link")
    _set(el, "sliver_id", part.sliver_id)
    el.set("vlantag", str(part.vlantag))
    refs = {r.get("client_id", "").strip(): r for r in el.iterchildren(ns.q("interface_ref"))}
    for ref in part.interface_refs:
        rel = refs.get(ref.client_id)
        if rel is None:
            rel = etree.SubElement(el, ns.q("interface_ref"), client_id=ref.client_id)
        _set(rel, "sliver_id", ref.sliver_id)
        _set(rel, "component_id", ref.component_id)
    if part.component_manager_id is not None:
        names = {cm.get("name") for cm in el.iterchildren(ns.q("component_manager"))}
        if part.component_manager_id not in names:
            etree.SubElement(el, ns.q("component_manager"), name=part.component_manager_id)
    return el


def build_manifest(parts, *, now=None, expires=None):
    """The manifest RSpec (a string) of these NodePart/LinkPart objects.

    No parts give a valid empty manifest (Describe of an empty slice).
    ``now``/``expires`` (datetimes) fill ``generated``/``expires``.
    """
    root = etree.Element(ns.q("rspec"), nsmap={None: ns.RSPEC3, "xsi": ns.XSI})
    root.set(ns.q("schemaLocation", ns.XSI),
             "%s %s" % (ns.RSPEC3, ns.SCHEMA_LOCATION["manifest"]))
    root.set("type", "manifest")
    root.set("generated", rfc3339(now or datetime.now(timezone.utc)))
    if expires is not None:
        root.set("expires", rfc3339(expires))
    root.text = "\n"
    for part in parts:
        if isinstance(part, NodePart):
            el = _node(part)
        elif isinstance(part, LinkPart):
            el = _link(part)
        else:
            raise TypeError("build_manifest takes NodePart and LinkPart objects, not %s"
                            % type(part).__name__)
        el.tail = "\n"
        root.append(el)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8")
