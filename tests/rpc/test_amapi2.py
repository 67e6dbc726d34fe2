"""AM API v2 over the v3 delegate, served beside v3 by one site, over real TLS."""
import datetime
import types
import xmlrpc.client

from twisted.internet import defer
from twisted.trial import unittest

from gam.auth.urn import URN
from gam.errors import AlreadyExists, BadArgs, Refused, SearchFailed
from gam.rpc import tls
from gam.rpc.am import am_site_with_v2
from gam.rpc.amapi2 import (
    AMAPIv2, api_versions, decode_users, resource_status, slice_status)
from gam.rpc.amapi3 import decompress
from gam.rpc.xmlrpc import FAULT_NO_METHOD
from tests.pki import pki
from tests.rpc.fakes import AD_RSPEC, EXPIRES, MANIFEST, FakeDelegate, sliver_info, sliver_urn
from tests.rpc.support import AMTestCase, TLSServer

UTC = datetime.timezone.utc
V3 = {"type": "GENI", "version": "3"}
V2_PATH = "/am/2.0"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3 alice@laptop"


class V2Delegate(FakeDelegate):
    """The fake delegate, knowing which slivers each slice holds and their states.

    Slice calls on a slice with no slivers fail with SearchFailed, as the
    aggregate's do; allocate adds the slivers it answers, delete removes them.
    """

    def __init__(self):
        super().__init__()
        self.states = {}        # sliver URN text -> geni_operational_status

    def of(self, slice_urn):
        return [u for u, s in self.slivers.items() if str(s) == str(slice_urn)]

    def _known(self, slice_urn):
        if not self.of(slice_urn):
            raise SearchFailed(f"slice {slice_urn} has no slivers here")

    def _info(self, urn):
        return dict(sliver_info(urn), geni_allocation_status="geni_provisioned",
                    geni_operational_status=self.states.get(urn, "geni_ready"))

    async def describe(self, auth, slice_urn, sliver_urns, options):
        if "describe" not in self.answers:
            self._record("describe", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                         options=options)
            slivers = [self._info(u) for u in self.of(slice_urn)]
            return {"geni_rspec": MANIFEST if slivers else "<rspec type='manifest'/>",
                    "geni_urn": slice_urn, "geni_slivers": slivers}
        return await super().describe(auth, slice_urn, sliver_urns, options)

    async def allocate(self, auth, slice_urn, rspec, options):
        result = await super().allocate(auth, slice_urn, rspec, options)
        for info in result["geni_slivers"]:
            self.slivers[str(info["geni_sliver_urn"])] = slice_urn
            self.states[str(info["geni_sliver_urn"])] = "geni_pending_allocation"
        return result

    async def provision(self, auth, slice_urn, sliver_urns, options):
        self._known(slice_urn)
        result = await super().provision(auth, slice_urn, sliver_urns, options)
        for urn in sliver_urns or self.of(slice_urn):
            self.states[str(urn)] = "geni_notready"
        return result

    async def status(self, auth, slice_urn, sliver_urns, options):
        if "status" not in self.answers:
            self._record("status", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                         options=options)
            self._known(slice_urn)
            return {"geni_urn": slice_urn,
                    "geni_slivers": [self._info(u) for u in self.of(slice_urn)]}
        return await super().status(auth, slice_urn, sliver_urns, options)

    async def renew(self, auth, slice_urn, sliver_urns, expiration_time, options):
        self._known(slice_urn)
        return await super().renew(auth, slice_urn, sliver_urns, expiration_time, options)

    async def delete(self, auth, slice_urn, sliver_urns, options):
        self._known(slice_urn)
        result = await super().delete(auth, slice_urn, sliver_urns, options)
        for urn in sliver_urns or self.of(slice_urn):
            self.slivers.pop(str(urn), None)
        return result


