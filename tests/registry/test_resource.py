"""The SFA wire: values and Faults, never an envelope or a traceback."""
import xmlrpc.client

from twisted.internet import defer

from gam.errors import GeniCode, Refused
from gam.rpc.envelope import FaultEnvelope
from gam.rpc.xmlrpc import XMLRPCResource
from gam.registry.server import registry_tls_options
from gam.rpc.site import build_site
from gam.rpc.xmlrpc import FAULT_MALFORMED, FAULT_NO_METHOD
from tests.registry.support import PATH, RegistryTestCase
from tests.rpc.support import TLSServer


class _Handler:
    """Methods that answer, refuse, break, or return what XML-RPC cannot send."""

    def procedures(self):
        return {"Echo": self.echo, "Refuse": self.refuse, "Break": self.broken,
                "Nil": self.nil}

    async def echo(self, call, value, extra=None):
        return {"value": value}

    def refuse(self, call):
        raise Refused("no, and here is what to do instead")

    def broken(self, call):
        raise RuntimeError("secret internal detail")

    def nil(self, call):
        return {"x": None}


class ResourceTests(RegistryTestCase):

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        self.user = yield defer.ensureDeferred(self.add_user("alice"))
        site = build_site(XMLRPCResource(_Handler(), envelope=FaultEnvelope()), path=PATH)
        self.fake = TLSServer(self, site, registry_tls_options(self.manager),
                              self.manager.root.gid.pem)

    def fake_call(self, method, *params):
        return self.fake.call(self.user, method, *params, path=PATH)

    @defer.inlineCallbacks
    def test_plain_value(self):
        self.assertEqual((yield self.fake_call("Echo", "x")), {"value": "x"})
        self.assertEqual((yield self.fake_call("Echo", "x", 1)), {"value": "x"})

    @defer.inlineCallbacks
    def test_geni_error_is_a_fault_with_its_code(self):
        fault = yield defer.ensureDeferred(self.assertFault(
            self.fake_call("Refuse"), GeniCode.REFUSED, "here is what to do"))
        self.assertNotIn("Traceback", fault.faultString)

    @defer.inlineCallbacks
    def test_internal_error_has_an_incident_and_no_detail(self):
        fault = yield defer.ensureDeferred(self.assertFault(
            self.fake_call("Break"), GeniCode.SERVERERROR, "incident"))
        self.assertNotIn("secret", fault.faultString)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    @defer.inlineCallbacks
    def test_nil_is_never_sent(self):
        yield defer.ensureDeferred(self.assertFault(self.fake_call("Nil"),
                                                    GeniCode.SERVERERROR, "incident"))

    @defer.inlineCallbacks
    def test_arity(self):
        yield defer.ensureDeferred(self.assertFault(self.fake_call("Echo"), GeniCode.BADARGS,
                                                    "value, extra (extra optional)"))

    @defer.inlineCallbacks
    def test_unknown_method_and_malformed_body(self):
        yield defer.ensureDeferred(self.assertFault(self.fake_call("Nope"), FAULT_NO_METHOD,
                                                    "Echo"))
        response = yield self.fake.request(self.user, "POST", PATH, b"<not-xmlrpc/>")
        with self.assertRaises(xmlrpc.client.Fault) as e:
            response.xmlrpc()
        self.assertEqual(e.exception.faultCode, FAULT_MALFORMED)
