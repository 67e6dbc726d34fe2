"""Hostile, oversized, malformed and wrong-version documents are refused clearly."""
import os
import tempfile

from twisted.trial import unittest

from gam.errors import BadArgs
from gam.rspec.request import parse_request

from tests.rspec import support

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rspec [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">
  <node client_id="&lol9;"/>
</rspec>
"""


class EntityAttackTests(unittest.SynchronousTestCase):
    def setUp(self):
        fd, self.secret = tempfile.mkstemp()
        os.write(fd, b"TOP-SECRET-CONTENT")
        os.close(fd)
        self.addCleanup(os.unlink, self.secret)

    def assertRefusedDoctype(self, document):
        exc = self.assertRaises(BadArgs, parse_request, document)
        self.assertEqual(exc.reason, "doctype")
        self.assertIn("DOCTYPE", exc.message)
        self.assertNotIn("TOP-SECRET", exc.message)
        return exc

    def test_billion_laughs(self):
        self.assertRefusedDoctype(BILLION_LAUGHS)
        self.assertRefusedDoctype(BILLION_LAUGHS.encode("utf-8"))

    def test_xxe_general_entity(self):
        self.assertRefusedDoctype(
            '<!DOCTYPE rspec [<!ENTITY x SYSTEM "file://%s">]>\n'
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">'
            '<node client_id="&x;"/></rspec>' % self.secret)

    def test_xxe_parameter_entity(self):
        self.assertRefusedDoctype(
            '<!DOCTYPE rspec [<!ENTITY %% p SYSTEM "file://%s"> %%p;]>\n'
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request"/>'
            % self.secret)

    def test_external_dtd(self):
        self.assertRefusedDoctype(
            '<?xml version="1.0"?>\n<!-- a comment first -->\n'
            '<!DOCTYPE rspec SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request"/>')

    def test_doctype_after_long_prolog_still_refused(self):
        # Past the quick prolog scan, the parsed document's DOCTYPE is still seen.
        prolog = "<!--%s-->\n" % ("x" * 70000)
        self.assertRefusedDoctype(
            prolog + '<!DOCTYPE rspec [<!ENTITY a "b">]>\n'
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request"/>')

    def test_undeclared_entity(self):
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(
            '<node client_id="&x;"/>'))
        self.assertEqual(exc.reason, "malformed-xml")
        self.assertIn("line 3", exc.message)


class SizeTests(unittest.SynchronousTestCase):
    def test_oversize_refused_before_parsing(self):
        # Not even well-formed: the size check comes first.
        document = b"<" * 2_000_001
        exc = self.assertRaises(BadArgs, parse_request, document)
        self.assertEqual(exc.reason, "too-big")
        self.assertIn("2000001 bytes", exc.message)
        self.assertIn("2000000", exc.message)

    def test_custom_limit(self):
        document = support.read("request", "geni-lib3_scaleup_single-lan10.xml")
        exc = self.assertRaises(BadArgs, parse_request, document, max_bytes=1000)
        self.assertEqual(exc.reason, "too-big")
        self.assertEqual(len(parse_request(document, max_bytes=len(document)).nodes), 10)

    def test_str_limit_counts_utf8_bytes(self):
        body = '<node client_id="n"><services><execute shell="sh" command="%s"/>' \
               '</services></node>' % ("é" * 600)
        document = support.request_doc(body)
        self.assertLess(len(document), 1000)
        exc = self.assertRaises(BadArgs, parse_request, document, max_bytes=1000)
        self.assertEqual(exc.reason, "too-big")

    def test_empty_and_wrong_type(self):
        self.assertIn("empty", self.assertRaises(BadArgs, parse_request, "  ").message)
        exc = self.assertRaises(BadArgs, parse_request, 42)
        self.assertIn("not int", exc.message)


class FormTests(unittest.SynchronousTestCase):
    def test_str_with_encoding_declaration(self):
        # XML-RPC hands us text; its declaration's encoding no longer applies.
        document = support.read("request", "orca5_exogeni_two-node-unc.xml").decode("utf-8")
        self.assertTrue(document.startswith('<?xml version="1.0" encoding="UTF-8"?>'))
        r = parse_request(document)
        self.assertEqual(len(r.nodes), 2)
        self.assertEqual(r.source, document)

    def test_latin1_bytes(self):
        document = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                    '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request">'
                    '<node client_id="caf\xe9"/></rspec>').encode("latin-1")
        r = parse_request(document)
        self.assertEqual(r.nodes[0].client_id, "caf\xe9")
        self.assertIn("caf\xe9", r.source)

    def test_not_well_formed_names_the_line(self):
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(
            '<node client_id="a">\n<sliver_type name="x">\n</node>'))
        self.assertEqual(exc.reason, "malformed-xml")
        self.assertIn("line 5", exc.message)

    def test_refusal_leaves_the_parser_usable(self):
        # One parser per thread serves every document: a refused one (broken
        # XML, a DOCTYPE) must not spoil the next.
        from gam import safexml
        for bad in ("<rspec><unclosed></rspec>", BILLION_LAUGHS):
            self.assertRaises(BadArgs, safexml.parse_untrusted, bad)
            root = safexml.parse_untrusted("<a><b>ok</b></a>").getroot()
            self.assertEqual(root.findtext("b"), "ok")

    def test_missing_type_means_request(self):
        r = parse_request('<rspec xmlns="http://www.geni.net/resources/rspec/3">'
                          '<node client_id="a"/></rspec>')
        self.assertEqual([n.client_id for n in r.nodes], ["a"])

    def test_manifest_refused(self):
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(
            "", root_attrs="").replace('type="request"', 'type="manifest"'))
        self.assertEqual(exc.reason, "not-a-request")
        self.assertIn("a manifest", exc.message)

    def test_advertisement_refused(self):
        document = support.read("ad", "geni-tools_amapi2-ad.xml")
        exc = self.assertRaises(BadArgs, parse_request, document)
        self.assertIn("an advertisement", exc.message)


class VersionTests(unittest.SynchronousTestCase):
    def test_rspec_v2_refused(self):
        # Decision: ProtoGENI RSpec v2 is refused, not mapped. Justification: gam
        # advertises only GENI v3 (GetVersion), v2 elements differ in meaning
        # (e.g. node@virtualization_type, link_type placement), and a silent
        # mapping could misread a request instead of telling the client.
        document = ('<rspec xmlns="http://www.protogeni.net/resources/rspec/2" '
                    'type="request"><node client_id="a" virtualization_type="emulab-vnode"/>'
                    '</rspec>')
        exc = self.assertRaises(BadArgs, parse_request, document)
        self.assertEqual(exc.reason, "rspec-version")
        self.assertIn("ProtoGENI RSpec v2", exc.message)
        self.assertIn("http://www.geni.net/resources/rspec/3", exc.message)

    def test_no_namespace_refused(self):
        exc = self.assertRaises(BadArgs, parse_request,
                                '<rspec type="request"><node client_id="a"/></rspec>')
        self.assertIn("with no namespace", exc.message)

    def test_other_root_refused(self):
        exc = self.assertRaises(BadArgs, parse_request,
                                '<signed-credential><credential/></signed-credential>')
        self.assertIn("<signed-credential>", exc.message)
        self.assertIn("line 1", exc.message)

    def test_misspelt_namespace_with_prefix(self):
        document = ('<r:rspec xmlns:r=\'http://www.geni.net/resource/rspec/3\' type="request">'
                    '<r:node client_id="a"><r:sliver_type name="default-vm"/></r:node>'
                    '</r:rspec>')
        r = parse_request(document)
        self.assertEqual(r.nodes[0].sliver_type, "default-vm")
        self.assertIn("http://www.geni.net/resources/rspec/3", r.nodes[0].xml)


class SchemaErrorTests(unittest.SynchronousTestCase):
    def test_missing_client_id_names_line(self):
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(
            '<node client_id="a"/>\n<node/>'))
        self.assertEqual(exc.reason, "schema")
        self.assertIn("line 4", exc.message)
        self.assertIn("client_id", exc.message)
        self.assertIn("request schema", exc.message)
        self.assertNotIn("{http://www.geni.net/resources/rspec/3}", exc.message)

    def test_bad_boolean(self):
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(
            '<node client_id="a" exclusive="yes"/>'))
        self.assertIn("line 3", exc.message)
        self.assertIn("exclusive", exc.message)

    def test_unknown_core_element(self):
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(
            '<node client_id="a"><colour name="red"/></node>'))
        self.assertIn("colour", exc.message)

    def test_many_errors_are_capped(self):
        body = "\n".join("<node/>" for _ in range(8))
        exc = self.assertRaises(BadArgs, parse_request, support.request_doc(body))
        self.assertIn("(and 3 more)", exc.message)

    def test_unqualified_extension_is_refused(self):
        # xs:any namespace="##other" admits other namespaces, not no namespace.
        document = ('<rspec xmlns:g="http://www.geni.net/resources/rspec/3" type="request" '
                    'xmlns:g2="http://www.geni.net/resources/rspec/3">'
                    '<g:node client_id="a"><stray/></g:node></rspec>')
        exc = self.assertRaises(BadArgs, parse_request, document)
        self.assertEqual(exc.reason, "rspec-version")  # root itself has no namespace
        document = ('<g:rspec xmlns:g="http://www.geni.net/resources/rspec/3" type="request">'
                    '<g:node client_id="a"><stray/></g:node></g:rspec>')
        exc = self.assertRaises(BadArgs, parse_request, document)
        self.assertEqual(exc.reason, "schema")
        self.assertIn("stray", exc.message)
