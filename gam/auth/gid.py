"""GENI identity certificates (GIDs) and the authorities that issue them.

A GID is an X.509 v3 certificate whose subjectAltName carries the subject's
URN (``URI:urn:publicid:IDN+...``), a UUID (``URI:urn:uuid:...``) and
usually an e-mail address. Authorities have CA:TRUE and may only sign
subjects in their own namespace; everybody else has CA:FALSE.
"""
import datetime
import hashlib
import os
import uuid as uuidlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from gam.auth.urn import URN, URNError
from gam.errors import BadArgs
from gam.files import write_atomically
from gam.lazy import cached_property

DEFAULT_KEY_SIZE = 2048
DEFAULT_AUTHORITY_LIFETIME = datetime.timedelta(days=3650)
DEFAULT_LIFETIME = datetime.timedelta(days=365)
_CLOCK_SKEW = datetime.timedelta(minutes=5)
_SAN = ExtensionOID.SUBJECT_ALTERNATIVE_NAME


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True, eq=False)
class GID:
    """A parsed GENI certificate with its identity fields."""

    cert: x509.Certificate
    # The certificate's DER when the caller had it (read from the wire): the
    # fingerprint is then one hash, not a re-encoding.
    der: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_pem(cls, data):
        """The first certificate of a PEM text (str or bytes)."""
        certs = load_pem_chain(data)
        if not certs:
            raise BadArgs("no PEM certificate found where a GENI certificate was expected")
        return cls(certs[0])

    @cached_property
    def _san(self):
        """(URIs, e-mail addresses) of the subjectAltName, in order."""
        try:
            names = self.cert.extensions.get_extension_for_oid(_SAN).value
        except x509.ExtensionNotFound:
            return (), ()
        uris, emails = [], []
        for name in names:
            kind = type(name)
            if kind is x509.UniformResourceIdentifier:
                uris.append(name.value)
            elif kind is x509.RFC822Name:
                emails.append(name.value)
        return tuple(uris), tuple(emails)

    # Names are compared and hashed while chains are built; cryptography
    # builds a new Name object on every access, so keep one.
    @cached_property
    def subject(self):
        return self.cert.subject

    @cached_property
    def issuer(self):
        return self.cert.issuer

    @cached_property
    def self_issued(self):
        return self.issuer == self.subject

    @cached_property
    def urn(self):
        """The subject's GENI URN, or None when the certificate has none."""
        for uri in self._san[0]:
            if uri.lower().startswith("urn:publicid:idn+"):
                try:
                    return URN.parse(uri)
                except URNError:
                    return None
        return None

    @cached_property
    def uuid(self):
        for uri in self._san[0]:
            if uri.lower().startswith("urn:uuid:"):
                return uri[len("urn:uuid:"):]
        return None

    @cached_property
    def email(self):
        return self._san[1][0] if self._san[1] else None

    @cached_property
    def is_ca(self):
        try:
            ext = self.cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
        except x509.ExtensionNotFound:
            return False
        return ext.value.ca

    @cached_property
    def fingerprint(self):
        if self.der is not None:
            return hashlib.sha256(self.der).digest()
        return self.cert.fingerprint(hashes.SHA256())

    @cached_property
    def public_key_der(self):
        """The SubjectPublicKeyInfo in DER: two GIDs with equal keys are one holder."""
        return self.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @cached_property
    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @cached_property
    def not_before(self):
        return self.cert.not_valid_before_utc

    @cached_property
    def not_after(self):
        return self.cert.not_valid_after_utc

    def same_key(self, other):
        return self.public_key_der == other.public_key_der

    def __eq__(self, other):
        return isinstance(other, GID) and self.fingerprint == other.fingerprint

    def __hash__(self):
        return hash(self.fingerprint)

    def __repr__(self):
        return f"<GID {self.urn} {self.fingerprint[:6].hex()}>"


def load_pem_chain(data):
    """All certificates of a PEM text, in order (an empty list if none)."""
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise BadArgs(f"a certificate could not be read: {e}") from None


def _subject_name(urn):
    # The CN carries the URN's public-id form so that issuer/subject names
    # stay unique per identity (OpenSSL builds chains by name).
    cn = f"{urn.authority}.{urn.type}.{urn.name}"
    if len(cn) > 64:
        cn = cn[:55] + "." + uuidlib.uuid4().hex[:8]
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def generate_key(key_size=DEFAULT_KEY_SIZE):
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def key_to_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode("ascii")


def load_key_pem(data, password=None):
    if isinstance(data, str):
        data = data.encode("ascii")
    return serialization.load_pem_private_key(data, password=password)


