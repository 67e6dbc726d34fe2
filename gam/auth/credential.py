"""geni_sfa privilege credentials: parse, build, sign, delegate.

A ``<signed-credential>`` holds one ``<credential>`` per level of delegation
(the outermost is the one in force, its ``<parent>`` the one it was
delegated from) and a ``<signatures>`` list with one XML signature per
level. This module turns the XML into :class:`SignedCredential` objects
and writes new ones; :mod:`gam.auth.verify` decides whether to trust them.
"""
import datetime
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography import x509

from lxml import etree

from gam import rfc3339, safexml
from gam.auth import xmldsig
from gam.auth.gid import GID, load_pem_chain, key_to_pem
from gam.auth.urn import URN, URNError
from gam.errors import BadArgs, Forbidden
from gam.lazy import cached_property

MAX_CREDENTIAL_BYTES = 1_000_000
MAX_DEPTH = 8

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_XSI_NO_NS = "http://www.geni.net/resources/credential/2/credential.xsd"
_XSI_SCHEMA = ("http://www.protogeni.net/resources/credential/ext/policy/1 "
               "http://www.protogeni.net/resources/credential/ext/policy/1/policy.xsd")


class CredentialError(Forbidden):
    """A credential that cannot be used; ``reason`` says why."""

    default_reason = "malformed"


def parse_xml(text, what="credential"):
    """Parse untrusted XML (see :mod:`gam.safexml`); refusals are credential errors."""
    try:
        return safexml.parse_untrusted(text, max_bytes=MAX_CREDENTIAL_BYTES, what=what).getroot()
    except BadArgs as e:
        reason = "too-big" if e.reason == "too-big" else "malformed"
        raise CredentialError(e.message, reason=reason) from None


def parse_time(text, what="expires"):
    """RFC 3339 / ISO 8601 to an aware UTC datetime (naive means UTC)."""
    if not text or not text.strip():
        raise CredentialError(f"the credential's <{what}> is empty", reason="malformed")
    try:
        return rfc3339.parse_time(text)
    except ValueError:
        raise CredentialError(f"the credential's <{what}> {text.strip()!r} is not an RFC 3339 "
                              "date", reason="malformed") from None


format_time = rfc3339.format_time


class Privilege(NamedTuple):
    # A named tuple rather than a dataclass: a credential carries many, and
    # this is built for each one on every cold verification.
    name: str
    delegatable: bool = False


@dataclass(frozen=True, eq=False)
class Level:
    """One ``<credential>`` element: a grant from its signer to its owner.

    Only the owner's and target's own certificates are read up front; the
    chains that follow them in ``owner_gid``/``target_gid`` are read when
    asked for.
    """

    ref: str
    type: str
    owner_gid: GID | None
    owner_urn: URN | None
    target_gid: GID | None
    target_urn: URN | None
    expires: datetime.datetime
    privileges: tuple
    uuid: str
    serial: str
    element: object = field(repr=False)

    @cached_property
    def owner_chain(self):
        return _gid_chain(self.element, "owner_gid") if self.owner_gid else ()

    @cached_property
    def target_chain(self):
        return _gid_chain(self.element, "target_gid") if self.target_gid else ()

    def privilege(self, name):
        for p in self.privileges:
            if p.name == name:
                return p
        return None

    @cached_property
    def privilege_names(self):
        return frozenset(p.name for p in self.privileges)


@dataclass(frozen=True, eq=False)
class SignedCredential:
    """A parsed ``<signed-credential>``; ``levels[0]`` is the one in force."""

    levels: tuple
    signatures: dict   # ref -> Signature element
    root: object = field(repr=False)
    text: bytes = field(repr=False)

    @property
    def top(self):
        return self.levels[0]

    @property
    def type(self):
        return self.top.type

    @property
    def expires(self):
        return min(level.expires for level in self.levels)

    def to_xml(self):
        return self.text.decode("utf-8")


def _text(element, tag):
    return (element.findtext(tag) or "").strip()


_PEM_END = "-----END CERTIFICATE-----"


def _gid_chain(element, tag):
    pem = _text(element, tag)
    if not pem:
        raise CredentialError(f"the credential has no <{tag}>", reason="malformed")
    try:
        certs = load_pem_chain(pem)
    except BadArgs as e:
        raise CredentialError(f"the credential's <{tag}> is not a certificate: {e}",
                              reason="malformed") from None
    if not certs:
        raise CredentialError(f"the credential's <{tag}> holds no certificate",
                              reason="malformed")
    return tuple(GID(c) for c in certs)


def gid_from_pem(pem):
    """A GID from one PEM block (no caching)."""
    return GID(x509.load_pem_x509_certificate(pem.encode("ascii")))


def _first_gid(fields, tag, load):
    """The first certificate of a ``*_gid`` field (the subject itself)."""
    pem = fields.get(tag, "")
    end = pem.find(_PEM_END)
    if not pem or end < 0:
        raise CredentialError(f"the credential has no certificate in <{tag}>",
                              reason="malformed")
    try:
        return load(pem[:end + len(_PEM_END)])
    except (ValueError, UnicodeEncodeError) as e:
        raise CredentialError(f"the credential's <{tag}> is not a certificate: {e}",
                              reason="malformed") from None


