"""TLS: client certificates are required, chains reach gam.auth whole."""
import json
import os

from cryptography.hazmat.primitives import serialization
from twisted.internet import defer
from twisted.trial import unittest
from twisted.web import resource, server

from gam.errors import ConfigError
from gam.rpc import tls
from tests.pki import pki
from tests.rpc.support import AMTestCase, TLSServer, client_context


class _EchoChain(resource.Resource):
    """Answers with the subjects of the chain tls.peer_chain finds."""

    isLeaf = True

    def render_GET(self, request):
        return json.dumps([c.subject.rfc4514_string() for c in tls.peer_chain(request)]
                          ).encode("utf-8")


class HandshakeTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.pki = pki()
        options = tls.server_options(self.pki.am.chain, self.pki.am.key, self.pki.trust_roots())
        self.server = TLSServer(self, server.Site(_EchoChain()), options, self.pki.root.gid.pem)

    @defer.inlineCallbacks
    def chain_seen(self, identity, chain=None, context=None):
        response = yield self.server.request(identity, "GET", "/", chain=chain,
                                             context=context)
        self.assertEqual(response.status, 200)
        return json.loads(response.body)

    def test_client_without_certificate_is_refused(self):
        return self.assertFailure(self.server.request(None, "GET", "/"), OSError)

    def test_client_from_a_foreign_authority_is_refused(self):
        return self.assertFailure(self.server.request(self.pki.mallory, "GET", "/"), OSError)

    def test_intermediate_missing_is_refused(self):
        # carol's certificate is signed by gam.test:sub, which the server
        # does not trust by itself: without it the chain cannot be built.
        carol = self.pki.carol
        return self.assertFailure(
            self.server.request(carol, "GET", "/", chain=carol.chain[:1]), OSError)

    @defer.inlineCallbacks
    def test_leaf_and_intermediate_reach_the_application(self):
        carol = self.pki.carol
        seen = yield self.chain_seen(carol, chain=carol.chain[:2])
        self.assertEqual(seen, [g.cert.subject.rfc4514_string() for g in carol.chain[:2]])

    @defer.inlineCallbacks
    def test_whole_chain_as_sent(self):
        carol = self.pki.carol
        seen = yield self.chain_seen(carol)
        self.assertEqual(len(seen), 3)
        self.assertEqual(seen[0], carol.gid.cert.subject.rfc4514_string())

    @defer.inlineCallbacks
    def test_user_of_the_root(self):
        # A client that does not trust the root itself cannot complete its
        # chain (OpenSSL clients add what their trust store holds): it
        # sends its leaf alone, and that is enough for a root's user.
        alice = self.pki.alice
        seen = yield self.chain_seen(alice, context=client_context(alice, chain=alice.chain[:1]))
        self.assertEqual(seen, [alice.gid.cert.subject.rfc4514_string()])

    @defer.inlineCallbacks
    def test_server_presents_its_chain(self):
        # The client checks the server against the root only: the AM's
        # certificate must verify (it is signed by the root directly).
        seen = yield self.chain_seen(self.pki.alice)
        self.assertTrue(seen)


class PeerChainToDelegateTests(AMTestCase):
    @defer.inlineCallbacks
    def test_sub_authority_user_is_verified_through_intermediate(self):
        carol = self.pki.carol
        envelope = yield self.call(
            "ListResources", self.user_credentials(carol),
            {"geni_rspec_version": {"type": "GENI", "version": "3"}},
            identity=carol, chain=carol.chain[:2])
        self.assertEnvelope(envelope, 0)
        auth = self.delegate.last("list_resources")["auth"]
        self.assertEqual(auth.caller.urn, carol.urn)
        self.assertEqual([g.urn for g in auth.caller.chain], [g.urn for g in carol.chain])


class NoPeerChainTests(unittest.SynchronousTestCase):
    def test_plain_request_has_no_chain(self):
        from twisted.web.test.requesthelper import DummyRequest
        self.assertEqual(tls.peer_chain(DummyRequest([b""])), [])


class OptionsFromFilesTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.pki = pki()
        self.files = self.pki.write_files(os.path.abspath(self.mktemp()))

    @defer.inlineCallbacks
    def test_server_from_files(self):
        options = tls.server_options_from_files(self.files.am_cert, self.files.am_key,
                                                self.files.trust_roots_dir)
        srv = TLSServer(self, server.Site(_EchoChain()), options, self.pki.root.gid.pem)
        response = yield srv.request(self.pki.bob, "GET", "/")
        self.assertEqual(json.loads(response.body)[0], self.pki.bob.gid.cert.subject.rfc4514_string())
        yield self.assertFailure(srv.request(self.pki.mallory, "GET", "/"), OSError)

    def test_missing_certificate_file(self):
        e = self.assertRaises(ConfigError, tls.server_options_from_files,
                              self.files.am_cert + ".nope", self.files.am_key,
                              self.files.trust_roots_dir)
        self.assertIn(".nope", str(e))

    def test_key_of_another_certificate(self):
        _, alice_key = self.files.users["alice"]
        e = self.assertRaises(ConfigError, tls.server_options_from_files,
                              self.files.am_cert, alice_key, self.files.trust_roots_dir)
        self.assertIn("does not belong", str(e))

    def test_empty_trust_roots(self):
        empty = os.path.abspath(self.mktemp())
        os.makedirs(empty)
        e = self.assertRaises(ConfigError, tls.server_options_from_files,
                              self.files.am_cert, self.files.am_key, empty)
        self.assertIn(empty, str(e))

    def test_server_options_needs_roots(self):
        self.assertRaises(ValueError, tls.server_options, self.pki.am.chain, self.pki.am.key, [])

    def test_key_file_is_private(self):
        mode = os.stat(self.files.am_key).st_mode & 0o777
        self.assertEqual(mode, 0o600)
        with open(self.files.am_key, "rb") as f:
            serialization.load_pem_private_key(f.read(), None)
