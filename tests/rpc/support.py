"""Real TLS servers on 127.0.0.1 and real clients for the RPC tests.

:class:`TLSServer` listens with :func:`gam.rpc.tls.listen` on port 0 and, on
cleanup, stops listening and closes every connection it accepted, so the
reactor is clean. Clients are the standard library's (``http.client`` and
``xmlrpc.client`` over ``ssl``, as omni uses), run in threads with a socket
timeout so that no test can hang.
"""
import http.client
import os
import ssl
import tempfile
import xmlrpc.client

from twisted.internet import defer, reactor, threads
from twisted.trial import unittest

from gam.rpc import tls
from gam.rpc.am import am_site
from gam.rpc.connections import TrackedConnections
from tests.pki import pki, struct
from tests.rpc.fakes import FakeDelegate

CLIENT_TIMEOUT = 15


def client_context(identity=None, *, chain=None, trust=None):
    """An ``ssl`` client context presenting ``identity``'s chain (all of it by default).

    ``chain`` overrides which certificates are sent (GIDs, leaf first);
    ``trust`` is the PEM the server's certificate is checked against.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if trust is not None:
        ctx.load_verify_locations(cadata=trust)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if identity is not None:
        chain = identity.chain if chain is None else chain
        # ssl loads client certificates from files only.
        with tempfile.TemporaryDirectory() as directory:
            cert_path = os.path.join(directory, "client.pem")
            key_path = os.path.join(directory, "client.key")
            with open(cert_path, "w") as f:
                f.write("".join(g.pem for g in chain))
            with open(key_path, "w") as f:
                f.write(identity.key_pem)
            ctx.load_cert_chain(cert_path, key_path)
    return ctx


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def xmlrpc(self):
        """The single value of an XML-RPC answer (raises Fault for a fault)."""
        (value,), _ = xmlrpc.client.loads(self.body)
        return value


class TLSServer:
    """A site listening with TLS on 127.0.0.1; stopped by the test's cleanup."""

    def __init__(self, testcase, site, tls_options, trust_pem):
        self.tracker = TrackedConnections(site)
        self.port = tls.listen(reactor, self.tracker, "127.0.0.1", 0, tls_options)
        self.trust_pem = trust_pem
        testcase.addCleanup(self.stop)

    @property
    def port_number(self):
        return self.port.getHost().port

    def url(self, path="/am/3.0"):
        return f"https://127.0.0.1:{self.port_number}{path}"

    @defer.inlineCallbacks
    def stop(self):
        yield defer.maybeDeferred(self.port.stopListening)
        yield self.tracker.close_all()

    # ----------------------------------------------------------- clients

    def context(self, identity, chain=None):
        return client_context(identity, chain=chain, trust=self.trust_pem)

    def _thd_request(self, context, method, path, body, headers):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port_number, context=context,
                                           timeout=CLIENT_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Response(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def request(self, identity, method="POST", path="/am/3.0", body=b"", headers=None,
                chain=None, context=None):
        """Send one HTTP request over TLS; fires with a :class:`Response`."""
        context = context or self.context(identity, chain)
        if headers is None:
            headers = {"Content-Type": "text/xml"}
        return threads.deferToThread(self._thd_request, context, method, path, body, headers)

    def call(self, identity, method, *params, path="/am/3.0", chain=None):
        """One XML-RPC call; fires with the answer's value or fails with a Fault."""
        body = xmlrpc.client.dumps(params, method, allow_none=False).encode("utf-8")
        d = self.request(identity, "POST", path, body, chain=chain)
        d.addCallback(lambda response: response.xmlrpc())
        return d

    def _thd_proxy_call(self, context, path, method, params):
        proxy = xmlrpc.client.ServerProxy(self.url(path), transport=_Transport(context=context))
        try:
            return getattr(proxy, method)(*params)
        finally:
            proxy("close")()

    def proxy_call(self, identity, method, *params, path="/am/3.0"):
        """The same call through ``xmlrpc.client.ServerProxy``, as omni makes it."""
        return threads.deferToThread(self._thd_proxy_call, self.context(identity), path,
                                     method, params)


class _Transport(xmlrpc.client.SafeTransport):
    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = CLIENT_TIMEOUT
        return conn


class AMTestCase(unittest.TestCase):
    """A real AM API v3 server over TLS with a :class:`FakeDelegate` behind it."""

    timeout = 60
    site_options = {}

    def setUp(self):
        self.pki = pki()
        self.delegate = FakeDelegate()
        self.site = am_site(self.delegate, self.pki.authorizer(), path="/am/3.0",
                            **self.site_options)
        options = tls.server_options(self.pki.am.chain, self.pki.am.key,
                                     self.pki.trust_roots())
        self.server = TLSServer(self, self.site, options, self.pki.root.gid.pem)

    def call(self, method, *params, identity=None, **kwargs):
        return self.server.call(identity or self.pki.alice, method, *params, **kwargs)

    def slice_credentials(self, owner=None, name="myslice"):
        return [struct(self.pki.slice_credential(owner, name))]

    def user_credentials(self, owner=None):
        return [struct(self.pki.user_credential(owner))]

    def assertEnvelope(self, envelope, geni_code):
        """Check the envelope's shape and code; return its value."""
        self.assertEqual(envelope["code"], {"geni_code": geni_code, "am_type": "gam",
                                            "am_code": geni_code}, envelope.get("output"))
        self.assertIsInstance(envelope["output"], str)
        if geni_code:
            self.assertTrue(envelope["output"], "an error must say what went wrong")
            self.assertEqual(envelope["value"], "")
        return envelope["value"]