def _urn(fields, tag, gid):
    text = fields.get(tag, "")
    urn = gid.urn if gid is not None else None
    if urn is not None and text == str(urn):
        return urn                          # as written in the certificate: parsed there
    if not text and gid is not None:
        if urn is None:
            raise CredentialError(f"the credential has no <{tag}> and its certificate no URN",
                                  reason="malformed")
        return urn
    try:
        return URN.parse(text)
    except URNError as e:
        raise CredentialError(f"the credential's <{tag}> is not a GENI URN: {e}",
                              reason="malformed") from None


_SINGLE_FIELDS = frozenset({"type", "serial", "owner_gid", "owner_urn", "target_gid",
                            "target_urn", "uuid", "expires", "privileges", "parent", "abac"})


def _fields(element):
    """The text of each child of a <credential>, refusing repeated fields,
    and the <privileges> and <parent> elements (or None)."""
    fields = {}
    privileges = parent = None
    for child in element:
        tag = child.tag
        if tag in fields and tag in _SINGLE_FIELDS:
            raise CredentialError(f"a <credential> has more than one <{tag}>",
                                  reason="malformed")
        text = child.text
        fields[tag] = text.strip() if text else ""
        if tag == "privileges":
            privileges = child
        elif tag == "parent":
            parent = child
    return fields, privileges, parent


def _privileges(element):
    """The <privilege> entries of a <privileges> element, in order."""
    if element is None:
        return ()
    privileges = []
    for p in element:
        if p.tag != "privilege":
            continue
        name = delegate = None
        for child in p:
            tag = child.tag
            if tag == "name" and name is None:
                name = child.text or ""
            elif tag == "can_delegate" and delegate is None:
                delegate = child.text or ""
        name = (name or "").strip()
        if not name:
            raise CredentialError("a <privilege> has no <name>", reason="malformed")
        privileges.append(Privilege(name.lower(),
                                    (delegate or "").strip().lower() in ("true", "1")))
    return tuple(privileges)


def _parse_level(element, load):
    """The Level of a <credential> element, and its <parent> element (or None)."""
    ref = element.get(XML_ID)
    if not ref:
        raise CredentialError("a <credential> has no xml:id, so no signature can refer to it",
                              reason="malformed")
    fields, privileges_element, parent = _fields(element)
    ctype = fields.get("type", "")
    if ctype not in ("privilege", "abac"):
        raise CredentialError(f"credential type {ctype!r} is not supported; expected "
                              "'privilege' (or 'abac' for speaks-for)", reason="wrong-type")
    if ctype == "abac":
        owner_gid = target_gid = owner_urn = target_urn = None
        privileges = ()
    else:
        owner_gid = _first_gid(fields, "owner_gid", load)
        target_gid = _first_gid(fields, "target_gid", load)
        owner_urn = _urn(fields, "owner_urn", owner_gid)
        target_urn = _urn(fields, "target_urn", target_gid)
        privileges = _privileges(privileges_element)
    level = Level(ref=ref, type=ctype, owner_gid=owner_gid, owner_urn=owner_urn,
                  target_gid=target_gid, target_urn=target_urn,
                  expires=parse_time(fields.get("expires")), privileges=privileges,
                  uuid=fields.get("uuid", ""), serial=fields.get("serial", ""), element=element)
    return level, parent


_ALL_IDS = etree.XPath("//@xml:id", smart_strings=False)
_SIGNATURE = f"{{{xmldsig.DSIG_NS}}}Signature"


def parse_credential(text, gid_from_pem=gid_from_pem):
    """Parse a ``<signed-credential>`` (str or bytes) without trusting it.

    ``gid_from_pem`` turns one PEM block into a GID (a verifier passes its
    certificate cache).
    """
    if isinstance(text, str):
        text = text.encode("utf-8")
    root = parse_xml(text)
    if root.tag != "signed-credential":
        if root.tag == "credential":
            raise CredentialError("the credential is not signed (no <signed-credential>)",
                                  reason="malformed")
        raise CredentialError(f"expected a <signed-credential> document, got <{root.tag}>",
                              reason="malformed")
    creds = [child for child in root if child.tag == "credential"]
    if len(creds) != 1:
        raise CredentialError(f"a signed credential must hold exactly one <credential>, it "
                              f"holds {len(creds)}", reason="malformed")
    # Signature wrapping defence: every xml:id in the document is unique.
    ids = _ALL_IDS(root)
    if len(ids) != len(set(ids)):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise CredentialError(f"the credential uses the id(s) {', '.join(twice)} more than once",
                              reason="malformed")
    # A delegation repeats its parent's target_gid: each distinct PEM is read once.
    seen = {}

    def load(pem):
        gid = seen.get(pem)
        if gid is None:
            gid = seen[pem] = gid_from_pem(pem)
        return gid

    levels = []
    element = creds[0]
    while element is not None:
        if len(levels) >= MAX_DEPTH:
            raise CredentialError(f"the credential is delegated more than {MAX_DEPTH} times",
                                  reason="malformed")
        level, parent = _parse_level(element, load)
        levels.append(level)
        if parent is None:
            element = None
        else:
            inner = [child for child in parent if child.tag == "credential"]
            if len(inner) != 1:
                raise CredentialError("a <parent> must hold exactly one <credential>",
                                      reason="malformed")
            element = inner[0]
    signatures = {}
    sigs = root.find("signatures")
    if sigs is not None:
        for sig in sigs:
            if sig.tag != _SIGNATURE:
                continue
            ref = xmldsig.reference_of(sig)
            if ref in signatures:
                raise CredentialError(f"the credential {ref} is signed twice",
                                      reason="malformed")
            signatures[ref] = sig
    return SignedCredential(levels=tuple(levels), signatures=signatures, root=root, text=text)


