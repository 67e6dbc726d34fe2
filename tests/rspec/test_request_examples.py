"""Every real request RSpec in tests/data/rspec/request is accepted and read
into the right objects, or refused for a stated reason."""
from twisted.trial import unittest

from gam.errors import BadArgs
from gam.rspec.model import IP
from gam.rspec.request import parse_request

from tests.rspec import support

EMULAB_CM = "urn:publicid:IDN+emulab.net+authority+cm"
JACKS = "http://www.protogeni.net/resources/rspec/ext/jacks/1"


def parse(name, **kw):
    return parse_request(support.read("request", name), **kw)


class CoverageTests(unittest.SynchronousTestCase):
    def test_every_example_has_a_test(self):
        """A new example file needs a test below (no silent coverage gaps)."""
        tested = {name[5:].replace("_", "-") for name in dir(ExampleTests)
                  if name.startswith("test_")}
        for filename in support.names("request"):
            key = filename[:-4].replace("_", "-").replace(".", "-").lower()
            self.assertIn(key, tested, "no test for example %s" % filename)


class ExampleTests(unittest.SynchronousTestCase):
    # Test names are the file names (without .xml, '_' and '.' as '-').

    def test_emulab_portal_utahcloud_utahms(self):
        r = parse("emulab-portal_utahcloud-utahms.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["utahem", "utahcl"])
        utahem, utahcl = r.nodes
        self.assertFalse(utahem.bound)
        self.assertEqual(utahem.component_manager_id, EMULAB_CM)
        self.assertIs(utahem.exclusive, False)
        self.assertEqual(utahem.sliver_type, "raw-pc")
        self.assertIsNone(utahem.disk_image)
        self.assertEqual(utahcl.disk_image.name,
                         "urn:publicid:IDN+emulab.net+image+emulab-ops//UBUNTU14-64-STD")
        self.assertEqual(utahem.interfaces[0].ips,
                         (IP("192.168.1.1", "255.255.255.0", "ipv4"),))
        (link,) = r.links
        self.assertEqual(link.interface_refs, ("utahem:if0", "utahcl:if0"))
        self.assertEqual([p.capacity_kbps for p in link.properties], [10000, 10000])
        self.assertEqual(link.max_capacity_kbps, 10000)
        self.assertEqual(len(link.component_managers), 3)
        self.assertEqual([(e.name, e.namespace) for e in r.extensions],
                         [("stitching", "http://hpn.east.isi.edu/rspec/ext/stitch/0.1/")])
        # Both nodes belong to other aggregates: gam provides nothing.
        mine = r.for_aggregate(support.GAM_CM)
        self.assertEqual(mine.nodes, ())
        self.assertEqual(mine.links, ())
        self.assertEqual(mine.skipped_nodes, ("utahem", "utahcl"))
        self.assertEqual(mine.skipped_links, ("mylink",))

    def test_ffund_dns_spoofing_request(self):
        r = parse("ffund_dns_spoofing_request.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["client", "dhcp-good", "attacker"])
        self.assertEqual([n.interfaces[0].ips[0].address for n in r.nodes],
                         ["10.10.1.21", "10.10.1.2", "10.10.1.254"])
        for node in r.nodes:
            self.assertFalse(node.bound)
            self.assertIsNone(node.component_manager_id)
            self.assertEqual(node.sliver_type, "default-vm")
            self.assertEqual(len(node.services.executes), 1)
            self.assertEqual(node.services.executes[0].shell, "/bin/sh")
            # jacks <icon> and <site> are carried, not interpreted
            self.assertEqual([(e.namespace, e.name) for e in node.extensions],
                             [(JACKS, "icon"), (JACKS, "site")])
            self.assertIn("<icon", node.xml)
        self.assertIn("dnsmasq dsniff", r.nodes[2].services.executes[0].command)
        (link,) = r.links
        self.assertEqual(link.interface_refs, ("interface-0", "interface-1", "interface-2"))
        self.assertEqual([e.name for e in link.extensions], ["site"])
        mine = r.for_aggregate(support.GAM_CM)
        self.assertEqual(len(mine.nodes), 3)
        self.assertEqual(len(mine.links), 1)

    def test_fiteagle_rawpc(self):
        r = parse("fiteagle_rawpc.xml")
        (node,) = r.nodes
        self.assertTrue(node.bound)
        self.assertEqual(node.component_id, "https://localhost:8443/resource/physicalnode-1")
        self.assertEqual(node.component_manager_id, "urn:publicid:IDN+localhost+authority+cm")
        self.assertIs(node.exclusive, True)
        self.assertEqual(node.sliver_type, "http://open-multinet.info/ontology/omn-domain-pc#PC")
        self.assertEqual([(i.url, i.install_path) for i in node.services.installs], [
            ("http://fiteagle.org/images/logo_fiteagle.png", "~/logos"),
            ("http://www.fed4fire.eu/wp-content/uploads/2014/11/fed4fire-logo.jpg", "~/logos")])
        self.assertEqual([(e.shell, e.command) for e in node.services.executes],
                         [("sh", "time"), ("sh", "df -h ~/logos")])
        self.assertEqual(r.for_aggregate(support.GAM_CM).skipped_nodes, ("my-raw-pc-1",))
        # Refused only by the aggregate it names: an http URL is not a node URN.
        exc = self.assertRaises(BadArgs, r.for_aggregate,
                                "urn:publicid:IDN+localhost+authority+cm")
        self.assertIn("not a node URN", exc.message)
        self.assertIn("my-raw-pc-1", exc.message)

    def test_geni_lib3_ps103(self):
        # Decision: the misspelt namespace (resource, no s) is read as RSpec v3.
        # Justification: it is a known misspelling in geni-lib output, it names no
        # other RSpec, and the content is plain v3; refusing would reject real
        # users' documents for a typo that cannot be misread.
        raw = support.read("request", "geni-lib3_ps103.xml")
        self.assertIn(b'xmlns="http://www.geni.net/resource/rspec/3"', raw)
        r = parse_request(raw)
        self.assertEqual([n.client_id for n in r.nodes], ["bbn-ig-ps103-a", "bbn-ig-ps103-b"])
        a = r.nodes[0]
        self.assertEqual(a.sliver_type, "emulab-xen")
        self.assertEqual(a.disk_image.name, "urn:publicid:IDN+instageni.gpolab.bbn.com"
                                            "+image+emulab-ops:UBUNTU12-64-STD")
        self.assertEqual(a.interfaces[0].ips[0], IP("10.42.103.111", "255.255.255.0", "ipv4"))
        self.assertEqual(len(a.services.installs), 2)
        self.assertEqual(a.services.executes[0].shell, "/bin/bash")
        self.assertEqual([(l.interface_refs, l.shared_vlan) for l in r.links], [
            (("bbn-ig-ps103-a:if0",), "mesoscale-openflow"),
            (("bbn-ig-ps103-b:if0",), "mesoscale-openflow")])
        # What is stored for the manifest uses the right namespace.
        self.assertIn('xmlns="http://www.geni.net/resources/rspec/3"', a.xml)
        self.assertNotIn("geni.net/resource/rspec", a.xml)
        self.assertIn("link_shared_vlan", r.links[0].xml)
        # The source is kept as received; the limit applies to what was sent.
        self.assertEqual(r.source, raw.decode("utf-8"))
        self.assertEqual(len(parse_request(raw, max_bytes=len(raw)).nodes), 2)

    def test_geni_lib3_scaleup_sharedvlan_1am(self):
        r = parse("geni-lib3_scaleup_sharedvlan-1am.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["rt-1", "rt-2", "rt-3"])
        self.assertEqual([len(n.interfaces) for n in r.nodes], [3, 5, 3])
        rt1 = r.nodes[0]
        self.assertEqual((rt1.cores, rt1.memory_mb), (1, 256))  # from <emulab:xen>
        self.assertEqual(rt1.disk_image.url, rt1.disk_image.name)
        self.assertTrue(rt1.disk_image.url.startswith("https://www.instageni.clemson.edu/"))
        self.assertEqual(rt1.extensions[0].name, "xen")
        self.assertEqual(rt1.extensions[0].get("disk"), "8")
        self.assertEqual(len(rt1.services.installs), 5)
        self.assertEqual(len(rt1.services.executes), 3)
        links = {l.client_id: l for l in r.links}
        self.assertEqual(sorted(links), ["lan0", "lan1", "lan2", "lan3", "lan4"])
        self.assertEqual(links["lan2"].interface_refs, ("rt-1:if2", "rt-2:if3", "rt-3:if2"))
        self.assertEqual(links["lan3"].shared_vlan, "my_shared_vlan")
        self.assertEqual(links["lan4"].shared_vlan, "my_other_vlan")
        self.assertIsNone(links["lan0"].shared_vlan)
        self.assertEqual({l.link_type for l in r.links}, {"lan"})
        self.assertEqual(r.node_of_interface("rt-2:if5"), "rt-2")

    def test_geni_lib3_scaleup_single_lan10(self):
        r = parse("geni-lib3_scaleup_single-lan10.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["rt-%d" % i for i in range(1, 11)])
        self.assertEqual([n.interfaces[0].ips[0].address for n in r.nodes],
                         ["192.168.1.%d" % i for i in range(1, 11)])
        (link,) = r.links
        self.assertEqual(link.interface_refs, tuple("rt-%d:if1" % i for i in range(1, 11)))
        self.assertEqual(link.link_type, "lan")
        self.assertEqual(link.properties, ())

    def test_geni_pisces_request_rspec(self):
        r = parse("geni-pisces_request-rspec.xml")
        vm2, vm1, middle = r.nodes
        self.assertFalse(vm1.bound)
        self.assertFalse(vm2.bound)
        self.assertFalse(vm1.services)  # an empty <services/>
        self.assertTrue(middle.bound)
        self.assertEqual(middle.component_id, "INSERT PC COMPONENT ID")
        self.assertEqual(middle.hardware_type, "pc")
        self.assertEqual(middle.sliver_type, "raw-pc")
        self.assertEqual([i.component_id for i in middle.interfaces],
                         ["INSERT INTERFACE COMPONENT ID 1", "INSERT INTERFACE COMPONENT ID 2"])
        self.assertEqual([l.interface_refs for l in r.links],
                         [("interface-0", "interface-1"), ("interface-2", "interface-3")])
        # Refused by gam: 'middle' has no component_manager_id, so it is ours,
        # and its component_id is a template placeholder, not a node URN.
        exc = self.assertRaises(BadArgs, r.for_aggregate, support.GAM_CM)
        self.assertIn("'middle'", exc.message)
        self.assertIn("INSERT PC COMPONENT ID", exc.message)
        self.assertIn("remove it to let the aggregate choose", exc.message)

    def test_geni_rspecs_apt_centos_71(self):
        r = parse("geni-rspecs_apt-centos-71.xml")
        (node,) = r.nodes
        self.assertEqual(node.client_id, "genilib")
        self.assertEqual(node.sliver_type, "default-vm")
        self.assertEqual((node.cores, node.memory_mb), (4, 4096))
        self.assertEqual(node.disk_image.name,
                         "urn:publicid:IDN+apt.emulab.net+image+emulab-ops:CENTOS71-64-STD")
        self.assertIsNone(node.disk_image.url)
        self.assertEqual(r.for_aggregate(support.GAM_CM).skipped_nodes, ("genilib",))

    def test_geni_tools_accept_request(self):
        r = parse("geni-tools_accept_request.xml")
        (node,) = r.nodes
        self.assertEqual(node.client_id, "ch")
        self.assertEqual(node.component_id, "urn:publicid:IDN+utahddc.geniracks.net+node+pc3")
        self.assertEqual(node.component_manager_id,
                         "urn:publicid:IDN+utahddc.geniracks.net+authority+cm")
        self.assertIs(node.exclusive, False)
        self.assertEqual(node.sliver_type, "emulab-xen")
        # At the aggregate it names, the node is kept (bound to one of its nodes).
        there = r.for_aggregate("urn:publicid:IDN+utahddc.geniracks.net+authority+cm")
        self.assertEqual([n.client_id for n in there.nodes], ["ch"])

    def test_geni_tools_amapi2_request(self):
        r = parse("geni-tools_amapi2-request.xml")
        (node,) = r.nodes
        self.assertEqual(node.client_id, "foo")
        self.assertIsNone(node.sliver_type)
        self.assertIsNone(node.exclusive)
        self.assertEqual(node.interfaces, ())
        self.assertEqual(r.links, ())
        self.assertEqual(len(r.for_aggregate(support.GAM_CM).nodes), 1)

    def test_geni_tools_gib_install_example(self):
        r = parse("geni-tools_gib_install-example.xml")
        left, right = r.nodes
        self.assertIs(left.exclusive, True)
        self.assertEqual(left.sliver_type, "raw-pc")
        self.assertEqual((left.disk_image.os, left.disk_image.version), ("Linux", "10"))
        self.assertEqual(left.services.installs[0].install_path, "/local")
        self.assertEqual(left.services.executes[0].command,
                         "/local/example-script1.sh?format=raw")
        self.assertEqual(right.interfaces[0].client_id, "right:if2")
        (link,) = r.links
        self.assertEqual(link.link_type, "lan")
        self.assertEqual([(p.source_id, p.dest_id, p.capacity_kbps) for p in link.properties],
                         [("left:if2", "right:if2", None), ("right:if2", "left:if2", None)])
        self.assertEqual(link.component_managers,
                         ("urn:publicid:IDN+pgeni.gpolab.bbn.com+authority+cm",))

    def test_geni_tools_gib_three_nodes_lan(self):
        r = parse("geni-tools_gib_three-nodes-lan.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["left", "right", "middle"])
        (link,) = r.links
        self.assertEqual(link.interface_refs, ("left:if0", "right:if0", "middle:if0"))
        self.assertEqual(len(link.properties), 6)
        self.assertEqual(r.nodes[0].disk_image.version, "Ubuntu10.04")

    def test_geni_tools_gib_two_nodes_iperf(self):
        r = parse("geni-tools_gib_two-nodes-iperf.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["left", "right"])
        self.assertEqual(r.nodes[0].services.installs[0].url,
                         "http://groups.geni.net/geni/attachment/wiki/GiB-gettingStarted/"
                         "iperf-script.tar.gz?format=raw")
        self.assertEqual(r.links[0].interface_refs, ("left:if0", "right:if0"))

    def test_geni_tools_stitch_request_pg_ig_utah(self):
        r = parse("geni-tools_stitch_request-pg-ig-utah.xml")
        self.assertEqual([n.client_id for n in r.nodes], ["pg-utah", "ig-utah"])
        self.assertEqual(r.nodes[1].interfaces[0].ips[0].address, "10.20.2.2")
        # Seen from one of the two aggregates: one node here, the other skipped,
        # and the link reaches across to the other aggregate.
        emulab = r.for_aggregate(EMULAB_CM)
        self.assertEqual([n.client_id for n in emulab.nodes], ["pg-utah"])
        self.assertEqual(emulab.skipped_nodes, ("ig-utah",))
        (link,) = emulab.links
        self.assertEqual(emulab.remote_interface_refs(link), ("ig-utah:if1",))
        self.assertEqual(len(link.component_managers), 2)

    def test_gram_two_nodes(self):
        r = parse("gram_two-nodes.xml")
        self.assertEqual([n.sliver_type for n in r.nodes], ["m1.small", "m1.small"])
        image = r.nodes[0].disk_image
        self.assertEqual((image.name, image.url, image.version), ("ubuntu-12.04", None, "10"))
        self.assertEqual(len(r.links[0].properties), 2)

    def test_orca5_exogeni_two_node_unc(self):
        r = parse("orca5_exogeni_two-node-unc.xml")
        geni1, geni2 = r.nodes
        # <ip> without type: taken from the address
        self.assertEqual(geni1.interfaces[0].ips, (IP("172.16.22.1", "255.255.255.0", "ipv4"),))
        self.assertEqual(geni1.disk_image.url,
                         "http://geni-images.renci.org/images/standard/debian/deb6-neuca-v1.0.7.xml")
        self.assertEqual(geni1.disk_image.version, "ba15fa6f56cc00d354e505259b9cb3804e1bcb73")
        (link,) = r.links
        self.assertEqual(link.client_id, "center")
        self.assertEqual(link.interface_refs, ("geni1:0", "geni2:0"))
        self.assertIsNone(link.link_type)


class NotRequestExamplesTests(unittest.SynchronousTestCase):
    """Manifests and advertisements sent as requests are refused."""

    def test_manifests_and_ads_are_refused(self):
        for kind in ("manifest", "ad"):
            for name in support.names(kind):
                exc = self.assertRaises(BadArgs, parse_request, support.read(kind, name))
                self.assertIn("not a request", exc.message, name)
                self.assertEqual(exc.reason, "not-a-request")

    def test_omni_acceptance_bad_request(self):
        # omni's acceptance tests submit this manifest as a request and expect failure.
        exc = self.assertRaises(BadArgs, parse_request, support.read(
            "manifest", "geni-tools_accept_bad-used-as-request.xml"))
        self.assertIn('type="manifest"', exc.message)
        self.assertEqual(exc.geni_code, 1)
