"""The advertisement: content, availability, opstate, validity, compression."""
import base64
import zlib
from datetime import datetime, timezone

from lxml import etree
from twisted.trial import unittest

from gam.errors import BadArgs
from gam.inventory import Inventory
from gam.rspec import namespaces as ns
from gam.rspec.advertisement import build_advertisement, build_compressed_advertisement
from gam.rspec.compress import compress_rspec, decompress_rspec
from gam.rspec.opstate import next_state
from gam.rspec.validation import validate_document

R = "{%s}" % ns.RSPEC3
OP = "{%s}" % ns.OPSTATE


def tree(document):
    return etree.fromstring(document.encode("utf-8"))


class ContentTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.inv = Inventory.from_dict({
            "sliver_types": [{"name": "default-vm"}, {"name": "raw-pc", "exclusive": True}],
            "hosts": [{"name": "n1", "cores": 8}, {"name": "n2", "sliver_types": ["default-vm"]},
                      {"name": "n3", "hardware_type": "d430"}],
            "links": {"vlan_tags": "1000-1099", "max_capacity_kbps": 100000}})

    def test_validates_against_ad_xsd(self):
        document = build_advertisement(self.inv)
        self.assertEqual(validate_document(document, "advertisement"), [])
        self.assertEqual(validate_document(build_advertisement(Inventory.default()),
                                           "advertisement"), [])

    def test_nodes(self):
        root = tree(build_advertisement(self.inv, now=datetime(2026, 1, 2, 3, 4, 5)))
        self.assertEqual(root.get("type"), "advertisement")
        self.assertEqual(root.get("generated"), "2026-01-02T03:04:05Z")
        nodes = root.findall(R + "node")
        self.assertEqual([n.get("component_name") for n in nodes], ["n1", "n2", "n3"])
        n1, n2, n3 = nodes
        self.assertEqual(n1.get("component_id"), "urn:publicid:IDN+gam.localhost+node+n1")
        self.assertEqual(n1.get("component_manager_id"),
                         "urn:publicid:IDN+gam.localhost+authority+cm")
        self.assertEqual(n1.get("exclusive"), "true")   # offers raw-pc
        self.assertEqual(n2.get("exclusive"), "false")  # only default-vm
        self.assertEqual(n3.find(R + "hardware_type").get("name"), "d430")
        self.assertEqual([s.get("name") for s in n1.findall(R + "sliver_type")],
                         ["default-vm", "raw-pc"])
        self.assertEqual([s.get("name") for s in n2.findall(R + "sliver_type")], ["default-vm"])
        images = n1.find(R + "sliver_type").findall(R + "disk_image")
        self.assertEqual([(i.get("name"), i.get("default")) for i in images], [
            ("urn:publicid:IDN+gam.localhost+image+UBUNTU22-64-STD", "true"),
            ("urn:publicid:IDN+gam.localhost+image+UBUNTU24-64-STD", None)])
        self.assertEqual(images[0].get("os"), "Linux")
        self.assertEqual(images[0].get("version"), "22.04")
        self.assertEqual([n.find(R + "available").get("now") for n in nodes], ["true"] * 3)
        self.assertEqual(n2.find(R + "interface").get("component_id"),
                         "urn:publicid:IDN+gam.localhost+interface+n2:if0")

    def test_lan_link(self):
        root = tree(build_advertisement(self.inv))
        (link,) = root.findall(R + "link")
        self.assertEqual(link.get("component_id"), "urn:publicid:IDN+gam.localhost+link+lan")
        self.assertEqual([t.get("name") for t in link.findall(R + "link_type")], ["lan", "vlan"])
        self.assertEqual(link.find(R + "component_manager").get("name"),
                         self.inv.component_manager_id)
        self.assertEqual([r.get("component_id") for r in link.findall(R + "interface_ref")],
                         ["urn:publicid:IDN+gam.localhost+interface+n%d:if0" % i
                          for i in (1, 2, 3)])
        caps = link.find("{%s}link_capabilities" % ns.GAM_EXT)
        self.assertEqual(dict(caps.attrib), {"max_capacity_kbps": "100000", "latency": "false",
                                             "packet_loss": "false",
                                             "vlan_tags": "1000-1099"})

    def test_availability(self):
        document = build_advertisement(self.inv, available={"n2": False, "n3": True})
        root = tree(document)
        self.assertEqual([n.find(R + "available").get("now") for n in root.iter(R + "node")],
                         ["true", "false", "true"])
        only = tree(build_advertisement(self.inv, available={"n2": False},
                                        available_only=True))
        self.assertEqual([n.get("component_name") for n in only.iter(R + "node")], ["n1", "n3"])
        refs = [r.get("component_id") for r in only.iter(R + "interface_ref")]
        self.assertNotIn("urn:publicid:IDN+gam.localhost+interface+n2:if0", refs)
        self.assertEqual(len(refs), 2)

    def test_opstate(self):
        root = tree(build_advertisement(self.inv))
        machines = root.findall(OP + "rspec_opstate")
        self.assertEqual([m.find(OP + "sliver_type").get("name") for m in machines],
                         ["default-vm", "raw-pc"])
        machine = machines[0]
        self.assertEqual(machine.get("aggregate_manager_id"), self.inv.component_manager_id)
        self.assertEqual(machine.get("start"), "geni_notready")
        states = {s.get("name"): s for s in machine.findall(OP + "state")}
        self.assertEqual(set(states), {"geni_notready", "geni_configuring", "geni_ready",
                                       "geni_failed", "geni_stopping"})

        def actions(state):
            return {a.get("name"): a.get("next") for a in states[state].findall(OP + "action")}

        self.assertEqual(actions("geni_notready"), {"geni_start": "geni_configuring"})
        self.assertEqual(actions("geni_ready"), {"geni_stop": "geni_stopping",
                                                 "geni_restart": "geni_configuring",
                                                 "geni_update_users": "geni_ready"})
        waits = {w.get("type"): w.get("next")
                 for w in states["geni_configuring"].findall(OP + "wait")}
        self.assertEqual(waits, {"geni_success": "geni_ready", "geni_failure": "geni_failed"})
        for state in states.values():
            self.assertTrue(state.findtext(OP + "description"))
        # The same table answers the aggregate's questions.
        self.assertEqual(next_state("geni_ready", "geni_restart"), "geni_configuring")
        self.assertIsNone(next_state("geni_notready", "geni_stop"))

    def test_escaping(self):
        inv = Inventory.from_dict({"disk_images": [
            {"name": "IMG", "description": 'Tom & "Jerry" <v2>'}]})
        document = build_advertisement(inv)
        self.assertEqual(validate_document(document, "advertisement"), [])
        image = tree(document).find(".//%sdisk_image" % R)
        self.assertEqual(image.get("description"), 'Tom & "Jerry" <v2>')

    def test_many_hosts_validate(self):
        document = build_advertisement(Inventory.generate(500),
                                       available={"node%d" % i: False for i in range(1, 500, 2)})
        self.assertEqual(validate_document(document, "advertisement"), [])
        self.assertEqual(document.count('<available now="false"/>'), 250)


class CompressionTests(unittest.SynchronousTestCase):
    def test_round_trip(self):
        inv = Inventory.default()
        now = datetime(2026, 5, 1, tzinfo=timezone.utc)
        plain = build_advertisement(inv, now=now)
        packed = build_compressed_advertisement(inv, now=now)
        self.assertIsInstance(packed, str)
        # Exactly what omni does with it:
        self.assertEqual(zlib.decompress(base64.b64decode(packed)).decode("utf-8"), plain)
        self.assertEqual(decompress_rspec(packed), plain)
        self.assertLess(len(packed), len(plain))

    def test_unicode(self):
        text = "<rspec>caf\xe9</rspec>"
        self.assertEqual(decompress_rspec(compress_rspec(text)), text)

    def test_bad_input(self):
        self.assertRaises(BadArgs, decompress_rspec, "not base64!")
        self.assertRaises(BadArgs, decompress_rspec, base64.b64encode(b"not zlib").decode())

    def test_bomb_bounded(self):
        bomb = compress_rspec(b"\0" * 1_000_000)
        exc = self.assertRaises(BadArgs, decompress_rspec, bomb, max_bytes=10_000)
        self.assertEqual(exc.reason, "too-big")
