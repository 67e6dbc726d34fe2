"""gam.inventory: defaults, loading from config, errors that name the key."""
from twisted.trial import unittest

from gam.errors import ConfigError
from gam.inventory import Inventory, LinkCapabilities


def full_config():
    return {
        "authority": "testbed.example",
        "default_sliver_type": "namespace",
        "disk_images": [
            {"name": "UBUNTU22-64-STD", "os": "Linux", "version": 22.04,
             "description": "Ubuntu"},
            {"name": "urn:publicid:IDN+images.example+image+DEBIAN12", "os": "Linux"},
        ],
        "sliver_types": [
            {"name": "namespace", "cores": 2, "memory_mb": 512,
             "disk_images": ["UBUNTU22-64-STD"]},
            {"name": "raw-pc", "exclusive": True,
             "default_image": "urn:publicid:IDN+images.example+image+DEBIAN12"},
        ],
        "hosts": [
            {"name": "alpha", "cores": 16, "memory_mb": 65536, "hardware_type": "d430"},
            {"name": "beta", "sliver_types": ["namespace"]},
            {"name": "gamma", "cores": 8},
        ],
        "links": {"vlan_tags": "3000-3099, 100", "max_capacity_kbps": 10_000_000,
                  "latency": True},
    }


class DefaultTests(unittest.SynchronousTestCase):
    def test_default_inventory(self):
        inv = Inventory.default()
        self.assertEqual(inv.authority, "gam.localhost")
        self.assertEqual(inv.component_manager_id, "urn:publicid:IDN+gam.localhost+authority+cm")
        self.assertEqual([h.name for h in inv.hosts], ["node1", "node2", "node3", "node4"])
        self.assertEqual(inv.hosts[2].component_id, "urn:publicid:IDN+gam.localhost+node+node3")
        self.assertEqual([t.name for t in inv.sliver_types], ["default-vm", "emulab-xen", "raw-pc"])
        self.assertFalse(inv.sliver_type("default-vm").exclusive)
        self.assertEqual(inv.sliver_type("default-vm").cores, 1)
        self.assertTrue(inv.sliver_type("raw-pc").exclusive)
        self.assertIsNone(inv.sliver_type("raw-pc").memory_mb)
        self.assertEqual(inv.default_sliver_type, "default-vm")
        self.assertEqual(inv.links, LinkCapabilities(((1000, 1999),), 1_000_000, False, False))
        self.assertFalse(inv.links.latency)
        self.assertFalse(inv.links.packet_loss)

    def test_empty_config_gives_the_default(self):
        self.assertEqual(Inventory.from_dict(None), Inventory.default())
        self.assertEqual(Inventory.from_dict({}), Inventory.default())

    def test_generate(self):
        inv = Inventory.generate(2500, authority="big.example")
        self.assertEqual(len(inv.hosts), 2500)
        self.assertEqual(inv.hosts[-1].name, "node2500")
        self.assertIs(inv.host("node1234"), inv.hosts[1233])
        self.assertIs(inv.host_by_component_id("urn:publicid:IDN+BIG.example+node+node7"),
                      inv.hosts[6])
        self.assertEqual(len(inv.hosts_offering("raw-pc")), 2500)
        self.assertRaises(ValueError, Inventory.generate, 0)

    def test_disk_image_lookup(self):
        inv = Inventory.default()
        image = inv.disk_image("UBUNTU22-64-STD")
        self.assertEqual(image.urn, "urn:publicid:IDN+gam.localhost+image+UBUNTU22-64-STD")
        self.assertIs(inv.disk_image("urn:publicid:IDN+GAM.localhost+image+UBUNTU22-64-STD"),
                      image)
        self.assertIsNone(inv.disk_image("urn:publicid:IDN+emulab.net+image+UBUNTU22-64-STD"))
        self.assertIsNone(inv.disk_image("WINDOWS"))


