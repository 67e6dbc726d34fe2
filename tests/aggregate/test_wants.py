"""A request checked against the inventory, before any booking (gam.aggregate.wants)."""
from twisted.trial.unittest import SynchronousTestCase

from gam.aggregate.wants import check_request
from gam.errors import BadArgs, InsufficientNodes, Unsupported
from gam.inventory import Inventory
from gam.rspec import parse_request

from tests.aggregate.support import CM, link, node, rspec

INVENTORY = Inventory.from_dict({
    "authority": "gam.localhost",
    "disk_images": [{"name": "UBUNTU22-64-STD"}, {"name": "DEBIAN12"}],
    "sliver_types": [{"name": "vm", "cores": 2, "memory_mb": 2048,
                      "disk_images": ["UBUNTU22-64-STD"]},
                     {"name": "pc", "exclusive": True}],
    "default_sliver_type": "vm",
    "hosts": [{"name": "a", "cores": 4}, {"name": "b", "cores": 16, "hardware_type": "big",
                                          "sliver_types": ["pc"]}],
})


def check(*elements):
    return check_request(parse_request(rspec(*elements), component_manager_id=CM), INVENTORY)


class NodeTests(SynchronousTestCase):
    def test_defaults(self):
        [want], links = check(node("n"))
        self.assertEqual((want.sliver_type.name, want.exclusive, want.cores, want.memory_mb),
                         ("vm", False, 2, 2048))
        self.assertEqual(want.image.name, "UBUNTU22-64-STD")
        self.assertIsNone(want.host)
        self.assertEqual([h.name for h in want.candidates], ["a"])
        self.assertEqual(links, ())

    def test_exclusive_picks_an_exclusive_type(self):
        [want], _ = check(node("n", exclusive=True))
        self.assertEqual(want.sliver_type.name, "pc")
        self.assertEqual([h.name for h in want.candidates], ["a", "b"])

    def test_image_by_short_name_or_urn(self):
        [want], _ = check(node("n", sliver_type="vm", image="UBUNTU22-64-STD"))
        self.assertEqual(want.image.urn, "urn:publicid:IDN+gam.localhost+image+UBUNTU22-64-STD")
        [want], _ = check(node("n", sliver_type="pc",
                               image="urn:publicid:IDN+gam.localhost+image+DEBIAN12"))
        self.assertEqual(want.image.name, "DEBIAN12")

    def test_image_not_for_this_type(self):
        with self.assertRaises(BadArgs) as caught:
            check(node("n", sliver_type="vm", image="DEBIAN12"))
        self.assertIn("cannot boot sliver type 'vm'", str(caught.exception))

    def test_bound_host_must_offer_the_type(self):
        with self.assertRaises(BadArgs) as caught:
            check(node("n", host="b"))
        self.assertIn("does not offer sliver type 'vm'", str(caught.exception))

    def test_unbound_filtered_by_hardware(self):
        [want], _ = check(node("n", exclusive=True, hardware="big"))
        self.assertEqual([h.name for h in want.candidates], ["b"])
        with self.assertRaises(InsufficientNodes):
            check(node("n", hardware="big"))

    def test_cores_from_the_emulab_extension(self):
        [want], _ = check(node("n", sliver_type="vm", cores=3))
        self.assertEqual(want.cores, 3)
        with self.assertRaises(InsufficientNodes):
            check(node("n", sliver_type="vm", cores=5))

    def test_nothing_for_us(self):
        with self.assertRaises(BadArgs) as caught:
            check(node("n", cm="urn:publicid:IDN+elsewhere.net+authority+cm"))
        self.assertIn(CM, str(caught.exception))


class LinkTests(SynchronousTestCase):
    def test_ends_and_addresses(self):
        _, [want] = check(node("x", interfaces=[("x:0", "10.0.0.1")]),
                          node("y", interfaces=[("y:0", None)]),
                          link("l", "x:0", "y:0", capacity=1000))
        self.assertEqual([(e.node_client_id, e.interface_client_id, e.address)
                          for e in want.ends], [("x", "x:0", "10.0.0.1"), ("y", "y:0", None)])
        self.assertEqual(want.capacity_kbps, 1000)

    def test_shared_vlan_unsupported(self):
        doc = rspec(node("x", interfaces=[("x:0", None)]), node("y", interfaces=[("y:0", None)]),
                    '<link client_id="l"><interface_ref client_id="x:0"/>'
                    '<interface_ref client_id="y:0"/>'
                    '<sv:link_shared_vlan xmlns:sv="http://www.geni.net/resources/rspec/ext/'
                    'shared-vlan/1" name="mesoscale"/></link>')
        with self.assertRaises(Unsupported) as caught:
            check_request(parse_request(doc, component_manager_id=CM), INVENTORY)
        self.assertIn("mesoscale", str(caught.exception))
