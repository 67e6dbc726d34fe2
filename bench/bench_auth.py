#!/usr/bin/env python3
"""Credential verifications per second for a 2-level delegated slice credential.

Prints these figures, per CPU-second of this (single-threaded) process:
  cold           every cache emptied before each verification: nothing is
                 known but the trust roots (configuration, parsed at start);
                 a certificate met twice within one credential is parsed once
  no caches      caches off altogether (every certificate parsed each time
                 it appears)
  new-credential a different credential every time (as from many users of
                 the same authorities), certificate and chain caches warm
  repeat         the same credential again (the result cache)
  library floor  only the library calls a cold verification cannot avoid
                 (lxml parse, the delegator's key into xmlsec, both xmlsec
                 signature checks each with the other signature set aside,
                 one certificate signature check with the root's key), none
                 of gam's own work: what no cold verification can beat here
and the same for a whole ``Authorizer.authorize`` call (caller chain,
credential, owner/target/privilege checks).

Usage: python3 bench/bench_auth.py [--seconds N]
"""
import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gam.auth import credential as cred  # noqa: E402
from gam.auth.authorize import Authorizer  # noqa: E402
from gam.auth.gid import Authority, utcnow  # noqa: E402
from gam.auth.privileges import SLICE_PRIVILEGES  # noqa: E402
from gam.auth.trust import TrustRoots  # noqa: E402
from gam.auth.urn import URN  # noqa: E402
from gam.auth.verify import CredentialVerifier  # noqa: E402


def rate(fn, seconds, items):
    """Calls per CPU-second of this process (one core) of fn(item), cycling
    over items for about ``seconds`` of CPU time. CPU time, not wall time,
    so that other work on the machine does not skew the figure. One pass
    over the items first, untimed: first-use costs (lazily built tables,
    caches of the code itself) are not what is measured."""
    for item in items:
        fn(item)
    n = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for item in items:
            fn(item)
        n += len(items)
        now = time.process_time()
        if now >= deadline:
            return n / (now - start)


def library_floor(creds, roots, delegator):
    """fn(credential) doing only the library work of a cold verification."""
    import xmlsec
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    from gam import safexml
    from gam.auth import xmldsig

    root = next(iter(roots))
    root_key = xmldsig.load_public_key(root.cert.public_key())
    root_public = root.cert.public_key()
    spki = delegator.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    top_id = safexml.etree.XPath("string(/signed-credential/credential/@xml:id)")

    def verify(c):
        doc = safexml.parse_untrusted(c[1], max_bytes=len(c[1])).getroot()
        top = "#" + top_id(doc)              # the delegator signed it; the root the rest
        key = xmlsec.Key.from_memory(spki, xmlsec.constants.KeyDataFormatDer)
        holder = doc.find("signatures")
        signatures = list(holder)
        for signature in signatures:         # each alone, as gam checks them
            holder.remove(signature)
        for signature in signatures:
            uri = signature.find(f"{{{xmldsig.DSIG_NS}}}SignedInfo/"
                                 f"{{{xmldsig.DSIG_NS}}}Reference").get("URI")
            holder.append(signature)
            ctx = xmlsec.SignatureContext()
            ctx.key = key if uri == top else root_key
            ctx.verify(signature)
            holder.remove(signature)
        cert = delegator.cert
        root_public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                           cert.signature_hash_algorithm)
    return verify


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per figure")
    parser.add_argument("--credentials", type=int, default=200,
                        help="distinct credentials for the new-credential figure")
    args = parser.parse_args()

    root = Authority.create_root("bench.test")
    alice_key, alice = root.issue(URN("bench.test", "user", "alice"))
    _, bob = root.issue(URN("bench.test", "user", "bob"))
    alice_chain = (alice,) + root.chain
    bob_chain = (bob,) + root.chain
    expires = utcnow() + datetime.timedelta(days=1)
    roots = TrustRoots([root.gid])

    def delegated(i):
        _, slice_gid = root.issue(URN("bench.test", "slice", f"s{i}"), public_key=alice.cert.public_key())
        parent = cred.issue(signer_key=root.key, signer_chain=root.chain, owner_chain=alice_chain,
                            target_chain=(slice_gid,) + root.chain,
                            privileges=[cred.Privilege(p, True) for p in SLICE_PRIVILEGES],
                            expires=expires)
        text = cred.delegate(parent, owner_key=alice_key, owner_chain=alice_chain,
                             new_owner_chain=bob_chain)
        return slice_gid.urn, text.encode("utf-8")

    print(f"building {args.credentials} delegated credentials (2 levels, RSA-2048, RSA-SHA1)...",
          flush=True)
    creds = [delegated(i) for i in range(args.credentials)]
    size = len(creds[0][1])
    print(f"credential size: {size} bytes")

    cold_verifier = CredentialVerifier(roots)

    def verify_cold(c):
        cold_verifier.clear_cache()
        cold_verifier.verify(c[1])

    cold = rate(verify_cold, args.seconds, creds)
    no_cache = rate(lambda c: CredentialVerifier(roots, cache_size=0).verify(c[1]),
                    args.seconds, creds)
    verifier = CredentialVerifier(roots)
    verifier._results.size = 0              # certificates and chains cached, results not
    new_cred = rate(lambda c: verifier.verify(c[1]), args.seconds, creds)
    warm = CredentialVerifier(roots)
    repeat = rate(lambda c: warm.verify(c[1]), args.seconds, creds[:1])

    floor = rate(library_floor(creds, roots, alice), args.seconds, creds)

    peer = [g.cert for g in bob_chain]

    cold_az = Authorizer(roots)

    def authorize_cold(c):
        cold_az.verifier.clear_cache()
        cold_az.authorize(peer, [{"geni_type": "geni_sfa", "geni_version": 3,
                                  "geni_value": c[1]}], c[0], "Allocate")

    az = Authorizer(roots)

    def authorize_warm(c):
        az.authorize(peer, [{"geni_type": "geni_sfa", "geni_version": 3, "geni_value": c[1]}],
                     c[0], "Allocate")

    a_cold = rate(authorize_cold, args.seconds, creds)
    a_repeat = rate(authorize_warm, args.seconds, creds[:1])

    print(f"{'verify, cold (caches emptied)':40s} {cold:10.0f} /s   target >= 1000")
    print(f"{'verify, caches off':40s} {no_cache:10.0f} /s")
    print(f"{'verify, new credential (cert caches)':40s} {new_cred:10.0f} /s")
    print(f"{'verify, repeat (result cache)':40s} {repeat:10.0f} /s   target >= 20000")
    print(f"{'library calls only (floor)':40s} {floor:10.0f} /s")
    print(f"{'authorize, cold (caches emptied)':40s} {a_cold:10.0f} /s")
    print(f"{'authorize, repeat (caches)':40s} {a_repeat:10.0f} /s")


if __name__ == "__main__":
    main()
