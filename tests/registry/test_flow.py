"""The registry over real TLS, as omni's sfa framework drives it.

A root PI registers a sub-authority and its PI; that PI registers a user
and a slice; the user gets credentials an aggregate accepts, renews the
slice (Update with a slice credential, as omni's renewslice does) and the
PI removes it.
"""
import datetime
import time

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twisted.internet import defer

from gam.auth.authorize import Authorizer
from gam.auth.credential import parse_credential
from gam.auth.gid import load_key_pem
from gam.auth.trust import TrustRoots
from gam.auth.urn import URN
from gam.registry.authorities import chain_from_pem
from gam.registry.sfarecord import parse_expires
from tests.pki import Identity, struct
from tests.registry.support import DAY, ROOT, RegistryTestCase

LAB = f"{ROOT}.lab"
LAB_NS = f"{ROOT}:lab"
_PEM, _SPKI = Encoding.PEM, PublicFormat.SubjectPublicKeyInfo


def _epoch(when):
    return "%d" % int(when.timestamp())


class HierarchyMixin:
    """Builds the federation of the scenario through the XML-RPC interface."""

    async def build(self):
        self.boss = await self.add_user("boss", pi_of=[ROOT])
        boss_cred = await self.user_credential(self.boss)
        self.root_auth_cred = await self.call(self.boss, "GetCredential", boss_cred, ROOT,
                                              "authority")
        # A sub-authority, then its PI (who brings a public key), then the PI role.
        self.lab_gid = await self.call(self.boss, "Register",
                                       {"type": "authority", "hrn": LAB}, self.root_auth_cred)
        pat_key = self.keys()
        pem = pat_key.public_key().public_bytes(_PEM, _SPKI).decode("ascii")
        pat_chain = await self.call(self.boss, "Register",
                                    {"type": "user", "hrn": f"{LAB}.pat",
                                     "email": "pat@example.net", "public_key": pem},
                                    self.root_auth_cred)
        self.pat = Identity(pat_key, chain_from_pem(pat_chain))
        self.assertEqual(await self.call(self.boss, "Update",
                                         {"type": "authority", "hrn": LAB, "pi": [f"{LAB}.pat"]},
                                         self.root_auth_cred), 1)
        self.pat_cred = await self.user_credential(self.pat)
        self.lab_cred = await self.call(self.pat, "GetCredential", [self.pat_cred], LAB,
                                        "authority")
        # The PI registers a user (the registry makes the key) and a slice.
        answer = await self.call(self.pat, "Register",
                                 {"type": "user", "hrn": f"{LAB}.alice",
                                  "email": "alice@example.net",
                                  "keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UO"
                                           "oqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"]},
                                 self.lab_cred)
        self.alice = Identity(load_key_pem(answer), chain_from_pem(answer))
        self.alice_cred = await self.user_credential(self.alice)
        self.slice_urn = URN(LAB_NS, "slice", "exp1")
        self.first_expiry = datetime.datetime.fromtimestamp(int(time.time()) + 2 * 86400,
                                                            datetime.timezone.utc)
        record = {"peer_authority": "", "description": "a slice", "url": "http://example.net",
                  "expires": _epoch(self.first_expiry), "authority": LAB,
                  "researcher": [f"{LAB}.alice"], "hrn": f"{LAB}.exp1", "PI": [f"{LAB}.pat"],
                  "type": "slice", "name": f"{LAB}.exp1"}
        await self.call(self.pat, "Register", record, self.lab_cred)

    def keys(self):
        return self.manager._key_factory()


