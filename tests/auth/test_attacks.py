"""Bad credentials and chains, each refused with the right code and reason.

Every attack builds a call (caller chain, credentials, target, method,
options) that must fail; the table says with which geni_code and reason
and, where several checks share a reason, what the message must say, so
that each row is refused by the check it is about. Each row becomes its
own test so a regression names the attack.
"""
import datetime
from functools import lru_cache

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from gam.auth import credential as cred
from gam.auth import xmldsig
from gam.auth.gid import GID, build_certificate, generate_key, utcnow
from gam.auth.speaksfor import issue_speaks_for, keyid, verify_speaks_for
from gam.auth.urn import URN
from gam.errors import GeniCode, GeniError
from tests.auth.support import DAY, edit, pki, sfa
from tests.pki import Identity

FORBIDDEN, BADARGS = GeniCode.FORBIDDEN, GeniCode.BADARGS
DSIG = "{%s}" % xmldsig.DSIG_NS


class Call:
    def __init__(self, credentials, *, caller=None, target="slice", method="Allocate",
                 options=None, clock=None):
        p = pki()
        self.caller = caller if caller is not None else p.alice.peer_chain
        self.credentials = credentials
        self.target = {"slice": p.slice_urn, None: None}.get(target, target)
        self.method = method
        self.options = options
        self.clock = clock or utcnow

    def run(self):
        az = pki().authorizer(clock=self.clock)
        return az.authorize(self.caller, self.credentials, self.target, self.method,
                            self.options)


def _set_text(tag, value, level=0):
    def change(root):
        creds = root.iter("credential")
        for _ in range(level):
            next(creds)
        node = next(creds)
        node.find(tag).text = value
    return change


def _delegated(privileges=None, expires=None, signer=None, new_owner=None, target_chain=None):
    """alice delegates her slice credential to bob, possibly badly."""
    p = pki()
    parent = p.slice_credential(privileges=[cred.Privilege("embed", True),
                                            cred.Privilege("info", False),
                                            cred.Privilege("control", True)])
    signer = signer or p.alice
    new_owner = new_owner or p.bob
    if target_chain is None:
        return cred.delegate(parent, owner_key=signer.key, owner_chain=signer.chain,
                             new_owner_chain=new_owner.chain, privileges=privileges,
                             expires=expires)
    # A delegation that names another target: written by hand, signed by alice.
    text = cred.delegate(parent, owner_key=signer.key, owner_chain=signer.chain,
                         new_owner_chain=new_owner.chain, privileges=privileges, expires=expires)
    def retarget(root):
        top = root.find("credential")
        top.find("target_gid").text = "".join(g.pem for g in target_chain)
        top.find("target_urn").text = str(target_chain[0].urn)
        root.find("signatures").remove(root.find("signatures")[-1])
    unsigned = edit(text, retarget)
    root = etree.fromstring(unsigned.encode())
    return cred._sign_and_serialise(root, root.find("credential").get(cred.XML_ID),
                                    signer.key, signer.chain, "sha1")


def _person_with_cert(authority_key, authority_chain, urn, *, ca=False, now=None,
                      lifetime=datetime.timedelta(days=30)):
    key = generate_key()
    cert = build_certificate(subject_urn=URN.parse(urn), public_key=key.public_key(),
                             issuer_key=authority_key, issuer_cert=authority_chain[0].cert,
                             ca=ca, now=now, lifetime=lifetime)
    return Identity(key, (GID(cert),) + tuple(authority_chain))


@lru_cache(maxsize=None)
def _aggregate_identity():
    """An aggregate's certificate: an authority URN (...+authority+am), CA:FALSE."""
    p = pki()
    key, gid = p.root.issue(URN("gam.test", "authority", "am"))
    return Identity(key, (gid,) + p.root.chain)


@lru_cache(maxsize=None)
def _deputy_identity():
    """A CA:TRUE certificate issued by the root to a user URN (not an authority)."""
    p = pki()
    return _person_with_cert(p.root.key, p.root.chain, "urn:publicid:IDN+gam.test+user+deputy",
                             ca=True)


