"""TLS clients that offer ALPN (requests/urllib3 2, curl, Java) reach the AM.

Twisted's TLS asks the listening factory which protocols it speaks and
fails the handshake ("internal error" alert) when it names none: the AM's
connection-tracking factory must pass on its Site's answer.
"""
import socket
import xmlrpc.client

from twisted.internet import defer, threads

from tests.aggregate.tls_support import CLIENT_TIMEOUT, AMServiceCase, client_context


class ALPNTests(AMServiceCase):
    def alpn_context(self):
        context = client_context(self.pki.alice, self.trust, self.directory)
        context.set_alpn_protocols(["h2", "http/1.1"])
        return context

    def _thd_negotiated(self, context):
        with socket.create_connection(("127.0.0.1", self.service.port_number),
                                      timeout=CLIENT_TIMEOUT) as raw:
            with context.wrap_socket(raw) as tls:
                return tls.selected_alpn_protocol()

    def _thd_get_version(self, url, context):
        proxy = xmlrpc.client.ServerProxy(url, context=context)
        try:
            return proxy.GetVersion({})
        finally:
            proxy("close")()

    @defer.inlineCallbacks
    def test_alpn_client_gets_http11(self):
        context = self.alpn_context()
        negotiated = yield threads.deferToThread(self._thd_negotiated, context)
        self.assertEqual(negotiated, "http/1.1")
        for url, api in ((self.url, 3), (self.url.replace("/am/3.0", "/am/2.0"), 2)):
            envelope = yield threads.deferToThread(self._thd_get_version, url, context)
            self.assertEqual(self.assertEnvelope(envelope, 0)["geni_api"], api)
