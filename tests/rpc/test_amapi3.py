"""AM API v3 arguments, authorization and delegate calls, over real TLS."""
import datetime
import xmlrpc.client

from twisted.internet import defer

from gam.auth.urn import URN
from gam.errors import Unsupported
from gam.rpc.amapi3 import decompress
from tests.rpc.fakes import AD_RSPEC, MANIFEST, sliver_urn
from tests.rpc.support import AMTestCase

UTC = datetime.timezone.utc
V3 = {"type": "GENI", "version": "3"}


class ListResourcesTests(AMTestCase):
    @defer.inlineCallbacks
    def test_success(self):
        envelope = yield self.call("ListResources", self.user_credentials(),
                                   {"geni_rspec_version": V3, "geni_available": True})
        self.assertEqual(self.assertEnvelope(envelope, 0), AD_RSPEC)
        args = self.delegate.last("list_resources")
        self.assertEqual(args["auth"].caller.urn, self.pki.alice.urn)
        self.assertIs(args["options"]["geni_available"], True)

    @defer.inlineCallbacks
    def test_slice_credential_is_enough(self):
        envelope = yield self.call("ListResources", self.slice_credentials(),
                                   {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_version_type_is_case_insensitive(self):
        envelope = yield self.call("ListResources", self.user_credentials(),
                                   {"geni_rspec_version": {"type": "geni", "version": 3}})
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_missing_rspec_version(self):
        envelope = yield self.call("ListResources", self.user_credentials(), {})
        self.assertEnvelope(envelope, 1)
        self.assertIn("geni_rspec_version", envelope["output"])
        self.assertFalse(self.delegate.called("list_resources"))

    @defer.inlineCallbacks
    def test_malformed_rspec_version(self):
        for version in ("GENI 3", {"type": ["GENI"], "version": "3"},
                        {"type": "GENI", "version": ["3"]}, {"type": "GENI"}):
            envelope = yield self.call("ListResources", self.user_credentials(),
                                       {"geni_rspec_version": version})
            self.assertEnvelope(envelope, 1)
            self.assertIn("must be a struct with type and version", envelope["output"])

    @defer.inlineCallbacks
    def test_unsupported_rspec_version(self):
        envelope = yield self.call("ListResources", self.user_credentials(),
                                   {"geni_rspec_version": {"type": "ProtoGENI", "version": "2"}})
        self.assertEnvelope(envelope, 4)
        self.assertIn("GENI 3", envelope["output"])

    @defer.inlineCallbacks
    def test_no_credential_is_forbidden(self):
        envelope = yield self.call("ListResources", [], {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)
        self.assertFalse(self.delegate.called("list_resources"))

    @defer.inlineCallbacks
    def test_someone_elses_credential_is_forbidden(self):
        envelope = yield self.call("ListResources", self.user_credentials(self.pki.bob),
                                   {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)
        self.assertIn("bob", envelope["output"])

    @defer.inlineCallbacks
    def test_credentials_not_a_list(self):
        envelope = yield self.call("ListResources", "nonsense", {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_options_not_a_struct(self):
        envelope = yield self.call("ListResources", self.user_credentials(), ["x"])
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_compressed_round_trip(self):
        envelope = yield self.call("ListResources", self.user_credentials(),
                                   {"geni_rspec_version": V3, "geni_compressed": True})
        value = self.assertEnvelope(envelope, 0)
        self.assertNotEqual(value, AD_RSPEC)
        self.assertEqual(decompress(value), AD_RSPEC)

    @defer.inlineCallbacks
    def test_credential_as_base64(self):
        # geni-lib sends geni_value as base64 and geni_version as an int.
        xml = self.pki.user_credential()
        creds = [{"geni_type": "geni_sfa", "geni_version": 3,
                  "geni_value": xmlrpc.client.Binary(xml.encode())}]
        envelope = yield self.call("ListResources", creds, {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 0)


class UrnsTests(AMTestCase):
    """The ``urns`` argument, through Describe (the same code serves every method)."""

    def setUp(self):
        super().setUp()
        self.slice = self.pki.slice_urn()
        self.other = self.pki.slice_urn("other")
        self.delegate.add_slivers(self.slice, 1, 2)
        self.delegate.add_slivers(self.other, 9)

    def describe(self, urns, creds=None, options=None):
        if options is None:
            options = {"geni_rspec_version": V3}
        return self.call("Describe", urns, creds or self.slice_credentials(), options)

    @defer.inlineCallbacks
    def test_slice_urn(self):
        envelope = yield self.describe([str(self.slice)])
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(value["geni_rspec"], MANIFEST)
        args = self.delegate.last("describe")
        self.assertEqual(args["slice_urn"], self.slice)
        self.assertIsInstance(args["slice_urn"], URN)
        self.assertIsNone(args["sliver_urns"])
        self.assertFalse(self.delegate.called("resolve_slice"))

    @defer.inlineCallbacks
    def test_sliver_urns(self):
        envelope = yield self.describe([sliver_urn(1), sliver_urn(2)])
        self.assertEnvelope(envelope, 0)
        args = self.delegate.last("describe")
        self.assertEqual(args["slice_urn"], self.slice)
        self.assertEqual([str(u) for u in args["sliver_urns"]], [sliver_urn(1), sliver_urn(2)])

    @defer.inlineCallbacks
    def test_slice_and_its_own_sliver_means_the_slice(self):
        envelope = yield self.describe([str(self.slice), sliver_urn(1)])
        self.assertEnvelope(envelope, 0)
        self.assertIsNone(self.delegate.last("describe")["sliver_urns"])

    @defer.inlineCallbacks
    def test_two_slices(self):
        envelope = yield self.describe([str(self.slice), str(self.other)])
        self.assertEnvelope(envelope, 1)
        self.assertFalse(self.delegate.called("describe"))

    @defer.inlineCallbacks
    def test_slice_and_sliver_of_another_slice(self):
        envelope = yield self.describe([str(self.slice), sliver_urn(9)])
        self.assertEnvelope(envelope, 1)
        self.assertFalse(self.delegate.called("describe"))

    @defer.inlineCallbacks
    def test_slivers_of_two_slices(self):
        envelope = yield self.describe([sliver_urn(1), sliver_urn(9)])
        self.assertEnvelope(envelope, 1)
        self.assertFalse(self.delegate.called("describe"))

    @defer.inlineCallbacks
    def test_unknown_sliver(self):
        envelope = yield self.describe([sliver_urn(404)])
        self.assertEnvelope(envelope, 12)

    @defer.inlineCallbacks
    def test_slivers_are_not_looked_up_for_a_caller_without_credentials(self):
        # Unknown or someone else's: the same answer, FORBIDDEN, and no lookup
        # (the answer would tell which sliver URNs exist).
        for method, params in (("Describe", ({"geni_rspec_version": V3},)),
                               ("Status", ({},)), ("Delete", ({},)),
                               ("Renew", ("2030-01-01T00:00:00Z", {})),
                               ("Provision", ({},)),
                               ("PerformOperationalAction", ("geni_start", {}))):
            for urn in (sliver_urn(404), sliver_urn(9)):
                envelope = yield self.call(method, [urn], [], *params)
                self.assertEnvelope(envelope, 3)
                self.assertIn("needs a credential", envelope["output"])
        self.assertFalse(self.delegate.called("resolve_slice"))

    @defer.inlineCallbacks
    def test_not_a_slice_or_sliver(self):
        envelope = yield self.describe([str(self.pki.alice.urn)])
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_malformed_urn(self):
        envelope = yield self.describe(["urn:nonsense"])
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_empty_list(self):
        envelope = yield self.describe([])
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_credential_for_another_slice(self):
        envelope = yield self.describe([sliver_urn(9)])  # alice's credential is for myslice
        self.assertEnvelope(envelope, 3)
        self.assertFalse(self.delegate.called("describe"))

    @defer.inlineCallbacks
    def test_sub_authority_slice(self):
        sub_slice = self.pki.slice_urn("subslice", self.pki.sub)
        creds = [{"geni_type": "geni_sfa", "geni_version": "3",
                  "geni_value": self.pki.slice_credential(self.pki.carol, "subslice",
                                                          authority=self.pki.sub)}]
        envelope = yield self.call("Describe", [str(sub_slice)], creds,
                                   {"geni_rspec_version": V3}, identity=self.pki.carol)
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_describe_needs_rspec_version(self):
        envelope = yield self.describe([str(self.slice)], options={})
        self.assertEnvelope(envelope, 1)
        envelope = yield self.describe(
            [str(self.slice)], options={"geni_rspec_version": {"type": "GENI", "version": "2"}})
        self.assertEnvelope(envelope, 4)

    @defer.inlineCallbacks
    def test_describe_compressed(self):
        envelope = yield self.describe(
            [str(self.slice)], options={"geni_rspec_version": V3, "geni_compressed": True})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(decompress(value["geni_rspec"]), MANIFEST)

    @defer.inlineCallbacks
    def test_no_credential(self):
        envelope = yield self.call("Describe", [str(self.slice)], [], {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 3)


class MethodTests(AMTestCase):
    def setUp(self):
        super().setUp()
        self.slice = self.pki.slice_urn()
        self.delegate.add_slivers(self.slice, 1)

    @defer.inlineCallbacks
    def test_allocate(self):
        envelope = yield self.call("Allocate", str(self.slice), self.slice_credentials(),
                                   "<rspec type='request'/>",
                                   {"geni_end_time": "2026-11-22T10:00:00Z",
                                    "geni_start_time": "2026-11-21T12:00:00"})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(value["geni_slivers"][0]["geni_sliver_urn"], sliver_urn(1))
        args = self.delegate.last("allocate")
        self.assertEqual(args["rspec"], "<rspec type='request'/>")
        self.assertEqual(args["options"]["geni_end_time"],
                         datetime.datetime(2026, 11, 22, 10, tzinfo=UTC))
        self.assertEqual(args["options"]["geni_start_time"],
                         datetime.datetime(2026, 11, 21, 12, tzinfo=UTC))

    @defer.inlineCallbacks
    def test_allocate_bad_arguments(self):
        for slice_urn, rspec, options in (
                (str(self.pki.alice.urn), "<rspec/>", {}),          # not a slice
                (["x"], "<rspec/>", {}),                            # not a string
                (str(self.slice), "", {}),                          # no rspec
                (str(self.slice), "<rspec/>", {"geni_end_time": "tomorrow"})):
            envelope = yield self.call("Allocate", slice_urn, self.slice_credentials(), rspec,
                                       options)
            self.assertEnvelope(envelope, 1)
        self.assertFalse(self.delegate.called("allocate"))

    @defer.inlineCallbacks
    def test_allocate_without_privilege(self):
        creds = [{"geni_type": "geni_sfa", "geni_version": "3",
                  "geni_value": self.pki.slice_credential(privileges=["info"])}]
        envelope = yield self.call("Allocate", str(self.slice), creds, "<rspec/>", {})
        self.assertEnvelope(envelope, 3)
        self.assertFalse(self.delegate.called("allocate"))

    @defer.inlineCallbacks
    def test_renew_time_forms(self):
        expected = datetime.datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
        for text in ("2026-11-25T08:30:00Z", "2026-11-25T08:30:00+00:00",
                     "2026-11-25T08:30:00", "2026-11-25T09:30:00+01:00",
                     xmlrpc.client.DateTime("20261125T08:30:00")):
            envelope = yield self.call("Renew", [sliver_urn(1)], self.slice_credentials(),
                                       text, {"geni_best_effort": True})
            self.assertEnvelope(envelope, 0)
            args = self.delegate.last("renew")
            self.assertEqual(args["expiration_time"], expected, text)
            self.assertEqual(args["expiration_time"].utcoffset(), datetime.timedelta(0))
            self.assertIs(args["options"]["geni_best_effort"], True)

    @defer.inlineCallbacks
    def test_renew_bad_time(self):
        for bad in ("next week", 42, ""):
            envelope = yield self.call("Renew", [str(self.slice)], self.slice_credentials(),
                                       bad, {})
            self.assertEnvelope(envelope, 1)
        self.assertFalse(self.delegate.called("renew"))

    @defer.inlineCallbacks
    def test_provision(self):
        envelope = yield self.call("Provision", [str(self.slice)], self.slice_credentials(),
                                   {"geni_users": [{"urn": str(self.pki.alice.urn),
                                                    "keys": ["ssh-rsa AAAA"]}]})
        self.assertEnvelope(envelope, 0)
        args = self.delegate.last("provision")
        self.assertEqual(args["options"]["geni_users"][0]["keys"], ["ssh-rsa AAAA"])

    @defer.inlineCallbacks
    def test_provision_checks_an_rspec_version_if_given(self):
        envelope = yield self.call("Provision", [str(self.slice)], self.slice_credentials(),
                                   {"geni_rspec_version": {"type": "GENI", "version": "9"}})
        self.assertEnvelope(envelope, 4)
        envelope = yield self.call("Provision", [str(self.slice)], self.slice_credentials(),
                                   {"geni_rspec_version": V3})
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_status(self):
        envelope = yield self.call("Status", [sliver_urn(1)], self.slice_credentials(), {})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(value["geni_urn"], str(self.slice))
        self.assertEqual(value["geni_slivers"][0]["geni_error"], "")

    @defer.inlineCallbacks
    def test_perform_operational_action(self):
        envelope = yield self.call("PerformOperationalAction", [sliver_urn(1)],
                                   self.slice_credentials(), "geni_start", {})
        self.assertEnvelope(envelope, 0)
        self.assertEqual(self.delegate.last("perform_operational_action")["action"],
                         "geni_start")

    @defer.inlineCallbacks
    def test_unknown_action_is_the_delegates_unsupported(self):
        self.delegate.fail["perform_operational_action"] = Unsupported(
            "action geni_fly is not supported; use geni_start, geni_stop or geni_restart")
        envelope = yield self.call("PerformOperationalAction", [str(self.slice)],
                                   self.slice_credentials(), "geni_fly", {})
        self.assertEnvelope(envelope, 13)
        self.assertIn("geni_fly", envelope["output"])

    @defer.inlineCallbacks
    def test_action_must_be_a_string(self):
        envelope = yield self.call("PerformOperationalAction", [str(self.slice)],
                                   self.slice_credentials(), ["geni_start"], {})
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_delete(self):
        envelope = yield self.call("Delete", [str(self.slice)], self.slice_credentials(), {})
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(len(value), 1)
        self.assertEqual(self.delegate.last("delete")["slice_urn"], self.slice)

    @defer.inlineCallbacks
    def test_shutdown(self):
        envelope = yield self.call("Shutdown", str(self.slice), self.slice_credentials(), {})
        self.assertIs(self.assertEnvelope(envelope, 0), True)
        envelope = yield self.call("Shutdown", [str(self.slice)], self.slice_credentials(), {})
        self.assertEnvelope(envelope, 1)

    @defer.inlineCallbacks
    def test_every_slice_method_refuses_without_credential(self):
        calls = (("Describe", [str(self.slice)], [], {"geni_rspec_version": V3}),
                 ("Allocate", str(self.slice), [], "<rspec/>", {}),
                 ("Renew", [str(self.slice)], [], "2026-11-25T08:30:00Z", {}),
                 ("Provision", [str(self.slice)], [], {}),
                 ("Status", [str(self.slice)], [], {}),
                 ("PerformOperationalAction", [str(self.slice)], [], "geni_start", {}),
                 ("Delete", [str(self.slice)], [], {}),
                 ("Shutdown", str(self.slice), [], {}))
        for method, *params in calls:
            envelope = yield self.call(method, *params)
            self.assertEnvelope(envelope, 3)
        delegate_calls = {name for name, _ in self.delegate.calls} - {"resolve_slice"}
        self.assertEqual(delegate_calls, set())
