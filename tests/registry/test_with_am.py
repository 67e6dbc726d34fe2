"""The registry's credentials on gam's own aggregate manager, both over real TLS.

The AM trusts the registry's root (beside the test PKI's root, whose
certificate it serves with). A researcher registered at the registry
allocates with the slice credential the registry issued, renews the slice
at the registry to renew her slivers further, and keeps using a credential
issued before the slice was removed.
"""
import os
import xmlrpc.client

from twisted.internet import defer, reactor, threads

from gam.aggregate.service import AMService
from gam.auth.credential import parse_credential
from gam.auth.gid import load_key_pem
from gam.config import parse_config
from gam.drivers.config import parse_config as parse_drivers_config
from gam.drivers.manager import Drivers
from gam.registry.authorities import chain_from_pem
from gam.rfc3339 import format_time, parse_time
from tests.pki import AM_URN, Identity, pki, struct
from tests.registry.support import DAY, RegistryTestCase
from tests.rpc.support import client_context

CM = "urn:publicid:IDN+gam.test+authority+cm"
LAB = "gamtest.lab"
RSPEC = """<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">
  <node client_id="a" component_manager_id="{cm}" exclusive="false">
    <sliver_type name="default-vm"/><interface client_id="a:0"/></node>
  <node client_id="b" component_manager_id="{cm}" exclusive="false">
    <sliver_type name="default-vm"/><interface client_id="b:0"/></node>
  <link client_id="lan0"><interface_ref client_id="a:0"/><interface_ref client_id="b:0"/>
  </link>
</rspec>""".format(cm=CM)
ONE_NODE = """<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">
  <node client_id="a" component_manager_id="{cm}"><sliver_type name="default-vm"/></node>
</rspec>""".format(cm=CM)


def fake_drivers():
    """gam's drivers manager over its in-memory FakeHandler (nothing real is built)."""
    handler = "gam.drivers.fake.FakeHandler"
    return Drivers(parse_drivers_config({"pool_size": 4, "handlers": {
        "nodes": {"class": handler, "resource_types": ["default-vm", "raw-pc"],
                  "timeout": 60},
        "links": {"class": handler, "kind": "link", "resource_types": ["link"],
                  "timeout": 60}}}), reactor=reactor)


class AMClient:
    """AM API v3 calls as one identity, in threads (as omni makes them)."""

    def __init__(self, url, identity, trust_pem):
        self.url = url
        self.context = client_context(identity, trust=trust_pem)

    def _thd_call(self, method, params):
        proxy = xmlrpc.client.ServerProxy(self.url, context=self.context)
        return getattr(proxy, method)(*params)

    def __call__(self, method, *params):
        return threads.deferToThread(self._thd_call, method, params)


