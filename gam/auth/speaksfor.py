"""geni_abac speaks-for credentials: a user lets a tool act for them.

The credential states ``<user>.speaks_for_<user keyid> <- <tool keyid>``
and is signed by the user. A key id is the SHA-1 of the public key bits
(the X.509 subject key identifier, method 1), in lower-case hex.
"""
import datetime
import uuid as uuidlib

from cryptography import x509
from lxml import etree

from gam.auth.credential import (CredentialError, XML_ID, _new_document, _sign_and_serialise,
                                 format_time, parse_credential)
from gam.auth.gid import utcnow
from gam.auth.urn import URN, URNError
from gam.errors import BadArgs

ABAC_VERSION = "1.1"


def keyid(gid):
    """The ABAC key id of a certificate's public key."""
    return x509.SubjectKeyIdentifier.from_public_key(gid.cert.public_key()).digest.hex()


def issue_speaks_for(*, user_key, user_chain, tool_gid, lifetime=datetime.timedelta(days=365),
                     expires=None, algorithm="sha1"):
    """Write a speaks-for credential signed by the user (``user_chain[0]``)."""
    user = user_chain[0]
    expires = expires or utcnow() + lifetime
    root = _new_document()
    cred = etree.SubElement(root, "credential")
    cred.set(XML_ID, "ref0")
    for tag, value in (("type", "abac"), ("serial", ""), ("owner_gid", ""), ("owner_urn", ""),
                       ("target_gid", ""), ("target_urn", ""), ("uuid", str(uuidlib.uuid4())),
                       ("expires", format_time(expires))):
        etree.SubElement(cred, tag).text = value or None
    rt0 = etree.SubElement(etree.SubElement(cred, "abac"), "rt0")
    etree.SubElement(rt0, "version").text = ABAC_VERSION
    head = etree.SubElement(rt0, "head")
    principal = etree.SubElement(head, "ABACprincipal")
    etree.SubElement(principal, "keyid").text = keyid(user)
    etree.SubElement(principal, "mnemonic").text = str(user.urn)
    etree.SubElement(head, "role").text = f"speaks_for_{keyid(user)}"
    tail = etree.SubElement(rt0, "tail")
    principal = etree.SubElement(tail, "ABACprincipal")
    etree.SubElement(principal, "keyid").text = keyid(tool_gid)
    etree.SubElement(principal, "mnemonic").text = str(tool_gid.urn)
    return _sign_and_serialise(root, "ref0", user_key, user_chain, algorithm)


def _abac_statement(level):
    rt0 = level.element.find("abac/rt0")
    if rt0 is None:
        raise CredentialError("the speaks-for credential has no <abac><rt0> statement",
                              reason="speaks-for")
    heads = rt0.findall("head")
    tails = rt0.findall("tail")
    if len(heads) != 1 or len(tails) != 1:
        raise CredentialError("a speaks-for credential needs exactly one head and one tail",
                              reason="speaks-for")
    head_keyid = (heads[0].findtext("ABACprincipal/keyid") or "").strip().lower()
    role = (heads[0].findtext("role") or "").strip()
    tail_keyid = (tails[0].findtext("ABACprincipal/keyid") or "").strip().lower()
    return head_keyid, role, tail_keyid


def speaking_for_urn(value):
    """The user URN named by a ``geni_speaking_for`` option.

    Raises BadArgs (geni_code 1) when the option is not a user URN string:
    a malformed argument, not a refused credential.
    """
    try:
        return URN.parse(value, expect_type="user")
    except URNError as e:
        raise BadArgs("option geni_speaking_for must be the URN of the user the tool speaks "
                      "for, as a string (urn:publicid:IDN+<authority>+user+<name>), with "
                      f"that user's geni_abac speaks-for credential: {e}") from None


def verify_speaks_for(document, *, tool_gid, user_urn, verifier, now=None):
    """Check that ``document`` lets ``tool_gid`` speak for ``user_urn``.

    Returns the user's VerifiedChain (leaf = user certificate). Raises
    BadArgs if ``user_urn`` (the geni_speaking_for option) is not a user
    URN, CredentialError (reason ``speaks-for``, ``expired``, ``untrusted``,
    ``bad-signature`` ...) if the credential does not hold.
    """
    wanted = speaking_for_urn(user_urn)
    now = now or verifier.clock()
    cred = parse_credential(document, verifier.certificates.gid_from_pem)
    if len(cred.levels) != 1 or cred.top.type != "abac":
        raise CredentialError("a geni_abac credential must be one speaks-for statement of "
                              "type 'abac'", reason="wrong-type")
    level = cred.top
    if now >= level.expires:
        raise CredentialError(f"the speaks-for credential expired at "
                              f"{level.expires.isoformat()}", reason="expired")
    signature = cred.signatures.get(level.ref)
    if signature is None:
        raise CredentialError("the speaks-for credential is not signed", reason="unsigned")
    user_chain = verifier.verify_signature(signature, "the speaks-for credential", now)
    user = user_chain.leaf
    if user.urn != wanted:
        raise CredentialError(f"the speaks-for credential was signed by {user.urn}, not by "
                              f"{wanted} named in geni_speaking_for", reason="speaks-for")
    head_keyid, role, tail_keyid = _abac_statement(level)
    user_key = keyid(user)
    if head_keyid != user_key or role != f"speaks_for_{user_key}":
        raise CredentialError("the speaks-for statement is not about its signer "
                              "(<user>.speaks_for_<user keyid>)", reason="speaks-for")
    if tail_keyid != keyid(tool_gid):
        raise CredentialError(f"the speaks-for credential names another tool, not "
                              f"{tool_gid.urn} who is calling", reason="speaks-for")
    return user_chain
