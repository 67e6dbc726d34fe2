"""XML-DSig signing and verification of credentials through ``xmlsec``.

We sign the way geni-tools does (enveloped signature referring to the
credential's ``xml:id``, inclusive C14N 1.0, RSA-SHA1 with SHA-1 digests by
default, the signer's certificate chain in ``X509Data``) so that omni, the
gcf tools and ``xmlsec1 --verify --node-id Sig_<ref>`` accept what we
write. Verification accepts SHA-1 and SHA-256 variants and nothing more
exotic: no XPath/XSLT transforms, exactly one Reference per signature.
"""
import binascii
import threading
from functools import lru_cache

import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gam.errors import Forbidden

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

ALGORITHMS = {
    "sha1": (RSA_SHA1, SHA1),
    "sha256": (RSA_SHA256, SHA256),
}
_ALLOWED_C14N = {C14N, C14N_COMMENTS, EXC_C14N}
_ALLOWED_SIGNATURE = {RSA_SHA1, RSA_SHA256}
_ALLOWED_DIGEST = {SHA1, SHA256}
_ALLOWED_TRANSFORMS = {ENVELOPED, C14N, C14N_COMMENTS, EXC_C14N}

_SIGNATURE_TEMPLATE = """<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" xml:id="Sig_{ref}">
  <SignedInfo>
    <CanonicalizationMethod Algorithm="{c14n}"/>
    <SignatureMethod Algorithm="{sigalg}"/>
    <Reference URI="#{ref}">
      <Transforms>
        <Transform Algorithm="{enveloped}"/>
      </Transforms>
      <DigestMethod Algorithm="{digalg}"/>
      <DigestValue></DigestValue>
    </Reference>
  </SignedInfo>
  <SignatureValue/>
  <KeyInfo>
    <X509Data>
      <X509SubjectName/>
      <X509IssuerSerial/>
      <X509Certificate/>
    </X509Data>
    <KeyValue/>
  </KeyInfo>
</Signature>"""


class SignatureError(Forbidden):
    """An XML signature is missing, malformed or does not verify."""

    default_reason = "bad-signature"


def _q(tag):
    return f"{{{DSIG_NS}}}{tag}"


def signature_template(ref, algorithm="sha1"):
    """A fresh ``<Signature>`` element (to be filled by :func:`sign`)."""
    sigalg, digalg = ALGORITHMS[algorithm]
    text = _SIGNATURE_TEMPLATE.format(ref=ref, c14n=C14N, sigalg=sigalg,
                                      enveloped=ENVELOPED, digalg=digalg)
    return etree.fromstring(text)


# xmlsec keys are parsed once per distinct PEM; contexts copy them.
@lru_cache(maxsize=4096)
def _signing_key(key_pem, chain_pems):
    key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    for pem in chain_pems:
        key.load_cert_from_memory(pem, xmlsec.constants.KeyDataFormatCertPem)
    return key


_key_lock = threading.Lock()


def sign(signature, key_pem, chain_pems):
    """Fill in ``signature`` (already in its document) with the key and chain.

    ``chain_pems`` is the signer's certificate first, then its issuers.
    """
    with _key_lock:
        key = _signing_key(bytes(key_pem), tuple(bytes(p) for p in chain_pems))
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.sign(signature)


_SIGNED_INFO = _q("SignedInfo")
_C14N_METHOD = _q("CanonicalizationMethod")
_SIGNATURE_METHOD = _q("SignatureMethod")
_REFERENCE = _q("Reference")
_TRANSFORMS = _q("Transforms")
_TRANSFORM = _q("Transform")
_DIGEST_METHOD = _q("DigestMethod")
_KEY_INFO = _q("KeyInfo")
_X509_DATA = _q("X509Data")
_X509_CERTIFICATE = _q("X509Certificate")


def _child(element, tag):
    """The first child of ``element`` with ``tag`` (a loop over the children:
    cheaper than an ElementPath search, which matters on the verification path)."""
    for child in element:
        if child.tag == tag:
            return child
    return None


def certificates_of(signature):
    """The X509Certificate values of a signature's KeyInfo, as DER bytes.

    Base64 is decoded leniently (line breaks and stray characters skipped):
    these bytes are not signed, and what they decode to is judged as a
    certificate, by its chain.
    """
    ders = []
    for key_info in signature:
        if key_info.tag != _KEY_INFO:
            continue
        for data in key_info:
            if data.tag != _X509_DATA:
                continue
            for node in data:
                if node.tag == _X509_CERTIFICATE and node.text:
                    try:
                        der = binascii.a2b_base64(node.text)
                    except ValueError:       # bad padding
                        raise SignatureError("a signature carries a certificate that is not "
                                             "base64", reason="malformed") from None
                    if der:
                        ders.append(der)
    return ders


