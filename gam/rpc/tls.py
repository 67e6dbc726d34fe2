"""TLS for gam's servers: client certificates required, checked against trust roots.

The server presents its certificate (and its authority chain), asks every
client for a certificate and fails the handshake when there is none or when
it does not chain to one of the trust roots. Clients send their GENI
certificate followed by the slice authority that signed it; OpenSSL uses
those as untrusted intermediates and only the roots as anchors. The chain
the client sent is then read back (:func:`peer_chain`) so that
:mod:`gam.auth` can apply the GENI rules (namespaces, URNs) OpenSSL knows
nothing about.
"""
import os

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import crypto
from twisted.internet import ssl

from gam.auth.gid import GID, load_key_pem, load_pem_chain
from gam.auth.trust import TrustRoots
from gam.errors import ConfigError

VERIFY_DEPTH = 9


def _cert(c):
    if isinstance(c, GID):
        return c.cert
    if isinstance(c, x509.Certificate):
        return c
    raise TypeError(f"expected a GID or a certificate, got {type(c).__name__}")


def _x509(c):
    return crypto.X509.from_cryptography(_cert(c))


def server_options(cert_chain, key, trust_roots, *, verify_depth=VERIFY_DEPTH):
    """``CertificateOptions`` for a server that requires client certificates.

    ``cert_chain``: the server's certificate first, then its issuers (GIDs or
    ``cryptography`` certificates); ``key``: its ``cryptography`` private key;
    ``trust_roots``: a :class:`~gam.auth.trust.TrustRoots` (or any iterable of
    GIDs/certificates) whose members alone anchor client chains.
    """
    chain = [_cert(c) for c in cert_chain]
    if not chain:
        raise ValueError("the server needs a certificate")
    roots = [_cert(r) for r in trust_roots]
    if not roots:
        raise ValueError("no trust roots: no client could ever connect")
    options = ssl.CertificateOptions(
        privateKey=crypto.PKey.from_cryptography_key(key),
        certificate=_x509(chain[0]),
        extraCertChain=[_x509(c) for c in chain[1:]],
        trustRoot=ssl.trustRootFromCertificates([ssl.Certificate(_x509(r)) for r in roots]),
        verifyDepth=verify_depth,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
    )
    # Name the acceptable issuers in the CertificateRequest: clients that
    # pick a certificate by issuer (Java's key managers, for jFed) need it.
    context = options.getContext()
    for root in roots:
        context.add_client_ca(_x509(root))
    return options


def server_options_from_files(cert_path, key_path, trust_roots_dir, **kwargs):
    """:func:`server_options` from PEM files and a trust roots directory.

    Raises :class:`~gam.errors.ConfigError` naming the file that is wrong.
    """
    chain = _read(cert_path, "certificate", lambda data: load_pem_chain(data))
    if not chain:
        raise ConfigError("holds no PEM certificate; put the server's certificate (then its "
                          "authority's) in it", path=cert_path)
    key = _read(key_path, "private key", lambda data: load_key_pem(data))
    if key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            GID(chain[0]).public_key_der:
        raise ConfigError(f"this key does not belong to the certificate in {cert_path}",
                          path=key_path)
    roots = TrustRoots.from_directory(trust_roots_dir)
    if not len(roots):
        raise ConfigError("holds no certificate; put the PEM certificates of the trusted "
                          "authorities in it", path=trust_roots_dir)
    return server_options(chain, key, roots, **kwargs)


def _read(path, what, parse):
    if not os.path.isfile(path):
        raise ConfigError(f"the {what} file does not exist", path=path)
    try:
        with open(path, "rb") as f:
            return parse(f.read())
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"cannot read the {what}: {e}", path=path) from None


def peer_chain(request):
    """The client's certificates for a twisted.web request, leaf first.

    Leaf and every intermediate the client sent, as ``cryptography``
    certificates; an empty list when the connection is not TLS or carries
    no client certificate. OpenSSL has already checked the chain reaches a
    trust root; :mod:`gam.auth` checks it again with the GENI rules.
    """
    transport = getattr(request, "transport", None) or getattr(
        getattr(request, "channel", None), "transport", None)
    get_handle = getattr(transport, "getHandle", None)
    if get_handle is None:
        return []
    connection = get_handle()
    if not hasattr(connection, "get_peer_certificate"):
        return []
    leaf = connection.get_peer_certificate(as_cryptography=True)
    if leaf is None:
        return []
    chain = [leaf]
    # On the server side OpenSSL's peer chain holds what the client sent
    # after its leaf (some clients repeat the leaf: skip duplicates).
    for cert in connection.get_peer_cert_chain(as_cryptography=True) or ():
        if all(cert != seen for seen in chain):
            chain.append(cert)
    return chain


def listen(reactor, site, host, port, tls_options):
    """Listen with TLS on ``host:port`` (port 0 picks a free one); return the port."""
    return reactor.listenSSL(port, site, tls_options, interface=host)


__all__ = ["server_options", "server_options_from_files", "peer_chain", "listen",
           "VERIFY_DEPTH"]