# ----------------------------------------------------------------- writing

def _chain_pem(chain):
    return "".join(g.pem for g in chain)


def _credential_element(ref, *, owner_chain, target_chain, privileges, expires,
                        ctype="privilege", serial=None, cred_uuid=None):
    cred = etree.Element("credential")
    cred.set(XML_ID, ref)
    owner = owner_chain[0]
    target = target_chain[0]
    for tag, value in (
            ("type", ctype),
            ("serial", serial or str(uuidlib.uuid4().int % 10 ** 9)),
            ("owner_gid", _chain_pem(owner_chain)),
            ("owner_urn", str(owner.urn)),
            ("target_gid", _chain_pem(target_chain)),
            ("target_urn", str(target.urn)),
            ("uuid", cred_uuid or str(uuidlib.uuid4())),
            ("expires", format_time(expires))):
        etree.SubElement(cred, tag).text = value
    privs = etree.SubElement(cred, "privileges")
    for p in privileges:
        if isinstance(p, str):
            p = Privilege(p, True)
        node = etree.SubElement(privs, "privilege")
        etree.SubElement(node, "name").text = p.name
        etree.SubElement(node, "can_delegate").text = "true" if p.delegatable else "false"
    return cred


def _new_document():
    root = etree.Element("signed-credential", nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", _XSI_NO_NS)
    root.set(f"{{{XSI}}}schemaLocation", _XSI_SCHEMA)
    return root


def _sign_and_serialise(root, ref, signer_key, signer_chain, algorithm):
    sigs = root.find("signatures")
    if sigs is None:
        sigs = etree.SubElement(root, "signatures")
    sigs.append(xmldsig.signature_template(ref, algorithm))
    # Re-parse so that libxml2 registers every xml:id before signing.
    text = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    doc = etree.fromstring(text, safexml.safe_parser())
    signature = None
    for sig in doc.find("signatures"):
        if sig.get(XML_ID) == f"Sig_{ref}":
            signature = sig
    key_pem = key_to_pem(signer_key).encode("ascii")
    xmldsig.sign(signature, key_pem, [g.pem.encode("ascii") for g in signer_chain])
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def issue(*, signer_key, signer_chain, owner_chain, target_chain, privileges, expires,
          algorithm="sha1", cred_uuid=None):
    """A new root-level credential signed by an authority.

    ``signer_chain``, ``owner_chain`` and ``target_chain`` are sequences of
    GIDs (each subject first, then its issuers); ``privileges`` holds
    :class:`Privilege` objects or names (names are delegatable).
    Returns the XML text.
    """
    root = _new_document()
    root.append(_credential_element("ref0", owner_chain=tuple(owner_chain),
                                    target_chain=tuple(target_chain), privileges=privileges,
                                    expires=expires, cred_uuid=cred_uuid))
    return _sign_and_serialise(root, "ref0", signer_key, signer_chain, algorithm)


def delegate(parent_xml, *, owner_key, owner_chain, new_owner_chain, privileges=None,
             expires=None, algorithm="sha1"):
    """Delegate ``parent_xml`` to ``new_owner_chain``, signed by its current owner.

    By default the new owner receives every delegatable privilege of the
    parent, until the parent expires. This writes what was asked; the
    verifier, not this function, decides whether it is allowed.
    """
    parent = parse_credential(parent_xml)
    root = parent.root
    top = parent.top
    if privileges is None:
        privileges = [p for p in top.privileges if p.delegatable]
    if expires is None:
        expires = parent.expires
    used = {node.get(XML_ID) for node in root.iter() if isinstance(node.tag, str)}
    n = 0
    while f"ref{n}" in used:
        n += 1
    ref = f"ref{n}"
    old = root.find("credential")
    root.remove(old)
    cred = _credential_element(ref, owner_chain=tuple(new_owner_chain),
                               target_chain=top.target_chain, privileges=privileges,
                               expires=expires)
    etree.SubElement(cred, "parent").append(old)
    root.insert(0, cred)
    return _sign_and_serialise(root, ref, owner_key, owner_chain, algorithm)


def normalise_privilege(p):
    return p if isinstance(p, Privilege) else Privilege(str(p), True)
