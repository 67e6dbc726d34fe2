import datetime
import os
import subprocess
import shutil

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from OpenSSL import crypto
from twisted.trial.unittest import SynchronousTestCase

from gam.auth.gid import GID, Authority, build_certificate, generate_key, utcnow
from gam.auth.trust import ChainError, TrustRoots
from gam.auth.urn import URN
from gam.errors import BadArgs, ConfigError, GeniCode
from tests.auth.support import pki


class IssueTests(SynchronousTestCase):
    def test_root_authority(self):
        root = pki().root
        self.assertTrue(root.gid.is_ca)
        self.assertEqual(str(root.urn), "urn:publicid:IDN+gam.test+authority+sa")
        self.assertEqual(root.gid.cert.issuer, root.gid.cert.subject)
        self.assertIsNotNone(root.gid.uuid)

    def test_sub_authority_signed_by_parent(self):
        p = pki()
        self.assertEqual(str(p.sub.urn), "urn:publicid:IDN+gam.test:sub+authority+sa")
        self.assertTrue(p.sub.gid.is_ca)
        self.assertEqual(p.sub.chain[1], p.root.gid)
        p.sub.gid.cert.verify_directly_issued_by(p.root.gid.cert)

    def test_user_certificate(self):
        alice = pki().alice
        self.assertFalse(alice.gid.is_ca)
        self.assertEqual(alice.gid.urn, URN("gam.test", "user", "alice"))
        self.assertEqual(alice.gid.email, "alice@example.net")
        self.assertEqual(len(alice.gid.uuid), 36)
        bc = alice.gid.cert.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertTrue(bc.critical)
        self.assertFalse(bc.value.ca)

    def test_issue_outside_namespace_refused(self):
        with self.assertRaises(BadArgs) as cm:
            pki().sub.issue("urn:publicid:IDN+gam.test:other+user+eve")
        self.assertIn("outside the namespace", cm.exception.message)

    def test_issue_with_given_public_key(self):
        key = generate_key()
        none, gid = pki().root.issue("urn:publicid:IDN+gam.test+slice+k", public_key=key.public_key())
        self.assertIsNone(none)
        self.assertEqual(gid.public_key_der, GID(build_certificate(
            subject_urn=gid.urn, public_key=key.public_key(), issuer_key=key)).public_key_der)

    def test_pem_round_trip(self):
        alice = pki().alice
        self.assertEqual(GID.from_pem(alice.gid.pem), alice.gid)
        self.assertRaises(BadArgs, GID.from_pem, "no certificate here")

    def test_save_and_load(self):
        root = pki().sub
        d = self.mktemp()
        cert_path, key_path = root.save(d, "sub")
        self.assertEqual(os.stat(key_path).st_mode & 0o777, 0o600)
        loaded = Authority.load(cert_path, key_path)
        self.assertEqual(loaded.chain, root.chain)
        _, gid = loaded.issue("urn:publicid:IDN+gam.test:sub+user+dave")
        pki().trust_roots().verify_chain([gid, *root.chain])

    def test_openssl_verifies_chain(self):
        if not shutil.which("openssl"):
            raise self.skipTest("openssl command not installed")
        p = pki()
        d = self.mktemp()
        os.makedirs(d)
        paths = {}
        for name, text in (("root", p.root.gid.pem), ("sub", p.sub.gid.pem),
                           ("carol", p.carol.gid.pem)):
            paths[name] = os.path.join(d, name + ".pem")
            with open(paths[name], "w") as f:
                f.write(text)
        out = subprocess.run(["openssl", "verify", "-CAfile", paths["root"], "-untrusted",
                              paths["sub"], paths["carol"]], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


def resigned(cert, key, algorithm=None, **sign_options):
    """``cert`` as it stands, but signed again with ``key``."""
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.issuer)
               .public_key(cert.public_key()).serial_number(cert.serial_number)
               .not_valid_before(cert.not_valid_before_utc)
               .not_valid_after(cert.not_valid_after_utc))
    for ext in cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    return GID(builder.sign(key, algorithm or hashes.SHA256(), **sign_options))


