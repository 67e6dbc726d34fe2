"""Credentials as written, parsed, verified and used for calls."""
import datetime
import os
import shutil
import subprocess
import threading
import xmlrpc.client

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.trial.unittest import SynchronousTestCase

from gam import safexml
from gam.auth import credential as cred
from gam.auth import privileges, xmldsig
from gam.auth.authorize import decode_credentials
from gam.auth.gid import utcnow
from gam.auth.trust import ChainError, TrustRoots
from gam.auth.urn import URN
from gam.auth.verify import CredentialVerifier, signer_chain
from gam.errors import GeniCode, GeniError
from tests.auth.support import DAY, edit, pki, sfa

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data", "credential")
SCHEMAS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "gam", "auth", "schemas")


class WriteParseTests(SynchronousTestCase):
    def test_fields_round_trip(self):
        p = pki()
        expires = (utcnow() + DAY).replace(microsecond=0)
        parsed = cred.parse_credential(p.slice_credential(expires=expires))
        top = parsed.top
        self.assertEqual(len(parsed.levels), 1)
        self.assertEqual(top.type, "privilege")
        self.assertEqual(top.owner_urn, p.alice.urn)
        self.assertEqual(top.target_urn, p.slice_urn)
        self.assertEqual(top.owner_gid, p.alice.gid)
        self.assertEqual(top.expires, expires)
        self.assertEqual(top.privilege_names, frozenset(privileges.SLICE_PRIVILEGES))
        self.assertTrue(all(pr.delegatable for pr in top.privileges))
        self.assertEqual(list(parsed.signatures), ["ref0"])

    def test_signed_the_geni_tools_way(self):
        parsed = cred.parse_credential(pki().slice_credential())
        sig = parsed.signatures["ref0"]
        ns = {"d": xmldsig.DSIG_NS}
        self.assertEqual(sig.get(cred.XML_ID), "Sig_ref0")
        self.assertEqual(sig.xpath("d:SignedInfo/d:CanonicalizationMethod/@Algorithm", namespaces=ns),
                         [xmldsig.C14N])
        self.assertEqual(sig.xpath("d:SignedInfo/d:SignatureMethod/@Algorithm", namespaces=ns),
                         [xmldsig.RSA_SHA1])
        self.assertEqual(sig.xpath("d:SignedInfo/d:Reference/@URI", namespaces=ns), ["#ref0"])
        # the signer's chain travels in X509Data, signer first
        chain = signer_chain(sig)
        self.assertEqual([g.urn for g in chain], [pki().root.urn])

    def test_matches_credential_schema(self):
        schema_path = os.path.join(SCHEMAS, "credential.xsd")
        schema = etree.XMLSchema(etree.parse(schema_path))
        p = pki()
        delegated = cred.delegate(p.slice_credential(), owner_key=p.alice.key,
                                  owner_chain=p.alice.chain, new_owner_chain=p.bob.chain)
        for text in (p.slice_credential(), delegated):
            doc = etree.fromstring(text.encode())
            self.assertTrue(schema.validate(doc), schema.error_log)

    def test_duplicate_ids_refused_by_gam_itself(self):
        # libxml2 refuses a repeated xml:id while parsing (see test_attacks);
        # gam checks again, whatever the parser does: here a parser that
        # does not collect ids lets the document through to that check.
        def wrap(root):
            etree.SubElement(root.find("signatures"), "decoy").set(cred.XML_ID, "ref0")
        text = edit(pki().slice_credential(), wrap)
        with self.assertRaises(GeniError) as cm:
            cred.parse_credential(text)
        self.assertIn("ID ref0 already defined", cm.exception.message)

        self.patch(safexml, "_thread_parser", lambda: etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, collect_ids=False))
        with self.assertRaises(cred.CredentialError) as cm:
            cred.parse_credential(text)
        self.assertEqual(cm.exception.reason, "malformed")
        self.assertIn("uses the id(s) ref0 more than once", cm.exception.message)

    def test_time_formats(self):
        utc = datetime.timezone.utc
        want = datetime.datetime(2026, 11, 21, 10, 0, tzinfo=utc)
        for text in ["2026-11-21T10:00:00Z", "2026-11-21T10:00:00+00:00",
                     "2026-11-21T10:00:00", "2026-11-21T11:00:00+01:00"]:
            self.assertEqual(cred.parse_time(text), want)
        self.assertEqual(cred.format_time(want), "2026-11-21T10:00:00Z")


