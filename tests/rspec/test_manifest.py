"""The manifest: built from stored fragments, echoing the request, valid."""
import json
from datetime import datetime, timezone

from lxml import etree
from twisted.trial import unittest

from gam.rspec import namespaces as ns
from gam.rspec.manifest import (
    InterfacePart, LinkInterfacePart, LinkPart, Login, NodePart, build_manifest)
from gam.rspec.model import IP
from gam.rspec.request import parse_request
from gam.rspec.validation import validate_document

from tests.rspec import support

R = "{%s}" % ns.RSPEC3
AUTH = "gam.localhost"


def sliver(name):
    return "urn:publicid:IDN+%s+sliver+%s" % (AUTH, name)


def parts_for(request, users=("alice", "bob")):
    """What an aggregate would store for each sliver of ``request``."""
    parts = []
    for i, node in enumerate(request.nodes, 1):
        host = "node%d" % i
        parts.append(NodePart(
            xml=node.xml, sliver_id=sliver("n%d" % i),
            component_id="urn:publicid:IDN+%s+node+%s" % (AUTH, host),
            component_manager_id=support.GAM_CM,
            host="%s.%s" % (node.client_id.replace(":", "-"), AUTH),
            logins=tuple(Login(u, "%s.%s" % (host, AUTH), 22) for u in users),
            interfaces=tuple(InterfacePart(
                iface.client_id, sliver("n%di%d" % (i, j)), "02:00:00:00:%02x:%02x" % (i, j),
                ips=(IP("10.99.%d.%d" % (i, j + 1), "255.255.255.0", "ipv4"),))
                for j, iface in enumerate(node.interfaces)),
            sliver_type="default-vm",
            disk_image="urn:publicid:IDN+%s+image+UBUNTU22-64-STD" % AUTH,
            exclusive=False))
    for k, link in enumerate(request.links, 1):
        parts.append(LinkPart(
            xml=link.xml, sliver_id=sliver("l%d" % k), vlantag=1000 + k,
            interface_refs=tuple(LinkInterfacePart(ref, sliver("ref-%s" % ref.replace(":", "-")))
                                 for ref in link.interface_refs),
            component_manager_id=support.GAM_CM))
    return parts


def tree(document):
    return etree.fromstring(document.encode("utf-8"))


class EmptyTests(unittest.SynchronousTestCase):
    def test_empty_manifest(self):
        document = build_manifest([], now=datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc),
                                  expires=datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc))
        self.assertEqual(validate_document(document, "manifest"), [])
        root = tree(document)
        self.assertEqual(root.tag, R + "rspec")
        self.assertEqual(root.get("type"), "manifest")
        self.assertEqual(root.get("generated"), "2026-03-01T12:00:00Z")
        self.assertEqual(root.get("expires"), "2026-03-02T12:00:00Z")
        self.assertEqual(len(root), 0)

    def test_rejects_other_objects(self):
        self.assertRaises(TypeError, build_manifest, ["<node/>"])


class ExampleManifestTests(unittest.SynchronousTestCase):
    def test_every_example_request_gives_a_valid_manifest(self):
        for name in support.names("request"):
            request = parse_request(support.read("request", name))
            document = build_manifest(parts_for(request))
            self.assertEqual(validate_document(document, "manifest"), [], name)
            root = tree(document)
            self.assertEqual(len(root.findall(R + "node")), len(request.nodes), name)
            self.assertEqual(len(root.findall(R + "link")), len(request.links), name)

    def test_node_content(self):
        request = parse_request(support.read("request", "geni-lib3_scaleup_sharedvlan-1am.xml"))
        root = tree(build_manifest(parts_for(request)))
        rt2 = root.findall(R + "node")[1]
        self.assertEqual(rt2.get("client_id"), "rt-2")
        self.assertEqual(rt2.get("sliver_id"), sliver("n2"))
        self.assertEqual(rt2.get("component_id"), "urn:publicid:IDN+gam.localhost+node+node2")
        self.assertEqual(rt2.get("component_manager_id"), support.GAM_CM)
        self.assertEqual(rt2.find(R + "host").get("name"), "rt-2.gam.localhost")
        logins = rt2.find(R + "services").findall(R + "login")
        self.assertEqual([(l.get("username"), l.get("hostname"), l.get("port"),
                           l.get("authentication")) for l in logins],
                         [("alice", "node2.gam.localhost", "22", "ssh-keys"),
                          ("bob", "node2.gam.localhost", "22", "ssh-keys")])
        # The request's services are still there, next to the logins.
        self.assertEqual(len(rt2.find(R + "services").findall(R + "install")), 5)
        # The request named its own sliver type and image: kept, not overwritten.
        st = rt2.find(R + "sliver_type")
        self.assertEqual(st.get("name"), "emulab-xen")
        self.assertEqual(len(st.findall(R + "disk_image")), 1)
        self.assertTrue(st.find(R + "disk_image").get("name").startswith("https://"))
        # The emulab:xen extension is echoed.
        self.assertEqual(st.find("{%s}xen" % ns.EMULAB).get("ram"), "256")
        ifaces = rt2.findall(R + "interface")
        self.assertEqual(len(ifaces), 5)
        self.assertEqual(ifaces[0].get("sliver_id"), sliver("n2i0"))
        self.assertEqual(ifaces[0].get("mac_address"), "02:00:00:00:02:00")
        # The requested address is kept; the new one is added once.
        self.assertEqual([ip.get("address") for ip in ifaces[0].findall(R + "ip")],
                         ["10.2.1.2", "10.99.2.1"])

    def test_unbound_node_gets_sliver_type_and_image(self):
        request = parse_request(support.read("request", "geni-tools_amapi2-request.xml"))
        root = tree(build_manifest(parts_for(request, users=("carol",))))
        node = root.find(R + "node")
        st = node.find(R + "sliver_type")
        self.assertEqual(st.get("name"), "default-vm")
        self.assertEqual(st.find(R + "disk_image").get("name"),
                         "urn:publicid:IDN+gam.localhost+image+UBUNTU22-64-STD")
        self.assertEqual(node.get("exclusive"), "false")
        self.assertEqual([l.get("username") for l in node.iter(R + "login")], ["carol"])

    def test_link_content(self):
        request = parse_request(support.read("request", "geni-lib3_scaleup_sharedvlan-1am.xml"))
        root = tree(build_manifest(parts_for(request)))
        links = {l.get("client_id"): l for l in root.findall(R + "link")}
        lan3 = links["lan3"]
        self.assertEqual(lan3.get("vlantag"), "1004")
        self.assertEqual(lan3.get("sliver_id"), sliver("l4"))
        self.assertEqual([(r.get("client_id"), r.get("sliver_id"))
                          for r in lan3.findall(R + "interface_ref")],
                         [("rt-1:if3", sliver("ref-rt-1-if3")),
                          ("rt-2:if4", sliver("ref-rt-2-if4"))])
        shared = lan3.find("{%s}link_shared_vlan" % ns.SHARED_VLAN[0])
        self.assertEqual(shared.get("name"), "my_shared_vlan")
        self.assertEqual(lan3.find(R + "link_type").get("name"), "lan")
        self.assertEqual([c.get("name") for c in lan3.findall(R + "component_manager")],
                         [support.GAM_CM])

    def test_existing_component_manager_not_repeated(self):
        request = parse_request(support.read("request", "geni-tools_gib_two-nodes-iperf.xml"))
        link = request.links[0]
        document = build_manifest([LinkPart(link.xml, sliver("l"), 7, (),
                                            link.component_managers[0])])
        root = tree(document)
        self.assertEqual(len(root.find(R + "link").findall(R + "component_manager")), 1)


