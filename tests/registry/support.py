"""A real registry on loopback TLS for the registry tests.

:class:`RegistryTestCase` starts a :class:`~gam.registry.manager.RegistryManager`
(root authority ``gamtest``, a fresh state directory and SQLite database)
and serves it with :class:`tests.rpc.support.TLSServer`. Keys come from a
pool generated once per test process, so that a test does not spend its
time making RSA keys; within one registry every key is distinct.
"""
import datetime
import itertools
from functools import lru_cache

from twisted.internet import defer
from twisted.trial import unittest

from gam.auth.gid import generate_key, load_key_pem
from gam.auth.urn import URN
from gam.registry.authorities import chain_from_pem
from gam.registry.config import RegistrySettings
from gam.registry.manager import RecordSpec, RegistryManager
from gam.registry.server import registry_site, registry_tls_options
from tests.pki import Identity, struct
from tests.rpc.support import TLSServer

ROOT = "gamtest"
PATH = "/registry"
POOL_SIZE = 24


@lru_cache(maxsize=None)
def _pool():
    return tuple(generate_key() for _ in range(POOL_SIZE))


class KeyPool:
    """A key factory handing out the pooled keys in turn, then fresh ones."""

    def __init__(self):
        self._keys = itertools.chain(_pool(), iter(generate_key, None))

    def __call__(self):
        return next(self._keys)


def settings_for(testcase, **changes):
    state = testcase.mktemp()
    values = dict(authority=ROOT, state_dir=state, host="127.0.0.1", port=0, path=PATH,
                  crypto_threads=2, db_pool_size=2)
    values.update(changes)
    return RegistrySettings(**values)


def identity_of(registered):
    """The client Identity of a registration whose key the registry made."""
    key = load_key_pem(registered.private_key_pem)
    return Identity(key, chain_from_pem(registered.record.gid))


class RegistryTestCase(unittest.TestCase):
    """A started registry (``self.manager``) behind ``self.server`` (TLS)."""

    timeout = 120
    settings_changes = {}

    @defer.inlineCallbacks
    def setUp(self):
        self.settings = settings_for(self, **self.settings_changes)
        self.manager = self.make_manager(self.settings)
        yield defer.ensureDeferred(self.manager.start())
        self.addCleanup(lambda: defer.ensureDeferred(self.manager.stop()))
        site = registry_site(self.manager, path=PATH)
        self.server = TLSServer(self, site, registry_tls_options(self.manager),
                                self.manager.root.gid.pem)

    def make_manager(self, settings):
        return RegistryManager(settings, key_factory=KeyPool())

    # ------------------------------------------------------------ helpers

    def urn(self, rtype, name, authority=ROOT):
        if rtype == "authority":
            return URN(name, "authority", "sa")
        return URN(authority, rtype, name)

    async def add_user(self, name, authority=ROOT, *, pi_of=(), email=None):
        """Register a user as the operator; return its client Identity."""
        registered = await self.manager.register(RecordSpec(
            urn=URN(authority, "user", name), email=email or f"{name}@example.net"))
        for namespace in pi_of:
            await self.manager.add_member(URN(namespace, "authority", "sa"), "pi",
                                          registered.record.urn)
        return identity_of(registered)

    def call(self, identity, method, *params):
        return self.server.call(identity, method, *params, path=PATH)

    async def user_credential(self, identity):
        return await self.call(identity, "GetSelfCredential", identity.gid.pem,
                               identity.urn.hrn, "user")

    async def assertFault(self, d, code, *fragments):
        """Await ``d``; it must fail with a Fault of ``code`` whose text holds ``fragments``."""
        import xmlrpc.client
        try:
            value = await d
        except xmlrpc.client.Fault as fault:
            self.assertEqual(fault.faultCode, code, fault.faultString)
            for fragment in fragments:
                self.assertIn(fragment, fault.faultString)
            return fault
        self.fail(f"expected a Fault {code}, got {value!r}")


DAY = datetime.timedelta(days=1)
__all__ = ["RegistryTestCase", "KeyPool", "settings_for", "identity_of", "struct", "ROOT",
           "PATH", "DAY"]