class VerifyTests(SynchronousTestCase):
    def test_valid_slice_credential(self):
        p = pki()
        auth = p.authorizer().authorize(p.alice.peer_chain, [sfa(p.slice_credential())],
                                        p.slice_urn, "Allocate")
        self.assertEqual(auth.caller.urn, p.alice.urn)
        self.assertEqual(auth.caller.email, "alice@example.net")
        self.assertEqual(auth.credential.target_urn, p.slice_urn)
        self.assertIsNone(auth.caller.tool)

    def test_every_am_method_allowed_by_slice_credential(self):
        p = pki()
        az = p.authorizer()
        text = p.slice_credential()
        for method in ["ListResources", "Describe", "Allocate", "Renew", "Provision", "Status",
                       "PerformOperationalAction", "Delete", "Shutdown"]:
            target = None if method == "ListResources" else p.slice_urn
            az.authorize(p.alice.peer_chain, [sfa(text)], target, method)

    def test_user_credential_allows_list_resources(self):
        p = pki()
        auth = p.authorizer().authorize(p.bob.peer_chain, [sfa(p.user_credential(p.bob))],
                                        None, "ListResources")
        self.assertEqual(auth.caller.urn, p.bob.urn)

    def test_sha256_accepted(self):
        p = pki()
        text = p.slice_credential(algorithm="sha256")
        self.assertIn(xmldsig.RSA_SHA256, text)
        p.authorizer().authorize(p.alice.peer_chain, [sfa(text)], p.slice_urn, "Allocate")

    def test_sub_authority_slice(self):
        p = pki()
        text = p.slice_credential(p.carol, target=p.sub_slice, signer=p.sub)
        auth = p.authorizer().authorize(p.carol.peer_chain, [sfa(text)], p.sub_slice_urn,
                                        "Provision")
        self.assertEqual(auth.caller.urn, p.carol.urn)
        # the parent authority also governs the sub-namespace
        text = p.slice_credential(p.carol, target=p.sub_slice, signer=p.root)
        p.authorizer().authorize(p.carol.peer_chain, [sfa(text)], p.sub_slice_urn, "Provision")

    def test_two_level_delegation(self):
        p = pki()
        text = cred.delegate(p.slice_credential(), owner_key=p.alice.key,
                             owner_chain=p.alice.chain, new_owner_chain=p.bob.chain,
                             privileges=[cred.Privilege("info", False),
                                         cred.Privilege("embed", True)])
        auth = p.authorizer().authorize(p.bob.peer_chain, [sfa(text)], p.slice_urn, "Allocate")
        self.assertEqual(auth.caller.urn, p.bob.urn)
        self.assertEqual(auth.credential.privileges, {"info", "embed"})
        self.assertEqual(len(auth.credential.credential.levels), 2)
        # and once more, from bob to carol, of what bob may delegate
        text2 = cred.delegate(text, owner_key=p.bob.key, owner_chain=p.bob.chain,
                              new_owner_chain=p.carol.chain)
        auth = p.authorizer().authorize(p.carol.peer_chain, [sfa(text2)], p.slice_urn, "Renew")
        self.assertEqual(auth.credential.privileges, {"embed"})

    def test_expires_is_earliest_level(self):
        p = pki()
        soon = (utcnow() + datetime.timedelta(hours=1)).replace(microsecond=0)
        text = cred.delegate(p.slice_credential(), owner_key=p.alice.key,
                             owner_chain=p.alice.chain, new_owner_chain=p.bob.chain, expires=soon)
        auth = p.authorizer().authorize(p.bob.peer_chain, [sfa(text)], p.slice_urn, "Status")
        self.assertEqual(auth.expires, soon)

    def test_second_credential_used_when_first_fails(self):
        p = pki()
        auth = p.authorizer().authorize(
            p.alice.peer_chain,
            [sfa(p.slice_credential(target=p.other_slice)), sfa(p.slice_credential())],
            p.slice_urn, "Allocate")
        self.assertEqual(auth.credential.target_urn, p.slice_urn)


