"""The registry's guards that a refusal elsewhere would otherwise hide.

Each test reaches one check: the authority-target rule of Update/Remove,
credentials from another trusted root, the registered key of a caller
after a re-key, node rights, credential expiry capped at the certificates',
and the manager's refusal to remove its root.
"""
import datetime
import os

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twisted.internet import defer

from gam.auth import credential as credmod
from gam.auth.credential import parse_credential
from gam.auth.gid import Authority
from gam.errors import GeniCode, Refused
from gam.registry.authorities import chain_from_pem
from gam.registry.hrn import authority_urn
from gam.registry.manager import RecordSpec
from gam.registry.rights import AUTHORITY_PRIVILEGES
from tests.pki import Identity
from tests.registry.support import DAY, ROOT, RegistryTestCase
from tests.registry.test_flow import LAB, LAB_NS, HierarchyMixin

FORBIDDEN, NOT_FOUND = GeniCode.FORBIDDEN, GeniCode.SEARCHFAILED


def fault(testcase, d, code, *fragments):
    return defer.ensureDeferred(testcase.assertFault(d, code, *fragments))


class HierarchyTestCase(HierarchyMixin, RegistryTestCase):
    def setUp(self):
        d = super().setUp()
        d.addCallback(lambda _: defer.ensureDeferred(self.build()))
        return d

    async def resolve_one(self, hrn):
        (record,) = await self.call(self.pat, "Resolve", hrn, self.pat_cred)
        return record


class UserCredentialScopeTests(HierarchyTestCase):
    """A user credential reaches its own record only, never another user's."""

    @defer.inlineCallbacks
    def test_user_credential_does_not_update_another_user(self):
        yield fault(self, self.call(self.alice, "Update",
                                    {"type": "user", "hrn": f"{LAB}.pat",
                                     "email": "alice-owns-this@example.net"}, self.alice_cred),
                    FORBIDDEN, f"updating {LAB}.pat needs an authority credential",
                    f"the credential given is for user {LAB}.alice")
        pat = yield defer.ensureDeferred(self.resolve_one(f"{LAB}.pat"))
        self.assertEqual(pat["email"], "pat@example.net")

    @defer.inlineCallbacks
    def test_user_credential_does_not_remove_another_user(self):
        yield fault(self, self.call(self.alice, "Remove", f"{LAB}.pat", self.alice_cred, "user"),
                    FORBIDDEN, f"removing {LAB}.pat needs an authority credential",
                    f"the credential given is for user {LAB}.alice")
        pat = yield defer.ensureDeferred(self.resolve_one(f"{LAB}.pat"))
        self.assertEqual(pat["urn"], str(self.pat.urn))

    @defer.inlineCallbacks
    def test_user_credential_updates_its_own_record(self):
        # The control: the same credential does reach alice's own record.
        self.assertEqual((yield self.call(self.alice, "Update",
                                          {"type": "user", "hrn": f"{LAB}.alice",
                                           "email": "alice@lab.example.net"},
                                          self.alice_cred)), 1)


class ForeignRootTests(HierarchyTestCase):
    """A credential from another trusted root never acts on this registry's records.

    The other root (``gamtest+authority+ca``) names itself an authority over
    ``gamtest``, so its credential passes verification and the namespace
    rule; only the registry's own-root check stands in its way.
    """

    def setUp(self):
        self.foreign = Authority.create_root(ROOT, name="ca")
        roots = self.mktemp()
        os.makedirs(roots)
        with open(os.path.join(roots, "foreign.pem"), "w") as f:
            f.write(self.foreign.gid.pem)
        self.settings_changes = {"trust_roots_dir": roots}
        return super().setUp()

    def forged(self):
        """An authority credential on the root namespace for alice, from the other root."""
        return credmod.issue(
            signer_key=self.foreign.key, signer_chain=self.foreign.chain,
            owner_chain=self.alice.chain, target_chain=self.foreign.chain,
            privileges=[credmod.Privilege(p, True) for p in AUTHORITY_PRIVILEGES],
            expires=datetime.datetime.now(datetime.timezone.utc) + DAY)

    @defer.inlineCallbacks
    def test_credential_verifies(self):
        # The control: the other root is trusted, so the credential itself is good.
        records = yield self.call(self.alice, "Resolve", f"{LAB}.pat", self.forged())
        self.assertEqual([r["hrn"] for r in records], [f"{LAB}.pat"])

    @defer.inlineCallbacks
    def test_register_refused(self):
        yield fault(self, self.call(self.alice, "Register",
                                    {"type": "user", "hrn": f"{LAB}.eve"}, self.forged()),
                    FORBIDDEN, f"issued under {self.foreign.urn}", "not by this registry")
        yield fault(self, self.call(self.pat, "Resolve", f"{LAB}.eve", self.pat_cred),
                    NOT_FOUND, "Record not found")

    @defer.inlineCallbacks
    def test_remove_refused(self):
        yield fault(self, self.call(self.alice, "Remove", f"{LAB}.pat", self.forged(), "user"),
                    FORBIDDEN, f"issued under {self.foreign.urn}", "not by this registry")
        pat = yield defer.ensureDeferred(self.resolve_one(f"{LAB}.pat"))
        self.assertEqual(pat["urn"], str(self.pat.urn))


