"""The whole AM over real TLS with client certificates: every method and the errors."""
import base64
import zlib
from datetime import datetime, timedelta, timezone

from lxml import etree
from twisted.internet import defer

from gam.rfc3339 import format_time
from gam.rspec.validation import schema_errors

from tests.aggregate.support import SSH_KEY, link, node, rspec
from tests.aggregate.tls_support import V3, AMServiceCase

NS = {"r": "http://www.geni.net/resources/rspec/3"}
CM = "urn:publicid:IDN+gam.test+authority+cm"


def doc(*elements):
    return rspec(*elements)


def gnode(client_id, **kwargs):
    kwargs.setdefault("cm", CM)
    if "host" in kwargs:
        kwargs["host"] = f"urn:publicid:IDN+gam.test+node+{kwargs['host']}"
    return node(client_id, **kwargs)


def sliver_urns(value):
    slivers = value["geni_slivers"] if isinstance(value, dict) else value
    return [s["geni_sliver_urn"] for s in slivers]


class VersionAndResourcesTests(AMServiceCase):
    @defer.inlineCallbacks
    def test_get_version(self):
        envelope = yield self.client("GetVersion", {})
        self.assertEqual(envelope["geni_api"], 3)
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(value["geni_api"], 3)
        self.assertEqual(value["geni_api_versions"],
                         {"3": self.url, "2": self.url.replace("/am/3.0", "/am/2.0")})
        self.assertIs(type(value["geni_single_allocation"]), int)
        self.assertEqual(value["geni_single_allocation"], 0)
        self.assertEqual(value["geni_allocate"], "geni_many")
        self.assertIs(value["geni_handles_speaksfor"], True)
        self.assertIn({"geni_type": "geni_abac", "geni_version": "1"},
                      value["geni_credential_types"])
        [request] = value["geni_request_rspec_versions"]
        self.assertEqual((request["type"], request["version"]), ("GENI", "3"))
        self.assertTrue(request["schema"].endswith("/request.xsd"))
        [ad] = value["geni_ad_rspec_versions"]
        self.assertIn("http://www.geni.net/resources/rspec/ext/opstate/1", ad["extensions"])

    @defer.inlineCallbacks
    def test_list_resources_plain_available_compressed(self):
        envelope = yield self.client("ListResources", self.user_creds(),
                                     {"geni_rspec_version": V3})
        ad = self.assertEnvelope(envelope, 0)
        tree = etree.fromstring(ad.encode())
        self.assertEqual(schema_errors(etree.ElementTree(tree), "advertisement"), [])
        nodes = tree.findall("r:node", NS)
        self.assertEqual(len(nodes), 4)
        self.assertTrue(all(n.find("r:available", NS).get("now") == "true" for n in nodes))
        # take node1 whole: it is no longer available
        envelope = yield self.client("Allocate", self.slice(), self.slice_creds(),
                                     doc(gnode("pc", host="node1", sliver_type="raw-pc")), {})
        self.assertEnvelope(envelope, 0)
        envelope = yield self.client("ListResources", self.user_creds(),
                                     {"geni_rspec_version": V3, "geni_available": True})
        available = etree.fromstring(self.assertEnvelope(envelope, 0).encode())
        self.assertEqual(sorted(n.get("component_name") for n in available.findall("r:node", NS)),
                         ["node2", "node3", "node4"])
        envelope = yield self.client("ListResources", self.user_creds(),
                                     {"geni_rspec_version": V3, "geni_compressed": True})
        text = zlib.decompress(base64.b64decode(self.assertEnvelope(envelope, 0))).decode()
        self.assertIn('component_name="node1"', text)
        self.assertIn('<available now="false"/>', text)

    @defer.inlineCallbacks
    def test_list_resources_errors(self):
        envelope = yield self.client("ListResources", self.user_creds(), {})
        self.assertEnvelope(envelope, 1)
        self.assertIn("geni_rspec_version", envelope["output"])
        envelope = yield self.client("ListResources", self.user_creds(),
                                     {"geni_rspec_version": {"type": "ProtoGENI",
                                                             "version": "2"}})
        self.assertEnvelope(envelope, 4)
        envelope = yield self.client("ListResources", [], {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)
        # a credential of an unknown type is ignored: nothing usable is left
        envelope = yield self.client("ListResources",
                                     [{"geni_type": "geni_magic", "geni_version": "1",
                                       "geni_value": "x"}], {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)
        mallory = self.client_for(self.pki.bob)
        envelope = yield mallory("ListResources", self.user_creds(), {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)


class LifecycleTests(AMServiceCase):
    @defer.inlineCallbacks
    def status(self, urns=None):
        envelope = yield self.client("Status", urns or [self.slice()], self.slice_creds(), {})
        return self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_whole_cycle(self):
        creds = self.slice_creds()
        request = doc(gnode("a", interfaces=[("a:0", "10.1.0.1")]),
                      gnode("b", interfaces=[("b:0", "10.1.0.2")]),
                      link("lan0", "a:0", "b:0"))
        envelope = yield self.client("Allocate", self.slice(), creds, request, {})
        allocated = self.assertEnvelope(envelope, 0)
        urns = sliver_urns(allocated)
        self.assertEqual(len(urns), 3)
        self.assertTrue(all(u.startswith("urn:publicid:IDN+gam.test+sliver+") for u in urns))
        for info in allocated["geni_slivers"]:
            self.assertEqual(info["geni_allocation_status"], "geni_allocated")
            self.assertRegex(info["geni_expires"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        envelope = yield self.client("Describe", [self.slice()], creds,
                                     {"geni_rspec_version": V3})
        described = self.assertEnvelope(envelope, 0)
        self.assertEqual(described["geni_urn"], self.slice())
        self.assertEqual(sorted(sliver_urns(described)), sorted(urns))
        tree = etree.fromstring(described["geni_rspec"].encode())
        self.assertEqual(len(tree.findall("r:node", NS)), 2)
        self.assertIsNotNone(tree.find("r:link", NS).get("vlantag"))

        status = yield self.status()
        self.assertEqual({s["geni_error"] for s in status["geni_slivers"]}, {""})

        envelope = yield self.client("Provision", [self.slice()], creds, {
            "geni_rspec_version": V3,
            "geni_users": [{"urn": str(self.pki.alice.urn), "keys": [SSH_KEY]}]})
        provisioned = self.assertEnvelope(envelope, 0)
        self.assertEqual({s["geni_allocation_status"] for s in provisioned["geni_slivers"]},
                         {"geni_provisioned"})
        yield self.settle()
        status = yield self.status()
        self.assertEqual({s["geni_operational_status"] for s in status["geni_slivers"]},
                         {"geni_ready"})
        envelope = yield self.client("Describe", urns[:1], creds, {"geni_rspec_version": V3,
                                                                   "geni_compressed": True})
        text = zlib.decompress(base64.b64decode(self.assertEnvelope(envelope, 0)["geni_rspec"]))
        [login] = etree.fromstring(text).findall("r:node/r:services/r:login", NS)
        self.assertEqual(login.get("username"), "alice")
        self.assertEqual(login.get("authentication"), "ssh-keys")

        # operational actions
        node_urns = urns[:2]
        envelope = yield self.client("PerformOperationalAction", node_urns, creds,
                                     "geni_start", {})
        self.assertEqual([s["geni_operational_status"] for s in self.assertEnvelope(envelope, 0)],
                         ["geni_ready", "geni_ready"])
        envelope = yield self.client("PerformOperationalAction", node_urns, creds,
                                     "geni_stop", {})
        self.assertEqual({s["geni_operational_status"] for s in self.assertEnvelope(envelope, 0)},
                         {"geni_stopping"})
        yield self.settle()
        envelope = yield self.client("PerformOperationalAction", [self.slice()], creds,
                                     "geni_start", {})
        self.assertEnvelope(envelope, 0)
        yield self.settle()
        envelope = yield self.client("PerformOperationalAction", node_urns, creds,
                                     "geni_restart", {})
        self.assertEnvelope(envelope, 0)
        yield self.settle()
        status = yield self.status(node_urns)
        self.assertEqual({s["geni_operational_status"] for s in status["geni_slivers"]},
                         {"geni_ready"})
        envelope = yield self.client("PerformOperationalAction", node_urns, creds,
                                     "geni_self_destruct", {})
        self.assertEnvelope(envelope, 13)
        self.assertIn("geni_self_destruct", envelope["output"])

        # renew: in range, too far, as long as possible (the credential's end)
        lease_end = status["geni_slivers"][0]["geni_expires"]     # the credential's end
        soon = format_time(datetime.now(timezone.utc) + timedelta(hours=2))
        envelope = yield self.client("Renew", [self.slice()], creds, soon, {})
        self.assertEqual({s["geni_expires"] for s in self.assertEnvelope(envelope, 0)}, {soon})
        envelope = yield self.client("Renew", [self.slice()], creds, "2099-01-01T00:00:00Z", {})
        self.assertEnvelope(envelope, 19)
        self.assertIn("geni_extend_alap", envelope["output"])
        envelope = yield self.client("Renew", [self.slice()], creds, "2099-01-01T00:00:00Z",
                                     {"geni_extend_alap": True})
        renewed = self.assertEnvelope(envelope, 0)
        self.assertEqual({s["geni_expires"] for s in renewed}, {lease_end})

        # delete
        envelope = yield self.client("Delete", [self.slice()], creds, {})
        deleted = self.assertEnvelope(envelope, 0)
        self.assertEqual({s["geni_allocation_status"] for s in deleted}, {"geni_unallocated"})
        self.assertEqual(self.fakes.made, {})
        envelope = yield self.client("Status", [self.slice()], creds, {})
        self.assertEnvelope(envelope, 12)
        envelope = yield self.client("Status", urns[:1], creds, {})
        self.assertEnvelope(envelope, 12)
        envelope = yield self.client("Describe", [self.slice()], creds,
                                     {"geni_rspec_version": V3})
        self.assertEqual(self.assertEnvelope(envelope, 0)["geni_slivers"], [])

    @defer.inlineCallbacks
    def test_shutdown(self):
        creds = self.slice_creds()
        envelope = yield self.client("Allocate", self.slice(), creds, doc(gnode("a")), {})
        self.assertEnvelope(envelope, 0)
        envelope = yield self.client("Provision", [self.slice()], creds, {})
        self.assertEnvelope(envelope, 0)
        yield self.settle()
        envelope = yield self.client("Shutdown", self.slice(), creds, {})
        self.assertIs(self.assertEnvelope(envelope, 0), True)
        yield self.settle()
        status = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in status["geni_slivers"]],
                         ["geni_notready"])
        envelope = yield self.client("Allocate", self.slice(), creds, doc(gnode("b")), {})
        self.assertEnvelope(envelope, 11)
        self.assertIn("shut down", envelope["output"])
        envelope = yield self.client("PerformOperationalAction", [self.slice()], creds,
                                     "geni_start", {})
        self.assertEnvelope(envelope, 11)

    @defer.inlineCallbacks
    def test_error_cases(self):
        creds = self.slice_creds()
        other = self.slice_creds("other")
        envelope = yield self.client("Allocate", self.slice(), creds, "<rspec><node", {})
        self.assertEnvelope(envelope, 1)
        envelope = yield self.client("Allocate", self.slice(), creds,
                                     doc(gnode("x", sliver_type="xo.large")), {})
        self.assertEnvelope(envelope, 1)
        self.assertIn("xo.large", envelope["output"])
        # a slice credential of another slice does not allow this one
        envelope = yield self.client("Allocate", self.slice(), other, doc(gnode("a")), {})
        self.assertEnvelope(envelope, 3)
        one = self.assertEnvelope((yield self.client(
            "Allocate", self.slice(), creds, doc(gnode("a")), {})), 0)
        two = self.assertEnvelope((yield self.client(
            "Allocate", self.slice("other"), other, doc(gnode("a")), {})), 0)
        # slivers of two slices; a slice URN with a sliver of another slice
        mixed = sliver_urns(one) + sliver_urns(two)
        envelope = yield self.client("Status", mixed, creds, {})
        self.assertEnvelope(envelope, 1)
        envelope = yield self.client("Status", [self.slice()] + sliver_urns(two), creds, {})
        self.assertEnvelope(envelope, 1)
        unknown = "urn:publicid:IDN+gam.test+sliver+0000"
        envelope = yield self.client("Status", [unknown], creds, {})
        self.assertEnvelope(envelope, 12)
        envelope = yield self.client("Delete", [unknown], creds, {})
        self.assertEnvelope(envelope, 12)
        envelope = yield self.client("Describe", [self.slice()], creds, {})
        self.assertEnvelope(envelope, 1)
        envelope = yield self.client("Describe", [self.slice()], creds,
                                     {"geni_rspec_version": {"type": "GENI", "version": "2"}})
        self.assertEnvelope(envelope, 4)
        envelope = yield self.client("Provision", [self.slice()], [], {})
        self.assertEnvelope(envelope, 3)