class SetAsideTests(SynchronousTestCase):
    """xmldsig.verify(signed=...) sets a signature's siblings aside while
    xmlsec runs; the document must come back as it was, whatever happens."""

    def delegated(self):
        p = pki()
        text = cred.delegate(p.slice_credential(), owner_key=p.alice.key,
                             owner_chain=p.alice.chain, new_owner_chain=p.bob.chain)
        parsed = cred.parse_credential(text)
        keys = {"ref0": p.root.gid.cert.public_key(), "ref1": p.alice.gid.cert.public_key()}
        return parsed, keys

    def test_each_level_verifies_and_document_unchanged(self):
        parsed, keys = self.delegated()
        before = etree.tostring(parsed.root)
        for level in parsed.levels:
            xmldsig.verify(parsed.signatures[level.ref], keys[level.ref], signed=level.element)
            self.assertEqual(etree.tostring(parsed.root), before)

    def test_siblings_aside_during_the_check(self):
        parsed, _ = self.delegated()
        top = parsed.levels[0]
        signature = parsed.signatures[top.ref]
        holder = signature.getparent()
        other = [s for s in holder if s is not signature]
        before = etree.tostring(parsed.root)
        aside = xmldsig._set_aside(signature, top.element)
        self.assertEqual([child for _, child in aside], other)
        self.assertEqual(list(holder), [signature])
        xmldsig._put_back(holder, aside)
        self.assertEqual(etree.tostring(parsed.root), before)

    def test_document_unchanged_when_the_check_fails(self):
        parsed, keys = self.delegated()
        inner = parsed.levels[1]
        before = etree.tostring(parsed.root)
        with self.assertRaises(xmldsig.SignatureError):
            # the root's signature checked with alice's key
            xmldsig.verify(parsed.signatures[inner.ref], keys["ref1"], signed=inner.element)
        self.assertEqual(etree.tostring(parsed.root), before)

    def test_certificate_base64_read_as_xmlsec_reads_it(self):
        parsed, _ = self.delegated()
        signature = parsed.signatures["ref1"]
        ders = xmldsig.certificates_of(signature)
        self.assertEqual(ders, [pki().alice.gid.cert.public_bytes(Encoding.DER),
                                pki().root.gid.cert.public_bytes(Encoding.DER)])
        node = signature.find(f".//{{{xmldsig.DSIG_NS}}}X509Certificate")
        node.text = "\r\n\t " + node.text.replace("\n", "\r\n ") + " \n"
        self.assertEqual(xmldsig.certificates_of(signature), ders)
        node.text = node.text.strip()[:-5]       # cut: the padding no longer adds up
        with self.assertRaises(xmldsig.SignatureError) as cm:
            xmldsig.certificates_of(signature)
        self.assertEqual(cm.exception.reason, "malformed")

    def test_sibling_holding_the_signed_element_stays(self):
        # <doc><holder><credential xml:id="ref0"/></holder><Signature/><other/></doc>:
        # the holder is an ancestor of what is signed, so it must stay in place.
        p = pki()
        doc = etree.Element("doc")
        holder = etree.SubElement(doc, "holder")
        etree.SubElement(etree.SubElement(holder, "credential", {cred.XML_ID: "ref0"}),
                         "type").text = "privilege"
        doc.append(xmldsig.signature_template("ref0"))
        etree.SubElement(doc, "other").text = "x"
        doc = etree.fromstring(etree.tostring(doc))          # register the ids
        signature = doc.find(f"{{{xmldsig.DSIG_NS}}}Signature")
        xmldsig.sign(signature, cred.key_to_pem(p.root.key).encode(),
                     [p.root.gid.pem.encode()])
        signed = doc.find("holder/credential")
        aside = xmldsig._set_aside(signature, signed)
        self.assertEqual([child.tag for _, child in aside], ["other"])
        xmldsig._put_back(doc, aside)
        before = etree.tostring(doc)
        xmldsig.verify(signature, p.root.gid.cert.public_key(), signed=signed)
        self.assertEqual(etree.tostring(doc), before)
        doc.find("holder/credential/type").text = "changed"
        self.assertRaises(xmldsig.SignatureError, xmldsig.verify, signature,
                          p.root.gid.cert.public_key(), signed=signed)

    def test_enveloped_signature_keeps_its_siblings(self):
        # A signature inside the element it signs: its siblings are signed
        # content, so nothing is set aside and the check still holds.
        p = pki()
        doc = etree.Element("doc")
        signed = etree.SubElement(doc, "credential", {cred.XML_ID: "ref0"})
        etree.SubElement(signed, "type").text = "privilege"
        signed.append(xmldsig.signature_template("ref0"))
        etree.SubElement(signed, "after").text = "signed too"
        doc = etree.fromstring(etree.tostring(doc))
        signed = doc.find("credential")
        signature = signed.find(f"{{{xmldsig.DSIG_NS}}}Signature")
        xmldsig.sign(signature, cred.key_to_pem(p.root.key).encode(),
                     [p.root.gid.pem.encode()])
        self.assertIsNone(xmldsig._set_aside(signature, signed))
        xmldsig.verify(signature, p.root.gid.cert.public_key(), signed=signed)
        signed.find("after").text = "changed"
        self.assertRaises(xmldsig.SignatureError, xmldsig.verify, signature,
                          p.root.gid.cert.public_key(), signed=signed)


