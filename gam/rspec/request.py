"""Reading request RSpecs: safe parsing, schema validation, typed objects.

``parse_request(document)`` is the entry point. Every refusal is a BadArgs
whose message says what to fix (with the line where it helps).

Choices made here (each one has a test):

* The namespace ``http://www.geni.net/resource/rspec/3`` (no s) is read as
  RSpec v3: it is a known misspelling in real tools' output, it names no
  other RSpec, and the content is v3. The stored node/link ``xml`` carries
  the correct namespace.
* ProtoGENI RSpec v2 (and 0.1/0.2) are refused: their elements mean other
  things (e.g. v2 nodes use ``virtualization_type``), gam advertises only
  GENI v3, and a silent mapping would misread requests.
* A document whose ``type`` is not ``request`` (a manifest or an
  advertisement sent by mistake) is refused; a missing ``type`` is taken as
  ``request``.
* Any DOCTYPE is refused (see gam.safexml).
"""
import re

from lxml import etree

from gam.errors import BadArgs
from gam.rspec import namespaces as ns
from gam.rspec import values
from gam.rspec.model import (
    DiskImageRef, ExecuteService, Extension, InstallService, LinkProperty, Request,
    RequestInterface, RequestLink, RequestNode, Services)
from gam.safexml import DEFAULT_MAX_BYTES, parse_untrusted, to_bytes
from gam.rspec.validation import schema_errors

WHAT = "request RSpec"
MAX_SCHEMA_ERRORS = 5

_MISSPELT_DECL = re.compile(
    rb"""(xmlns(?::[A-Za-z_][\w.\-]*)?\s*=\s*)(["'])%s\2"""
    % re.escape(ns.RSPEC3_MISSPELT.encode()))


def _q(name):
    return ns.q(name)


def parse_request(document, *, max_bytes=DEFAULT_MAX_BYTES, component_manager_id=None):
    """Parse and check a request RSpec (str or bytes) into a :class:`Request`.

    With ``component_manager_id``, the result is narrowed to what that
    aggregate must provide (see :meth:`Request.for_aggregate`).
    Raises BadArgs on anything wrong.
    """
    received = data = to_bytes(document, max_bytes=max_bytes, what=WHAT)
    tree = parse_untrusted(data, max_bytes=max_bytes, what=WHAT)
    root = tree.getroot()
    namespace = etree.QName(root).namespace
    if namespace == ns.RSPEC3_MISSPELT:
        data = _MISSPELT_DECL.sub(lambda m: m.group(1) + m.group(2) + ns.RSPEC3.encode()
                                  + m.group(2), data)
        # The fix adds a byte per declaration; the size was checked already.
        tree = parse_untrusted(data, max_bytes=len(data), what=WHAT)
        root = tree.getroot()
        namespace = etree.QName(root).namespace
    _check_root(root, namespace)
    errors = schema_errors(tree, "request")
    if errors:
        more = ""
        if len(errors) > MAX_SCHEMA_ERRORS:
            more = " (and %d more)" % (len(errors) - MAX_SCHEMA_ERRORS)
        raise BadArgs("the %s does not follow the GENI RSpec v3 request schema: %s%s. "
                      "Fix these and send the request again"
                      % (WHAT, "; ".join(errors[:MAX_SCHEMA_ERRORS]), more),
                      reason="schema")
    source = document if isinstance(document, str) else _decode(received, tree)
    request = _Reader().read(root, source)
    if component_manager_id is not None:
        request = request.for_aggregate(component_manager_id)
    return request


def _decode(data, tree):
    encoding = tree.docinfo.encoding or "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _check_root(root, namespace):
    local = etree.QName(root).localname
    if namespace in ns.OLD_RSPEC_VERSIONS:
        raise BadArgs("this is a %s document; this aggregate only reads GENI RSpec v3: "
                      "send a v3 request (xmlns=\"%s\", type=\"request\"), e.g. with "
                      "omni's --rspec-version or geni-lib's pg module"
                      % (ns.OLD_RSPEC_VERSIONS[namespace], ns.RSPEC3),
                      reason="rspec-version")
    if namespace != ns.RSPEC3 or local != "rspec":
        found = "<%s>" % local + (" in namespace %s" % namespace if namespace
                                  else " with no namespace")
        raise BadArgs("the %s must have the root element <rspec xmlns=\"%s\">; "
                      "found %s (line %s): send a GENI RSpec v3 request"
                      % (WHAT, ns.RSPEC3, found, root.sourceline), reason="rspec-version")
    rtype = root.get("type")
    if rtype is None:
        root.set("type", "request")
    elif rtype.strip() != "request":
        kind = {"manifest": "a manifest", "advertisement": "an advertisement"}.get(
            rtype.strip(), "of type %r" % rtype)
        raise BadArgs("this RSpec is %s (type=\"%s\"), not a request: manifests and "
                      "advertisements are what aggregates return. Send the request RSpec "
                      "you wrote (type=\"request\")" % (kind, rtype),
                      reason="not-a-request")


