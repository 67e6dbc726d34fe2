"""The XML-RPC plumbing over real TLS: envelopes, faults, caps, paths, audit."""
import xmlrpc.client

from twisted.internet import defer
from twisted.logger import globalLogPublisher

from gam.errors import Refused
from tests.rpc.fakes import EXPIRES_TEXT, sliver_urn
from tests.rpc.support import AMTestCase

V3 = {"type": "GENI", "version": "3"}


class _Secret(Exception):
    pass


class EnvelopeTests(AMTestCase):
    @defer.inlineCallbacks
    def test_get_version_envelope(self):
        envelope = yield self.call("GetVersion")
        value = self.assertEnvelope(envelope, 0)
        self.assertEqual(envelope["geni_api"], 3)
        self.assertEqual(value["geni_api"], 3)
        self.assertEqual(value["geni_single_allocation"], 0)
        self.assertEqual(envelope["output"], "")

    @defer.inlineCallbacks
    def test_get_version_takes_options(self):
        envelope = yield self.call("GetVersion", {})
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_real_client_library(self):
        envelope = yield self.server.proxy_call(self.pki.alice, "GetVersion")
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_geni_error_from_delegate(self):
        self.delegate.fail["allocate"] = Refused("no node is free from 10:00; try later")
        envelope = yield self.call("Allocate", str(self.pki.slice_urn()),
                                   self.slice_credentials(), "<rspec/>", {})
        self.assertEnvelope(envelope, 7)
        self.assertEqual(envelope["output"], "no node is free from 10:00; try later")

    @defer.inlineCallbacks
    def test_unexpected_exception_is_server_error_without_traceback(self):
        self.delegate.fail["status"] = _Secret("database password is hunter2")
        response = yield self.server.request(
            self.pki.alice, body=xmlrpc.client.dumps(
                ([str(self.pki.slice_urn())], self.slice_credentials(), {}), "Status").encode())
        envelope = response.xmlrpc()
        self.assertEnvelope(envelope, 5)
        self.assertIn("incident", envelope["output"])
        for leak in (b"hunter2", b"Traceback", b"_Secret", b".py"):
            self.assertNotIn(leak, response.body)
        # The traceback is in the server log, under the same incident id.
        logged = self.flushLoggedErrors(_Secret)
        self.assertEqual(len(logged), 1)

    @defer.inlineCallbacks
    def test_none_in_result_is_server_error(self):
        self.delegate.answers["status"] = {"geni_urn": "x", "geni_slivers": [None]}
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        response = yield self.server.request(
            self.pki.alice, body=xmlrpc.client.dumps(
                ([str(self.pki.slice_urn())], self.slice_credentials(), {}), "Status").encode())
        self.assertNotIn(b"<nil", response.body)
        envelope = response.xmlrpc()
        self.assertEnvelope(envelope, 5)
        errors = [e for e in events if e.get("log_namespace") == "gam.rpc"
                  and "geni_slivers" in str(e.get("problem"))]
        self.assertEqual(len(errors), 1)
        self.assertIn(errors[0]["incident"], envelope["output"])

    @defer.inlineCallbacks
    def test_datetimes_are_rfc3339_strings(self):
        response = yield self.server.request(
            self.pki.alice, body=xmlrpc.client.dumps(
                ([str(self.pki.slice_urn())], self.slice_credentials(), {}), "Status").encode())
        self.assertNotIn(b"dateTime.iso8601", response.body)
        value = self.assertEnvelope(response.xmlrpc(), 0)
        self.assertEqual(value["geni_slivers"][0]["geni_expires"], EXPIRES_TEXT)
        # URN objects from the delegate are sent as text.
        self.assertEqual(value["geni_urn"], str(self.pki.slice_urn()))

    @defer.inlineCallbacks
    def test_wrong_number_of_arguments_is_badargs(self):
        envelope = yield self.call("Status", [str(self.pki.slice_urn())])
        self.assertEnvelope(envelope, 1)
        self.assertIn("credentials", envelope["output"])
        envelope = yield self.call("GetVersion", {}, {}, {})
        self.assertEnvelope(envelope, 1)