class ClientFormsTests(SynchronousTestCase):
    """The credentials argument as omni, geni-lib and old clients send it."""

    def check(self, credentials):
        p = pki()
        auth = p.authorizer().authorize(p.alice.peer_chain, credentials, p.slice_urn, "Status")
        self.assertEqual(auth.caller.urn, p.alice.urn)

    def test_struct_version_string(self):
        self.check([sfa(pki().slice_credential(), version="3")])

    def test_struct_version_int_and_v2(self):
        self.check([sfa(pki().slice_credential(), version=2)])

    def test_base64_value(self):
        text = pki().slice_credential()
        self.check([{"geni_type": "geni_sfa", "geni_version": 3,
                     "geni_value": xmlrpc.client.Binary(text.encode())}])

    def test_bytes_value(self):
        self.check([{"geni_type": "GENI_SFA", "geni_version": "3",
                     "geni_value": pki().slice_credential().encode()}])

    def test_bare_string(self):
        self.check([pki().slice_credential()])

    def test_unknown_types_ignored_when_another_works(self):
        self.check([{"geni_type": "ucl_cap", "geni_version": "7", "geni_value": "x"},
                    sfa(pki().slice_credential())])

    def test_decode_shapes(self):
        offered = decode_credentials(["<signed-credential/>", sfa("<x/>", version=2)])
        self.assertEqual([(o.type, o.version) for o in offered],
                         [("geni_sfa", "3"), ("geni_sfa", "2")])
        self.assertEqual(decode_credentials(None), [])


