"""thd_define_resources: idempotent sync of the inventory."""
from twisted.trial.unittest import SynchronousTestCase

from gam.errors import ConfigError, Refused
from gam.schedule import (
    Pool, Resource, ResourceSpec, SyncResult, VlanTag, thd_define_resources,
    thd_get_resource, thd_list_resources, thd_reserve)

from tests.db.support import EngineMixin, PostgresBackend, SQLiteBackend
from tests.schedule.support import INVENTORY, h


class InventoryTestsMixin(EngineMixin):
    def define(self, specs):
        return self.tx(thd_define_resources, specs)

    def test_define_then_again_is_a_no_op(self):
        first = self.define(INVENTORY)
        self.assertEqual(first.added, ("bw", "cores", "host1", "host2", "vlans"))
        self.assertEqual(self.define(INVENTORY), SyncResult())
        self.assertEqual(self.tx(thd_get_resource, "vlans"),
                         Resource("vlans", "vlan", 3, None, ((100, 102),), False))
        self.assertEqual(self.tx(thd_get_resource, "host1").capacity, 1)

    def test_capacity_change_applies_to_new_bookings(self):
        self.define(INVENTORY)
        self.tx(thd_reserve, "a", [Pool("cores", 8)], h(0), h(1))
        specs = [s for s in INVENTORY if s.name != "cores"]
        specs.append(ResourceSpec("cores", "pool", 5, "cores"))
        self.assertEqual(self.define(specs).changed, ("cores",))
        self.assertEqual(self.tx(thd_get_resource, "cores").capacity, 5)
        self.assertRaises(Refused, self.tx, thd_reserve, "b", [Pool("cores", 1)], h(0), h(1))
        self.tx(thd_reserve, "c", [Pool("cores", 5)], h(1), h(2))

    def test_vlan_ranges_change(self):
        self.define(INVENTORY)
        specs = [s for s in INVENTORY if s.name != "vlans"]
        specs.append(ResourceSpec("vlans", "vlan", ranges=((200, 201),)))
        self.define(specs)
        got = self.tx(thd_reserve, "a", [VlanTag("vlans")], h(0), h(1))
        self.assertEqual(got[0].tag, 200)

    def test_retire_and_return(self):
        self.define(INVENTORY)
        result = self.define(INVENTORY[1:])
        self.assertEqual(result.retired, ("host1",))
        self.assertTrue(self.tx(thd_get_resource, "host1").retired)
        names = [r.name for r in self.tx(thd_list_resources)]
        self.assertNotIn("host1", names)
        self.assertIn("host1", [r.name for r in self.tx(thd_list_resources,
                                                         include_retired=True)])
        self.assertEqual([r.name for r in self.tx(thd_list_resources, "pool")], ["bw", "cores"])
        self.assertEqual(self.define(INVENTORY).changed, ("host1",))
        self.assertFalse(self.tx(thd_get_resource, "host1").retired)

    def test_kind_change(self):
        self.define(INVENTORY)
        specs = [s for s in INVENTORY if s.name != "host1"]
        self.define(specs + [ResourceSpec("host1", "pool", 4)])   # no reservations: fine
        self.tx(thd_reserve, "a", [Pool("host1", 1)], h(0), h(1))
        err = self.assertRaises(ConfigError, self.define, specs + [ResourceSpec("host1", "bounded")])
        self.assertIn("host1", str(err))
        self.assertIn("reservations", str(err))

    def test_bad_specs(self):
        bad = [
            [ResourceSpec("x", "cloud")],
            [ResourceSpec("x", "bounded", capacity=2)],
            [ResourceSpec("x", "pool")],
            [ResourceSpec("x", "pool", capacity=-1)],
            [ResourceSpec("x", "vlan")],
            [ResourceSpec("x", "vlan", ranges=((0, 5000),))],
            [ResourceSpec("x", "vlan", capacity=7, ranges=((1, 2),))],
            [ResourceSpec("", "bounded")],
            [ResourceSpec("x", "bounded"), ResourceSpec("x", "bounded")],
        ]
        for specs in bad:
            err = self.assertRaises(ConfigError, self.define, specs)
            self.assertTrue(str(err))
        self.assertEqual(self.tx(thd_list_resources, include_retired=True), ())


class SQLiteInventoryTests(SQLiteBackend, InventoryTestsMixin, SynchronousTestCase):
    pass


class PostgresInventoryTests(PostgresBackend, InventoryTestsMixin, SynchronousTestCase):
    pass
