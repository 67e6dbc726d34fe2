"""Trust roots and certificate chain verification.

A presented chain (leaf first, then intermediates in any order, as clients
send it) is accepted when it leads to one of the trust roots and every link
holds: each issuer signed the certificate below it, is an authority
(CA:TRUE), governs the subject's namespace, and every certificate is within
its validity dates.
"""
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gam.auth.gid import GID, load_pem_chain, utcnow
from gam.errors import Forbidden, ConfigError

MAX_DEPTH = 8


class ChainError(Forbidden):
    """A certificate chain was refused; ``reason`` says why."""


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that verified: leaf first, trusted root last."""

    path: tuple
    not_after: object   # the earliest expiry along the path
    not_before: object  # the latest start of validity along the path

    @property
    def leaf(self):
        return self.path[0]

    @property
    def root(self):
        return self.path[-1]


def _as_gid(cert):
    if isinstance(cert, GID):
        return cert
    if isinstance(cert, x509.Certificate):
        return GID(cert)
    raise TypeError(f"expected a certificate, got {type(cert).__name__}")


# The common case, RSA PKCS#1 v1.5 with SHA-2, is checked with the issuer's
# key object, which cryptography keeps with the certificate:
# verify_directly_issued_by decodes the issuer's key afresh on every call, a
# good part of the check's cost. Everything else (PSS, EC, EdDSA, SHA-1,
# MD5...) goes to verify_directly_issued_by, which also decides what to
# refuse; these are the hashes it accepts.
_RSA_HASHES = (hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)


def _verify_issued(child, issuer):
    """Raise InvalidSignature, ValueError (names differ, algorithm refused),
    UnsupportedAlgorithm or TypeError unless GID ``issuer`` signed GID ``child``."""
    cert = child.cert
    key = issuer.cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and child.issuer == issuer.subject:
        pad = cert.signature_algorithm_parameters
        digest = cert.signature_hash_algorithm
        if type(pad) is padding.PKCS1v15 and type(digest) in _RSA_HASHES:
            key.verify(cert.signature, cert.tbs_certificate_bytes, pad, digest)
            return
    cert.verify_directly_issued_by(issuer.cert)


def _check_signature(child, issuer):
    """Raise ChainError unless ``issuer`` signed ``child``."""
    try:
        _verify_issued(child, issuer)
    except InvalidSignature:
        raise ChainError(
            f"the certificate of {child.urn} does not carry a valid signature of "
            f"{issuer.urn}: it was altered or signed by another key",
            reason="bad-certificate-signature") from None
    except (ValueError, UnsupportedAlgorithm) as e:
        # Unsupported algorithm (MD5...) or issuer/subject name mismatch.
        raise ChainError(
            f"the certificate of {child.urn} cannot be checked against {issuer.urn}: {e}; "
            "reissue it with SHA-256", reason="weak-certificate-signature") from None
    except TypeError as e:
        raise ChainError(f"the certificate of {child.urn} has an unusable key: {e}",
                         reason="bad-certificate-signature") from None


class TrustRoots:
    """The set of trusted root (or anchor) authority certificates."""

    def __init__(self, gids=()):
        self._by_fingerprint = {}
        self._by_subject = {}
        for gid in gids:
            self.add(gid)

    def add(self, gid):
        gid = _as_gid(gid)
        self._by_fingerprint[gid.fingerprint] = gid
        self._by_subject.setdefault(gid.subject, []).append(gid)

    def __iter__(self):
        return iter(self._by_fingerprint.values())

    def __len__(self):
        return len(self._by_fingerprint)

    def __contains__(self, gid):
        return _as_gid(gid).fingerprint in self._by_fingerprint

    @classmethod
    def from_directory(cls, path):
        """Every certificate of every ``*.pem``/``*.crt``/``*.cer`` file in ``path``."""
        if not os.path.isdir(path):
            raise ConfigError(f"trust roots directory {path} does not exist; create it and "
                              "put the PEM certificates of the trusted authorities in it")
        roots = cls()
        for name in sorted(os.listdir(path)):
            if not name.endswith((".pem", ".crt", ".cer")):
                continue
            full = os.path.join(path, name)
            with open(full, "rb") as f:
                data = f.read()
            try:
                certs = load_pem_chain(data)
            except Exception as e:
                raise ConfigError(f"cannot read the certificate: {e}", path=full) from None
            for cert in certs:
                roots.add(GID(cert))
        return roots

    def issuers_of(self, gid):
        return self._by_subject.get(gid.issuer, ())

    def verify_chain(self, chain, *, now=None):
        """Verify ``chain`` (leaf first) to a trust root; return a VerifiedChain.

        Raises ChainError with reason ``untrusted``, ``bad-certificate-signature``,
        ``not-an-authority``, ``namespace``, ``expired``, ``not-yet-valid`` or
        ``no-certificate``.
        """
        now = now or utcnow()
        gids = [_as_gid(c) for c in chain]
        if not gids:
            raise ChainError("no certificate was presented", reason="no-certificate")
        pool = {}
        for g in gids[1:]:
            pool.setdefault(g.subject, []).append(g)

        # Build the path by names first, so that "nobody here trusts this"
        # is the answer for foreign chains whatever else is wrong with them.
        path = [gids[0]]
        current = gids[0]
        while current.fingerprint not in self._by_fingerprint:
            if len(path) > MAX_DEPTH:
                raise ChainError(f"the chain of {gids[0].urn} is longer than {MAX_DEPTH}",
                                 reason="untrusted")
            # A trust root the client also sent is one candidate, not two.
            candidates = list(self.issuers_of(current))
            sent = [g for g in pool.get(current.issuer, ())
                    if g not in path and g.fingerprint not in self._by_fingerprint]
            if sent and not current.self_issued:
                # (a self-issued certificate can only be vouched for by a root)
                candidates += sent
            if not candidates:
                raise ChainError(
                    f"the certificate of {gids[0].urn} does not chain to a trusted root: "
                    f"its issuer '{current.issuer.rfc4514_string()}' is not among this "
                    "server's trust roots (ask the operator to trust your authority, or use a "
                    "certificate from a trusted one)", reason="untrusted")
            # Prefer the issuer whose key really signed (same names, new keys).
            issuer = candidates[0]
            if len(candidates) > 1:
                for cand in candidates:
                    try:
                        _verify_issued(current, cand)
                    except Exception:
                        continue
                    issuer = cand
                    break
            path.append(issuer)
            current = issuer

        for child, issuer in zip(path, path[1:]):
            _check_signature(child, issuer)
            if not issuer.is_ca:
                raise ChainError(
                    f"{issuer.urn} signed the certificate of {child.urn} but is not an "
                    "authority (its certificate has CA:FALSE)", reason="not-an-authority")
            if issuer.urn is None or issuer.urn.type != "authority":
                raise ChainError(
                    f"the issuer of {child.urn} has no GENI authority URN",
                    reason="not-an-authority")
            if child.urn is None or not child.urn.is_within(issuer.urn.authority):
                raise ChainError(
                    f"{issuer.urn} may only sign identities in its namespace "
                    f"'{issuer.urn.authority}', not {child.urn}", reason="namespace")

        earliest = latest = None
        for gid in path:
            if now < gid.not_before:
                raise ChainError(f"the certificate of {gid.urn} is not valid before "
                                 f"{gid.not_before.isoformat()}", reason="not-yet-valid")
            if now >= gid.not_after:
                raise ChainError(f"the certificate of {gid.urn} expired on "
                                 f"{gid.not_after.isoformat()}; get a new one from your "
                                 "authority", reason="expired")
            if earliest is None or gid.not_after < earliest:
                earliest = gid.not_after
            if latest is None or gid.not_before > latest:
                latest = gid.not_before
        return VerifiedChain(tuple(path), earliest, latest)


__all__ = ["TrustRoots", "VerifiedChain", "ChainError", "MAX_DEPTH"]
