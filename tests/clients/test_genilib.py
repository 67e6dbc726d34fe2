"""geni-lib drives gam over TLS with its own calls (fake drivers: the protocol).

The AM runs on 127.0.0.1 port 0 (AM API v3 at /am/3.0, v2 at /am/2.0);
geni-lib's blocking calls run in threads so the reactor keeps serving.
geni-lib speaks AM API v2 for listresources / createsliver / sliverstatus /
renewsliver / deletesliver / getversion, and v3 for its operational
actions (``PGCompute.geniRestart`` etc. call ``PerformOperationalAction``
at the v2 URL with ``2.0`` replaced by ``3.0``).
"""
import datetime

from twisted.internet import defer, threads
from twisted.trial import util


from tests.aggregate.tls_support import AMServiceCase
from tests.clients.genilib_support import (
    GENILIB_MISSING, build_context, ssh_keypair, v2_aggregate)

if GENILIB_MISSING is None:
    import requests
    from geni.aggregate import apis
    from geni.aggregate.protogeni import PGCompute
    from geni.rspec import igext
    from geni.rspec import pg as PG

CM = "urn:publicid:IDN+gam.test+authority+cm"
SLICE = "genilib"
ADDRESSES = {"node-a": "10.10.1.1", "node-b": "10.10.1.2"}
NETMASK = "255.255.255.0"


def lan_request():
    """Two nodes on a LAN, an address on each interface: one ``default-vm``
    (plain pg.Node), one ``emulab-xen`` (igext.XenVM, as Emulab examples do)."""
    request = PG.Request()
    lan = PG.LAN("lan0")
    a = PG.Node("node-a", "default-vm")
    b = igext.XenVM("node-b")
    b.cores = 1
    b.ram = 512
    for node in (a, b):
        node.component_manager_id = CM
        iface = node.addInterface("if0", PG.IPv4Address(ADDRESSES[node.client_id], NETMASK))
        lan.addInterface(iface)
        request.addResource(node)
    request.addResource(lan)
    return request


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)


class GeniLibCase(AMServiceCase):
    """The AM (fake drivers for ``node_types``) and a geni-lib context for alice."""

    skip = GENILIB_MISSING
    # geni-lib never verifies the AM's certificate (verify=False in every call,
    # a client matter); urllib3 says so on each call: known, not repeated here
    suppress = [util.suppress(message="Unverified HTTPS request")]
    node_types = ("default-vm", "emulab-xen")

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        directory = self.directory
        base = f"https://127.0.0.1:{self.service.port_number}"
        self.v2_url, self.v3_url = base + "/am/2.0", base + "/am/3.0"
        _, public_path, self.public_key = ssh_keypair(directory, "alice-ssh")
        self.context = build_context(directory, self.pki, self.pki.alice, public_path)
        self.am = v2_aggregate(self.v2_url, CM)

    def run_in_thread(self, f, *args, **kwargs):
        """geni-lib blocks: call it in a thread, fire with its result."""
        return threads.deferToThread(f, *args, **kwargs)

    @defer.inlineCallbacks
    def failure(self, f, *args):
        """The exception geni-lib's ``f(*args)`` raises (fails the test if none)."""
        try:
            result = yield self.run_in_thread(f, *args)
        except Exception as e:
            return e
        self.fail(f"expected {f.__name__} to fail, it returned {result!r}")


