"""The advertisement RSpec (ListResources): what this aggregate offers.

Built as text from precomputed fragments, because an aggregate with 10,000
hosts must answer ListResources quickly; the result validates against the
bundled ``ad.xsd`` (tested). It holds:

* one ``<node>`` per host: component ids, ``exclusive`` (true when the host
  offers an exclusive sliver type), ``<hardware_type>``, one
  ``<sliver_type>`` per offered type with its ``<disk_image>``s (the
  default one marked ``default="true"``), ``<available now=...>`` and one
  experimental ``<interface>`` (``<host>:if0``) that links attach to;
* one ``<link>`` (``...+link+lan``) joining those interfaces, with
  ``<link_type>`` lan and vlan: any set of hosts can be linked. Its
  limits (largest capacity, whether latency / packet loss can be shaped,
  VLAN tags) are in gam's own extension element ``<gam:link_capabilities>``,
  since RSpec v3 has no element for them;
* the opstate extension: one ``<opstate:rspec_opstate>`` per sliver type
  (see gam.rspec.opstate).
"""
from datetime import datetime, timezone
from xml.sax.saxutils import quoteattr

from gam.rspec import _urn
from gam.rspec import namespaces as ns
from gam.rfc3339 import format_time as rfc3339
from gam.rspec.compress import compress_rspec
from gam.rspec.opstate import rspec_opstate_xml

INTERFACE_NAME = "if0"
LAN_NAME = "lan"


def _bool(value):
    return "true" if value else "false"


def _sliver_type_fragment(inventory, sliver_type):
    images = []
    for name in sliver_type.disk_images:
        image = inventory.disk_image(name)
        attrs = ["name=%s" % quoteattr(image.urn)]
        for attr in ("os", "version", "description"):
            value = getattr(image, attr)
            if value is not None:
                attrs.append("%s=%s" % (attr, quoteattr(value)))
        if name == sliver_type.default_image:
            attrs.append('default="true"')
        images.append("<disk_image %s/>" % " ".join(attrs))
    return "<sliver_type name=%s>%s</sliver_type>" % (quoteattr(sliver_type.name),
                                                      "".join(images))


def interface_component_id(inventory, host):
    """The component id of a host's experimental interface, as the
    advertisement writes it and manifests repeat it (clients match the two
    as text): ``...+interface+<host>:<interface>``, the colon not escaped,
    as ProtoGENI and geni-tools write interface URNs."""
    return "urn:publicid:IDN+%s+interface+%s:%s" % (inventory.authority, host.name,
                                                    INTERFACE_NAME)


def build_advertisement(inventory, *, available=None, available_only=False, now=None,
                        expires=None):
    """The advertisement RSpec of ``inventory`` as a string.

    ``available`` maps host names to whether they are free now (missing
    hosts count as available; None: all available). With
    ``available_only`` (``geni_available``), busy hosts are left out.
    ``now``/``expires`` (datetimes) fill ``generated``/``expires``.
    """
    cm = inventory.component_manager_id
    cm_attr = quoteattr(cm)
    types = {t.name: _sliver_type_fragment(inventory, t) for t in inventory.sliver_types}
    # Hosts offering the same sliver types share one fragment.
    offer_cache = {}
    generated = rfc3339(now or datetime.now(timezone.utc))
    head = ['<?xml version="1.0" encoding="UTF-8"?>\n<rspec xmlns="%s" xmlns:xsi="%s" '
            'xmlns:opstate="%s" xmlns:gam="%s" xsi:schemaLocation="%s %s" '
            'type="advertisement" generated="%s"%s>\n'
            % (ns.RSPEC3, ns.XSI, ns.OPSTATE, ns.GAM_EXT, ns.RSPEC3,
               ns.SCHEMA_LOCATION["advertisement"], generated,
               ' expires="%s"' % rfc3339(expires) if expires else "")]
    for sliver_type in inventory.sliver_types:
        head.append(rspec_opstate_xml(cm, (sliver_type.name,)))
        head.append("\n")
    out = head
    refs = []
    node_prefix = "<node component_manager_id=%s component_id=" % cm_attr
    for host in inventory.hosts:
        free = True if available is None else bool(available.get(host.name, True))
        if available_only and not free:
            continue
        key = host.sliver_types
        offer = offer_cache.get(key)
        if offer is None:
            offer = offer_cache[key] = (
                _bool(inventory.host_is_exclusive(host)),
                "".join(types[t] for t in host.sliver_types))
        exclusive, sliver_xml = offer
        iface = quoteattr(interface_component_id(inventory, host))
        refs.append(iface)
        out.append(
            '%s%s component_name=%s exclusive="%s"><hardware_type name=%s/>%s'
            '<available now="%s"/><interface component_id=%s component_name="%s" '
            'role="experimental"/></node>\n'
            % (node_prefix, quoteattr(host.component_id), quoteattr(host.name), exclusive,
               quoteattr(host.hardware_type), sliver_xml, _bool(free), iface,
               INTERFACE_NAME))
    links = inventory.links
    out.append('<link component_id=%s component_name="%s"><component_manager name=%s/>'
               '<link_type name="lan"/><link_type name="vlan"/>'
               % (quoteattr(_urn.make(inventory.authority, "link", LAN_NAME)), LAN_NAME,
                  cm_attr))
    out.extend("<interface_ref component_id=%s/>" % ref for ref in refs)
    out.append('<gam:link_capabilities max_capacity_kbps="%d" latency="%s" '
               'packet_loss="%s" vlan_tags="%s"/></link>\n</rspec>\n'
               % (links.max_capacity_kbps, _bool(links.latency), _bool(links.packet_loss),
                  links.vlan_tags_text))
    return "".join(out)


def build_compressed_advertisement(inventory, **options):
    """build_advertisement(...) as ``geni_compressed`` wants it: base64 of zlib."""
    return compress_rspec(build_advertisement(inventory, **options))