def build_certificate(*, subject_urn, public_key, issuer_key, issuer_cert=None,
                      ca=False, email=None, uuid=None, lifetime=DEFAULT_LIFETIME,
                      now=None, path_length=None):
    """Build and sign one GID. ``issuer_cert`` None means self-signed."""
    now = now or utcnow()
    subject = _subject_name(subject_urn)
    issuer_name = issuer_cert.subject if issuer_cert is not None else subject
    uuid = uuid or str(uuidlib.uuid4())
    san = [x509.UniformResourceIdentifier(str(subject_urn)),
           x509.UniformResourceIdentifier(f"urn:uuid:{uuid}")]
    if email:
        san.append(x509.RFC822Name(email))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                       critical=True)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=not ca,
            data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
            encipher_only=False, decipher_only=False), critical=True)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Authority:
    """An authority (slice authority, clearinghouse, AM): a key and a CA GID.

    ``chain`` is the authority's own GID followed by its parents up to the
    root, the order clients send and signatures embed.
    """

    def __init__(self, key, chain):
        self.key = key
        self.chain = tuple(chain)

    @property
    def gid(self):
        return self.chain[0]

    @property
    def urn(self):
        return self.gid.urn

    @property
    def authority(self):
        """The namespace this authority governs (its URN's authority part)."""
        return self.gid.urn.authority

    @classmethod
    def create_root(cls, authority, *, name="sa", key=None, lifetime=DEFAULT_AUTHORITY_LIFETIME,
                    email=None, now=None):
        """A self-signed root authority for ``authority`` (``geni:gpo:gcf``)."""
        urn = URN(authority, "authority", name)
        key = key or generate_key()
        cert = build_certificate(subject_urn=urn, public_key=key.public_key(), issuer_key=key,
                                 ca=True, email=email, lifetime=lifetime, now=now)
        return cls(key, [GID(cert)])

    def create_sub_authority(self, sub, *, name="sa", key=None,
                             lifetime=DEFAULT_AUTHORITY_LIFETIME, email=None, now=None):
        """A child authority ``<this authority>:<sub>`` signed by this one."""
        if ":" in sub or not sub:
            raise BadArgs(f"sub-authority name {sub!r} must be one non-empty part without ':'")
        urn = URN(f"{self.authority}:{sub}", "authority", name)
        key = key or generate_key()
        cert = build_certificate(subject_urn=urn, public_key=key.public_key(),
                                 issuer_key=self.key, issuer_cert=self.gid.cert, ca=True,
                                 email=email, lifetime=lifetime, now=now)
        return Authority(key, (GID(cert),) + self.chain)

    def issue(self, subject_urn, *, public_key=None, email=None, uuid=None,
              lifetime=DEFAULT_LIFETIME, now=None):
        """Issue a CA:FALSE GID for a user, slice or AM in this namespace.

        Returns ``(private_key or None, GID)``: a key is generated when no
        ``public_key`` is given.
        """
        subject_urn = URN.parse(subject_urn)
        if subject_urn.type == "authority" and subject_urn.name == "sa":
            raise BadArgs("use create_sub_authority to make an authority")
        if not subject_urn.is_within(self.authority):
            raise BadArgs(f"{self.urn} may not sign {subject_urn}: it is outside "
                          f"the namespace {self.authority}")
        key = None
        if public_key is None:
            key = generate_key()
            public_key = key.public_key()
        cert = build_certificate(subject_urn=subject_urn, public_key=public_key,
                                 issuer_key=self.key, issuer_cert=self.gid.cert, ca=False,
                                 email=email, uuid=uuid, lifetime=lifetime, now=now)
        return key, GID(cert)

    def chain_pem(self):
        return "".join(g.pem for g in self.chain)

    def save(self, directory, basename=None):
        """Write ``<basename>.pem`` (chain) and ``<basename>.key`` (mode 0600)."""
        basename = basename or self.authority.replace(":", "_")
        os.makedirs(directory, exist_ok=True)
        cert_path = os.path.join(directory, basename + ".pem")
        key_path = os.path.join(directory, basename + ".key")
        write_atomically(cert_path, self.chain_pem(), 0o644)
        write_atomically(key_path, key_to_pem(self.key), 0o600)
        return cert_path, key_path

    @classmethod
    def load(cls, cert_path, key_path):
        with open(cert_path, "rb") as f:
            chain = [GID(c) for c in load_pem_chain(f.read())]
        with open(key_path, "rb") as f:
            key = load_key_pem(f.read())
        if not chain:
            raise BadArgs(f"{cert_path} holds no certificate")
        if not chain[0].is_ca:
            raise BadArgs(f"{cert_path} is not an authority certificate (CA:FALSE)")
        return cls(key, chain)