class ExtensionEchoTests(unittest.SynchronousTestCase):
    DOC = support.request_doc(
        '<node client_id="a" x:colour="red">'
        '<x:gadget size="2"><x:part/></x:gadget>'
        '<sliver_type name="default-vm"><x:tuning level="3"/></sliver_type>'
        '<interface client_id="a:if0" x:mtu="9000"><ip address="10.0.0.1" '
        'netmask="255.255.255.0" x:scope="lab"/></interface></node>'
        '<node client_id="b"><interface client_id="b:if0"/></node>'
        '<link client_id="l" x:tier="1"><interface_ref client_id="a:if0"/>'
        '<interface_ref client_id="b:if0"/><x:qos class="gold"/></link>',
        namespaces=' xmlns:x="urn:example:ext"')

    def test_extensions_survive_storage_and_validate(self):
        request = parse_request(self.DOC)
        # Slivers are stored (here: as JSON) and the manifest is built later from
        # those strings only, as another process would.
        stored = json.dumps([n.xml for n in request.nodes] + [request.links[0].xml])
        a_xml, b_xml, link_xml = json.loads(stored)
        document = build_manifest([
            NodePart(a_xml, sliver("a"), "urn:publicid:IDN+gam.localhost+node+node1",
                     support.GAM_CM, logins=(Login("alice", "node1.gam.localhost"),),
                     interfaces=(InterfacePart("a:if0", sliver("aif"), "02:00:00:00:00:01"),),
                     extra_xml=('<x:placement xmlns:x="urn:example:ext" rack="3"/>',)),
            NodePart(b_xml, sliver("b"), "urn:publicid:IDN+gam.localhost+node+node2",
                     support.GAM_CM),
            LinkPart(link_xml, sliver("l"), 1001),
        ])
        self.assertEqual(validate_document(document, "manifest"), [])
        root = tree(document)
        x = "{urn:example:ext}"
        a = root.find(R + "node")
        self.assertEqual(a.get(x + "colour"), "red")
        self.assertEqual(a.find(x + "gadget").get("size"), "2")
        self.assertIsNotNone(a.find(x + "gadget").find(x + "part"))
        self.assertEqual(a.find(R + "sliver_type").find(x + "tuning").get("level"), "3")
        iface = a.find(R + "interface")
        self.assertEqual(iface.get(x + "mtu"), "9000")
        self.assertEqual(iface.find(R + "ip").get(x + "scope"), "lab")
        self.assertEqual(iface.get("mac_address"), "02:00:00:00:00:01")
        self.assertEqual(a.find(x + "placement").get("rack"), "3")
        link = root.find(R + "link")
        self.assertEqual(link.get(x + "tier"), "1")
        self.assertEqual(link.find(x + "qos").get("class"), "gold")
        self.assertEqual(link.get("vlantag"), "1001")

    def test_misspelt_namespace_request_gives_valid_manifest(self):
        request = parse_request(support.read("request", "geni-lib3_ps103.xml"))
        document = build_manifest(parts_for(request))
        self.assertEqual(validate_document(document, "manifest"), [])
        self.assertNotIn("geni.net/resource/rspec", document)

    def test_corrupt_fragment_is_an_error(self):
        self.assertRaises(ValueError, build_manifest,
                          [NodePart("<node", sliver("x"), "c", support.GAM_CM)])
        self.assertRaises(ValueError, build_manifest,
                          [NodePart('<link xmlns="%s" client_id="l"/>' % ns.RSPEC3,
                                    sliver("x"), "c", support.GAM_CM)])