class CacheTests(SynchronousTestCase):
    def test_cached_result_never_outlives_expiry(self):
        p = pki()
        now = [utcnow()]
        verifier = CredentialVerifier(p.trust_roots(), clock=lambda: now[0])
        text = p.slice_credential(expires=now[0] + datetime.timedelta(minutes=5))
        first = verifier.verify(text)
        self.assertIs(verifier.verify(text), first)  # served from the cache
        now[0] += datetime.timedelta(minutes=6)
        with self.assertRaises(cred.CredentialError) as cm:
            verifier.verify(text)
        self.assertEqual(cm.exception.reason, "expired")

    def test_cached_result_never_outlives_signer_certificate(self):
        # The credential runs for two days, its signer's certificate for one hour.
        p = pki()
        now = [utcnow()]
        short = p.root.create_sub_authority("short", lifetime=datetime.timedelta(hours=1))
        _, target = short.issue(URN("gam.test:short", "slice", "s"))
        text = cred.issue(signer_key=short.key, signer_chain=short.chain,
                          owner_chain=p.alice.chain, target_chain=(target,) + short.chain,
                          privileges=["embed"], expires=now[0] + 2 * DAY)
        verifier = CredentialVerifier(p.trust_roots(), clock=lambda: now[0])
        first = verifier.verify(text)
        self.assertEqual(first.valid_until, short.gid.not_after)
        self.assertIs(verifier.verify(text), first)  # served from the cache
        now[0] += datetime.timedelta(hours=2)
        with self.assertRaises(cred.CredentialError) as cm:
            verifier.verify(text)
        self.assertEqual(cm.exception.reason, "expired")
        self.assertIn(f"the certificate of {short.urn} expired", cm.exception.message)

    def test_cached_result_not_used_before_its_certificates_are_valid(self):
        # Should the clock go back, a result cached later must not be served
        # while a certificate it relied on is not yet valid.
        p = pki()
        now = [utcnow()]
        later = p.root.create_sub_authority("later", now=now[0] + datetime.timedelta(hours=1))
        _, target = later.issue(URN("gam.test:later", "slice", "s"),
                                now=now[0] + datetime.timedelta(hours=1))
        text = cred.issue(signer_key=later.key, signer_chain=later.chain,
                          owner_chain=p.alice.chain, target_chain=(target,) + later.chain,
                          privileges=["embed"], expires=now[0] + 2 * DAY)
        verifier = CredentialVerifier(p.trust_roots(), clock=lambda: now[0])
        now[0] += datetime.timedelta(hours=2)
        first = verifier.verify(text)
        self.assertIs(verifier.verify(text), first)  # served from the cache
        now[0] -= datetime.timedelta(hours=2)
        with self.assertRaises(cred.CredentialError) as cm:
            verifier.verify(text)
        self.assertEqual(cm.exception.reason, "not-yet-valid")
        self.assertIn(f"the certificate of {later.urn} is not valid before",
                      cm.exception.message)

    def cached_chain(self, chain, at):
        """A verifier whose chain cache holds ``chain``, verified at ``at``."""
        verifier = CredentialVerifier(pki().trust_roots(), clock=utcnow)
        first = verifier.verify_chain(chain, now=at)
        self.assertIs(verifier.verify_chain(chain, now=at), first)  # served from the cache
        return verifier

    def assertChainRefused(self, verifier, chain, at, reason, who):
        with self.assertRaises(ChainError) as cm:
            verifier.verify_chain(chain, now=at)
        self.assertEqual(cm.exception.reason, reason)
        self.assertIn(f"the certificate of {who}", cm.exception.message)

    def test_cached_chain_refused_once_expired(self):
        p = pki()
        t = utcnow()
        _, gid = p.root.issue(URN("gam.test", "user", "brief"),
                                lifetime=datetime.timedelta(hours=1), now=t)
        chain = (gid,) + p.root.chain
        verifier = self.cached_chain(chain, t)
        self.assertChainRefused(verifier, chain, t + datetime.timedelta(hours=2), "expired",
                                gid.urn)

    def test_cached_chain_refused_before_leaf_is_valid(self):
        p = pki()
        t = utcnow()
        _, gid = p.root.issue(URN("gam.test", "user", "early"), now=t + 5 * DAY)
        chain = (gid,) + p.root.chain
        verifier = self.cached_chain(chain, t + 6 * DAY)
        self.assertChainRefused(verifier, chain, t, "not-yet-valid", gid.urn)

    def test_cached_chain_refused_before_intermediate_is_valid(self):
        # The leaf is valid from yesterday, its issuer only from ten days on.
        p = pki()
        t = utcnow()
        late = p.root.create_sub_authority("late", now=t + 10 * DAY)
        _, gid = late.issue(URN("gam.test:late", "user", "eve"), now=t - DAY)
        chain = (gid,) + late.chain
        verifier = self.cached_chain(chain, t + 11 * DAY)
        self.assertChainRefused(verifier, chain, t, "not-yet-valid", late.urn)

    def test_cache_keyed_by_content(self):
        p = pki()
        verifier = CredentialVerifier(p.trust_roots())
        text = p.slice_credential()
        verifier.verify(text)
        tampered = text.replace("<name>info</name>", "<name>pi</name>")
        with self.assertRaises(xmldsig.SignatureError):
            verifier.verify(tampered)


