"""Every slice method checks that the credential is for the slice it acts on.

alice holds a valid slice credential for ``myslice`` (slice A). Used on
``other`` (slice B), each method must refuse it (geni_code 3, the
authorizer's wrong-target message) before the delegate is called; the same
call on slice A must get past authorization.
"""
from twisted.internet import defer

from gam.errors import GeniCode
from tests.rpc.fakes import sliver_urn
from tests.rpc.support import AMTestCase
from tests.rpc.test_amapi2 import V2TestCase

V3 = {"type": "GENI", "version": "3"}
RENEW_TO = "2026-11-25T08:30:00Z"

# method -> (delegate method it leads to, params given the slice URN text)
V3_CALLS = {
    "Describe": ("describe", lambda s: ([s], {"geni_rspec_version": V3})),
    "Allocate": ("allocate", lambda s: (s, "<rspec type='request'/>", {})),
    "Renew": ("renew", lambda s: ([s], RENEW_TO, {})),
    "Provision": ("provision", lambda s: ([s], {})),
    "Status": ("status", lambda s: ([s], {})),
    "PerformOperationalAction": ("perform_operational_action",
                                 lambda s: ([s], "geni_start", {})),
    "Delete": ("delete", lambda s: ([s], {})),
    "Shutdown": ("shutdown", lambda s: (s, {})),
}

V2_CALLS = {
    "CreateSliver": ("allocate", lambda s: (s, "<rspec type='request'/>", [], {})),
    "SliverStatus": ("status", lambda s: (s, {})),
    "RenewSliver": ("renew", lambda s: (s, RENEW_TO, {})),
    "DeleteSliver": ("delete", lambda s: (s, {})),
    "Shutdown": ("shutdown", lambda s: (s, {})),
    "ListResources": ("describe", lambda s: ({"geni_rspec_version": V3,
                                              "geni_slice_urn": s},)),
}


class TargetMixin:
    """``check(method)``: alice's credential for A refused on B, accepted on A."""

    calls = {}

    def setUp(self):
        super().setUp()
        self.slice_a = self.pki.slice_urn("myslice")
        self.slice_b = self.pki.slice_urn("other")

    def invoke(self, method, slice_urn):
        raise NotImplementedError

    @defer.inlineCallbacks
    def check(self, method):
        delegate_method, _ = self.calls[method]
        envelope = yield self.invoke(method, self.slice_b)
        self.assertEnvelope(envelope, GeniCode.FORBIDDEN)
        self.assertIn(f"the credential is for {self.slice_a}, not for {self.slice_b}",
                      envelope["output"])
        self.assertFalse(self.delegate.called(delegate_method),
                         f"{method} reached the delegate with a credential for another slice")

        envelope = yield self.invoke(method, self.slice_a)
        self.assertNotEqual(envelope["code"]["geni_code"], GeniCode.FORBIDDEN,
                            envelope["output"])
        self.assertEqual(str(self.delegate.last(delegate_method)["slice_urn"]),
                         str(self.slice_a))


class V3TargetTests(TargetMixin, AMTestCase):
    calls = V3_CALLS

    def invoke(self, method, slice_urn):
        first, *rest = self.calls[method][1](str(slice_urn))
        return self.call(method, first, self.slice_credentials(), *rest)


class V2TargetTests(TargetMixin, V2TestCase):
    calls = V2_CALLS

    def setUp(self):
        super().setUp()
        # Slice A has a sliver (SliverStatus, RenewSliver... need one), except
        # for CreateSliver, which makes it.
        if self._testMethodName != "test_CreateSliver":
            self.delegate.add_slivers(self.slice_a, 1)
            self.delegate.states[sliver_urn(1)] = "geni_ready"

    def invoke(self, method, slice_urn):
        params = self.calls[method][1](str(slice_urn))
        if method == "ListResources":
            return self.v2(method, self.slice_credentials(), *params)
        return self.v2(method, params[0], self.slice_credentials(), *params[1:])


for _cls in (V3TargetTests, V2TargetTests):
    for _method in _cls.calls:
        setattr(_cls, f"test_{_method}", lambda self, _m=_method: self.check(_m))

del _cls, _method
