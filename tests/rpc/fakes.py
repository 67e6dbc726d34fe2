"""A fake aggregate for the RPC tests: it records every call it gets.

It knows slivers by URN (``slivers``: sliver URN text -> slice URN), answers
with fixed documents holding datetimes, and can be told to fail a method
(``fail[method] = exception``) or answer something else
(``answers[method] = value``).
"""
import datetime

from gam.auth.urn import URN
from gam.errors import BadArgs, SearchFailed

AD_RSPEC = ('<rspec xmlns="http://www.geni.net/resources/rspec/3" type="advertisement">'
            '<node component_id="urn:publicid:IDN+gam.test+node+pc1" exclusive="true"/>'
            '</rspec>')
MANIFEST = ('<rspec xmlns="http://www.geni.net/resources/rspec/3" type="manifest">'
            '<node client_id="n1" sliver_id="urn:publicid:IDN+gam.test+sliver+1"/></rspec>')
EXPIRES = datetime.datetime(2026, 11, 21, 10, 0, tzinfo=datetime.timezone.utc)
EXPIRES_TEXT = "2026-11-21T10:00:00Z"


def sliver_urn(n):
    return f"urn:publicid:IDN+gam.test+sliver+{n}"


def sliver_info(urn):
    return {"geni_sliver_urn": str(urn), "geni_expires": EXPIRES,
            "geni_allocation_status": "geni_allocated",
            "geni_operational_status": "geni_pending_allocation", "geni_error": ""}


class FakeDelegate:
    def __init__(self):
        self.calls = []
        self.fail = {}
        self.answers = {}
        self.slivers = {}

    def add_slivers(self, slice_urn, *numbers):
        for n in numbers:
            self.slivers[sliver_urn(n)] = URN.parse(str(slice_urn))

    def _record(self, method, **kwargs):
        self.calls.append((method, kwargs))
        if method in self.fail:
            raise self.fail[method]

    def _answer(self, method, default):
        return self.answers.get(method, default)

    def last(self, method):
        """The arguments of the last call of ``method``."""
        for name, kwargs in reversed(self.calls):
            if name == method:
                return kwargs
        raise AssertionError(f"{method} was never called; calls: {[c[0] for c in self.calls]}")

    def called(self, method):
        return any(name == method for name, _ in self.calls)

    async def get_version(self):
        self._record("get_version")
        return self._answer("get_version", {
            "geni_api_versions": {"3": "https://am.gam.test:12346/am/3.0"},
            "geni_request_rspec_versions": [{"type": "GENI", "version": "3"}],
            "geni_ad_rspec_versions": [{"type": "GENI", "version": "3"}],
            "geni_single_allocation": 0, "geni_allocate": "geni_many"})

    async def resolve_slice(self, urns):
        self._record("resolve_slice", urns=urns)
        slices = set()
        for urn in urns:
            if str(urn) not in self.slivers:
                raise SearchFailed(f"no sliver {urn} here")
            slices.add(self.slivers[str(urn)])
        if len(slices) > 1:
            raise BadArgs("the slivers belong to different slices")
        return slices.pop()

    async def list_resources(self, auth, options):
        self._record("list_resources", auth=auth, options=options)
        return self._answer("list_resources", AD_RSPEC)

    async def describe(self, auth, slice_urn, sliver_urns, options):
        self._record("describe", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                     options=options)
        return self._answer("describe", {
            "geni_rspec": MANIFEST, "geni_urn": slice_urn,
            "geni_slivers": [sliver_info(u) for u in (sliver_urns or [sliver_urn(1)])]})

    async def allocate(self, auth, slice_urn, rspec, options):
        self._record("allocate", auth=auth, slice_urn=slice_urn, rspec=rspec, options=options)
        return self._answer("allocate", {"geni_rspec": MANIFEST,
                                         "geni_slivers": [sliver_info(sliver_urn(1))]})

    async def renew(self, auth, slice_urn, sliver_urns, expiration_time, options):
        self._record("renew", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                     expiration_time=expiration_time, options=options)
        return self._answer("renew", [sliver_info(sliver_urn(1))])

    async def provision(self, auth, slice_urn, sliver_urns, options):
        self._record("provision", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                     options=options)
        return self._answer("provision", {"geni_rspec": MANIFEST,
                                          "geni_slivers": [sliver_info(sliver_urn(1))]})

    async def status(self, auth, slice_urn, sliver_urns, options):
        self._record("status", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                     options=options)
        return self._answer("status", {"geni_urn": slice_urn,
                                       "geni_slivers": [sliver_info(sliver_urn(1))]})

    async def perform_operational_action(self, auth, slice_urn, sliver_urns, action, options):
        self._record("perform_operational_action", auth=auth, slice_urn=slice_urn,
                     sliver_urns=sliver_urns, action=action, options=options)
        return self._answer("perform_operational_action", [sliver_info(sliver_urn(1))])

    async def delete(self, auth, slice_urn, sliver_urns, options):
        self._record("delete", auth=auth, slice_urn=slice_urn, sliver_urns=sliver_urns,
                     options=options)
        return self._answer("delete", [sliver_info(sliver_urn(1))])

    async def shutdown(self, auth, slice_urn, options):
        self._record("shutdown", auth=auth, slice_urn=slice_urn, options=options)
        return self._answer("shutdown", True)