class LoadTests(unittest.SynchronousTestCase):
    def test_full_config(self):
        inv = Inventory.from_dict(full_config())
        self.assertEqual(inv.component_manager_id,
                         "urn:publicid:IDN+testbed.example+authority+cm")
        alpha, beta, gamma = inv.hosts
        self.assertEqual((alpha.cores, alpha.memory_mb, alpha.hardware_type),
                         (16, 65536, "d430"))
        self.assertEqual(alpha.sliver_types, ("namespace", "raw-pc"))
        self.assertEqual(beta.sliver_types, ("namespace",))
        self.assertEqual((gamma.cores, gamma.memory_mb, gamma.hardware_type), (8, 8192, "pc"))
        self.assertTrue(inv.host_is_exclusive(alpha))
        self.assertFalse(inv.host_is_exclusive(beta))
        ns = inv.sliver_type("namespace")
        self.assertEqual((ns.cores, ns.memory_mb, ns.disk_images, ns.default_image),
                         (2, 512, ("UBUNTU22-64-STD",), "UBUNTU22-64-STD"))
        raw = inv.sliver_type("raw-pc")
        self.assertEqual(raw.default_image, "urn:publicid:IDN+images.example+image+DEBIAN12")
        self.assertEqual(len(raw.disk_images), 2)
        self.assertEqual(inv.disk_images[0].version, "22.04")
        self.assertEqual(inv.disk_images[1].urn, inv.disk_images[1].name)
        self.assertEqual(inv.default_sliver_type, "namespace")
        self.assertEqual(inv.links.vlan_tags, ((100, 100), (3000, 3099)))
        self.assertEqual(inv.links.vlan_tag_count, 101)
        self.assertEqual(inv.links.vlan_tags_text, "100,3000-3099")
        self.assertTrue(inv.links.contains_vlan_tag(3050))
        self.assertFalse(inv.links.contains_vlan_tag(101))
        self.assertEqual(list(inv.links.iter_vlan_tags())[:3], [100, 3000, 3001])
        self.assertTrue(inv.links.latency)
        self.assertFalse(inv.links.packet_loss)

    def test_vlan_tags_as_list(self):
        inv = Inventory.from_dict({"links": {"vlan_tags": ["10-19", 30]}})
        self.assertEqual(inv.links.vlan_tags, ((10, 19), (30, 30)))