class V2TestCase(AMTestCase):
    """One site serving v3 (/am/3.0, /, /RPC2) and v2 (/am/2.0) over a V2Delegate."""

    start_after_provision = False

    def setUp(self):
        self.pki = pki()
        self.delegate = V2Delegate()
        self.site = am_site_with_v2(self.delegate, self.pki.authorizer(), path="/am/3.0",
                                    start_after_provision=self.start_after_provision)
        options = tls.server_options(self.pki.am.chain, self.pki.am.key,
                                     self.pki.trust_roots())
        self.server = TLSServer(self, self.site, options, self.pki.root.gid.pem)
        self.slice = self.pki.slice_urn()

    def v2(self, method, *params, **kwargs):
        """Call the v2 endpoint; its envelopes also carry ProtoGENI's
        ``protogeni_error_url`` (empty), checked and set aside here."""
        def strip(envelope):
            if isinstance(envelope, dict) and isinstance(envelope.get("code"), dict):
                self.assertEqual(envelope["code"].pop("protogeni_error_url"), "")
            return envelope
        return self.call(method, *params, path=V2_PATH, **kwargs).addCallback(strip)

    def info_only_credentials(self):
        return [{"geni_type": "geni_sfa", "geni_version": "3",
                 "geni_value": self.pki.slice_credential(privileges=["info"])}]


class GetVersionTests(V2TestCase):
    @defer.inlineCallbacks
    def test_v2_version_names_both_apis(self):
        envelope = yield self.v2("GetVersion")
        self.assertEqual(envelope["geni_api"], 2)
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(value["geni_api"], 2)
        # The fake lists only v3: the v2 URL is derived from it.
        self.assertEqual(value["geni_api_versions"],
                         {"2": "https://am.gam.test:12346/am/2.0",
                          "3": "https://am.gam.test:12346/am/3.0"})
        self.assertEqual(value["geni_request_rspec_versions"], [V3])
        self.assertEqual(value["geni_single_allocation"], 0)

    @defer.inlineCallbacks
    def test_delegate_listing_both_is_passed_on(self):
        both = {"2": "https://am.example.org/v2", "3": "https://am.example.org/v3"}
        self.delegate.answers["get_version"] = {"geni_api_versions": both}
        for path, api in ((V2_PATH, 2), ("/am/3.0", 3), ("/", 3), ("/RPC2", 3)):
            if path == V2_PATH:
                envelope = yield self.v2("GetVersion", {})
            else:
                envelope = yield self.call("GetVersion", {}, path=path)
            value = self.assertEnvelope(envelope, 0)
            self.assertEqual((envelope["geni_api"], value["geni_api"]), (api, api), path)
            self.assertEqual(value["geni_api_versions"], both, path)

    @defer.inlineCallbacks
    def test_v3_version_on_the_same_site(self):
        envelope = yield self.call("GetVersion", path="/am/3.0")
        self.assertEqual(envelope["geni_api"], 3)
        self.assertEqual(self.assertEnvelope(envelope, 0)["geni_api_versions"],
                         {"3": "https://am.gam.test:12346/am/3.0"})

    def test_api_versions(self):
        self.assertEqual(api_versions("https://am.example.org:12346/am/3.0"),
                         {"2": "https://am.example.org:12346/am/2.0",
                          "3": "https://am.example.org:12346/am/3.0"})
        self.assertEqual(api_versions("https://h/x", "/v2")["2"], "https://h/v2")