class GeniToolsCredentialTests(SynchronousTestCase):
    """The real user credential from geni-tools' acceptance tests."""

    def setUp(self):
        path = os.path.join(DATA, "geni-tools_untrusted-usercred.xml")
        with open(path, "rb") as f:
            self.text = f.read()

    def test_parses(self):
        parsed = cred.parse_credential(self.text)
        top = parsed.top
        self.assertEqual(str(top.owner_urn), "urn:publicid:IDN+geni:gpo:gcf+user+alice")
        self.assertEqual(top.target_urn, top.owner_urn)
        self.assertEqual(top.privilege_names, {"refresh", "resolve", "info"})
        self.assertFalse(any(pr.delegatable for pr in top.privileges))
        self.assertEqual(top.expires, datetime.datetime(2015, 12, 24, 19, 10, 28,
                                                        tzinfo=datetime.timezone.utc))
        self.assertEqual(len(top.owner_chain), 2)

    def test_signature_verifies_against_embedded_certificate(self):
        parsed = cred.parse_credential(self.text)
        chain = signer_chain(parsed.signatures["ref0"])
        self.assertEqual(str(chain[0].urn), "urn:publicid:IDN+geni:gpo:gcf+authority+sa")
        # raises if it does not verify
        xmldsig.verify(parsed.signatures["ref0"], chain[0].cert.public_key())

    def test_signature_breaks_when_altered(self):
        altered = self.text.replace(b"<name>info</name>", b"<name>embed</name>")
        parsed = cred.parse_credential(altered)
        key = signer_chain(parsed.signatures["ref0"])[0].cert.public_key()
        self.assertRaises(xmldsig.SignatureError, xmldsig.verify, parsed.signatures["ref0"], key)

    def test_rejected_as_untrusted(self):
        p = pki()
        when = datetime.datetime(2014, 6, 1, tzinfo=datetime.timezone.utc)
        for now in (when, utcnow()):
            verifier = CredentialVerifier(p.trust_roots(), clock=lambda now=now: now)
            with self.assertRaises(cred.CredentialError) as cm:
                verifier.verify(self.text)
            self.assertEqual(cm.exception.reason, "untrusted")
            self.assertEqual(cm.exception.geni_code, GeniCode.FORBIDDEN)

    def test_verifies_once_its_root_is_trusted(self):
        parsed = cred.parse_credential(self.text)
        chain = signer_chain(parsed.signatures["ref0"])
        roots = TrustRoots([chain[0]])
        in_2015 = datetime.datetime(2015, 1, 1, tzinfo=datetime.timezone.utc)
        result = CredentialVerifier(roots, clock=lambda: in_2015).verify(self.text)
        self.assertEqual(str(result.owner.urn), "urn:publicid:IDN+geni:gpo:gcf+user+alice")
        with self.assertRaises(cred.CredentialError) as cm:
            CredentialVerifier(roots).verify(self.text)
        self.assertEqual(cm.exception.reason, "expired")