def _speaks_for_edited(change):
    """alice's speaks-for credential for the tool, its <rt0> changed by
    ``change(rt0)`` before she signs it."""
    p = pki()
    root = etree.fromstring(issue_speaks_for(user_key=p.alice.key, user_chain=p.alice.chain,
                                             tool_gid=p.tool.gid).encode())
    change(root.find("credential/abac/rt0"))
    root.find("signatures").clear()
    return {"geni_type": "geni_abac", "geni_version": "1",
            "geni_value": cred._sign_and_serialise(root, "ref0", p.alice.key, p.alice.chain,
                                                   "sha1")}


def _attacks():
    p = pki()
    now = utcnow()
    good = p.slice_credential()
    attacks = {}

    def attack(name, code=FORBIDDEN, reason=None, says=()):
        def register(fn):
            attacks[name] = (fn, code, reason, (says,) if isinstance(says, str) else says)
            return fn
        return register

    # --- tampering after signing -------------------------------------------------
    @attack("tampered_privilege_added", reason="bad-signature")
    def _():
        def add(root):
            privs = root.find("credential/privileges")
            pr = etree.SubElement(privs, "privilege")
            etree.SubElement(pr, "name").text = "*"
            etree.SubElement(pr, "can_delegate").text = "true"
        return Call([sfa(edit(p.user_credential(p.alice), add))], method="Allocate",
                    target=p.alice.urn)

    @attack("tampered_privilege_renamed", reason="bad-signature")
    def _():
        return Call([sfa(edit(p.user_credential(p.alice),
                              lambda r: setattr(r.find("credential/privileges/privilege/name"),
                                                "text", "embed")))],
                    target=p.alice.urn)

    @attack("tampered_can_delegate", reason="bad-signature")
    def _():
        text = p.slice_credential(privileges=[cred.Privilege("embed", False)])
        text = text.replace("<can_delegate>false</can_delegate>",
                            "<can_delegate>true</can_delegate>")
        return Call([sfa(text)])

    @attack("tampered_target", reason="bad-signature")
    def _():
        other = p.other_slice
        def retarget(root):
            root.find("credential/target_gid").text = "".join(g.pem for g in other)
            root.find("credential/target_urn").text = str(other[0].urn)
        return Call([sfa(edit(good, retarget))], target=p.other_slice_urn)

    @attack("tampered_target_urn_only", reason="bad-signature")
    def _():
        return Call([sfa(edit(good, _set_text("target_urn", str(p.other_slice_urn))))],
                    target=p.other_slice_urn)

    @attack("tampered_owner", reason="bad-signature")
    def _():
        def reown(root):
            root.find("credential/owner_gid").text = "".join(g.pem for g in p.bob.chain)
            root.find("credential/owner_urn").text = str(p.bob.urn)
        return Call([sfa(edit(good, reown))], caller=p.bob.peer_chain)

    @attack("tampered_expiry", reason="bad-signature")
    def _():
        old = p.slice_credential(expires=now + datetime.timedelta(minutes=1))
        later = cred.format_time(now + datetime.timedelta(days=300))
        return Call([sfa(edit(old, _set_text("expires", later)))])

    @attack("tampered_expired_made_valid", reason="bad-signature")
    def _():
        old = p.slice_credential(expires=now + datetime.timedelta(minutes=1))
        later = cred.format_time(now + datetime.timedelta(days=3))
        return Call([sfa(edit(old, _set_text("expires", later)))],
                    clock=lambda: now + datetime.timedelta(hours=1))

    @attack("signature_removed", reason="unsigned")
    def _():
        return Call([sfa(edit(good, lambda r: r.remove(r.find("signatures"))))])

    @attack("signature_value_garbled", reason="bad-signature")
    def _():
        def garble(root):
            value = root.find(f"signatures/{DSIG}Signature/{DSIG}SignatureValue")
            value.text = "AAAA" + value.text[4:]
        return Call([sfa(edit(good, garble))])

    @attack("signature_with_foreign_key_in_keyinfo", reason="bad-signature")
    def _():
        # Keep the signature, swap the certificate it names for another trusted one.
        def swap(root):
            node = root.find(f"signatures/{DSIG}Signature/{DSIG}KeyInfo/{DSIG}X509Data/"
                             f"{DSIG}X509Certificate")
            node.text = "".join(p.other.gid.pem.splitlines()[1:-1])
        return Call([sfa(edit(good, swap))])

    @attack("signature_xpath_transform", reason="bad-signature")
    def _():
        def xpath(root):
            tr = root.find(f"signatures/{DSIG}Signature/{DSIG}SignedInfo/{DSIG}Reference/"
                           f"{DSIG}Transforms/{DSIG}Transform")
            tr.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
        return Call([sfa(edit(good, xpath))])

    @attack("signature_for_unknown_reference", reason="malformed")
    def _():
        def extra(root):
            sig = etree.fromstring(etree.tostring(root.find(f"signatures/{DSIG}Signature")))
            sig.find(f"{DSIG}SignedInfo/{DSIG}Reference").set("URI", "#ref9")
            sig.set(cred.XML_ID, "Sig_ref9")
            root.find("signatures").append(sig)
        return Call([sfa(edit(good, extra))])

    # libxml2 itself refuses a document that repeats an xml:id, before
    # gam's own check (tested in test_credential with a parser that lets
    # duplicates through).
    @attack("duplicate_xml_id_wrapping", reason="malformed",
            says=("not well-formed", "ID ref0 already defined"))
    def _():
        # Signature wrapping: a second element claims the signed id.
        def wrap(root):
            decoy = etree.SubElement(root.find("signatures"), "decoy")
            decoy.set(cred.XML_ID, "ref0")
        return Call([sfa(edit(good, wrap))])

    @attack("wrapped_evil_top_level", reason="unsigned")
    def _():
        # Put the real signed credential under <parent> of a forged top level.
        def forge(root):
            real = root.find("credential")
            root.remove(real)
            fake = cred._credential_element("ref7", owner_chain=p.bob.chain,
                                            target_chain=p.slice, privileges=["*"],
                                            expires=now + DAY)
            etree.SubElement(fake, "parent").append(real)
            root.insert(0, fake)
        return Call([sfa(edit(good, forge))], caller=p.bob.peer_chain)

    # --- who signed ----------------------------------------------------------------
    @attack("signed_by_untrusted_root", reason="untrusted")
    def _():
        return Call([sfa(p.slice_credential(signer=p.evil))])

    @attack("signed_by_impostor_root_same_name", reason="bad-certificate-signature")
    def _():
        return Call([sfa(p.slice_credential(signer=p.impostor))])

    @attack("signed_by_non_authority", reason="not-an-authority")
    def _():
        # bob (a user, CA:FALSE) signs a root-level credential on the slice
        text = cred.issue(signer_key=p.bob.key, signer_chain=p.bob.chain,
                          owner_chain=p.alice.chain, target_chain=p.slice,
                          privileges=["embed"], expires=now + DAY)
        return Call([sfa(text)])

    @attack("signed_by_ca_false_authority_urn", reason="not-an-authority",
            says="which is not an authority")
    def _():
        # The AM's own certificate (...+authority+am, CA:FALSE) grants on the slice.
        am = _aggregate_identity()
        text = cred.issue(signer_key=am.key, signer_chain=am.chain, owner_chain=p.alice.chain,
                          target_chain=p.slice, privileges=["embed"], expires=now + DAY)
        return Call([sfa(text)])

    @attack("signed_by_ca_true_without_authority_urn", reason="not-an-authority",
            says="which is not an authority")
    def _():
        # A CA:TRUE certificate whose URN is a user's grants on the slice.
        deputy = _deputy_identity()
        text = cred.issue(signer_key=deputy.key, signer_chain=deputy.chain,
                          owner_chain=p.alice.chain, target_chain=p.slice,
                          privileges=["embed"], expires=now + DAY)
        return Call([sfa(text)])

    @attack("authority_signing_outside_namespace", reason="namespace")
    def _():
        # gam.test:sub grants on a gam.test slice, which it does not govern
        return Call([sfa(p.slice_credential(signer=p.sub))])

    @attack("other_trusted_root_outside_namespace", reason="namespace")
    def _():
        return Call([sfa(p.slice_credential(signer=p.other))])

    @attack("certificate_issued_outside_namespace", reason="namespace")
    def _():
        # The sub-authority mints a user in a namespace it does not govern.
        eve = _person_with_cert(p.sub.key, p.sub.chain, "urn:publicid:IDN+gam.test:other+user+eve")
        text = cred.issue(signer_key=p.root.key, signer_chain=p.root.chain,
                          owner_chain=eve.chain, target_chain=p.slice, privileges=["embed"],
                          expires=now + DAY)
        return Call([sfa(text)], caller=[g.cert for g in eve.chain])

    @attack("certificate_issued_by_user", reason="not-an-authority")
    def _():
        # bob (CA:FALSE) issues a certificate and uses it as the caller
        eve = _person_with_cert(p.bob.key, p.bob.chain, "urn:publicid:IDN+gam.test+user+eve")
        return Call([sfa(good)], caller=[g.cert for g in eve.chain])

    @attack("certificate_issued_by_ca_false_authority_urn", reason="not-an-authority",
            says="its certificate has CA:FALSE")
    def _():
        # The AM's certificate (an authority URN, but CA:FALSE) issues a user.
        am = _aggregate_identity()
        eve = _person_with_cert(am.key, am.chain, "urn:publicid:IDN+gam.test+user+eve")
        return Call([sfa(p.slice_credential(eve))], caller=[g.cert for g in eve.chain])

    @attack("certificate_issued_by_ca_true_without_authority_urn", reason="not-an-authority",
            says="has no GENI authority URN")
    def _():
        deputy = _deputy_identity()
        eve = _person_with_cert(deputy.key, deputy.chain, "urn:publicid:IDN+gam.test+user+eve")
        return Call([sfa(p.slice_credential(eve))], caller=[g.cert for g in eve.chain])

    # --- time ----------------------------------------------------------------------
    @attack("expired_credential", reason="expired")
    def _():
        text = p.slice_credential(expires=now + datetime.timedelta(minutes=1))
        return Call([sfa(text)], clock=lambda: now + datetime.timedelta(minutes=2))

    @attack("expired_parent_level", reason="expired")
    def _():
        # Only the delegating level has run out; the top level claims to live on.
        parent = p.slice_credential(expires=now + datetime.timedelta(minutes=10))
        text = cred.delegate(parent, owner_key=p.alice.key, owner_chain=p.alice.chain,
                             new_owner_chain=p.bob.chain,
                             expires=now + datetime.timedelta(minutes=20))
        return Call([sfa(text)], caller=p.bob.peer_chain,
                    clock=lambda: now + datetime.timedelta(minutes=11))

    @attack("expired_signer_certificate", reason="expired")
    def _():
        # An authority whose own certificate has run out.
        short = p.root.create_sub_authority("short", lifetime=datetime.timedelta(hours=1))
        _, target = short.issue("urn:publicid:IDN+gam.test:short+slice+s")
        text = cred.issue(signer_key=short.key, signer_chain=short.chain,
                          owner_chain=p.alice.chain, target_chain=(target,) + short.chain,
                          privileges=["embed"], expires=now + datetime.timedelta(days=2))
        return Call([sfa(text)], target=target.urn,
                    clock=lambda: now + datetime.timedelta(hours=2))

    @attack("expired_caller_certificate", reason="expired")
    def _():
        old = _person_with_cert(p.root.key, p.root.chain, "urn:publicid:IDN+gam.test+user+old",
                                now=now - datetime.timedelta(days=40))
        text = p.slice_credential(old)
        return Call([sfa(text)], caller=[g.cert for g in old.chain])

    @attack("caller_certificate_not_yet_valid", reason="not-yet-valid")
    def _():
        young = _person_with_cert(p.root.key, p.root.chain, "urn:publicid:IDN+gam.test+user+young",
                                  now=now + datetime.timedelta(days=2))
        return Call([sfa(p.slice_credential(young))], caller=[g.cert for g in young.chain])

    # --- delegation ------------------------------------------------------------------
    @attack("delegation_adds_privilege", reason="delegation-privilege")
    def _():
        return Call([sfa(_delegated(privileges=[cred.Privilege("embed", True),
                                                cred.Privilege("bind", False)]))],
                    caller=p.bob.peer_chain)

    @attack("delegation_of_undelegatable_privilege", reason="delegation-privilege")
    def _():
        return Call([sfa(_delegated(privileges=[cred.Privilege("info", False)]))],
                    caller=p.bob.peer_chain, method="Status")

    @attack("delegation_extends_expiry", reason="delegation-expiry")
    def _():
        return Call([sfa(_delegated(privileges=["embed"], expires=now + 3 * DAY))],
                    caller=p.bob.peer_chain)

    @attack("delegation_signed_by_non_owner", reason="delegation-signer")
    def _():
        # carol (trusted, but not the owner of alice's credential) delegates it to bob
        return Call([sfa(_delegated(privileges=["embed"], signer=p.carol))],
                    caller=p.bob.peer_chain)

    @attack("delegation_changes_target", reason="delegation-target")
    def _():
        return Call([sfa(_delegated(privileges=["embed"], target_chain=p.other_slice))],
                    caller=p.bob.peer_chain, target=p.other_slice_urn)

    # --- use -----------------------------------------------------------------------
    @attack("wrong_caller", reason="wrong-owner")
    def _():
        return Call([sfa(good)], caller=p.bob.peer_chain)

    @attack("wrong_caller_same_urn_other_key", reason="wrong-owner")
    def _():
        twin = _person_with_cert(p.root.key, p.root.chain, str(p.alice.urn))
        return Call([sfa(good)], caller=[g.cert for g in twin.chain])

    @attack("wrong_slice", reason="wrong-target")
    def _():
        return Call([sfa(good)], target=p.other_slice_urn)

    @attack("missing_privilege", reason="missing-privilege")
    def _():
        return Call([sfa(p.slice_credential(privileges=["info"]))], method="Delete")

    @attack("user_credential_for_allocate", reason="wrong-target")
    def _():
        return Call([sfa(p.user_credential(p.alice))])

    @attack("caller_from_untrusted_root", reason="untrusted")
    def _():
        return Call([sfa(good)], caller=p.mallory.peer_chain)

    @attack("caller_without_intermediate", reason="untrusted")
    def _():
        text = p.slice_credential(p.carol, target=p.sub_slice, signer=p.sub)
        return Call([sfa(text)], caller=[p.carol.gid.cert], target=p.sub_slice_urn)

    @attack("no_client_certificate", reason="no-certificate")
    def _():
        return Call([sfa(good)], caller=[])

    # --- malformed documents and arguments ------------------------------------------
    @attack("malformed_xml", reason="malformed")
    def _():
        return Call([sfa(good[: len(good) // 2])])

    @attack("entity_expansion", reason="malformed")
    def _():
        bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                '<signed-credential><credential xml:id="ref0"><type>&lol3;</type>'
                '</credential></signed-credential>')
        return Call([sfa(bomb)])

    @attack("external_entity", reason="malformed")
    def _():
        xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
               '<signed-credential><credential xml:id="ref0"><type>&xxe;</type>'
               '</credential></signed-credential>')
        return Call([sfa(xxe)])

    @attack("oversized_credential", reason="too-big")
    def _():
        return Call([sfa(good.replace("<serial>", "<serial>" + "9" * cred.MAX_CREDENTIAL_BYTES))])

    @attack("unsigned_bare_credential", reason="malformed")
    def _():
        return Call([sfa(etree.tostring(etree.fromstring(good.encode()).find("credential")))])

    @attack("two_credentials_in_one_document", reason="malformed",
            says=("not well-formed", "ID ref0 already defined"))
    def _():
        def double(root):
            root.insert(1, etree.fromstring(etree.tostring(root.find("credential"))))
        return Call([sfa(edit(good, double))])

    @attack("two_credentials_with_distinct_ids", reason="malformed",
            says="must hold exactly one <credential>, it holds 2")
    def _():
        def double(root):
            second = etree.fromstring(etree.tostring(root.find("credential")))
            second.set(cred.XML_ID, "ref5")
            root.insert(1, second)
        return Call([sfa(edit(good, double))])

    @attack("credential_type_unknown", reason="wrong-type")
    def _():
        return Call([sfa(edit(good, _set_text("type", "capability")))])

    @attack("owner_urn_disagrees_with_owner_gid", reason="malformed")
    def _():
        text = cred.issue(signer_key=p.root.key, signer_chain=p.root.chain,
                          owner_chain=p.alice.chain, target_chain=p.slice, privileges=["embed"],
                          expires=now + DAY)
        root = etree.fromstring(text.encode())
        root.find("credential/owner_urn").text = str(p.bob.urn)
        root.find("signatures").clear()
        resigned = cred._sign_and_serialise(root, "ref0", p.root.key, p.root.chain, "sha1")
        return Call([sfa(resigned)])

    @attack("target_urn_disagrees_with_target_gid", reason="malformed",
            says="does not match the URN of its target_gid")
    def _():
        # Signed by the authority, but naming another slice than its certificate.
        root = etree.fromstring(good.encode())
        root.find("credential/target_urn").text = str(p.other_slice_urn)
        root.find("signatures").clear()
        resigned = cred._sign_and_serialise(root, "ref0", p.root.key, p.root.chain, "sha1")
        return Call([sfa(resigned)], target=p.other_slice_urn)

    @attack("wrong_geni_type", reason="unsupported-type")
    def _():
        return Call([{"geni_type": "geni_ucl", "geni_version": "3", "geni_value": good}])

    @attack("unsupported_sfa_version", reason="unsupported-type")
    def _():
        return Call([sfa(good, version=1)])

    @attack("abac_given_as_sfa", reason="wrong-type")
    def _():
        sf = issue_speaks_for(user_key=p.alice.key, user_chain=p.alice.chain, tool_gid=p.tool.gid)
        return Call([sfa(sf)])

    @attack("empty_credential_list", reason="no-credential")
    def _():
        return Call([])

    @attack("credentials_not_a_list", code=BADARGS, reason="bad-args")
    def _():
        return Call(good)

    @attack("credential_struct_without_value", code=BADARGS, reason="bad-args")
    def _():
        return Call([{"geni_type": "geni_sfa", "geni_version": "3"}])

    @attack("credential_value_wrong_type", code=BADARGS, reason="bad-args")
    def _():
        return Call([{"geni_type": "geni_sfa", "geni_version": "3", "geni_value": 42}])

    # --- speaks-for -----------------------------------------------------------------
    def speaks_for(user=None, tool=None, signer=None, expires=None):
        user = user or p.alice
        signer = signer or user
        return {"geni_type": "geni_abac", "geni_version": "1",
                "geni_value": issue_speaks_for(user_key=signer.key, user_chain=signer.chain,
                                               tool_gid=(tool or p.tool).gid, expires=expires)}

    @attack("speaks_for_option_without_credential", reason="speaks-for")
    def _():
        return Call([sfa(good)], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_signed_by_someone_else", reason="speaks-for")
    def _():
        return Call([sfa(good), speaks_for(signer=p.bob)], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_other_tool", reason="speaks-for")
    def _():
        return Call([sfa(good), speaks_for(tool=p.bob)], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_expired", reason="expired")
    def _():
        return Call([sfa(good), speaks_for(expires=now + datetime.timedelta(minutes=1))],
                    caller=p.tool.peer_chain, options={"geni_speaking_for": str(p.alice.urn)},
                    clock=lambda: now + datetime.timedelta(minutes=2))

    @attack("speaks_for_tampered_tool_keyid", reason="bad-signature")
    def _():
        sf = speaks_for(tool=p.bob)
        sf["geni_value"] = sf["geni_value"].replace(keyid(p.bob.gid), keyid(p.tool.gid))
        return Call([sfa(good), sf], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_head_is_another_user", reason="speaks-for",
            says="not about its signer")
    def _():
        # alice signs "bob.speaks_for_alice <- tool"
        def head(rt0):
            rt0.find("head/ABACprincipal/keyid").text = keyid(p.bob.gid)
        return Call([sfa(good), _speaks_for_edited(head)], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_role_of_another_user", reason="speaks-for",
            says="not about its signer")
    def _():
        # alice signs "alice.speaks_for_bob <- tool"
        def role(rt0):
            rt0.find("head/role").text = f"speaks_for_{keyid(p.bob.gid)}"
        return Call([sfa(good), _speaks_for_edited(role)], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_by_untrusted_user", reason="untrusted")
    def _():
        return Call([sfa(good), speaks_for(user=p.mallory)], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.mallory.urn)})

    @attack("speaks_for_still_checks_the_slice_credential", reason="wrong-owner")
    def _():
        # alice really lets the tool speak for her, but the credential is bob's
        return Call([sfa(p.slice_credential(p.bob)), speaks_for()], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)})

    @attack("speaks_for_still_checks_the_target", reason="wrong-target")
    def _():
        return Call([sfa(good), speaks_for()], caller=p.tool.peer_chain, target=p.other_slice_urn,
                    options={"geni_speaking_for": str(p.alice.urn)})

    return attacks


ATTACKS = _attacks()


class AttackSuite(SynchronousTestCase):
    def check(self, name):
        build, code, reason, says = ATTACKS[name]
        call = build()
        with self.assertRaises(GeniError, msg=name) as cm:
            call.run()
        error = cm.exception
        self.assertEqual((error.geni_code, error.reason), (code, reason),
                         f"{name}: got {error.geni_code}/{error.reason}: {error.message}")
        self.assertTrue(error.message and "Traceback" not in error.message)
        for fragment in says:
            self.assertIn(fragment, error.message, name)

    def test_suite_is_large_enough(self):
        self.assertGreaterEqual(len(ATTACKS), 30)

    def test_controls_succeed(self):
        """The same calls done right succeed, so the attacks fail for their flaw."""
        p = pki()
        Call([sfa(p.slice_credential())]).run()
        sf = {"geni_type": "geni_abac", "geni_version": "1",
              "geni_value": issue_speaks_for(user_key=p.alice.key, user_chain=p.alice.chain,
                                             tool_gid=p.tool.gid)}
        auth = Call([sfa(p.slice_credential()), sf], caller=p.tool.peer_chain,
                    options={"geni_speaking_for": str(p.alice.urn)}).run()
        self.assertEqual(auth.caller.urn, p.alice.urn)
        self.assertEqual(auth.caller.tool.urn, p.tool.urn)
        Call([sfa(_delegated(privileges=["embed"]))], caller=p.bob.peer_chain).run()
        # A speaks-for statement re-signed unchanged is accepted: the edited
        # ones fail for their edit, not for the re-signing.
        Call([sfa(p.slice_credential()), _speaks_for_edited(lambda rt0: None)],
             caller=p.tool.peer_chain, options={"geni_speaking_for": str(p.alice.urn)}).run()


for _name in ATTACKS:
    setattr(AttackSuite, f"test_{_name}", lambda self, _n=_name: self.check(_n))


MALFORMED_SPEAKING_FOR = (["x"], 42, "not a urn", "urn:publicid:IDN+gam.test+slice+myslice")


class SpeakingForOptionTests(SynchronousTestCase):
    """A malformed geni_speaking_for is a bad argument (1), not a refusal (3)."""

    def speaks_for(self):
        p = pki()
        return issue_speaks_for(user_key=p.alice.key, user_chain=p.alice.chain,
                                tool_gid=p.tool.gid)

    def assertBadArgs(self, error, value):
        self.assertEqual((error.geni_code, error.reason), (BADARGS, "bad-args"),
                         f"{value!r}: {error.message}")
        self.assertIn("geni_speaking_for must be the URN of the user the tool speaks for",
                      error.message)
        self.assertIn("urn:publicid:IDN+<authority>+user+<name>", error.message)

    def test_verify_speaks_for(self):
        p = pki()
        verifier = p.authorizer().verifier
        for value in MALFORMED_SPEAKING_FOR:
            with self.assertRaises(GeniError, msg=repr(value)) as cm:
                verify_speaks_for(self.speaks_for(), tool_gid=p.tool.gid, user_urn=value,
                                  verifier=verifier)
            self.assertBadArgs(cm.exception, value)
        # The same credential with the right option holds.
        chain = verify_speaks_for(self.speaks_for(), tool_gid=p.tool.gid,
                                  user_urn=str(p.alice.urn), verifier=verifier)
        self.assertEqual(chain.leaf.urn, p.alice.urn)

    def test_through_the_authorizer(self):
        p = pki()
        sf = {"geni_type": "geni_abac", "geni_version": "1", "geni_value": self.speaks_for()}
        for value in MALFORMED_SPEAKING_FOR:
            for credentials in ([sfa(p.slice_credential()), sf], [sfa(p.slice_credential())]):
                call = Call(credentials, caller=p.tool.peer_chain,
                            options={"geni_speaking_for": value})
                with self.assertRaises(GeniError, msg=repr(value)) as cm:
                    call.run()
                self.assertBadArgs(cm.exception, value)

