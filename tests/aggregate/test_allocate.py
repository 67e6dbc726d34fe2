"""Allocate through the delegate: placement, refusals, times, all or nothing."""
from datetime import timedelta

from lxml import etree
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from gam.errors import (
    AlreadyExists, BadArgs, GeniCode, InsufficientNodes, OutOfRange, Refused, Unsupported)
from gam.inventory import Inventory
from gam.rspec.advertisement import build_advertisement
from gam.rspec.validation import schema_errors
from gam.schedule import thd_usage

from tests.aggregate.support import (
    AM_URN, CM, T0, AggregateMixin, auth, link, node, node_urn, rspec, slice_urn)
from tests.db.support import SQLiteBackend

NS = {"r": "http://www.geni.net/resources/rspec/3"}


def parse(manifest):
    return etree.fromstring(manifest.encode("utf-8"))


class AllocateTests(AggregateMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_bound_node(self):
        result = yield self.allocate(node("n1", host="node2", interfaces=[("n1:if0", None)]))
        [info] = result["geni_slivers"]
        self.assertTrue(info["geni_sliver_urn"].startswith("urn:publicid:IDN+gam.localhost+sliver+"))
        self.assertEqual(info["geni_allocation_status"], "geni_allocated")
        self.assertEqual(info["geni_operational_status"], "geni_pending_allocation")
        self.assertEqual(info["geni_expires"], T0 + timedelta(minutes=10))
        self.assertEqual(info["geni_error"], "")
        tree = parse(result["geni_rspec"])
        self.assertEqual(tree.get("type"), "manifest")
        self.assertEqual(schema_errors(etree.ElementTree(tree), "manifest"), [])
        [n] = tree.findall("r:node", NS)
        self.assertEqual(n.get("sliver_id"), info["geni_sliver_urn"])
        self.assertEqual(n.get("component_id"), node_urn("node2"))
        self.assertEqual(n.get("component_manager_id"), CM)
        self.assertEqual(n.find("r:sliver_type", NS).get("name"), "default-vm")
        self.assertEqual(n.find("r:sliver_type/r:disk_image", NS).get("name"),
                         "urn:publicid:IDN+gam.localhost+image+UBUNTU22-64-STD")
        # The interface is named exactly as the advertisement names it:
        # clients match the two as text.
        ad = etree.fromstring(build_advertisement(self.inventory).encode())
        advertised = ad.xpath("r:node[@component_name='node2']/r:interface/@component_id",
                              namespaces=NS)
        self.assertEqual(advertised, [n.find("r:interface", NS).get("component_id")])
        self.assertEqual(advertised, ["urn:publicid:IDN+gam.localhost+interface+node2:if0"])
        usage = yield self.db.read(thd_usage, "cores:node2", T0)
        self.assertEqual(usage.used, 1)

    @defer.inlineCallbacks
    def test_sliver_urns_are_unique_and_of_the_am(self):
        first = yield self.allocate(node("a"), node("b"))
        second = yield self.allocate(node("a"), name="other")
        urns = [s["geni_sliver_urn"] for r in (first, second) for s in r["geni_slivers"]]
        self.assertEqual(len(set(urns)), 3)
        authority = AM_URN.split("+")[1]
        self.assertTrue(all(u.split("+")[1] == authority for u in urns))

    @defer.inlineCallbacks
    def test_unbound_nodes_fill_hosts(self):
        # 4 hosts of 4 cores: sixteen 1-core VMs fit, the seventeenth does not.
        names = [f"vm{i}" for i in range(16)]
        result = yield self.allocate(*[node(n) for n in names])
        hosts = [n.get("component_id") for n in parse(result["geni_rspec"]).findall("r:node", NS)]
        self.assertEqual(sorted(set(hosts)), [node_urn(f"node{i}") for i in range(1, 5)])
        err = yield self.failure_of(self.allocate(node("one-more"), name="other"))
        self.assertIsInstance(err, InsufficientNodes)
        self.assertEqual(err.geni_code, GeniCode.INSUFFICIENT_NODES)
        self.assertIn("one-more", err.message)

    @defer.inlineCallbacks
    def test_exclusive_and_shared_conflict(self):
        yield self.allocate(node("vm", host="node1"))
        err = yield self.failure_of(self.allocate(
            node("pc", host="node1", sliver_type="raw-pc"), name="other"))
        self.assertIsInstance(err, Refused)
        self.assertIn("'pc'", err.message)
        self.assertIn("node1", err.message)
        # the other way round
        yield self.allocate(node("pc", host="node2", sliver_type="raw-pc"), name="third")
        err = yield self.failure_of(self.allocate(node("vm", host="node2"), name="fourth"))
        self.assertIsInstance(err, Refused)

    @defer.inlineCallbacks
    def test_exclusive_unbound_takes_a_whole_free_host(self):
        yield self.allocate(node("vm", host="node1"))
        result = yield self.allocate(node("pc", exclusive=True), name="other")
        [n] = parse(result["geni_rspec"]).findall("r:node", NS)
        self.assertEqual(n.get("component_id"), node_urn("node2"))
        self.assertEqual(n.find("r:sliver_type", NS).get("name"), "raw-pc")
        self.assertEqual(n.get("exclusive"), "true")

    @defer.inlineCallbacks
    def test_all_or_nothing(self):
        yield self.allocate(node("taken", host="node3", sliver_type="raw-pc"))
        err = yield self.failure_of(self.allocate(
            node("ok", host="node1"), node("clash", host="node3"), name="other"))
        self.assertIsInstance(err, Refused)
        usage = yield self.db.read(thd_usage, "cores:node1", T0)
        self.assertEqual(usage.used, 0)
        failed = yield self.failure_of(self.call("status", auth(), slice_urn("other"), None, {}))
        self.assertEqual(failed.geni_code, GeniCode.SEARCHFAILED)

    @defer.inlineCallbacks
    def test_links_get_distinct_vlan_tags(self):
        result = yield self.allocate(
            node("a", interfaces=[("a:0", "10.0.0.1"), ("a:1", "10.0.1.1")]),
            node("b", interfaces=[("b:0", "10.0.0.2")]),
            node("c", interfaces=[("c:0", "10.0.1.2")]),
            link("ab", "a:0", "b:0"), link("ac", "a:1", "c:0"))
        links = parse(result["geni_rspec"]).findall("r:link", NS)
        self.assertEqual(sorted(int(lk.get("vlantag")) for lk in links), [1000, 1001])
        self.assertEqual(len(result["geni_slivers"]), 5)

    @defer.inlineCallbacks
    def test_refusals_of_what_the_inventory_cannot_do(self):
        cases = [
            (node("x", sliver_type="xo.large"), BadArgs, "xo.large"),
            (node("x", image="urn:publicid:IDN+emulab.net+image+WINDOWS"), BadArgs, "WINDOWS"),
            (node("x", host="node99"), BadArgs, "node99"),
            (node("x", sliver_type="default-vm", exclusive=True), BadArgs, "exclusive"),
            (node("x", cores=64), InsufficientNodes, "64 cores"),
            (node("x", hardware="gpu"), InsufficientNodes, "gpu"),
            (node("x", cm="urn:publicid:IDN+other.net+authority+cm"), BadArgs, "nothing"),
        ]
        for element, kind, text in cases:
            err = yield self.failure_of(self.allocate(element))
            self.assertIsInstance(err, kind, element)
            self.assertIn(text, err.message)

    @defer.inlineCallbacks
    def test_link_refusals(self):
        a = node("a", interfaces=[("a:0", None)])
        b = node("b", interfaces=[("b:0", None)])
        err = yield self.failure_of(self.allocate(a, b, link("l", "a:0", "b:0", latency=20)))
        self.assertIsInstance(err, Unsupported)
        self.assertIn("latency", err.message)
        err = yield self.failure_of(self.allocate(a, b, link("l", "a:0", "b:0",
                                                             capacity=10_000_000)))
        self.assertIsInstance(err, BadArgs)
        self.assertIn("1000000", err.message)
        err = yield self.failure_of(self.allocate(a, b, link("l", "a:0", "b:0",
                                                             link_type="gre-tunnel")))
        self.assertIsInstance(err, Unsupported)
        remote = node("r", interfaces=[("r:0", None)], cm="urn:publicid:IDN+other.net+authority+cm")
        err = yield self.failure_of(self.allocate(a, remote, link("l", "a:0", "r:0")))
        self.assertIsInstance(err, Unsupported)
        self.assertIn("other aggregates", err.message)

    @defer.inlineCallbacks
    def test_bad_rspec_is_badargs(self):
        err = yield self.failure_of(self.call("allocate", auth(), slice_urn(), "<rspec", {}))
        self.assertEqual(err.geni_code, GeniCode.BADARGS)

    @defer.inlineCallbacks
    def test_client_ids_unique_in_the_slice(self):
        yield self.allocate(node("n1"))
        err = yield self.failure_of(self.allocate(node("n1")))
        self.assertIsInstance(err, AlreadyExists)
        yield self.allocate(node("n2"))          # another name is fine (geni_many)
        got = yield self.status()
        self.assertEqual(len(got), 2)

    @defer.inlineCallbacks
    def test_future_reservation(self):
        start = T0 + timedelta(days=2)
        options = {"geni_start_time": start, "geni_end_time": start + timedelta(hours=3)}
        result = yield self.allocate(node("pc", host="node1", sliver_type="raw-pc"),
                                     options=options, expires=T0 + timedelta(days=5))
        [info] = result["geni_slivers"]
        self.assertEqual(info["geni_expires"], start + timedelta(minutes=10))
        # free now, busy during the reservation
        other = yield self.allocate(node("now", host="node1", sliver_type="raw-pc"),
                                    name="other", options={
                                        "geni_end_time": T0 + timedelta(hours=1)})
        self.assertEqual(len(other["geni_slivers"]), 1)
        err = yield self.failure_of(self.allocate(
            node("then", host="node1"), name="third", expires=T0 + timedelta(days=5),
            options={"geni_start_time": start + timedelta(hours=1)}))
        self.assertIsInstance(err, Refused)
        # provisioning before the start is refused, saying when
        err = yield self.failure_of(self.call("provision", auth(T0 + timedelta(days=5)),
                                              slice_urn(), None, {}))
        self.assertIsInstance(err, Refused)
        self.assertIn("starts at", err.message)

    @defer.inlineCallbacks
    def test_nothing_outlives_the_credential(self):
        short = T0 + timedelta(minutes=4)
        result = yield self.allocate(node("n"), expires=short)
        self.assertEqual(result["geni_slivers"][0]["geni_expires"], short)
        err = yield self.failure_of(self.allocate(
            node("later"), name="other", expires=short,
            options={"geni_start_time": T0 + timedelta(hours=1)}))
        self.assertIsInstance(err, OutOfRange)

    @defer.inlineCallbacks
    def test_end_before_start(self):
        err = yield self.failure_of(self.allocate(node("n"), options={
            "geni_end_time": T0 - timedelta(hours=1)}))
        self.assertIsInstance(err, BadArgs)
        self.assertIn("geni_end_time", err.message)


class InventoryTests(AggregateMixin, SQLiteBackend, TestCase):
    inventory = Inventory.from_dict({
        "authority": "gam.localhost",
        "hosts": [{"name": "big", "cores": 8, "memory_mb": 4096, "hardware_type": "d430"},
                  {"name": "small", "cores": 2, "memory_mb": 2048}],
        "links": {"vlan_tags": "7-8", "max_capacity_kbps": 100000, "latency": True},
    })

    @defer.inlineCallbacks
    def test_hardware_type_and_cores(self):
        result = yield self.allocate(node("n", hardware="d430"))
        self.assertIn(node_urn("big"), result["geni_rspec"])
        result = yield self.allocate(node("m", cores=3), name="other")
        self.assertIn(node_urn("big"), result["geni_rspec"])
        err = yield self.failure_of(self.allocate(node("x", host="small", cores=3),
                                                  name="third"))
        self.assertIsInstance(err, BadArgs)

    @defer.inlineCallbacks
    def test_latency_allowed_and_vlans_run_out(self):
        nodes = [node(f"n{i}", interfaces=[(f"n{i}:0", None)]) for i in range(6)]
        yield self.allocate(*nodes[:2], link("l1", "n0:0", "n1:0", latency=5))
        yield self.allocate(*nodes[2:4], link("l2", "n2:0", "n3:0"), name="b")
        err = yield self.failure_of(self.allocate(*nodes[4:], link("l3", "n4:0", "n5:0"),
                                                  name="c"))
        self.assertEqual(err.geni_code, GeniCode.VLAN_UNAVAILABLE)
        self.assertIn("'l3'", err.message)

    @defer.inlineCallbacks
    def test_bandwidth_is_booked_per_host(self):
        a = node("a", host="big", interfaces=[("a:0", None)])
        b = node("b", host="small", interfaces=[("b:0", None)])
        yield self.allocate(a, b, link("l", "a:0", "b:0", capacity=60000))
        c = node("c", host="big", interfaces=[("c:0", None)])
        d = node("d", host="small", interfaces=[("d:0", None)])
        err = yield self.failure_of(self.allocate(c, d, link("m", "c:0", "d:0", capacity=60000),
                                                  name="other"))
        self.assertEqual(err.geni_code, GeniCode.INSUFFICIENT_BANDWIDTH)
        # without a capacity (or inside one host) no bandwidth is booked
        yield self.allocate(c, d, link("m", "c:0", "d:0"), name="other")

    def test_rspec_helper_is_valid(self):
        from gam.rspec import parse_request
        request = parse_request(rspec(node("x", host="big", cores=2,
                                           interfaces=[("x:0", "10.1.1.1")])))
        self.assertEqual(request.nodes[0].cores, 2)
