"""Cross-checks inside a request, values, extensions, and the multi-aggregate scope."""
from twisted.trial import unittest

from gam.errors import BadArgs
from gam.rspec.model import IP
from gam.rspec.request import parse_request

from tests.rspec.support import GAM_CM, request_doc

NODE = '<node client_id="%s"><interface client_id="%s:if0"/></node>'


def lan(name, *ifaces):
    return '<link client_id="%s">%s</link>' % (
        name, "".join('<interface_ref client_id="%s"/>' % i for i in ifaces))


class CrossCheckTests(unittest.SynchronousTestCase):
    def refused(self, body, *fragments, reason=None):
        exc = self.assertRaises(BadArgs, parse_request, request_doc(body))
        for fragment in fragments:
            self.assertIn(fragment, exc.message)
        if reason:
            self.assertEqual(exc.reason, reason)
        return exc

    def test_duplicate_node_client_id(self):
        self.refused('<node client_id="a"/>\n<node client_id="a"/>',
                     "'a'", "lines 3, 4", reason="duplicate-client-id")

    def test_node_and_link_share_client_id(self):
        self.refused(NODE % ("a", "a") + NODE % ("b", "b") + lan("a", "a:if0", "b:if0"),
                     "used by a node and a link", reason="duplicate-client-id")

    def test_duplicate_interface_client_id(self):
        self.refused('<node client_id="a"><interface client_id="x"/></node>'
                     '<node client_id="b"><interface client_id="x"/></node>',
                     "'x'", "'a'", "'b'", reason="duplicate-client-id")

    def test_unknown_interface(self):
        self.refused(NODE % ("a", "a") + lan("l", "a:if0", "ghost:if0"),
                     "'ghost:if0'", "link 'l'", reason="unknown-interface")

    def test_interface_in_two_links(self):
        self.refused(NODE % ("a", "a") + NODE % ("b", "b")
                     + lan("l1", "a:if0", "b:if0") + lan("l2", "a:if0"),
                     "'a:if0'", "'l1'", "'l2'")

    def test_same_interface_twice_in_a_link(self):
        self.refused(NODE % ("a", "a") + lan("l", "a:if0", "a:if0"), "twice")

    def test_property_between_foreign_interfaces(self):
        body = (NODE % ("a", "a") + NODE % ("b", "b") +
                '<link client_id="l"><interface_ref client_id="a:if0"/>'
                '<interface_ref client_id="b:if0"/>'
                '<property source_id="a:if0" dest_id="c:if0" capacity="100"/></link>')
        self.refused(body, "'c:if0'", "not one of the link's interfaces")

    def test_empty_client_id(self):
        self.refused('<node client_id="  "/>', "empty client_id", "line 3")

    def test_two_sliver_types(self):
        self.refused('<node client_id="a"><sliver_type name="x"/><sliver_type name="y"/>'
                     '</node>', "2 <sliver_type>")

    def test_two_disk_images(self):
        self.refused('<node client_id="a"><sliver_type name="x"><disk_image name="i1"/>'
                     '<disk_image name="i2"/></sliver_type></node>', "2 disk images")

    def test_two_link_types(self):
        self.refused(NODE % ("a", "a") + '<link client_id="l"><interface_ref client_id='
                     '"a:if0"/><link_type name="lan"/><link_type name="vlan"/></link>',
                     "lan, vlan")