def reference_of(signature):
    """The id the signature refers to (``ref0`` for ``URI="#ref0"``), checked for shape."""
    signed_info = _child(signature, _SIGNED_INFO)
    if signed_info is None:
        raise SignatureError("a signature has no SignedInfo", reason="malformed")
    c14n = method = None
    refs = []
    for child in signed_info:
        tag = child.tag
        if tag == _REFERENCE:
            refs.append(child)
        elif tag == _C14N_METHOD and c14n is None:
            c14n = child
        elif tag == _SIGNATURE_METHOD and method is None:
            method = child
    if c14n is None or c14n.get("Algorithm") not in _ALLOWED_C14N:
        raise SignatureError("a signature uses an unsupported canonicalization; use C14N 1.0",
                             reason="bad-signature")
    if method is None or method.get("Algorithm") not in _ALLOWED_SIGNATURE:
        raise SignatureError("a signature uses an unsupported algorithm; use RSA-SHA1 or "
                             "RSA-SHA256", reason="bad-signature")
    if len(refs) != 1:
        raise SignatureError(f"a signature must sign exactly one credential, it has "
                             f"{len(refs)} references", reason="bad-signature")
    ref = refs[0]
    uri = ref.get("URI") or ""
    if not uri.startswith("#") or len(uri) < 2:
        raise SignatureError(f"a signature refers to {uri!r}; it must refer to a credential "
                             "by '#<xml:id>'", reason="bad-signature")
    digest = None
    for child in ref:
        tag = child.tag
        if tag == _DIGEST_METHOD and digest is None:
            digest = child
        elif tag == _TRANSFORMS:
            for transform in child:
                if transform.tag == _TRANSFORM and (
                        transform.get("Algorithm") not in _ALLOWED_TRANSFORMS or len(transform)):
                    raise SignatureError("a signature uses a transform other than "
                                         "enveloped-signature and C14N", reason="bad-signature")
    if digest is None or digest.get("Algorithm") not in _ALLOWED_DIGEST:
        raise SignatureError("a signature uses an unsupported digest; use SHA-1 or SHA-256",
                             reason="bad-signature")
    return uri[1:]


def load_public_key(public_key):
    """An xmlsec key for a ``cryptography`` public key, or for its
    SubjectPublicKeyInfo in DER.

    xmlsec is given the bare public key: a certificate-backed key costs a
    copy of the certificate on every use and adds nothing here.
    """
    if isinstance(public_key, bytes):
        spki = public_key
    else:
        spki = public_key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return xmlsec.Key.from_memory(spki, xmlsec.constants.KeyDataFormatDer)
    except xmlsec.Error:
        raise SignatureError("the signer's key in a signature cannot be used",
                             reason="malformed") from None


def verify(signature, key, *, signed=None):
    """Verify ``signature`` with ``key`` (an xmlsec key or a ``cryptography`` public key).

    The caller has already checked the shape with :func:`reference_of` and
    decides separately whether the key's certificate is trusted.

    ``signed``, the element the signature refers to, lets the check skip
    what cannot matter to it: the signature's sibling elements (a
    credential's other signatures) are set aside while xmlsec runs and put
    back after, unless one of them is or holds ``signed``. Every C14N pass
    of xmlsec visits the whole document, however small the part it
    outputs, and a node that is neither in the signed subtree, nor an
    ancestor of it or of the signature, changes no byte of what is digested
    or signed (C14N output depends on the output nodes and their
    ancestors only). Only for a document no other thread is reading.
    """
    if not isinstance(key, xmlsec.Key):
        key = load_public_key(key)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    aside = _set_aside(signature, signed) if signed is not None else None
    try:
        ctx.verify(signature)
    except xmlsec.Error:
        raise SignatureError(
            "a credential signature does not verify: the credential was altered after it "
            "was signed, or signed with another key", reason="bad-signature") from None
    finally:
        if aside:
            _put_back(signature.getparent(), aside)


def _set_aside(signature, signed):
    """Remove the siblings of ``signature`` that neither are nor hold ``signed``,
    unless ``signature`` lies inside ``signed``; return them with their
    positions, first to last (None when nothing was removed)."""
    parent = signature.getparent()
    if parent is None or len(parent) < 2:
        return None
    if parent is signed or any(a is signed for a in parent.iterancestors()):
        return None                    # inside what it signs: its siblings are signed too
    keep = {signature, signed}
    keep.update(signed.iterancestors())
    aside = [(i, child) for i, child in enumerate(parent) if child not in keep]
    for _, child in aside:
        parent.remove(child)           # its tail text goes with it
    return aside


def _put_back(parent, aside):
    for i, child in aside:             # ascending positions: each lands where it was
        parent.insert(i, child)
