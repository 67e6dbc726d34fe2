"""The quickstart's identities are made once and reused, renewed when they lapse.

A real RegistryManager (SQLite in a temporary directory) on a Clock set to
now, so that a test can move time past a slice's expiry.
"""
import datetime
import os
import time

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from gam.auth.credential import parse_credential
from gam.auth.gid import GID, load_pem_chain
from gam.quickstart.identities import ensure_am_identity, ensure_experimenter
from gam.quickstart.layout import Layout
from gam.registry.config import RegistrySettings
from gam.registry.manager import RegistryManager
from tests.registry.support import KeyPool

AM_URN = "urn:publicid:IDN+qs+authority+am"
DAY = datetime.timedelta(days=1)


def chain(path):
    with open(path, "rb") as f:
        return [GID(c) for c in load_pem_chain(f.read())]


def read(path):
    with open(path) as f:
        return f.read()


class IdentityTests(unittest.TestCase):

    timeout = 120

    @defer.inlineCallbacks
    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(time.time())
        self.layout = Layout.at(os.path.abspath(self.mktemp()))
        self.layout.prepare()
        self.settings = RegistrySettings(authority="qs", state_dir=self.layout.registry_dir,
                                         database=self.layout.database_url, host="127.0.0.1",
                                         port=0, crypto_threads=2, db_pool_size=2)
        self.manager = yield self.start_manager()

    @defer.inlineCallbacks
    def start_manager(self):
        manager = RegistryManager(self.settings, reactor=reactor, clock=self.clock,
                                  key_factory=KeyPool())
        yield defer.ensureDeferred(manager.start())
        self.addCleanup(lambda: defer.ensureDeferred(manager.stop()))
        return manager

    def experimenter(self, manager=None):
        return defer.ensureDeferred(ensure_experimenter(manager or self.manager, self.layout,
                                                        user="alice", slice_name="demo"))

    @defer.inlineCallbacks
    def test_am_certificate_is_issued_by_the_root_and_reused(self):
        state = yield defer.ensureDeferred(ensure_am_identity(self.manager, self.layout, AM_URN))
        self.assertEqual(state, "created")
        am = chain(self.layout.am_cert)
        root = self.manager.root.gid
        self.assertEqual(str(am[0].urn), AM_URN)
        self.assertEqual(am[1], root)
        self.assertEqual(chain(self.layout.trust_root("qs")), [root])
        self.assertEqual(os.stat(self.layout.am_key).st_mode & 0o777, 0o600)
        first = read(self.layout.am_cert)
        state = yield defer.ensureDeferred(ensure_am_identity(self.manager, self.layout, AM_URN))
        self.assertEqual((state, read(self.layout.am_cert)), ("reused", first))
        # Close to its end it is issued again.
        self.clock.advance((am[0].not_after - self.manager.now()).total_seconds() - 10 * 86400)
        state = yield defer.ensureDeferred(ensure_am_identity(self.manager, self.layout, AM_URN))
        self.assertEqual(state, "created")
        self.assertNotEqual(read(self.layout.am_cert), first)

    @defer.inlineCallbacks
    def test_experimenter_is_made_then_reused(self):
        ex = yield self.experimenter()
        self.assertEqual(set(ex.notes.values()), {"created"})
        cred = parse_credential(read(ex.slice_credential))
        self.assertEqual(str(cred.top.target_urn), "urn:publicid:IDN+qs+slice+demo")
        self.assertEqual(cred.top.owner_gid, chain(ex.cert)[0])
        self.assertEqual(cred.expires, ex.slice_expires)
        self.assertTrue(read(ex.ssh_public_key).startswith("ssh-rsa "))
        for private in (ex.key, ex.ssh_key):
            self.assertEqual(os.stat(private).st_mode & 0o777, 0o600)
        record = yield self.manager.get(ex.user_urn)
        self.assertIn(read(ex.ssh_public_key).strip(), record.ssh_keys)

        files = {p: read(p) for p in (ex.cert, ex.key, ex.ssh_key, ex.slice_credential,
                                      ex.user_credential)}
        again = yield self.experimenter()
        self.assertEqual(set(again.notes.values()), {"reused"})
        self.assertEqual({p: read(p) for p in files}, files)

    @defer.inlineCallbacks
    def test_a_slice_close_to_its_end_is_renewed_with_its_credential(self):
        ex = yield self.experimenter()
        self.clock.advance((ex.slice_expires - self.manager.now()).total_seconds() - 3600)
        again = yield self.experimenter()
        self.assertEqual(again.notes["slice"], "renewed")
        self.assertEqual(again.notes["slice credential"], "issued again")
        self.assertEqual(again.slice_expires,
                         self.manager.now() + self.settings.slice_default_lifetime)
        self.assertEqual(parse_credential(read(again.slice_credential)).expires,
                         again.slice_expires)

    @defer.inlineCallbacks
    def test_an_expired_slice_and_credential_are_made_again(self):
        ex = yield self.experimenter()
        self.clock.advance((ex.slice_expires - self.manager.now()).total_seconds() + 60)
        again = yield self.experimenter()
        self.assertEqual(again.notes["slice"], "registered again")
        self.assertEqual(again.notes["slice credential"], "renewed")
        cred = parse_credential(read(again.slice_credential))
        self.assertGreater(cred.expires, self.manager.now() + 6 * DAY)
        self.assertEqual(again.notes["user"], "reused")

    @defer.inlineCallbacks
    def test_a_lost_private_key_gets_a_new_certificate(self):
        ex = yield self.experimenter()
        old_cert = chain(ex.cert)[0]
        os.unlink(ex.key)
        again = yield self.experimenter()
        self.assertEqual(again.notes["user"], "new key")
        new_cert = chain(again.cert)[0]
        self.assertNotEqual(new_cert.public_key_der, old_cert.public_key_der)
        self.assertEqual(str(new_cert.urn), str(old_cert.urn))
        # Credentials follow the new certificate.
        self.assertEqual(again.notes["slice credential"], "issued again")
        self.assertEqual(parse_credential(read(again.slice_credential)).top.owner_gid, new_cert)

    @defer.inlineCallbacks
    def test_the_experimenter_is_a_pi_of_the_root(self):
        ex = yield self.experimenter()
        record = yield self.manager.get(ex.user_urn)
        self.assertEqual([str(u) for u in record.pi_of], ["urn:publicid:IDN+qs+authority+sa"])