class RekeyTests(HierarchyTestCase):
    """After a re-key the old key gets no credential, even with a still-valid
    certificate and user credential."""

    @defer.inlineCallbacks
    def test_old_key_gets_no_credential(self):
        new_key = self.keys()
        pem = new_key.public_key().public_bytes(Encoding.PEM,
                                                PublicFormat.SubjectPublicKeyInfo).decode()
        self.assertEqual((yield self.call(self.alice, "Update",
                                          {"type": "user", "hrn": f"{LAB}.alice",
                                           "public_key": pem}, self.alice_cred)), 1)
        for xrn, rtype in ((f"{LAB}.exp1", "slice"), (f"{LAB}.alice", "user")):
            yield fault(self, self.call(self.alice, "GetCredential", self.alice_cred, xrn, rtype),
                        FORBIDDEN, "not the one this registry issued",
                        "connect with your current certificate")
        # The new key, with the certificate the registry now holds, does get them.
        record = yield defer.ensureDeferred(self.resolve_one(f"{LAB}.alice"))
        renewed = Identity(new_key, chain_from_pem(record["gid"]))
        self.assertNotEqual(renewed.gid, self.alice.gid)
        new_cred = yield defer.ensureDeferred(self.user_credential(renewed))
        slice_cred = yield self.call(renewed, "GetCredential", new_cred, f"{LAB}.exp1", "slice")
        self.assertEqual(parse_credential(slice_cred).top.owner_gid, renewed.gid)


class NodeRightsTests(HierarchyTestCase):
    """The PIs of a node's authority get ``operator`` on it; nobody else anything."""

    def setUp(self):
        d = super().setUp()
        d.addCallback(lambda _: self.call(self.pat, "Register",
                                          {"type": "node", "hrn": f"{LAB}.pc1"}, self.lab_cred))
        return d

    @defer.inlineCallbacks
    def test_pi_of_the_nodes_authority_is_operator(self):
        cred = parse_credential((yield self.call(self.pat, "GetCredential", self.pat_cred,
                                                 f"{LAB}.pc1", "node")))
        self.assertEqual(cred.top.owner_urn, self.pat.urn)
        self.assertEqual(str(cred.top.target_urn), f"urn:publicid:IDN+{LAB_NS}+node+pc1")
        self.assertEqual({(p.name, p.delegatable) for p in cred.top.privileges},
                         {("operator", True)})

    def test_other_user_gets_nothing(self):
        return fault(self, self.call(self.alice, "GetCredential", self.alice_cred, f"{LAB}.pc1",
                                     "node"),
                     FORBIDDEN, f"{self.alice.urn} is not a PI of {LAB}",
                     "which the node belongs to")

    def test_pi_of_the_parent_authority_gets_nothing(self):
        d = defer.ensureDeferred(self.user_credential(self.boss))
        d.addCallback(lambda boss_cred: fault(
            self, self.call(self.boss, "GetCredential", boss_cred, f"{LAB}.pc1", "node"),
            FORBIDDEN, "is not a PI of", "which the node belongs to"))
        return d


class CredentialExpiryTests(RegistryTestCase):
    """A credential never outlives its owner's certificate."""

    settings_changes = {"user_certificate_lifetime": 3 * DAY}

    @defer.inlineCallbacks
    def test_capped_at_the_owners_certificate(self):
        alice = yield defer.ensureDeferred(self.add_user("alice"))
        cert_end = alice.gid.not_after
        self.assertLess(cert_end, self.manager.now() + self.settings.user_credential_lifetime)
        user_cred = parse_credential((yield defer.ensureDeferred(
            self.manager.credential_for(alice.urn, alice.urn))))
        self.assertEqual(user_cred.expires, cert_end)

        slice_urn = self.urn("slice", "exp")
        record = (yield defer.ensureDeferred(self.manager.register(
            RecordSpec(urn=slice_urn, researchers=(alice.urn,))))).record
        self.assertGreater(record.expires, cert_end)
        slice_cred = parse_credential((yield defer.ensureDeferred(
            self.manager.credential_for(alice.urn, slice_urn))))
        self.assertEqual(slice_cred.expires, cert_end)


class RootGuardTests(RegistryTestCase):
    """The manager itself refuses to remove the root (the API's scope check
    never lets such a call through, so it is called directly here)."""

    @defer.inlineCallbacks
    def test_root_is_not_removed(self):
        root_urn = authority_urn(ROOT)
        # Nothing below the root: no other rule would refuse the removal.
        self.assertEqual((yield defer.ensureDeferred(self.manager.list(ROOT))), [])
        try:
            yield defer.ensureDeferred(self.manager.remove(root_urn))
        except Refused as e:
            self.assertEqual(e.geni_code, GeniCode.REFUSED)
            self.assertIn("root authority and cannot be removed", e.message)
        else:
            self.fail("the root authority was removed")
        root = yield self.manager.get(root_urn)
        self.assertEqual(root.urn, root_urn)


class OffTheReactorTests(HierarchyTestCase):
    """Credentials are checked in the authorizer's threads, not the reactor's."""

    @defer.inlineCallbacks
    def test_checks_run_off_the_reactor_thread(self):
        import threading

        authorizer = self.manager.authorizer
        seen = []
        real = authorizer.authorize

        def watched(*args, **kwargs):
            seen.append(threading.current_thread() is threading.main_thread())
            return real(*args, **kwargs)
        self.patch(authorizer, "authorize", watched)
        (record,) = yield self.call(self.pat, "Resolve", f"{LAB}.pat", self.pat_cred)
        self.assertEqual(record["email"], "pat@example.net")
        self.assertEqual(seen, [False])