class GeniLibLifecycleTests(GeniLibCase):
    @defer.inlineCallbacks
    def test_version_and_advertisement(self):
        version = yield self.run_in_thread(self.am.getversion, self.context)
        self.assertEqual(version["geni_api"], 2)
        self.assertEqual(version["geni_api_versions"], {"2": self.v2_url, "3": self.v3_url})

        ad = yield self.run_in_thread(self.am.listresources, self.context)
        nodes = list(ad.nodes)
        self.assertTrue(nodes)
        for node in nodes:
            self.assertEqual(node.component_manager_id, CM)
            self.assertTrue(node.available)
            self.assertLessEqual({"default-vm", "emulab-xen"}, node.sliver_types)
        # geni-lib fetched alice's user credential through the framework, once
        self.assertEqual(self.context.cf.fetched, [("user", str(self.pki.alice.urn))])

    @defer.inlineCallbacks
    def test_protogeni_type_reads_gam(self):
        """geni-lib's ProtoGENI-type AMs read code.protogeni_error_url."""
        pg_am = v2_aggregate(self.v2_url, CM, name="gam-pg", amtype="pg")
        ad = yield self.run_in_thread(pg_am.listresources, self.context)
        self.assertTrue(list(ad.nodes))
        self.assertEqual(ad.error_url, "")

    @defer.inlineCallbacks
    def test_create_status_renew_act_delete(self):
        ctx, am = self.context, self.am
        manifest = yield self.run_in_thread(am.createsliver, ctx, SLICE, lan_request())
        self.assertEqual(ctx.cf.fetched, [("slice", SLICE)])

        # the manifest, read with geni-lib's classes (logins come once the nodes are up)
        nodes = {n.client_id: n for n in manifest.nodes}
        self.assertEqual(sorted(nodes), ["node-a", "node-b"])
        for name, node in nodes.items():
            self.assertTrue(node.sliver_id.startswith("urn:publicid:IDN+gam.test+sliver+"))
            [iface] = node.interfaces
            self.assertEqual(iface.client_id, f"{name}:if0")
            self.assertEqual(iface.address_info, (ADDRESSES[name], NETMASK))
        [link] = manifest.links
        self.assertEqual(link.client_id, "lan0")
        self.assertTrue(link.sliver_id)
        self.assertTrue(link.vlan)
        node_urns = sorted(n.sliver_id for n in nodes.values())

        # status until ready
        status = yield self.run_in_thread(am.sliverstatus, ctx, SLICE)
        self.assertIn(status["geni_status"], ("configuring", "ready"))
        yield self.settle()
        status = yield self.run_in_thread(am.sliverstatus, ctx, SLICE)
        self.assertEqual(status["geni_status"], "ready")
        self.assertEqual(status["geni_urn"], str(self.pki.slice_urn(SLICE)))
        self.assertEqual(sorted(r["geni_urn"] for r in status["geni_resources"]),
                         sorted(node_urns + [link.sliver_id]))
        self.assertEqual({r["geni_status"] for r in status["geni_resources"]}, {"ready"})

        # the manifest of the ready slice: ListResources with the slice name
        described = yield self.run_in_thread(am.listresources, ctx, SLICE)
        ready = {n.client_id: n for n in described.nodes}
        self.assertEqual(sorted(n.sliver_id for n in ready.values()), node_urns)
        for name, node in ready.items():
            [login] = node.logins
            self.assertEqual((login.username, login.port, login.auth),
                             ("alice", 22, "ssh-keys"))
            self.assertTrue(login.hostname)
            [iface] = node.interfaces
            self.assertEqual(iface.address_info, (ADDRESSES[name], NETMASK))
            self.assertRegex(iface.mac_address, r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
        self.assertEqual([lnk.sliver_id for lnk in described.links], [link.sliver_id])
        # what the drivers were given: the requested addresses
        made = self.fakes.made
        self.assertEqual(len(made), 3)
        self.assertEqual(made[nodes["node-a"].sliver_id]["interfaces"]["node-a:if0"]["address"],
                         ADDRESSES["node-a"])

        # renew: geni-lib sends a datetime, formatted as UTC
        until = utc_now() + datetime.timedelta(hours=3)
        renewed = yield self.run_in_thread(am.renewsliver, ctx, SLICE, until)
        self.assertIs(renewed, True)
        status = yield self.run_in_thread(am.sliverstatus, ctx, SLICE)
        until_text = until.strftime("%Y-%m-%dT%H:%M:%SZ")     # RFC 3339, as AM API v3 says
        self.assertEqual(status["geni_expires"], until_text)
        self.assertEqual({r["geni_expires"] for r in status["geni_resources"]}, {until_text})

        # operational actions through geni-lib's AM API v3 path
        pgam = PGCompute("gam-pg", None, cmid=CM, url=self.v2_url)
        self.assertEqual(pgam.urlv3, self.v3_url)
        restarted = yield self.run_in_thread(pgam.geniRestart, ctx, SLICE, node_urns)
        self.assertEqual(sorted(s["geni_sliver_urn"] for s in restarted), node_urns)
        self.assertEqual({s["geni_error"] for s in restarted}, {""})
        yield self.settle()
        self.assertEqual(sorted(urn for action, urn, _ in self.fakes.node.performed
                                if action == "geni_restart"), node_urns)
        bob_key = ssh_keypair(self.directory, "bob-ssh")[2]
        users = [{"urn": str(self.pki.alice.urn), "keys": [self.public_key]},
                 {"urn": str(self.pki.bob.urn), "keys": [bob_key]}]
        yield self.run_in_thread(pgam.geniUpdateUsers, ctx, SLICE, users)
        yield self.settle()
        updated = {urn: given for action, urn, given in self.fakes.node.performed
                   if action == "geni_update_users"}
        self.assertEqual(sorted(updated), node_urns)
        for given in updated.values():
            self.assertEqual({(u.name, u.keys) for u in given},
                             {("alice", (self.public_key,)), ("bob", (bob_key,))})
        # v3 with the slice URN: every sliver of the slice, the link too
        started = yield self.run_in_thread(apis.AMAPIv3.poa, ctx, self.v3_url, SLICE,
                                           "geni_start")
        self.assertEqual(len(started), 3)
        yield self.settle()

        # delete
        yield self.run_in_thread(am.deletesliver, ctx, SLICE)
        self.assertEqual(self.fakes.made, {})
        error = yield self.failure(am.sliverstatus, ctx, SLICE)
        self.assertIsInstance(error, apis.SliverStatusError)
        self.assertEqual(error.data["code"]["geni_code"], 12)
        self.assertIn("CreateSliver", error.text)


class GeniLibErrorTests(GeniLibCase):
    @defer.inlineCallbacks
    def test_errors_reach_genilib(self):
        ctx, am = self.context, self.am
        bad = PG.Request()
        bad.addResource(PG.Node("big", "xo.large"))
        error = yield self.failure(am.createsliver, ctx, SLICE, bad)
        self.assertIsInstance(error, apis.CreateSliverError)
        self.assertEqual(error.data["code"]["geni_code"], 1)
        self.assertIn("xo.large", error.text)
        self.assertEqual(self.fakes.made, {})

        yield self.run_in_thread(am.createsliver, ctx, SLICE, lan_request())
        error = yield self.failure(am.createsliver, ctx, SLICE, lan_request())
        self.assertIsInstance(error, apis.CreateSliverError)
        self.assertEqual(error.data["code"]["geni_code"], 17)
        self.assertIn("DeleteSliver", error.text)
        yield self.settle()
        yield self.run_in_thread(am.deletesliver, ctx, SLICE)

        error = yield self.failure(am.deletesliver, ctx, SLICE)
        self.assertIsInstance(error, apis.DeleteSliverError)
        self.assertEqual(error.data["code"]["geni_code"], 12)

    @defer.inlineCallbacks
    def test_untrusted_certificate_refused(self):
        """geni-lib presenting a chain from an untrusted root gets no answer."""
        _, public_path, _ = ssh_keypair(self.directory, "mallory-ssh")
        mallory = build_context(self.directory, self.pki, self.pki.mallory, public_path)
        version = yield self.run_in_thread(self.am.getversion, self.context)   # alice can
        self.assertEqual(version["geni_api"], 2)
        error = yield self.failure(self.am.getversion, mallory)
        # the handshake fails (TLS alert "unknown ca"): requests' SSLError
        self.assertIsInstance(error, requests.exceptions.ConnectionError)