class SiteTests(V2TestCase):
    @defer.inlineCallbacks
    def test_each_path_serves_its_api(self):
        for path in ("/am/3.0", "/", "/RPC2"):
            with self.assertRaises(xmlrpc.client.Fault) as caught:
                yield self.call("CreateSliver", str(self.slice), [], "<rspec/>", [], {},
                                path=path)
            self.assertEqual(caught.exception.faultCode, FAULT_NO_METHOD)
            self.assertIn("Allocate", caught.exception.faultString)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            yield self.v2("Allocate", str(self.slice), [], "<rspec/>", {})
        self.assertEqual(caught.exception.faultCode, FAULT_NO_METHOD)
        self.assertIn("CreateSliver", caught.exception.faultString)
        response = yield self.server.request(self.pki.alice, path="/am/2.0/x",
                                             body=b"<methodCall/>")
        self.assertEqual(response.status, 404)

    @defer.inlineCallbacks
    def test_both_apis_share_the_delegate(self):
        envelope = yield self.v2("CreateSliver", str(self.slice), self.slice_credentials(),
                                 "<rspec type='request'/>", [], {})
        self.assertEnvelope(envelope, 0)
        envelope = yield self.call("Status", [str(self.slice)], self.slice_credentials(), {})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual([s["geni_sliver_urn"] for s in value["geni_slivers"]],
                         [sliver_urn(1)])

    @defer.inlineCallbacks
    def test_through_a_server_proxy(self):
        value = yield self.server.proxy_call(self.pki.alice, "GetVersion", path=V2_PATH)
        self.assertEqual(value["geni_api"], 2)

    def test_v2_path_must_differ(self):
        for path in ("/", "/RPC2", "/am/3.0", "/am/3.0/"):
            self.assertRaises(ValueError, am_site_with_v2, self.delegate,
                              self.pki.authorizer(), v2_path=path)