class Xmlsec1Tests(SynchronousTestCase):
    """What we sign verifies with the xmlsec1 tool, called as geni-tools calls it."""

    def setUp(self):
        self.xmlsec1 = shutil.which("xmlsec1")
        if not self.xmlsec1:
            raise self.skipTest("xmlsec1 is not installed (Debian package xmlsec1)")
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.root_pem = os.path.join(self.dir, "root.pem")
        with open(self.root_pem, "w") as f:
            f.write(pki().root.gid.pem)

    def run_xmlsec1(self, text, ref):
        path = os.path.join(self.dir, "cred.xml")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([self.xmlsec1, "--verify", "--node-id", f"Sig_{ref}",
                               "--trusted-pem", self.root_pem, path],
                              capture_output=True, text=True)

    def test_slice_credential(self):
        out = self.run_xmlsec1(pki().slice_credential(), "ref0")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stderr.startswith("OK"), out.stderr)

    def test_delegated_credential_every_level(self):
        p = pki()
        text = cred.delegate(p.slice_credential(), owner_key=p.alice.key,
                             owner_chain=p.alice.chain, new_owner_chain=p.bob.chain)
        for ref in ("ref0", "ref1"):
            out = self.run_xmlsec1(text, ref)
            self.assertEqual(out.returncode, 0, f"{ref}: {out.stderr}")

    def test_xmlsec1_rejects_tampering(self):
        text = pki().slice_credential().replace("<name>info</name>", "<name>pi</name>")
        out = self.run_xmlsec1(text, "ref0")
        self.assertNotEqual(out.returncode, 0)

    def test_sha256_signature(self):
        out = self.run_xmlsec1(pki().slice_credential(algorithm="sha256"), "ref0")
        self.assertEqual(out.returncode, 0, out.stderr)


class PoolTests(unittest.TestCase):
    """authorize_in_pool checks credentials off the reactor thread once started."""

    def run_in_pool(self, authorizer):
        p = pki()
        threads = []
        original = authorizer.authorize

        def spy(*args, **kwargs):
            threads.append(threading.current_thread())
            return original(*args, **kwargs)

        authorizer.authorize = spy
        d = defer.Deferred.fromCoroutine(authorizer.authorize_in_pool(
            p.alice.peer_chain, [sfa(p.slice_credential())], p.slice_urn, "Allocate"))
        return d.addCallback(lambda auth: (auth, threads))

    @defer.inlineCallbacks
    def test_started_pool_runs_elsewhere(self):
        authorizer = pki().authorizer()
        authorizer.start(reactor)
        self.addCleanup(authorizer.stop)
        auth, threads = yield self.run_in_pool(authorizer)
        self.assertEqual(auth.caller.urn, pki().alice.urn)
        self.assertIsNot(threads[0], threading.current_thread())

    @defer.inlineCallbacks
    def test_unstarted_runs_in_caller_thread(self):
        auth, threads = yield self.run_in_pool(pki().authorizer())
        self.assertEqual(auth.caller.urn, pki().alice.urn)
        self.assertIs(threads[0], threading.current_thread())

    @defer.inlineCallbacks
    def test_refusal_crosses_back(self):
        authorizer = pki().authorizer()
        authorizer.start(reactor)
        self.addCleanup(authorizer.stop)
        p = pki()
        with self.assertRaises(GeniError) as cm:
            yield defer.Deferred.fromCoroutine(authorizer.authorize_in_pool(
                p.bob.peer_chain, [sfa(p.slice_credential())], p.slice_urn, "Allocate"))
        self.assertEqual(cm.exception.reason, "wrong-owner")