class ValueTests(unittest.SynchronousTestCase):
    def node_with_ip(self, address, netmask=None, type_=None):
        attrs = 'address="%s"' % address
        if netmask is not None:
            attrs += ' netmask="%s"' % netmask
        if type_ is not None:
            attrs += ' type="%s"' % type_
        return request_doc('<node client_id="a"><interface client_id="a:if0">'
                           '<ip %s/></interface></node>' % attrs)

    def ip(self, *args):
        return parse_request(self.node_with_ip(*args)).nodes[0].interfaces[0].ips[0]

    def test_good_addresses(self):
        self.assertEqual(self.ip("10.0.0.1", "255.255.0.0", "ipv4"),
                         IP("10.0.0.1", "255.255.0.0", "ipv4"))
        self.assertEqual(self.ip("10.0.0.1", "24"), IP("10.0.0.1", "24", "ipv4"))
        self.assertEqual(self.ip("10.0.0.1", "0.0.0.0", "IPv4").type, "ipv4")
        self.assertEqual(self.ip("fd00::0001", "64"), IP("fd00::1", "64", "ipv6"))
        self.assertEqual(self.ip("fd00::1", "/64", "ipv6").netmask, "/64")
        self.assertEqual(self.ip("10.0.0.1"), IP("10.0.0.1", None, "ipv4"))

    def refused(self, *args):
        return self.assertRaises(BadArgs, parse_request, self.node_with_ip(*args)).message

    def test_not_an_address(self):
        message = self.refused("10.0.0.300", "255.255.255.0")
        self.assertIn("'10.0.0.300' is not an IP address", message)
        self.assertIn("interface 'a:if0' of node 'a'", message)
        self.assertIn("not an IP address", self.refused("router-1"))

    def test_not_a_mask(self):
        self.assertIn("not a network mask", self.refused("10.0.0.1", "255.0.255.0"))
        self.assertIn("not a network mask", self.refused("10.0.0.1", "0.0.0.255"))
        self.assertIn("not a network mask", self.refused("10.0.0.1", "33"))
        self.assertIn("not a network mask", self.refused("10.0.0.1", "banana"))
        self.assertIn("not a network mask", self.refused("fd00::1", "255.255.255.0"))

    def test_type_mismatch(self):
        self.assertIn("is ipv4 but type says ipv6", self.refused("10.0.0.1", "24", "ipv6"))
        self.assertIn("unknown", self.refused("10.0.0.1", "24", "ipx"))

    def link_property(self, **attrs):
        prop = " ".join('%s="%s"' % kv for kv in attrs.items())
        return request_doc(NODE % ("a", "a") + NODE % ("b", "b") +
                           '<link client_id="l"><interface_ref client_id="a:if0"/>'
                           '<interface_ref client_id="b:if0"/><property source_id="a:if0" '
                           'dest_id="b:if0" %s/></link>' % prop)

    def test_link_properties(self):
        (prop,) = parse_request(self.link_property(
            capacity="100000", latency="2.5", packet_loss="0.01")).links[0].properties
        self.assertEqual((prop.capacity_kbps, prop.latency_ms, prop.packet_loss),
                         (100000, 2.5, 0.01))
        (prop,) = parse_request(self.link_property(capacity="1e3", latency="10")
                                ).links[0].properties
        self.assertEqual((prop.capacity_kbps, prop.latency_ms, prop.packet_loss),
                         (1000, 10, None))

    def test_bad_link_properties(self):
        for attrs, fragment in (({"capacity": "fast"}, "capacity 'fast'"),
                                ({"capacity": "-5"}, "capacity '-5'"),
                                ({"capacity": "10.5"}, "whole number"),
                                ({"latency": "nan"}, "latency 'nan'"),
                                ({"packet_loss": "5"}, "fraction")):
            exc = self.assertRaises(BadArgs, parse_request, self.link_property(**attrs))
            self.assertIn(fragment, exc.message)
            self.assertIn("link 'l'", exc.message)

    def test_bad_emulab_xen(self):
        exc = self.assertRaises(BadArgs, parse_request, request_doc(
            '<node client_id="a"><sliver_type name="default-vm">'
            '<emulab:xen cores="many"/></sliver_type></node>',
            namespaces=' xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1"'))
        self.assertIn("cores", exc.message)