class ListResourcesTests(V2TestCase):
    @defer.inlineCallbacks
    def test_advertisement(self):
        envelope = yield self.v2("ListResources", self.user_credentials(),
                                 {"geni_rspec_version": V3, "geni_available": True})
        self.assertEqual(self.assertEnvelope(envelope, 0), AD_RSPEC)
        self.assertIs(self.delegate.last("list_resources")["options"]["geni_available"], True)
        self.assertFalse(self.delegate.called("describe"))

    @defer.inlineCallbacks
    def test_advertisement_compressed(self):
        envelope = yield self.v2("ListResources", self.user_credentials(),
                                 {"geni_rspec_version": V3, "geni_compressed": True})
        self.assertEqual(decompress(self.assertEnvelope(envelope, 0)), AD_RSPEC)

    @defer.inlineCallbacks
    def test_manifest_of_a_slice(self):
        self.delegate.add_slivers(self.slice, 1)
        # as geni-lib sends them: bare XML strings, the slice's and the user's
        creds = [self.pki.slice_credential(), self.pki.user_credential()]
        envelope = yield self.v2("ListResources", creds,
                                 {"geni_rspec_version": V3, "geni_slice_urn": str(self.slice)})
        self.assertEqual(self.assertEnvelope(envelope, 0), MANIFEST)
        args = self.delegate.last("describe")
        self.assertEqual((args["slice_urn"], args["sliver_urns"]), (self.slice, None))
        self.assertFalse(self.delegate.called("list_resources"))
        envelope = yield self.v2("ListResources", self.info_only_credentials(),
                                 {"geni_rspec_version": V3, "geni_slice_urn": str(self.slice),
                                  "geni_compressed": True})
        self.assertEqual(decompress(self.assertEnvelope(envelope, 0)), MANIFEST)

    @defer.inlineCallbacks
    def test_unknown_slice(self):
        envelope = yield self.v2("ListResources", self.slice_credentials(),
                                 {"geni_rspec_version": V3, "geni_slice_urn": str(self.slice)})
        self.assertEnvelope(envelope, 12)
        self.assertIn(str(self.slice), envelope["output"])

    @defer.inlineCallbacks
    def test_slice_needs_a_slice_credential(self):
        self.delegate.add_slivers(self.slice, 1)
        envelope = yield self.v2("ListResources", self.user_credentials(),
                                 {"geni_rspec_version": V3, "geni_slice_urn": str(self.slice)})
        self.assertEnvelope(envelope, 3)
        self.assertFalse(self.delegate.called("describe"))

    @defer.inlineCallbacks
    def test_bad_arguments(self):
        for options in ({}, {"geni_rspec_version": "GENI 3"},
                        {"geni_rspec_version": V3, "geni_slice_urn": "urn:nonsense"},
                        {"geni_rspec_version": V3, "geni_slice_urn": str(self.pki.alice.urn)},
                        {"geni_rspec_version": V3, "geni_compressed": "maybe"}):
            envelope = yield self.v2("ListResources", self.slice_credentials(), options)
            self.assertEnvelope(envelope, 1)
        self.assertIn("geni_rspec_version", (yield self.v2(
            "ListResources", self.user_credentials(), {}))["output"])
        envelope = yield self.v2("ListResources", self.user_credentials(),
                                 {"geni_rspec_version": {"type": "GENI", "version": "2"}})
        self.assertEnvelope(envelope, 4)
        self.assertEqual(self.delegate.calls, [])

    @defer.inlineCallbacks
    def test_no_credential(self):
        envelope = yield self.v2("ListResources", [], {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)
        envelope = yield self.v2("ListResources", [], {"geni_rspec_version": V3,
                                                       "geni_slice_urn": str(self.slice)})
        self.assertEnvelope(envelope, 3)
        self.assertEqual(self.delegate.calls, [])


class CreateSliverTests(V2TestCase):
    def create(self, rspec="<rspec type='request'/>", users=(), options=None, creds=None):
        return self.v2("CreateSliver", str(self.slice),
                       self.slice_credentials() if creds is None else creds, rspec,
                       list(users), {} if options is None else options)

    def calls(self):
        return [name for name, _ in self.delegate.calls]

    @defer.inlineCallbacks
    def test_allocate_then_provision(self):
        users = [{"urn": str(self.pki.alice.urn), "keys": [KEY + "\n", KEY + "2\n\n"]}]
        envelope = yield self.create(users=users,
                                     options={"geni_end_time": "2026-11-22T10:00:00Z"})
        self.assertEqual(self.assertEnvelope(envelope, 0), MANIFEST)
        self.assertEqual(self.calls(), ["status", "allocate", "provision"])
        allocate = self.delegate.last("allocate")
        self.assertEqual((allocate["slice_urn"], allocate["rspec"]),
                         (self.slice, "<rspec type='request'/>"))
        self.assertEqual(allocate["options"]["geni_end_time"],
                         datetime.datetime(2026, 11, 22, 10, tzinfo=UTC))
        provision = self.delegate.last("provision")
        self.assertEqual(provision["sliver_urns"], [URN.parse(sliver_urn(1))])
        self.assertEqual(provision["options"]["geni_users"],
                         [{"urn": str(self.pki.alice.urn), "keys": [KEY, KEY + "2"]}])
        self.assertIs(provision["options"]["geni_best_effort"], False)
        self.assertEqual(provision["auth"].caller.urn, self.pki.alice.urn)

    @defer.inlineCallbacks
    def test_rspec_as_base64(self):
        envelope = yield self.create(rspec=xmlrpc.client.Binary(b"<rspec type='request'/>"))
        self.assertEnvelope(envelope, 0)
        self.assertEqual(self.delegate.last("allocate")["rspec"], "<rspec type='request'/>")

    @defer.inlineCallbacks
    def test_slice_with_a_sliver_already(self):
        self.delegate.add_slivers(self.slice, 7)
        envelope = yield self.create()
        self.assertEnvelope(envelope, 17)
        self.assertIn("DeleteSliver", envelope["output"])
        self.assertNotIn("allocate", self.calls())

    @defer.inlineCallbacks
    def test_allocate_failure_leaves_nothing_to_clean(self):
        self.delegate.fail["allocate"] = Refused("node pc1 is booked until tomorrow; ask "
                                                 "for another node")
        envelope = yield self.create()
        self.assertEnvelope(envelope, 7)
        self.assertIn("pc1", envelope["output"])
        self.assertEqual(self.calls(), ["status", "allocate"])

    @defer.inlineCallbacks
    def test_provision_failure_releases_the_allocation(self):
        self.delegate.fail["provision"] = Refused("its reservation starts tomorrow")
        envelope = yield self.create()
        self.assertEnvelope(envelope, 7)
        self.assertIn("its reservation starts tomorrow", envelope["output"])
        self.assertIn("released", envelope["output"])
        self.assertEqual(self.calls(), ["status", "allocate", "provision", "delete"])
        self.assertEqual(self.delegate.last("delete")["sliver_urns"],
                         [URN.parse(sliver_urn(1))])
        self.assertEqual(self.delegate.of(self.slice), [])
        # nothing half-done: the slice can be created again at once
        del self.delegate.fail["provision"]
        envelope = yield self.create()
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_sliver_error_in_provision_releases_the_allocation(self):
        self.delegate.answers["provision"] = {"geni_rspec": MANIFEST, "geni_slivers": [
            dict(sliver_info(sliver_urn(1)), geni_error="no disk image 'ubuntu'")]}
        envelope = yield self.create()
        self.assertEnvelope(envelope, 2)
        self.assertIn("no disk image", envelope["output"])
        self.assertTrue(self.delegate.called("delete"))
        self.assertEqual(self.delegate.of(self.slice), [])

    @defer.inlineCallbacks
    def test_unexpected_provision_error_releases_the_allocation(self):
        self.delegate.fail["provision"] = RuntimeError("database on fire")
        envelope = yield self.create()
        self.assertEnvelope(envelope, 5)
        self.assertNotIn("database on fire", envelope["output"])
        self.assertEqual(self.delegate.of(self.slice), [])
        self.flushLoggedErrors(RuntimeError)

    @defer.inlineCallbacks
    def test_failed_release_says_what_to_do(self):
        self.delegate.fail["provision"] = Refused("no")
        self.delegate.answers["delete"] = [dict(sliver_info(sliver_urn(1)),
                                                geni_error="the host is unreachable")]
        envelope = yield self.create()
        self.assertEnvelope(envelope, 7)
        self.assertIn("the host is unreachable", envelope["output"])
        self.assertIn("call DeleteSliver", envelope["output"])

    @defer.inlineCallbacks
    def test_bad_arguments(self):
        for slice_urn, rspec, users in (
                (str(self.pki.alice.urn), "<rspec/>", []),              # not a slice
                (str(self.slice), "", []),                              # no rspec
                (str(self.slice), "<rspec/>", {"urn": "x"}),            # users not a list
                (str(self.slice), "<rspec/>", [{"keys": [KEY]}]),       # no urn
                (str(self.slice), "<rspec/>", [{"urn": str(self.pki.alice.urn),
                                                "keys": [1]}])):
            envelope = yield self.v2("CreateSliver", slice_urn, self.slice_credentials(),
                                     rspec, users, {})
            self.assertEnvelope(envelope, 1)
        self.assertEqual(self.delegate.calls, [])

    @defer.inlineCallbacks
    def test_needs_createsliver_privilege(self):
        envelope = yield self.create(creds=self.info_only_credentials())
        self.assertEnvelope(envelope, 3)
        self.assertIn("CreateSliver", envelope["output"])
        envelope = yield self.create(creds=[])
        self.assertEnvelope(envelope, 3)
        self.assertEqual(self.delegate.calls, [])


class StartAfterProvisionTests(V2TestCase):
    start_after_provision = True

    @defer.inlineCallbacks
    def test_geni_start_follows_provision(self):
        envelope = yield self.v2("CreateSliver", str(self.slice), self.slice_credentials(),
                                 "<rspec/>", [], {})
        self.assertEqual(self.assertEnvelope(envelope, 0), MANIFEST)
        self.assertEqual([name for name, _ in self.delegate.calls],
                         ["status", "allocate", "provision", "perform_operational_action"])
        action = self.delegate.last("perform_operational_action")
        self.assertEqual((action["action"], action["sliver_urns"]),
                         ("geni_start", [URN.parse(sliver_urn(1))]))

    @defer.inlineCallbacks
    def test_failed_start_releases_everything(self):
        self.delegate.fail["perform_operational_action"] = Refused("the host is down")
        envelope = yield self.v2("CreateSliver", str(self.slice), self.slice_credentials(),
                                 "<rspec/>", [], {})
        self.assertEnvelope(envelope, 7)
        self.assertIn("released", envelope["output"])
        self.assertEqual(self.delegate.of(self.slice), [])


class _GatedDelegate(V2Delegate):
    """Allocate waits for ``gate`` to fire."""

    def __init__(self):
        super().__init__()
        self.gate = defer.Deferred()

    async def allocate(self, auth, slice_urn, rspec, options):
        await self.gate
        return await super().allocate(auth, slice_urn, rspec, options)


class _AllowAll:
    """An authorizer stub: every caller is alice, every credential good."""

    def authorize(self, peer_chain, credentials, target, method, options=None):
        caller = types.SimpleNamespace(urn=pki().alice.urn, tool=None)
        return types.SimpleNamespace(caller=caller, method=method, expires=None)

    async def authorize_in_pool(self, *args, **kwargs):
        return self.authorize(*args, **kwargs)


class CreateSliverLockTests(unittest.SynchronousTestCase):
    def create(self, handler):
        call = types.SimpleNamespace(peer_chain=(), caller=None, slice=None)
        return defer.Deferred.fromCoroutine(handler.CreateSliver(
            call, str(pki().slice_urn()), [], "<rspec/>", [], {}))

    def test_one_create_at_a_time_per_slice(self):
        delegate = _GatedDelegate()
        handler = AMAPIv2(delegate, _AllowAll())
        first, second = self.create(handler), self.create(handler)
        # the second waits for the first before it even looks at the slice
        self.assertEqual([name for name, _ in delegate.calls], ["status"])
        self.assertNoResult(first)
        self.assertNoResult(second)
        delegate.gate.callback(None)
        self.assertEqual(self.successResultOf(first), MANIFEST)
        self.failureResultOf(second, AlreadyExists)
        self.assertEqual([name for name, _ in delegate.calls],
                         ["status", "allocate", "provision", "status"])
        self.assertEqual(handler._creating._locks, {})


class SliverStatusTests(V2TestCase):
    @defer.inlineCallbacks
    def test_states_are_mapped(self):
        self.delegate.add_slivers(self.slice, 1, 2, 3)
        self.delegate.states.update({sliver_urn(1): "geni_ready",
                                     sliver_urn(2): "geni_configuring",
                                     sliver_urn(3): "geni_ready_busy"})
        envelope = yield self.v2("SliverStatus", str(self.slice), self.slice_credentials(), {})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual((value["geni_urn"], value["geni_status"]),
                         (str(self.slice), "configuring"))
        self.assertEqual({r["geni_urn"]: r["geni_status"] for r in value["geni_resources"]},
                         {sliver_urn(1): "ready", sliver_urn(2): "configuring",
                          sliver_urn(3): "ready"})
        for resource in value["geni_resources"]:
            self.assertEqual(resource["geni_error"], "")
            self.assertEqual(resource["geni_expires"], "2026-11-21T10:00:00Z")
        self.assertEqual(value["geni_expires"], "2026-11-21T10:00:00Z")
        self.assertEqual(self.delegate.last("status")["sliver_urns"], None)

        self.delegate.states[sliver_urn(2)] = "geni_ready"
        envelope = yield self.v2("SliverStatus", str(self.slice), self.info_only_credentials(),
                                 {})
        self.assertEqual(self.assertEnvelope(envelope, 0)["geni_status"], "ready")

    @defer.inlineCallbacks
    def test_failure_and_error_text(self):
        later = EXPIRES + datetime.timedelta(days=1)
        self.delegate.answers["status"] = {"geni_urn": self.slice, "geni_slivers": [
            dict(sliver_info(sliver_urn(1)), geni_operational_status="geni_ready",
                 geni_expires=later),
            dict(sliver_info(sliver_urn(2)), geni_operational_status="geni_failed",
                 geni_error="the VM did not boot; restart it or delete it"),
            dict(sliver_info(sliver_urn(3)), geni_allocation_status="geni_unallocated")]}
        envelope = yield self.v2("SliverStatus", str(self.slice), self.slice_credentials(), {})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(value["geni_status"], "failed")
        self.assertEqual([(r["geni_urn"], r["geni_status"], r["geni_error"])
                          for r in value["geni_resources"]],
                         [(sliver_urn(1), "ready", ""),
                          (sliver_urn(2), "failed",
                           "the VM did not boot; restart it or delete it")])
        self.assertEqual(value["geni_expires"], "2026-11-21T10:00:00Z")

    @defer.inlineCallbacks
    def test_unknown_slice(self):
        envelope = yield self.v2("SliverStatus", str(self.slice), self.slice_credentials(), {})
        self.assertEnvelope(envelope, 12)
        self.assertIn("CreateSliver", envelope["output"])     # v2 advice, not v3's
        self.delegate.answers["status"] = {"geni_urn": self.slice, "geni_slivers": []}
        envelope = yield self.v2("SliverStatus", str(self.slice), self.slice_credentials(), {})
        self.assertEnvelope(envelope, 12)

    @defer.inlineCallbacks
    def test_refusals(self):
        self.delegate.add_slivers(self.slice, 1)
        envelope = yield self.v2("SliverStatus", str(self.slice), [], {})
        self.assertEnvelope(envelope, 3)
        envelope = yield self.v2("SliverStatus", [str(self.slice)], self.slice_credentials(),
                                 {})
        self.assertEnvelope(envelope, 1)
        self.assertEqual(self.delegate.calls, [])


class StatusMappingTests(unittest.SynchronousTestCase):
    def test_resource_status(self):
        for v3, v2 in (("geni_ready", "ready"), ("geni_ready_busy", "ready"),
                       ("geni_configuring", "configuring"), ("geni_notready", "configuring"),
                       ("geni_stopping", "changing"), ("geni_updating_users", "changing"),
                       ("geni_failed", "failed"), ("geni_pending_allocation", "unknown"),
                       ("geni_exploding", "unknown")):
            info = {"geni_allocation_status": "geni_provisioned",
                    "geni_operational_status": v3}
            self.assertEqual(resource_status(info), v2, v3)
        self.assertEqual(resource_status({"geni_allocation_status": "geni_unallocated",
                                          "geni_operational_status": "geni_ready"}), "unknown")

    def test_slice_status(self):
        for statuses, expected in ((["ready", "ready"], "ready"),
                                   (["ready", "failed", "configuring"], "failed"),
                                   (["changing", "configuring", "ready"], "configuring"),
                                   (["ready", "changing"], "changing"),
                                   (["ready", "unknown"], "unknown"),
                                   ([], "unknown")):
            self.assertEqual(slice_status(statuses), expected, statuses)

    def test_decode_users(self):
        self.assertEqual(decode_users([{"urn": "u", "keys": f"{KEY}\r\n{KEY}2\n"}]),
                         [{"urn": "u", "keys": [KEY, KEY + "2"]}])
        self.assertRaises(BadArgs, decode_users, "alice")
        self.assertRaises(BadArgs, decode_users, [{"urn": "u", "keys": {"a": 1}}])


class RenewDeleteShutdownTests(V2TestCase):
    def setUp(self):
        super().setUp()
        self.delegate.add_slivers(self.slice, 1)

    @defer.inlineCallbacks
    def test_renew(self):
        envelope = yield self.v2("RenewSliver", str(self.slice), self.slice_credentials(),
                                 "2026-11-25T08:30:00+00:00",   # geni-lib's form
                                 {"geni_best_effort": True, "geni_extend_alap": True})
        self.assertIs(self.assertEnvelope(envelope, 0), True)
        self.assertIn("2026-11-21T10:00:00Z", envelope["output"])
        args = self.delegate.last("renew")
        self.assertEqual((args["slice_urn"], args["sliver_urns"]), (self.slice, None))
        self.assertEqual(args["expiration_time"], datetime.datetime(2026, 11, 25, 8, 30,
                                                                    tzinfo=UTC))
        self.assertIs(args["options"]["geni_best_effort"], False)
        self.assertIs(args["options"]["geni_extend_alap"], True)

    @defer.inlineCallbacks
    def test_renew_errors(self):
        envelope = yield self.v2("RenewSliver", str(self.slice), self.slice_credentials(),
                                 "next week", {})
        self.assertEnvelope(envelope, 1)
        envelope = yield self.v2("RenewSliver", str(self.slice), self.info_only_credentials(),
                                 "2026-11-25T08:30:00Z", {})
        self.assertEnvelope(envelope, 3)
        self.assertFalse(self.delegate.called("renew"))
        self.delegate.answers["renew"] = [dict(sliver_info(sliver_urn(1)),
                                               geni_error="booked from tomorrow")]
        envelope = yield self.v2("RenewSliver", str(self.slice), self.slice_credentials(),
                                 "2026-11-25T08:30:00Z", {})
        self.assertEnvelope(envelope, 2)
        self.assertIn("booked from tomorrow", envelope["output"])
        other = self.pki.slice_urn("other")
        envelope = yield self.v2("RenewSliver", str(other),
                                 self.slice_credentials(name="other"),
                                 "2026-11-25T08:30:00Z", {})
        self.assertEnvelope(envelope, 12)

    @defer.inlineCallbacks
    def test_delete(self):
        envelope = yield self.v2("DeleteSliver", str(self.slice), self.slice_credentials(),
                                 {"geni_best_effort": True})
        self.assertIs(self.assertEnvelope(envelope, 0), True)
        args = self.delegate.last("delete")
        self.assertEqual((args["slice_urn"], args["sliver_urns"]), (self.slice, None))
        self.assertIs(args["options"]["geni_best_effort"], False)
        envelope = yield self.v2("DeleteSliver", str(self.slice), self.slice_credentials(), {})
        self.assertEnvelope(envelope, 12)
        self.assertIn(str(self.slice), envelope["output"])

    @defer.inlineCallbacks
    def test_delete_errors(self):
        envelope = yield self.v2("DeleteSliver", str(self.slice), self.info_only_credentials(),
                                 {})
        self.assertEnvelope(envelope, 3)
        self.assertFalse(self.delegate.called("delete"))
        self.delegate.answers["delete"] = [dict(sliver_info(sliver_urn(1)),
                                                geni_error="the host is unreachable")]
        envelope = yield self.v2("DeleteSliver", str(self.slice), self.slice_credentials(), {})
        self.assertEnvelope(envelope, 2)
        self.assertIn("the host is unreachable", envelope["output"])

    @defer.inlineCallbacks
    def test_shutdown(self):
        envelope = yield self.v2("Shutdown", str(self.slice), self.slice_credentials(), {})
        self.assertIs(self.assertEnvelope(envelope, 0), True)
        self.assertEqual(self.delegate.last("shutdown")["slice_urn"], self.slice)

    @defer.inlineCallbacks
    def test_every_slice_method_refuses_without_credential(self):
        calls = (("CreateSliver", str(self.slice), [], "<rspec/>", [], {}),
                 ("SliverStatus", str(self.slice), [], {}),
                 ("RenewSliver", str(self.slice), [], "2026-11-25T08:30:00Z", {}),
                 ("DeleteSliver", str(self.slice), [], {}),
                 ("Shutdown", str(self.slice), [], {}),
                 ("ListResources", [], {"geni_rspec_version": V3,
                                        "geni_slice_urn": str(self.slice)}))
        for method, *params in calls:
            envelope = yield self.v2(method, *params)
            self.assertEnvelope(envelope, 3)
            self.assertTrue(envelope["output"])
        self.assertEqual(self.delegate.calls, [])