def _attr(el, name):
    """An attribute's value, stripped; None if absent or blank."""
    value = el.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _bool(el, name):
    value = _attr(el, name)
    if value is None:
        return None
    return value in ("true", "1")


def _elements(el, name):
    return el.iterchildren(_q(name))


def _is_rspec(el):
    return isinstance(el.tag, str) and el.tag.startswith("{%s}" % ns.RSPEC3)


def _extensions(el):
    """The outermost elements inside ``el`` that are in another namespace."""
    out = []
    stack = [child for child in el if _is_rspec(child)]
    direct = [child for child in el if isinstance(child.tag, str) and not _is_rspec(child)]
    out.extend(direct)
    while stack:
        current = stack.pop()
        for child in current:
            if not isinstance(child.tag, str):
                continue
            if _is_rspec(child):
                stack.append(child)
            else:
                out.append(child)
    out.sort(key=lambda e: e.sourceline or 0)
    return tuple(_extension(e) for e in out)


def _extension(el):
    qname = etree.QName(el)
    return Extension(qname.namespace or "", qname.localname,
                     tuple((k, v) for k, v in el.attrib.items()), _serialise(el))


def _serialise(el):
    return etree.tostring(el, encoding="unicode", with_tail=False)


class _Reader:
    """Turns a validated <rspec type="request"> into a Request."""

    def read(self, root, source):
        nodes, links, extensions = [], [], []
        for child in root:
            if not isinstance(child.tag, str):
                continue
            if child.tag == _q("node"):
                nodes.append(self.node(child))
            elif child.tag == _q("link"):
                links.append(self.link(child))
            elif not _is_rspec(child):
                extensions.append(_extension(child))
        owners = self.check(root, nodes, links)
        return Request(tuple(nodes), tuple(links), tuple(extensions), source,
                       interface_owners=owners)

    # -- nodes ---------------------------------------------------------

    def node(self, el):
        client_id = self.client_id(el, "node")
        where = "node %r (line %s)" % (client_id, el.sourceline)
        sliver_type = disk_image = None
        cores = memory = None
        sliver_types = list(_elements(el, "sliver_type"))
        if len(sliver_types) > 1:
            raise BadArgs("%s has %d <sliver_type> elements: keep exactly one"
                          % (where, len(sliver_types)))
        if sliver_types:
            st = sliver_types[0]
            sliver_type = _attr(st, "name")
            if sliver_type is None:
                raise BadArgs("%s: <sliver_type> has an empty name: name a sliver type "
                              "from the advertisement (e.g. default-vm)" % where)
            images = list(_elements(st, "disk_image"))
            if len(images) > 1:
                raise BadArgs("%s asks for %d disk images: a sliver boots one; keep one "
                              "<disk_image>" % (where, len(images)))
            if images:
                disk_image = self.disk_image(images[0], where)
            for xen in st.iterchildren(ns.q("xen", ns.EMULAB)):
                if xen.get("cores") is not None:
                    cores = values.positive_int(xen.get("cores"), where, "emulab:xen cores")
                if xen.get("ram") is not None:
                    memory = values.positive_int(xen.get("ram"), where, "emulab:xen ram")
        hardware = [_attr(h, "name") for h in _elements(el, "hardware_type")]
        if len(set(hardware)) > 1:
            raise BadArgs("%s names several hardware types (%s): keep one <hardware_type>"
                          % (where, ", ".join(map(str, hardware))))
        installs, executes = [], []
        for services in _elements(el, "services"):
            for inst in _elements(services, "install"):
                installs.append(InstallService(inst.get("url"), inst.get("install_path")))
            for ex in _elements(services, "execute"):
                executes.append(ExecuteService(ex.get("shell"), ex.get("command")))
        interfaces = tuple(self.interface(i, client_id) for i in _elements(el, "interface"))
        return RequestNode(
            client_id=client_id,
            component_id=_attr(el, "component_id"),
            component_manager_id=_attr(el, "component_manager_id"),
            exclusive=_bool(el, "exclusive"),
            sliver_type=sliver_type,
            disk_image=disk_image,
            hardware_type=hardware[0] if hardware else None,
            interfaces=interfaces,
            services=Services(tuple(installs), tuple(executes)),
            extensions=_extensions(el),
            xml=_serialise(el),
            cores=cores,
            memory_mb=memory,
        )

    def disk_image(self, el, where):
        name = _attr(el, "name")
        if name is None:
            raise BadArgs("%s: <disk_image> has an empty name: name an image from the "
                          "advertisement, or leave <disk_image> out for the default" % where)
        url = name if name.lower().startswith(("http://", "https://")) else None
        return DiskImageRef(name, url, _attr(el, "version"), _attr(el, "os"))

    def interface(self, el, node_id):
        client_id = self.client_id(el, "interface")
        where = "interface %r of node %r (line %s)" % (client_id, node_id, el.sourceline)
        ips = tuple(values.ip(ip.get("address"), ip.get("netmask"), ip.get("type"),
                              "%s, ip at line %s" % (where, ip.sourceline))
                    for ip in _elements(el, "ip"))
        return RequestInterface(client_id, ips, _attr(el, "component_id"))

    # -- links ---------------------------------------------------------

    def link(self, el):
        client_id = self.client_id(el, "link")
        where = "link %r (line %s)" % (client_id, el.sourceline)
        refs = []
        for ref in _elements(el, "interface_ref"):
            ref_id = self.client_id(ref, "interface_ref")
            if ref_id in refs:
                raise BadArgs("%s lists interface %r twice: list each interface once"
                              % (where, ref_id))
            refs.append(ref_id)
        properties = []
        for prop in _elements(el, "property"):
            pwhere = "%s, property at line %s" % (where, prop.sourceline)
            source, dest = prop.get("source_id").strip(), prop.get("dest_id").strip()
            for end in (source, dest):
                if end not in refs:
                    raise BadArgs("%s: %r is not one of the link's interfaces (%s): "
                                  "a property joins two interface_refs of its link"
                                  % (pwhere, end, ", ".join(refs) or "none"))
            properties.append(LinkProperty(
                source, dest,
                _opt(prop, "capacity", values.capacity_kbps, pwhere),
                _opt(prop, "latency", values.latency_ms, pwhere),
                _opt(prop, "packet_loss", values.packet_loss, pwhere)))
        types = []
        for lt in _elements(el, "link_type"):
            name = _attr(lt, "name")
            if name is not None and name not in types:
                types.append(name)
        if len(types) > 1:
            raise BadArgs("%s has several link types (%s): keep one <link_type>"
                          % (where, ", ".join(types)))
        shared = None
        for space in ns.SHARED_VLAN:
            for sv in el.iterchildren(ns.q("link_shared_vlan", space)):
                name = _attr(sv, "name")
                if name is None:
                    raise BadArgs("%s: <link_shared_vlan> needs a name" % where)
                if shared is not None and name != shared:
                    raise BadArgs("%s names two shared VLANs (%s, %s): keep one"
                                  % (where, shared, name))
                shared = name
        managers = tuple(_attr(cm, "name") for cm in _elements(el, "component_manager"))
        return RequestLink(
            client_id=client_id,
            interface_refs=tuple(refs),
            properties=tuple(properties),
            link_type=types[0] if types else None,
            shared_vlan=shared,
            component_managers=tuple(m for m in managers if m),
            extensions=_extensions(el),
            xml=_serialise(el),
        )

    # -- shared --------------------------------------------------------

    @staticmethod
    def client_id(el, what):
        value = _attr(el, "client_id")
        if value is None:
            raise BadArgs("the <%s> at line %s has an empty client_id: give it a name "
                          "unique in the request" % (what, el.sourceline))
        return value

    @staticmethod
    def check(root, nodes, links):
        """Cross-checks between elements; returns (interface, node) pairs."""
        lines = {}
        for el in root:
            if isinstance(el.tag, str) and el.tag in (_q("node"), _q("link")):
                lines.setdefault(_attr(el, "client_id"), []).append(el.sourceline)
        names = {}
        for kind, items in (("node", nodes), ("link", links)):
            for item in items:
                if item.client_id in names:
                    other = names[item.client_id]
                    at = lines.get(item.client_id, [])
                    raise BadArgs("client_id %r is used by a %s and a %s (lines %s): give "
                                  "every node and link its own client_id"
                                  % (item.client_id, other, kind,
                                     ", ".join(map(str, at))), reason="duplicate-client-id")
                names[item.client_id] = kind
        owners = {}
        for node in nodes:
            for iface in node.interfaces:
                if iface.client_id in owners:
                    raise BadArgs("interface client_id %r is used twice (nodes %r and %r): "
                                  "give every interface its own client_id"
                                  % (iface.client_id, owners[iface.client_id], node.client_id),
                                  reason="duplicate-client-id")
                owners[iface.client_id] = node.client_id
        joined = {}
        for link in links:
            for ref in link.interface_refs:
                if ref not in owners:
                    raise BadArgs("link %r refers to interface %r, which no node declares: "
                                  "add <interface client_id=%r> to a node or fix the "
                                  "interface_ref" % (link.client_id, ref, ref),
                                  reason="unknown-interface")
                if ref in joined:
                    raise BadArgs("interface %r is in two links (%r and %r): an interface "
                                  "joins one link; give the node another interface"
                                  % (ref, joined[ref], link.client_id))
                joined[ref] = link.client_id
        return tuple(owners.items())


def _opt(el, name, convert, where):
    value = el.get(name)
    if value is None or not value.strip():
        return None
    return convert(value, where)