class ExtensionTests(unittest.SynchronousTestCase):
    DOC = request_doc(
        '<node client_id="a" x:colour="red" component_manager_id="%s">'
        '<x:gadget size="2"><x:part/></x:gadget>'
        '<sliver_type name="default-vm"><x:tuning level="3"/></sliver_type>'
        '<interface client_id="a:if0" x:mtu="9000"/></node>'
        '<link client_id="l"><interface_ref client_id="a:if0"/><x:qos class="gold"/></link>'
        '<x:topology-hint near="a"/>' % GAM_CM,
        namespaces=' xmlns:x="urn:example:ext"')

    def test_extensions_are_listed_and_kept(self):
        r = parse_request(self.DOC)
        node = r.nodes[0]
        self.assertEqual([(e.namespace, e.name) for e in node.extensions],
                         [("urn:example:ext", "gadget"), ("urn:example:ext", "tuning")])
        self.assertEqual(node.extensions[0].get("size"), "2")
        self.assertIn("<x:part/>", node.extensions[0].xml)
        self.assertIn('x:colour="red"', node.xml)
        self.assertIn('x:mtu="9000"', node.xml)
        self.assertIn('xmlns:x="urn:example:ext"', node.xml)
        self.assertEqual([e.name for e in r.links[0].extensions], ["qos"])
        self.assertEqual([e.name for e in r.extensions], ["topology-hint"])

    def test_schema_location_hints_are_not_followed(self):
        # A hint pointing at a (missing, or any) schema does not change validation
        # and is never fetched: the extension stays lax.
        document = self.DOC.replace(
            'type="request"', 'type="request" xmlns:xsi="http://www.w3.org/2001/'
            'XMLSchema-instance" xsi:schemaLocation="urn:example:ext '
            'http://127.0.0.1:9/ext.xsd"')
        self.assertEqual(len(parse_request(document).nodes), 1)


class ScopeTests(unittest.SynchronousTestCase):
    def doc(self, *nodes, links=""):
        return request_doc("".join(nodes) + links)

    def node(self, name, cm=None, cid=None):
        attrs = ""
        if cm:
            attrs += ' component_manager_id="%s"' % cm
        if cid:
            attrs += ' component_id="%s"' % cid
        return '<node client_id="%s"%s><interface client_id="%s:if0"/></node>' % (
            name, attrs, name)

    def test_foreign_nodes_skipped_links_kept_when_local(self):
        other = "urn:publicid:IDN+other.example+authority+cm"
        document = self.doc(
            self.node("mine"), self.node("also-mine", cm="urn:publicid:IDN+GAM.LOCALHOST+authority+cm"),
            self.node("theirs", cm=other), self.node("theirs2", cm=other),
            links=lan("cross", "mine:if0", "theirs:if0") + lan("far", "theirs2:if0"))
        r = parse_request(document, component_manager_id=GAM_CM)
        self.assertEqual([n.client_id for n in r.nodes], ["mine", "also-mine"])
        self.assertEqual(r.skipped_nodes, ("theirs", "theirs2"))
        self.assertEqual([l.client_id for l in r.links], ["cross"])
        self.assertEqual(r.skipped_links, ("far",))
        self.assertEqual(r.remote_interface_refs(r.links[0]), ("theirs:if0",))

    def test_bound_to_our_node(self):
        r = parse_request(self.doc(self.node(
            "a", cid="urn:publicid:IDN+gam.localhost+node+node3")), component_manager_id=GAM_CM)
        self.assertTrue(r.nodes[0].bound)

    def test_bound_to_another_aggregate(self):
        exc = self.assertRaises(BadArgs, parse_request, self.doc(self.node(
            "a", cid="urn:publicid:IDN+emulab.net+node+pc1")), component_manager_id=GAM_CM)
        self.assertEqual(exc.reason, "bound-elsewhere")
        self.assertIn("emulab.net", exc.message)
        self.assertIn("component_manager_id", exc.message)

    def test_bound_to_a_non_node_urn(self):
        exc = self.assertRaises(BadArgs, parse_request, self.doc(self.node(
            "a", cid="urn:publicid:IDN+gam.localhost+link+lan")), component_manager_id=GAM_CM)
        self.assertEqual(exc.reason, "bad-component-id")

    def test_foreign_node_bound_anywhere_is_not_our_business(self):
        other = "urn:publicid:IDN+other.example+authority+cm"
        r = parse_request(self.doc(self.node("a", cm=other, cid="whatever")),
                          component_manager_id=GAM_CM)
        self.assertEqual(r.nodes, ())
