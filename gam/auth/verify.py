"""Deciding whether a signed credential can be trusted.

:class:`CredentialVerifier` checks what does not depend on the caller:
every level's XML signature and its signer's chain to a trust root, expiry
at every level, and the delegation rules. Who may use it for what (owner,
target, privileges) is checked by :mod:`gam.auth.authorize`.

Results are cached by the SHA-256 of the document; a cached result is
used only while every level and every certificate it relied on is within
its dates (not yet expired, and already valid should the clock go back),
so a cache can never accept what it would refuse afresh.
"""
import binascii
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gam.auth import xmldsig
from gam.auth.credential import CredentialError, SignedCredential, gid_from_pem, parse_credential
from gam.auth.gid import GID, utcnow
from gam.auth.trust import ChainError

DEFAULT_CACHE_SIZE = 10_000
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_PEM_END = "-----END CERTIFICATE-----"


@dataclass(frozen=True, eq=False)
class VerifiedCredential:
    """A credential whose signatures, chains and delegation all hold."""

    credential: SignedCredential
    signers: tuple          # VerifiedChain per level, levels[0] first
    valid_until: object     # min of level expiries and signer certificate expiries
    valid_from: object      # the latest not-before of those certificates

    @property
    def top(self):
        return self.credential.top

    @property
    def owner(self):
        return self.top.owner_gid

    @property
    def target_urn(self):
        return self.top.target_urn

    @property
    def privileges(self):
        return self.top.privilege_names

    @property
    def expires(self):
        return self.credential.expires


class _LRU:
    """A bounded mapping, least recently used out first; safe across threads."""

    def __init__(self, size):
        self.size = size
        self.data = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value):
        if self.size <= 0:
            return
        with self._lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self):
        with self._lock:
            self.data.clear()


def gid_from_der(der):
    return GID(x509.load_der_x509_certificate(der), der)


def signer_chain(signature, load=gid_from_der, roots=None):
    """The signer's certificate chain (GIDs) in a Signature's X509Data, signer first.

    The signer is the certificate that issued none of the others. When
    ``roots`` (a TrustRoots) is given and all but one of the certificates
    are trust roots, that one is the signer, found without comparing names.
    """
    ders = xmldsig.certificates_of(signature)
    if not ders:
        raise xmldsig.SignatureError("a signature carries no X509Certificate for its signer",
                                     reason="malformed")
    try:
        gids = [load(der) for der in ders]
    except ValueError as e:
        raise xmldsig.SignatureError(f"a signature carries an unreadable certificate: {e}",
                                     reason="malformed") from None
    if len(gids) == 1:
        return gids
    if roots is not None:
        others = [g for g in gids if g not in roots]
        if len(others) == 1:
            leaf = others[0]
            return [leaf] + [g for g in gids if g is not leaf]
    issuers = {g.issuer for g in gids if not g.self_issued}
    leaves = [g for g in gids if g.subject not in issuers]
    leaf = leaves[0] if leaves else gids[0]
    return [leaf] + [g for g in gids if g is not leaf]


class CertificateCache:
    """Parsed certificates and xmlsec keys, by their bytes.

    A GID depends only on its certificate's bytes, so the same bytes give
    the same GID; nothing here decides trust or dates. ``known`` entries
    (the trust roots: configuration) stay when the cache is cleared.
    """

    def __init__(self, size):
        self._gids = _LRU(size)
        self._keys = _LRU(size)
        self._known_gids = {}
        self._known_keys = {}

    def _gid(self, key, load):
        gid = self._known_gids.get(key) or self._gids.get(key)
        if gid is None:
            gid = load()
            self._gids.put(key, gid)
        return gid

    def gid_from_der(self, der):
        return self._gid(der, lambda: gid_from_der(der))

    def gid_from_pem(self, pem):
        """One PEM block: keyed by its DER, so the same certificate met as
        PEM (owner_gid) and as DER (a signature's X509Data) is parsed once."""
        body = pem.strip()
        if body.startswith(_PEM_BEGIN) and body.endswith(_PEM_END):
            try:
                der = binascii.a2b_base64(body[len(_PEM_BEGIN):-len(_PEM_END)])
            except ValueError:
                der = None
            if der:
                return self.gid_from_der(der)
        return self._gid(body, lambda: gid_from_pem(pem))

    def xmlsec_key(self, gid):
        spki = gid.public_key_der
        key = self._known_keys.get(spki) or self._keys.get(spki)
        if key is None:
            key = xmldsig.load_public_key(spki)
            self._keys.put(spki, key)
        return key

    def clear(self):
        self._gids.clear()
        self._keys.clear()

    def add_known(self, gids):
        """Keep already-parsed certificates (the trust roots) by their DER, and their keys."""
        for gid in gids:
            self._known_gids[gid.cert.public_bytes(serialization.Encoding.DER)] = gid
            self._known_keys[gid.public_key_der] = xmldsig.load_public_key(gid.public_key_der)