class ErrorTests(unittest.SynchronousTestCase):
    def assertKey(self, config, key, *fragments, path="etc/gam.yaml"):
        exc = self.assertRaises(ConfigError, Inventory.from_dict, config, path=path)
        self.assertEqual(exc.key, key)
        self.assertEqual(exc.path, path)
        self.assertTrue(str(exc).startswith("%s: %s: " % (path, key)), str(exc))
        for fragment in fragments:
            self.assertIn(fragment, str(exc))

    def edited(self, change):
        config = full_config()
        change(config)
        return config

    def test_host_cores_not_a_number(self):
        self.assertKey(self.edited(lambda c: c["hosts"][2].update(cores="eight")),
                       "inventory.hosts[2].cores", "whole number", "'eight'")

    def test_host_cores_zero_and_boolean(self):
        self.assertKey(self.edited(lambda c: c["hosts"][1].update(cores=0)),
                       "inventory.hosts[1].cores", "at least 1")
        self.assertKey(self.edited(lambda c: c["hosts"][0].update(memory_mb=True)),
                       "inventory.hosts[0].memory_mb", "boolean")

    def test_host_without_name(self):
        self.assertKey(self.edited(lambda c: c["hosts"][1].pop("name")),
                       "inventory.hosts[1].name", "missing")

    def test_duplicate_host(self):
        self.assertKey(self.edited(lambda c: c["hosts"][2].update(name="ALPHA")),
                       "inventory.hosts[2].name", "twice")

    def test_bad_host_name(self):
        self.assertKey(self.edited(lambda c: c["hosts"][0].update(name="al pha")),
                       "inventory.hosts[0].name", "'al pha'")

    def test_unknown_sliver_type_on_host(self):
        self.assertKey(self.edited(lambda c: c["hosts"][1].update(sliver_types=["xen"])),
                       "inventory.hosts[1].sliver_types[0]", "'xen'", "namespace, raw-pc")

    def test_unknown_key(self):
        self.assertKey(self.edited(lambda c: c["hosts"][0].update(core=4)),
                       "inventory.hosts[0].core", "unknown key", "cores")
        self.assertKey({"hostz": []}, "inventory.hostz", "unknown key")

    def test_wrong_shapes(self):
        self.assertKey([], "inventory", "mapping")
        self.assertKey({"hosts": {"name": "a"}}, "inventory.hosts", "must be a list")
        self.assertKey({"hosts": []}, "inventory.hosts", "at least one host")
        self.assertKey({"hosts": ["node1"]}, "inventory.hosts[0]", "mapping")

    def test_bad_authority(self):
        self.assertKey({"authority": "gam localhost"}, "inventory.authority", "authority")
        self.assertKey({"authority": ""}, "inventory.authority", "empty")

    def test_default_sliver_type_unknown(self):
        self.assertKey({"default_sliver_type": "xen"}, "inventory.default_sliver_type", "xen")

    def test_default_image_not_offered(self):
        self.assertKey(self.edited(lambda c: c["sliver_types"][0].update(
            default_image="urn:publicid:IDN+images.example+image+DEBIAN12")),
            "inventory.sliver_types[0].default_image", "not among")

    def test_unknown_image_in_sliver_type(self):
        self.assertKey(self.edited(lambda c: c["sliver_types"][0].update(
            disk_images=["CENTOS"])), "inventory.sliver_types[0].disk_images[0]", "CENTOS")

    def test_exclusive_type_with_cores(self):
        self.assertKey(self.edited(lambda c: c["sliver_types"][1].update(cores=4)),
                       "inventory.sliver_types[1].cores", "whole host")

    def test_exclusive_not_boolean(self):
        self.assertKey(self.edited(lambda c: c["sliver_types"][1].update(exclusive="yes")),
                       "inventory.sliver_types[1].exclusive", "true or false")

    def test_image_urn_of_wrong_type(self):
        self.assertKey({"disk_images": [{"name": "urn:publicid:IDN+x+node+y"}]},
                       "inventory.disk_images[0].name", "not of an image")
        self.assertKey({"disk_images": [{"name": "bad name"}]},
                       "inventory.disk_images[0].name", "neither")

    def test_vlan_tags(self):
        self.assertKey({"links": {"vlan_tags": "1999-1000"}}, "inventory.links.vlan_tags",
                       "1 to 4094")
        self.assertKey({"links": {"vlan_tags": "0-10"}}, "inventory.links.vlan_tags")
        self.assertKey({"links": {"vlan_tags": "1000-5000"}}, "inventory.links.vlan_tags")
        self.assertKey({"links": {"vlan_tags": "ten"}}, "inventory.links.vlan_tags", "'ten'")
        self.assertKey({"links": {"vlan_tags": ["10-20", "15-30"]}},
                       "inventory.links.vlan_tags[1]", "overlaps")
        self.assertKey({"links": {"vlan_tags": []}}, "inventory.links.vlan_tags",
                       "at least one")

    def test_link_flags_and_capacity(self):
        self.assertKey({"links": {"latency": "no"}}, "inventory.links.latency", "true or false")
        self.assertKey({"links": {"packet_loss": 1}}, "inventory.links.packet_loss")
        self.assertKey({"links": {"max_capacity_kbps": 1.5}},
                       "inventory.links.max_capacity_kbps", "whole number")

    def test_path_is_named(self):
        self.assertKey({"hosts": [{"name": "a", "cores": -1}]}, "inventory.hosts[0].cores",
                       path="/etc/gam/site.yaml")