class ChainTests(SynchronousTestCase):
    def test_leaf_and_intermediate(self):
        p = pki()
        verified = p.trust_roots().verify_chain(p.carol.peer_chain)
        self.assertEqual([g.urn for g in verified.path],
                         [p.carol.urn, p.sub.urn, p.root.urn])
        self.assertEqual(verified.leaf, p.carol.gid)

    def test_intermediates_in_any_order(self):
        p = pki()
        deep = p.sub.create_sub_authority("deep")
        _, gid = deep.issue("urn:publicid:IDN+gam.test:sub:deep+user+zed")
        verified = p.trust_roots().verify_chain([gid, p.root.gid, deep.gid, p.sub.gid])
        self.assertEqual(len(verified.path), 4)

    def test_root_itself(self):
        p = pki()
        self.assertEqual(p.trust_roots().verify_chain([p.root.gid]).path, (p.root.gid,))

    def test_missing_intermediate(self):
        p = pki()
        with self.assertRaises(ChainError) as cm:
            p.trust_roots().verify_chain([p.carol.gid])
        self.assertEqual(cm.exception.reason, "untrusted")
        self.assertEqual(cm.exception.geni_code, GeniCode.FORBIDDEN)

    def test_load_directory(self):
        p = pki()
        d = self.mktemp()
        os.makedirs(d)
        with open(os.path.join(d, "gam.pem"), "w") as f:
            f.write(p.root.gid.pem)
        with open(os.path.join(d, "other.crt"), "w") as f:
            f.write(p.other.gid.pem)
        with open(os.path.join(d, "README"), "w") as f:
            f.write("not a cert")
        roots = TrustRoots.from_directory(d)
        self.assertEqual(len(roots), 2)
        self.assertIn(p.other.gid, roots)

    def test_missing_directory_names_it(self):
        with self.assertRaises(ConfigError) as cm:
            TrustRoots.from_directory("/nonexistent/roots")
        self.assertIn("/nonexistent/roots", str(cm.exception))

    def test_bad_file_in_directory_named(self):
        d = self.mktemp()
        os.makedirs(d)
        path = os.path.join(d, "broken.pem")
        with open(path, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
        with self.assertRaises(ConfigError) as cm:
            TrustRoots.from_directory(d)
        self.assertIn(path, str(cm.exception))

    def test_certificate_signed_by_another_key_refused(self):
        # Same issuer name, another key: the RSA check with the issuer's key fails.
        p = pki()
        forged = resigned(p.alice.gid.cert, generate_key())
        with self.assertRaises(ChainError) as cm:
            p.trust_roots().verify_chain([forged, p.root.gid])
        self.assertEqual(cm.exception.reason, "bad-certificate-signature")

    def test_certificate_signed_with_sha256_and_sha512(self):
        p = pki()
        for digest in (hashes.SHA256(), hashes.SHA512()):
            gid = resigned(p.alice.gid.cert, p.root.key, digest)
            self.assertEqual(p.trust_roots().verify_chain([gid]).path, (gid, p.root.gid))

    def test_sha1_signed_certificate_refused(self):
        # SHA-1 is refused as cryptography refuses it (the RSA shortcut must not
        # accept what the library would not).
        p = pki()
        cert = crypto.X509.from_cryptography(p.alice.gid.cert)
        cert.sign(crypto.PKey.from_cryptography_key(p.root.key), "sha1")
        gid = GID(cert.to_cryptography())
        self.assertIsInstance(gid.cert.signature_hash_algorithm, hashes.SHA1)
        with self.assertRaises(ChainError) as cm:
            p.trust_roots().verify_chain([gid])
        self.assertEqual(cm.exception.reason, "weak-certificate-signature")

    def test_rsa_pss_signed_certificate(self):
        p = pki()
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        gid = resigned(p.alice.gid.cert, p.root.key, rsa_padding=pss)
        self.assertIsInstance(gid.cert.signature_algorithm_parameters, padding.PSS)
        self.assertEqual(p.trust_roots().verify_chain([gid]).leaf, gid)
        forged = resigned(p.alice.gid.cert, generate_key(), rsa_padding=pss)
        with self.assertRaises(ChainError) as cm:
            p.trust_roots().verify_chain([forged])
        self.assertEqual(cm.exception.reason, "bad-certificate-signature")

    def test_ec_authority(self):
        root = Authority.create_root("ec.test", key=ec.generate_private_key(ec.SECP256R1()))
        _, user = root.issue("urn:publicid:IDN+ec.test+user+eve")
        roots = TrustRoots([root.gid])
        self.assertEqual(roots.verify_chain([user]).path, (user, root.gid))
        forged = resigned(user.cert, ec.generate_private_key(ec.SECP256R1()))
        with self.assertRaises(ChainError) as cm:
            roots.verify_chain([forged])
        self.assertEqual(cm.exception.reason, "bad-certificate-signature")

    def test_dates_checked(self):
        p = pki()
        roots = p.trust_roots()
        later = utcnow() + datetime.timedelta(days=400)
        with self.assertRaises(ChainError) as cm:
            roots.verify_chain(p.alice.peer_chain, now=later)
        self.assertEqual(cm.exception.reason, "expired")
        earlier = utcnow() - datetime.timedelta(days=1)
        with self.assertRaises(ChainError) as cm:
            roots.verify_chain(p.alice.peer_chain, now=earlier)
        self.assertEqual(cm.exception.reason, "not-yet-valid")