class CredentialVerifier:
    """Verifies credentials against a :class:`~gam.auth.trust.TrustRoots`.

    ``cache_size`` bounds each cache (results, verified chains, parsed
    certificates); 0 turns caching off.
    """

    def __init__(self, trust_roots, *, clock=utcnow, cache_size=DEFAULT_CACHE_SIZE):
        self.trust_roots = trust_roots
        self.clock = clock
        self._results = _LRU(cache_size)
        self._chains = _LRU(cache_size)
        self.certificates = CertificateCache(cache_size)
        if cache_size:
            # The trust roots are configuration, parsed once: a signature by
            # a root needs no certificate parsing at all.
            self.certificates.add_known(trust_roots)

    def clear_cache(self):
        """Forget everything learnt from credentials (the trust roots stay known)."""
        self._results.clear()
        self._chains.clear()
        self.certificates.clear()

    def verify_chain(self, chain, now=None):
        """Chain verification with a date-aware cache."""
        now = now or self.clock()
        key = tuple(g.fingerprint for g in chain)
        cached = self._chains.get(key)
        if cached is not None and cached.not_before <= now < cached.not_after:
            return cached
        verified = self.trust_roots.verify_chain(chain, now=now)
        self._chains.put(key, verified)
        return verified

    def verify_signature(self, signature, what, now, signed=None):
        """Check one XML signature and its signer's chain; return the VerifiedChain.

        Trust first, so that a foreign signer is reported as untrusted
        whatever else is wrong; ``what`` names the signed thing in messages.
        ``signed`` (the element signed, in a document only this call reads)
        lets xmlsec skip the signature's siblings (see :func:`xmldsig.verify`).
        """
        chain = signer_chain(signature, self.certificates.gid_from_der, self.trust_roots)
        try:
            verified = self.verify_chain(chain, now)
        except ChainError as e:
            raise CredentialError(f"the signer of {what} is not trusted: {e.message}",
                                  reason=e.reason) from None
        xmldsig.verify(signature, self.certificates.xmlsec_key(chain[0]), signed=signed)
        return verified

    def verify(self, document, now=None):
        """Verify ``document`` (XML text or bytes, or a SignedCredential)."""
        now = now or self.clock()
        if isinstance(document, SignedCredential):
            text = document.text
        else:
            text = document.encode("utf-8") if isinstance(document, str) else bytes(document)
        digest = hashlib.sha256(text).digest()
        cached = self._results.get(digest)
        if cached is not None and cached.valid_from <= now < cached.valid_until:
            return cached
        if isinstance(document, SignedCredential):
            # Somebody else's parse, maybe read elsewhere: left untouched.
            result = self._verify(document, now, private=False)
        else:
            result = self._verify(parse_credential(text, self.certificates.gid_from_pem), now,
                                  private=True)
        self._results.put(digest, result)
        return result

    def _verify(self, cred, now, private):
        levels = cred.levels
        refs = {level.ref for level in levels}
        extra = set(cred.signatures) - refs
        if extra:
            raise CredentialError(f"the credential carries signatures for {sorted(extra)}, "
                                  "which are not part of it", reason="malformed")

        # Trust and integrity first: what follows reads signed content only.
        signers = []
        for level in levels:
            signature = cred.signatures.get(level.ref)
            if signature is None:
                raise xmldsig.SignatureError(
                    f"the credential level {level.ref} (owner {level.owner_urn}) is not signed",
                    reason="unsigned")
            signers.append(self.verify_signature(signature, f"credential level {level.ref}",
                                                 now, level.element if private else None))

        for level in levels:
            if now >= level.expires:
                which = "the credential" if level is levels[0] else \
                    f"the delegating credential {level.ref} (of {level.owner_urn})"
                raise CredentialError(f"{which} expired at {level.expires.isoformat()}; get a "
                                      "fresh one from your slice authority", reason="expired")
            if level.type == "privilege":
                if level.owner_gid.urn != level.owner_urn:
                    raise CredentialError(
                        f"the credential's owner_urn {level.owner_urn} does not match the URN of "
                        f"its owner_gid ({level.owner_gid.urn})", reason="malformed")
                if level.target_gid.urn != level.target_urn:
                    raise CredentialError(
                        f"the credential's target_urn {level.target_urn} does not match the URN "
                        f"of its target_gid ({level.target_gid.urn})", reason="malformed")
        valid_until = min([level.expires for level in levels] +
                          [chain.not_after for chain in signers])

        # Delegation: each level was signed by the owner of its parent and
        # grants no more, for no longer, on the same target.
        for i, level in enumerate(levels):
            signer = signers[i].leaf
            if i + 1 < len(levels):
                parent = levels[i + 1]
                if not signer.same_key(parent.owner_gid):
                    raise CredentialError(
                        f"credential level {level.ref} was signed by {signer.urn}, who does not "
                        f"own the credential it delegates (owned by {parent.owner_urn})",
                        reason="delegation-signer")
                if level.target_urn != parent.target_urn:
                    raise CredentialError(
                        f"credential level {level.ref} changes the target from "
                        f"{parent.target_urn} to {level.target_urn}", reason="delegation-target")
                for p in level.privileges:
                    held = parent.privilege(p.name)
                    if held is None:
                        raise CredentialError(
                            f"credential level {level.ref} grants '{p.name}', which the "
                            "delegating credential does not hold", reason="delegation-privilege")
                    if not held.delegatable:
                        raise CredentialError(
                            f"credential level {level.ref} grants '{p.name}', which the "
                            "delegating credential may not delegate",
                            reason="delegation-privilege")
                if level.expires > parent.expires:
                    raise CredentialError(
                        f"credential level {level.ref} expires at {level.expires.isoformat()}, "
                        f"after the credential it delegates ({parent.expires.isoformat()})",
                        reason="delegation-expiry")
            else:
                target = level.target_urn
                if target is None:
                    continue
                if not signer.is_ca or signer.urn is None or signer.urn.type != "authority":
                    raise CredentialError(
                        f"the root credential was signed by {signer.urn}, which is not an "
                        "authority", reason="not-an-authority")
                if not target.is_within(signer.urn.authority):
                    raise CredentialError(
                        f"the root credential was signed by {signer.urn}, which has no "
                        f"authority over {target}", reason="namespace")
        return VerifiedCredential(credential=cred, signers=tuple(signers),
                                  valid_until=valid_until,
                                  valid_from=max(chain.not_before for chain in signers))