class FlowTests(HierarchyMixin, RegistryTestCase):

    def aggregate(self):
        """An aggregate that trusts this registry's root, as gam's AM would."""
        return Authorizer(TrustRoots([self.manager.root.gid]))

    @defer.inlineCallbacks
    def test_slice_lifecycle(self):
        yield defer.ensureDeferred(self.build())
        # The researcher's slice credential: the SFA slice privileges, all
        # delegatable, expiring with the slice, accepted by an aggregate.
        slice_cred = yield self.call(self.alice, "GetCredential", self.alice_cred,
                                     str(self.slice_urn), "slice")
        parsed = parse_credential(slice_cred)
        self.assertEqual({(p.name, p.delegatable) for p in parsed.top.privileges},
                         {(p, True) for p in ("refresh", "embed", "bind", "control", "info")})
        self.assertEqual(parsed.top.owner_urn, self.alice.urn)
        self.assertEqual(parsed.top.target_urn, self.slice_urn)
        self.assertEqual(parsed.expires, self.first_expiry)
        auth = self.aggregate().authorize(self.alice.peer_chain, [struct(slice_cred)],
                                          self.slice_urn, "CreateSliver")
        self.assertEqual(auth.caller.urn, self.alice.urn)

        # Renew as omni does: Resolve, set 'expires' (seconds), Update with the slice credential.
        records = yield self.call(self.alice, "Resolve", str(self.slice_urn), self.alice_cred)
        (record,) = [r for r in records if r["type"] == "slice"]
        self.assertEqual(parse_expires(record["expires"]), self.first_expiry)
        later = self.first_expiry + 3 * DAY
        record["expires"] = int(later.timestamp())
        self.assertEqual((yield self.call(self.alice, "Update", record, slice_cred)), 1)
        records = yield self.call(self.alice, "Resolve", str(self.slice_urn), self.alice_cred)
        self.assertEqual(parse_expires(records[0]["expires"]), later)
        renewed = yield self.call(self.alice, "GetCredential", self.alice_cred,
                                  str(self.slice_urn), "slice")
        self.assertEqual(parse_credential(renewed).expires, later)
        self.assertGreater(parse_credential(renewed).expires, parsed.expires)

        # The PI removes the slice: no new credential, the issued one still verifies.
        self.assertEqual((yield self.call(self.pat, "Remove", str(self.slice_urn),
                                          self.lab_cred, "slice")), 1)
        yield defer.ensureDeferred(self.assertFault(
            self.call(self.alice, "GetCredential", self.alice_cred, str(self.slice_urn),
                      "slice"), 12, "Record not found", "removed"))
        self.aggregate().authorize(self.alice.peer_chain, [struct(renewed)], self.slice_urn,
                                   "CreateSliver")
        # Its name stays reserved while that credential may be used.
        yield defer.ensureDeferred(self.assertFault(
            self.call(self.pat, "Register", {"type": "slice", "hrn": f"{LAB}.exp1"},
                      self.lab_cred), 17, "reserved until"))

    @defer.inlineCallbacks
    def test_records_as_sfa_clients_read_them(self):
        yield defer.ensureDeferred(self.build())
        (user,) = yield self.call(self.alice, "Resolve", f"{LAB}.alice", self.alice_cred)
        self.assertEqual(user["type"], "user")
        self.assertEqual(user["urn"], f"urn:publicid:IDN+{LAB_NS}+user+alice")
        self.assertEqual(user["authority"], LAB)
        self.assertEqual(user["email"], "alice@example.net")
        self.assertEqual(user["reg-slices"], [f"{LAB}.exp1"])
        self.assertEqual(len(user["keys"]), 1)
        self.assertTrue(user["keys"][0].startswith("ssh-ed25519 "))
        self.assertEqual(chain_from_pem(user["gid"])[0], self.alice.gid)
        (lab,) = yield self.call(self.alice, "Resolve", [LAB], self.alice_cred)
        self.assertEqual((lab["type"], lab["reg-pis"]), ("authority", [f"{LAB}.pat"]))
        listed = yield self.call(self.alice, "List", LAB, self.alice_cred)
        self.assertEqual(sorted((r["type"], r["hrn"]) for r in listed),
                         [("slice", f"{LAB}.exp1"), ("user", f"{LAB}.alice"),
                          ("user", f"{LAB}.pat")])
        everything = yield self.call(self.alice, "List", f"{ROOT}*", self.alice_cred)
        self.assertIn(("authority", LAB), {(r["type"], r["hrn"]) for r in everything})
        self.assertIn(("user", f"{LAB}.alice"), {(r["type"], r["hrn"]) for r in everything})
        version = yield self.call(self.alice, "GetVersion")
        self.assertEqual((version["interface"], version["hrn"]), ("registry", ROOT))
        self.assertNotIn("code", version)  # omni would take it for an AM envelope

    @defer.inlineCallbacks
    def test_pi_of_the_slice_authority_gets_slice_credential(self):
        yield defer.ensureDeferred(self.build())
        cred = yield self.call(self.pat, "GetCredential", self.pat_cred, f"{LAB}.exp1", "slice")
        self.assertEqual(parse_credential(cred).top.owner_urn, self.pat.urn)
        self.aggregate().authorize(self.pat.peer_chain, [struct(cred)], self.slice_urn,
                                   "DeleteSliver")

    @defer.inlineCallbacks
    def test_credentials_are_signed_by_the_record_authority(self):
        yield defer.ensureDeferred(self.build())
        cred = parse_credential((yield self.call(
            self.alice, "GetCredential", self.alice_cred, str(self.slice_urn), "slice")))
        verified = self.aggregate().verifier.verify(cred)
        self.assertEqual(verified.signers[0].leaf.urn, URN(LAB_NS, "authority", "sa"))
        user = parse_credential(self.alice_cred)
        self.assertEqual({p.name for p in user.top.privileges}, {"refresh", "resolve", "info"})
        self.assertEqual(user.top.target_urn, self.alice.urn)
        auth = parse_credential(self.lab_cred)
        self.assertEqual({p.name for p in auth.top.privileges}, {"authority", "sa", "pi"})

    @defer.inlineCallbacks
    def test_user_updates_own_keys_with_user_credential(self):
        yield defer.ensureDeferred(self.build())
        key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaR7gR9JHbmShGbqXQIkGf7WqgVGf8Q4iD6ZlGH1MN3 new"
        self.assertEqual((yield self.call(self.alice, "Update",
                                          {"type": "user", "hrn": f"{LAB}.alice", "keys": [key],
                                           "email": "alice@lab.example.net"},
                                          self.alice_cred)), 1)
        (user,) = yield self.call(self.alice, "Resolve", f"{LAB}.alice", self.alice_cred)
        self.assertEqual((user["keys"], user["email"]), ([key], "alice@lab.example.net"))

    @defer.inlineCallbacks
    def test_removed_user_loses_roles(self):
        yield defer.ensureDeferred(self.build())
        self.assertEqual((yield self.call(self.pat, "Remove", f"{LAB}.alice", self.lab_cred,
                                          "user")), 1)
        (record,) = yield self.call(self.pat, "Resolve", str(self.slice_urn), self.pat_cred)
        self.assertEqual(record["researcher"], [])
        yield defer.ensureDeferred(self.assertFault(
            self.call(self.alice, "GetSelfCredential", self.alice.gid.pem, f"{LAB}.alice",
                      "user"), 12, "Record not found"))


class PostgresFlowTests(FlowTests):
    """The same over PostgreSQL (skipped unless GAM_TEST_POSTGRES_URL is set)."""

    def setUp(self):
        from tests.db.support import postgres_url
        self.settings_changes = {"database": postgres_url()}
        return super().setUp()


class SFAUserKeyTests(HierarchyMixin, RegistryTestCase):

    @defer.inlineCallbacks
    def test_ssh_rsa_key_is_the_certificate_key_as_in_sfa(self):
        yield defer.ensureDeferred(self.build())
        key = self.keys()
        line = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
        chain = yield self.call(self.pat, "Register", {"type": "user", "hrn": f"{LAB}.sfi",
                                                       "keys": [line + " sfi@host"]},
                                self.lab_cred)
        self.assertNotIn("PRIVATE KEY", chain)
        sfi = Identity(key, chain_from_pem(chain))
        cred = yield defer.ensureDeferred(self.user_credential(sfi))
        self.assertEqual(parse_credential(cred).top.owner_urn, URN(LAB_NS, "user", "sfi"))
