"""Every refusal of the registry is a Fault with the right code and a clear text."""
import datetime
import time

from twisted.internet import defer

from gam.auth.gid import Authority
from gam.auth import credential as credmod
from gam.auth.privileges import USER_PRIVILEGES
from gam.errors import GeniCode
from tests.pki import Identity
from tests.registry.support import DAY, ROOT, RegistryTestCase
from tests.registry.test_flow import LAB, LAB_NS, HierarchyMixin

BADARGS, FORBIDDEN, REFUSED = GeniCode.BADARGS, GeniCode.FORBIDDEN, GeniCode.REFUSED
NOT_FOUND, EXISTS = GeniCode.SEARCHFAILED, GeniCode.ALREADYEXISTS


def fault(testcase, d, code, *fragments):
    return defer.ensureDeferred(testcase.assertFault(d, code, *fragments))


class RefusalTests(HierarchyMixin, RegistryTestCase):

    def setUp(self):
        d = super().setUp()
        d.addCallback(lambda _: defer.ensureDeferred(self.build()))
        return d

    # -- wrong PI / wrong credential

    def test_pi_of_another_authority_cannot_register_there(self):
        return fault(self, self.call(self.pat, "Register", {"type": "user",
                                                            "hrn": f"{ROOT}.eve"},
                                     self.lab_cred),
                     FORBIDDEN, f"is for {LAB}", "does not govern")

    def test_pi_cannot_remove_own_authority(self):
        return fault(self, self.call(self.pat, "Remove", LAB, self.lab_cred, "authority"),
                     FORBIDDEN, "does not govern")

    def test_non_pi_gets_no_authority_credential(self):
        return fault(self, self.call(self.alice, "GetCredential", self.alice_cred, LAB,
                                     "authority"), FORBIDDEN, "not a PI")

    def test_user_credential_does_not_register(self):
        return fault(self, self.call(self.alice, "Register",
                                     {"type": "slice", "hrn": f"{LAB}.mine"}, self.alice_cred),
                     FORBIDDEN, "do not allow Register", "needs an authority credential")

    def test_someone_elses_credential(self):
        return fault(self, self.call(self.alice, "Register",
                                     {"type": "slice", "hrn": f"{LAB}.mine"}, self.lab_cred),
                     FORBIDDEN, "belongs to")

    @defer.inlineCallbacks
    def test_user_outside_slice_gets_no_slice_credential(self):
        bob = yield defer.ensureDeferred(self.add_user("bob", LAB_NS))
        bob_cred = yield defer.ensureDeferred(self.user_credential(bob))
        yield fault(self, self.call(bob, "GetCredential", bob_cred, f"{LAB}.exp1", "slice"),
                    FORBIDDEN, "neither a researcher", "ask a PI")

    def test_user_credential_only_for_oneself(self):
        return fault(self, self.call(self.alice, "GetCredential", self.alice_cred,
                                     f"{LAB}.pat", "user"), FORBIDDEN, "only to the user")

    def test_self_credential_needs_the_records_key(self):
        return fault(self, self.call(self.alice, "GetSelfCredential", self.alice.gid.pem,
                                     f"{LAB}.pat", "user"), FORBIDDEN, "mismatch")

    def test_self_credential_cert_argument_must_be_callers(self):
        return fault(self, self.call(self.alice, "GetSelfCredential", self.pat.gid.pem,
                                     f"{LAB}.alice", "user"), FORBIDDEN, "mismatch")

    def test_no_credential(self):
        return fault(self, self.call(self.alice, "Resolve", f"{LAB}.alice", []),
                     FORBIDDEN, "needs a credential")

    def test_credential_from_another_root(self):
        other = Authority.create_root("elsewhere")
        key, gid = other.issue("urn:publicid:IDN+elsewhere+user+mal")
        mallory = Identity(key, (gid,) + other.chain)
        forged = credmod.issue(
            signer_key=other.key, signer_chain=other.chain, owner_chain=self.alice.chain,
            target_chain=self.alice.chain, privileges=USER_PRIVILEGES,
            expires=datetime.datetime.now(datetime.timezone.utc) + DAY)
        # TLS refuses mallory's chain outright; alice's forged credential is untrusted.
        d1 = self.call(mallory, "GetVersion")
        d1.addCallbacks(lambda v: self.fail(f"TLS accepted an untrusted chain: {v!r}"),
                        lambda f: None)
        d2 = fault(self, self.call(self.alice, "Resolve", f"{LAB}.alice", forged),
                   FORBIDDEN, "not trusted")
        return defer.gatherResults([d1, d2])

    @defer.inlineCallbacks
    def test_slice_credential_cannot_change_researchers(self):
        slice_cred = yield self.call(self.alice, "GetCredential", self.alice_cred,
                                     f"{LAB}.exp1", "slice")
        yield fault(self, self.call(self.alice, "Update",
                                    {"type": "slice", "hrn": f"{LAB}.exp1",
                                     "researcher": [f"{LAB}.alice", f"{LAB}.pat"]}, slice_cred),
                    FORBIDDEN, "not change its researchers")

    # -- unknown records

    def test_unknown_slice(self):
        return fault(self, self.call(self.alice, "GetCredential", self.alice_cred,
                                     f"{LAB}.nosuch", "slice"), NOT_FOUND, "Record not found")

    def test_resolve_unknown(self):
        return fault(self, self.call(self.alice, "Resolve", [f"{LAB}.nobody"], self.alice_cred),
                     NOT_FOUND, "Record not found")

    def test_list_unknown_authority(self):
        return fault(self, self.call(self.alice, "List", f"{ROOT}.nowhere", self.alice_cred),
                     NOT_FOUND, "Missing authority")

    def test_register_in_unknown_authority(self):
        return fault(self, self.call(self.boss, "Register",
                                     {"type": "user", "hrn": f"{ROOT}.nowhere.zed"},
                                     self.root_auth_cred), NOT_FOUND, "Record not found")

    def test_researcher_must_be_registered(self):
        return fault(self, self.call(self.pat, "Register",
                                     {"type": "slice", "hrn": f"{LAB}.exp2",
                                      "researcher": [f"{LAB}.ghost"]}, self.lab_cred),
                     BADARGS, "not a registered user")

    # -- duplicates and bad names

    def test_duplicate_user(self):
        return fault(self, self.call(self.pat, "Register",
                                     {"type": "user", "hrn": f"{LAB}.alice"}, self.lab_cred),
                     EXISTS, "Existing record", "taken")

    def test_duplicate_authority(self):
        return fault(self, self.call(self.boss, "Register", {"type": "authority", "hrn": LAB},
                                     self.root_auth_cred), EXISTS, "Existing record")

    def test_bad_hrn(self):
        return fault(self, self.call(self.alice, "Resolve", f"{ROOT}..alice", self.alice_cred),
                     BADARGS, "empty part")

    def test_bad_user_name(self):
        return fault(self, self.call(self.pat, "Register",
                                     {"type": "user", "hrn": f"{LAB}.far_too_long_name"},
                                     self.lab_cred), BADARGS, "cannot name a user")

    def test_dotted_authority_name(self):
        return fault(self, self.call(self.boss, "Register",
                                     {"type": "authority",
                                      "urn": f"urn:publicid:IDN+{ROOT}:a.b+authority+sa"},
                                     self.root_auth_cred), BADARGS, "'.' is not allowed")

    def test_unknown_type(self):
        return fault(self, self.call(self.pat, "Register",
                                     {"type": "sliver", "hrn": f"{LAB}.x"}, self.lab_cred),
                     BADARGS, "unknown record type")

    def test_record_must_be_a_struct(self):
        return fault(self, self.call(self.pat, "Register", "gamtest.lab.x", self.lab_cred),
                     BADARGS, "must be a struct")

    def test_wrong_argument_count(self):
        return fault(self, self.call(self.pat, "Resolve"), BADARGS, "takes the arguments")

    def test_bad_ssh_key(self):
        return fault(self, self.call(self.pat, "Register",
                                     {"type": "user", "hrn": f"{LAB}.carl", "keys": "not a key"},
                                     self.lab_cred), BADARGS, "not an OpenSSH public key")

    # -- lifetimes and structure

    @defer.inlineCallbacks
    def test_renewal_beyond_maximum(self):
        slice_cred = yield self.call(self.alice, "GetCredential", self.alice_cred,
                                     f"{LAB}.exp1", "slice")
        too_far = int(time.time()) + 61 * 86400
        yield fault(self, self.call(self.alice, "Update", {"type": "slice", "hrn": f"{LAB}.exp1",
                                                           "expires": too_far}, slice_cred),
                    GeniCode.OUTOFRANGE, "at most 60 days")

    @defer.inlineCallbacks
    def test_renewal_into_the_past(self):
        slice_cred = yield self.call(self.alice, "GetCredential", self.alice_cred,
                                     f"{LAB}.exp1", "slice")
        yield fault(self, self.call(self.alice, "Update",
                                    {"type": "slice", "hrn": f"{LAB}.exp1",
                                     "expires": "2001-01-01T00:00:00Z"}, slice_cred),
                    BADARGS, "not in the future")

    def test_authority_with_records_is_not_removed(self):
        return fault(self, self.call(self.boss, "Remove", LAB, self.root_auth_cred, "authority"),
                     REFUSED, "remove them first")

    def test_root_is_not_removed(self):
        return fault(self, self.call(self.boss, "Remove", ROOT, self.root_auth_cred,
                                     "authority"), FORBIDDEN)

    def test_ambiguous_name_needs_type(self):
        d = self.call(self.pat, "Register", {"type": "node", "hrn": f"{LAB}.alice"},
                      self.lab_cred)
        d.addCallback(lambda _: fault(self, self.call(self.pat, "Remove", f"{LAB}.alice",
                                                      self.lab_cred), BADARGS, "give the type"))
        return d