class RegistryWithAMTests(RegistryTestCase):

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        directory = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(directory, "var"))
        files = pki().write_files(directory)
        with open(os.path.join(files.trust_roots_dir, "gamtest-registry.pem"), "w") as f:
            f.write(self.manager.root.chain[-1].pem)
        config = parse_config({
            "am": {"host": "127.0.0.1", "port": 0, "path": "/am/3.0", "urn": AM_URN,
                   "state_dir": os.path.join(directory, "var")},
            "tls": {"certificate": files.am_cert, "key": files.am_key,
                    "trust_roots": files.trust_roots_dir},
            "inventory": {"authority": "gam.test"},
        }, path=os.path.join(directory, "gam.yaml"), base_dir=directory)
        self.am = AMService(config, fake_drivers(), reactor=reactor)
        yield defer.Deferred.fromCoroutine(self.am.start())
        self.addCleanup(lambda: defer.Deferred.fromCoroutine(self.am.stop()))
        self.am_url = f"https://127.0.0.1:{self.am.port_number}/am/3.0"

    async def researcher_and_slice(self):
        boss = await self.add_user("boss", pi_of=["gamtest"])
        boss_cred = await self.user_credential(boss)
        auth_cred = await self.call(boss, "GetCredential", boss_cred, "gamtest", "authority")
        await self.call(boss, "Register", {"type": "authority", "hrn": LAB}, auth_cred)
        answer = await self.call(boss, "Register", {"type": "user", "hrn": f"{LAB}.alice"},
                                 auth_cred)
        alice = Identity(load_key_pem(answer), chain_from_pem(answer))
        expires = self.manager.now() + 2 * DAY
        await self.call(boss, "Register", {"type": "slice", "hrn": f"{LAB}.exp1",
                                           "researcher": [f"{LAB}.alice"],
                                           "expires": format_time(expires)}, auth_cred)
        return boss, auth_cred, alice, expires

    def assertEnvelope(self, envelope, code):
        self.assertEqual(envelope["code"]["geni_code"], code, envelope.get("output"))
        return envelope["value"]

    @defer.inlineCallbacks
    def test_allocate_renew_and_remove(self):
        boss, auth_cred, alice, expires = yield defer.ensureDeferred(
            self.researcher_and_slice())
        alice_cred = yield defer.ensureDeferred(self.user_credential(alice))
        slice_urn = "urn:publicid:IDN+gamtest:lab+slice+exp1"
        slice_cred = yield self.call(alice, "GetCredential", alice_cred, slice_urn, "slice")
        am = AMClient(self.am_url, alice, pki().root.gid.pem)
        envelope = yield am("Allocate", slice_urn, [struct(slice_cred)], RSPEC, {})
        slivers = self.assertEnvelope(envelope, 0)["geni_slivers"]
        self.assertEqual(len(slivers), 3)
        for info in slivers:
            self.assertLessEqual(parse_time(info["geni_expires"]), expires)

        # Past the slice's end, the AM refuses; renewed at the registry, it agrees.
        target = expires + DAY
        envelope = yield am("Renew", [slice_urn], [struct(slice_cred)], format_time(target), {})
        self.assertNotEqual(envelope["code"]["geni_code"], 0)
        (record,) = yield self.call(alice, "Resolve", slice_urn, alice_cred)
        record["expires"] = int((expires + 3 * DAY).timestamp())
        self.assertEqual((yield self.call(alice, "Update", record, slice_cred)), 1)
        renewed = yield self.call(alice, "GetCredential", alice_cred, slice_urn, "slice")
        self.assertEqual(parse_credential(renewed).expires, expires + 3 * DAY)
        envelope = yield am("Renew", [slice_urn], [struct(renewed)], format_time(target), {})
        self.assertEqual({parse_time(s["geni_expires"]) for s in self.assertEnvelope(envelope, 0)},
                         {target})

        # Removed at the registry: no new credential, the issued one still works at the AM.
        self.assertEqual((yield self.call(boss, "Remove", slice_urn, auth_cred, "slice")), 1)
        yield defer.ensureDeferred(self.assertFault(
            self.call(alice, "GetCredential", alice_cred, slice_urn, "slice"), 12))
        envelope = yield am("Describe", [slice_urn], [struct(renewed)],
                            {"geni_rspec_version": {"type": "GENI", "version": "3"}})
        self.assertEqual(len(self.assertEnvelope(envelope, 0)["geni_slivers"]), 3)

    @defer.inlineCallbacks
    def test_am_refuses_a_slice_credential_of_someone_else(self):
        boss, auth_cred, alice, expires = yield defer.ensureDeferred(
            self.researcher_and_slice())
        boss_cred = yield defer.ensureDeferred(self.user_credential(boss))
        slice_urn = "urn:publicid:IDN+gamtest:lab+slice+exp1"
        # boss is a PI of the root, not of gamtest.lab: no slice credential for him.
        yield defer.ensureDeferred(self.assertFault(
            self.call(boss, "GetCredential", boss_cred, slice_urn, "slice"), 3))
        alice_cred = yield defer.ensureDeferred(self.user_credential(alice))
        slice_cred = yield self.call(alice, "GetCredential", alice_cred, slice_urn, "slice")
        envelope = yield AMClient(self.am_url, boss, pki().root.gid.pem)(
            "Allocate", slice_urn, [struct(slice_cred)], ONE_NODE, {})
        self.assertEqual(envelope["code"]["geni_code"], 3, envelope.get("output"))
        self.assertIn("belongs to", envelope["output"])