class FaultTests(AMTestCase):
    @defer.inlineCallbacks
    def assertFault(self, body, code):
        response = yield self.server.request(self.pki.alice, body=body)
        self.assertEqual(response.status, 200)
        try:
            response.xmlrpc()
        except xmlrpc.client.Fault as fault:
            self.assertEqual(fault.faultCode, code)
            self.assertNotIn("Traceback", fault.faultString)
            return fault
        self.fail(f"expected a Fault, got {response.body!r}")

    def test_not_xml(self):
        return self.assertFault(b"this is not XML", 8002)

    def test_truncated_xml(self):
        body = xmlrpc.client.dumps(({},), "GetVersion").encode()
        return self.assertFault(body[:len(body) // 2], 8002)

    def test_xml_but_not_xmlrpc(self):
        return self.assertFault(b"<?xml version='1.0'?><hello/>", 8002)

    @defer.inlineCallbacks
    def test_entity_declarations_are_refused(self):
        body = (b"<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a 'aaaaaaaaaa'>"
                b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
                b"<methodCall><methodName>GetVersion</methodName><params><param><value>"
                b"<string>&b;</string></value></param></params></methodCall>")
        fault = yield self.assertFault(body, 8002)
        self.assertIn("DOCTYPE", fault.faultString)
        self.assertFalse(self.delegate.called("get_version"))

    @defer.inlineCallbacks
    def test_unknown_method(self):
        body = xmlrpc.client.dumps(({},), "CreateSliverPlease").encode()
        fault = yield self.assertFault(body, 8001)
        self.assertIn("CreateSliverPlease", fault.faultString)


class PathTests(AMTestCase):
    @defer.inlineCallbacks
    def test_served_on_every_path(self):
        for path in ("/am/3.0", "/am/3.0/", "/", "/RPC2"):
            envelope = yield self.call("GetVersion", path=path)
            self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_other_paths_are_not_found(self):
        response = yield self.server.request(
            self.pki.alice, path="/am/2.0", body=xmlrpc.client.dumps((), "GetVersion").encode())
        self.assertEqual(response.status, 404)

    @defer.inlineCallbacks
    def test_get_is_not_allowed(self):
        response = yield self.server.request(self.pki.alice, method="GET", path="/RPC2")
        self.assertEqual(response.status, 405)


class AuditTests(AMTestCase):
    @defer.inlineCallbacks
    def test_one_audit_line_per_call(self):
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.delegate.add_slivers(self.pki.slice_urn(), 1)
        yield self.call("Delete", [sliver_urn(1)], self.slice_credentials(), {})
        yield self.call("Delete", [sliver_urn(1)], [], {})
        audit = [e for e in events if e.get("log_namespace") == "gam.audit"]
        self.assertEqual(len(audit), 2)
        # The refused call is refused before its sliver is looked up: no slice.
        for event, code, slice_ in zip(audit, (0, 3), (str(self.pki.slice_urn()), "-")):
            self.assertEqual(event["method"], "Delete")
            self.assertEqual(event["caller"], str(self.pki.alice.urn))
            self.assertEqual(event["slice"], slice_)
            self.assertEqual(event["geni_code"], code)
            self.assertGreaterEqual(event["duration_ms"], 0)


class BodyCapTests(AMTestCase):
    site_options = {"max_body": 64 * 1024, "discard_limit": 1024 * 1024}

    def big_call(self, size):
        return xmlrpc.client.dumps(({"filler": "x" * size},), "GetVersion").encode()

    @defer.inlineCallbacks
    def test_declared_length_over_cap(self):
        response = yield self.server.request(self.pki.alice, body=self.big_call(100 * 1024))
        self.assertEqual(response.status, 413)
        self.assertIn(b"65536", response.body)
        self.assertFalse(self.delegate.called("get_version"))
        # The server is fine afterwards.
        envelope = yield self.call("GetVersion")
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_chunked_body_over_cap(self):
        body = self.big_call(100 * 1024)
        chunks = [body[i:i + 4096] for i in range(0, len(body), 4096)]
        response = yield self.server.request(
            self.pki.alice, body=iter(chunks),
            headers={"Content-Type": "text/xml"})
        self.assertEqual(response.status, 413)
        self.assertFalse(self.delegate.called("get_version"))
        envelope = yield self.call("GetVersion")
        self.assertEnvelope(envelope, 0)

    @defer.inlineCallbacks
    def test_body_under_cap_is_served(self):
        response = yield self.server.request(self.pki.alice, body=self.big_call(32 * 1024))
        self.assertEqual(response.status, 200)
        self.assertEnvelope(response.xmlrpc(), 0)

    @defer.inlineCallbacks
    def test_far_too_big_is_cut(self):
        # Past the discard limit the server answers and closes at once; the
        # client may see the 413 or a reset, but never a served call.
        try:
            response = yield self.server.request(self.pki.alice,
                                                 body=self.big_call(4 * 1024 * 1024))
        except OSError:
            pass
        else:
            self.assertEqual(response.status, 413)
        self.assertFalse(self.delegate.called("get_version"))
        envelope = yield self.call("GetVersion")
        self.assertEnvelope(envelope, 0)
