"""The whole AM (AMService) on 127.0.0.1 port 0, and real TLS clients for it.

The AM gets the test PKI's certificate and trust roots as files, a fresh
SQLite database and the real drivers manager over fake handlers; clients are the standard library's
``xmlrpc.client`` over ``ssl`` with a user's certificate chain (as omni
does), run in threads with a timeout.
"""
import os
import ssl
import xmlrpc.client

from twisted.internet import defer, reactor, threads
from twisted.trial.unittest import TestCase

from gam.aggregate.service import AMService
from gam.config import parse_config

from tests.aggregate.fakes import NODE_TYPES, Fakes
from tests.pki import AM_URN, pki, struct

CLIENT_TIMEOUT = 30
V3 = {"type": "GENI", "version": "3"}


def client_context(identity, trust_pem, directory):
    """An ssl context presenting ``identity``'s chain (ssl reads it from files)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cadata=trust_pem)
    cert_path, key_path = identity.write(directory, "client-" + identity.urn.name)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


class _Transport(xmlrpc.client.SafeTransport):
    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = CLIENT_TIMEOUT
        return conn


class Client:
    """Calls the AM as one user; every call fires with the envelope."""

    def __init__(self, url, identity, trust_pem, directory):
        self.url = url
        self.context = client_context(identity, trust_pem, directory)

    def _thd_call(self, method, params):
        proxy = xmlrpc.client.ServerProxy(self.url, transport=_Transport(context=self.context))
        try:
            return getattr(proxy, method)(*params)
        finally:
            proxy("close")()

    def __call__(self, method, *params):
        return threads.deferToThread(self._thd_call, method, params)


def config_data(directory, files, **limits):
    return {
        "am": {"host": "127.0.0.1", "port": 0, "path": "/am/3.0", "urn": AM_URN,
               "state_dir": os.path.join(directory, "var")},
        "tls": {"certificate": files.am_cert, "key": files.am_key,
                "trust_roots": files.trust_roots_dir},
        "limits": limits,
        "inventory": {"authority": "gam.test"},
    }


class AMServiceCase(TestCase):
    """Starts the AM for each test: ``self.service``, ``self.client`` (alice)."""

    timeout = 120
    limits = {}
    node_types = NODE_TYPES     # the sliver types the fake node driver serves

    @defer.inlineCallbacks
    def setUp(self):
        self.pki = pki()
        directory = self.directory = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(directory, "var"))
        files = self.pki.write_files(directory)
        self.config = parse_config(config_data(directory, files, **self.limits),
                                   path=os.path.join(directory, "gam.yaml"),
                                   base_dir=directory)
        self.fakes = Fakes(reactor, reactor, node_types=self.node_types)
        self.service = AMService(self.config, self.fakes.drivers, reactor=reactor)
        yield defer.Deferred.fromCoroutine(self.service.start())
        self.addCleanup(lambda: defer.Deferred.fromCoroutine(self.service.stop()))
        self.url = f"https://127.0.0.1:{self.service.port_number}/am/3.0"
        self.trust = self.pki.root.gid.pem
        self.client = self.client_for(self.pki.alice)

    def client_for(self, identity):
        return Client(self.url, identity, self.trust, self.directory)

    def slice_creds(self, name="myslice", owner=None):
        return [struct(self.pki.slice_credential(owner or self.pki.alice, name))]

    def user_creds(self, owner=None):
        return [struct(self.pki.user_credential(owner or self.pki.alice))]

    def slice(self, name="myslice"):
        return str(self.pki.slice_urn(name))

    @defer.inlineCallbacks
    def settle(self):
        """Wait until driver work and its reports have reached the database."""
        yield defer.Deferred.fromCoroutine(self.service.aggregate.settle())
        yield defer.Deferred.fromCoroutine(self.service.aggregate.gateway.written())

    def assertEnvelope(self, envelope, geni_code):
        """Check the envelope's shape and code; return its value."""
        self.assertEqual(envelope["code"]["geni_code"], geni_code, envelope.get("output"))
        self.assertEqual(envelope["code"]["am_type"], "gam")
        self.assertIsInstance(envelope["output"], str)
        if geni_code:
            self.assertTrue(envelope["output"])
        return envelope["value"]
