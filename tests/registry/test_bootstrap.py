"""Starting the registry: the root authority is made once and kept."""
import os

from twisted.internet import defer
from twisted.trial import unittest

from gam.auth.urn import URN
from gam.errors import ConfigError
from gam.registry.manager import RecordSpec, RegistryManager
from tests.registry.support import KeyPool, settings_for


class BootstrapTests(unittest.TestCase):
    timeout = 60

    async def started(self, settings):
        manager = RegistryManager(settings, key_factory=KeyPool())
        await manager.start()
        return manager

    @defer.inlineCallbacks
    def test_restart_keeps_root_and_records(self):
        settings = settings_for(self)
        first = yield defer.ensureDeferred(self.started(settings))
        yield defer.ensureDeferred(first.register(RecordSpec(urn=URN("gamtest", "user", "al"))))
        root, server = first.root.gid, first.server_chain[0]
        yield defer.ensureDeferred(first.stop())
        second = yield defer.ensureDeferred(self.started(settings))
        self.addCleanup(lambda: defer.ensureDeferred(second.stop()))
        self.assertEqual(second.root.gid, root)
        self.assertEqual(second.server_chain[0], server)
        record = yield second.get(URN("gamtest", "user", "al"))
        self.assertEqual(record.hrn, "gamtest.al")
        self.assertTrue(os.path.exists(second.keystore.root_pem_path("gamtest")))

    @defer.inlineCallbacks
    def test_other_authority_on_same_database_is_refused(self):
        settings = settings_for(self)
        first = yield defer.ensureDeferred(self.started(settings))
        yield defer.ensureDeferred(first.stop())
        other = RegistryManager(settings.with_(authority="another"), key_factory=KeyPool())
        with self.assertRaises(ConfigError) as e:
            yield defer.ensureDeferred(other.start())
        self.assertIn("belongs to the root authority gamtest", str(e.exception))

    @defer.inlineCallbacks
    def test_missing_authority_key_is_a_clear_error(self):
        settings = settings_for(self)
        first = yield defer.ensureDeferred(self.started(settings))
        yield defer.ensureDeferred(first.stop())
        os.unlink(first.keystore.key_path("gamtest"))
        again = RegistryManager(settings, key_factory=KeyPool())
        with self.assertRaises(ConfigError) as e:
            yield defer.ensureDeferred(again.start())
        self.assertIn("private key of authority gamtest is missing", str(e.exception))

    @defer.inlineCallbacks
    def test_readable_key_is_refused(self):
        settings = settings_for(self)
        first = yield defer.ensureDeferred(self.started(settings))
        yield defer.ensureDeferred(first.stop())
        os.chmod(first.keystore.key_path("gamtest"), 0o644)
        again = RegistryManager(settings, key_factory=KeyPool())
        with self.assertRaises(ConfigError) as e:
            yield defer.ensureDeferred(again.start())
        self.assertIn("chmod 600", str(e.exception))
