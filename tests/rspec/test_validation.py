"""The bundled schemas: present, loaded offline, lax for extensions."""
import ast
import fnmatch
import os
import threading

from twisted.trial import unittest

from gam.rspec import validation

from tests.rspec import support


class BundleTests(unittest.SynchronousTestCase):
    def test_schemas_are_bundled(self):
        for name in ("request.xsd", "request-common.xsd", "manifest.xsd",
                     "manifest-request.xsd", "manifest-common.xsd", "ad.xsd",
                     "ad-common.xsd", "any-extension-schema.xsd",
                     os.path.join("ext", "emulab", "1", "top_extension.xsd"),
                     os.path.join("ext", "delay", "1", "request.xsd")):
            self.assertTrue(os.path.isfile(os.path.join(validation.SCHEMA_DIR, name)), name)

    def test_setup_ships_every_schema(self):
        """setup.py's package_data globs for gam.rspec cover every bundled .xsd."""
        setup_py = os.path.join(os.path.dirname(validation.SCHEMA_DIR), os.pardir, os.pardir,
                                "setup.py")
        if not os.path.exists(setup_py):
            raise unittest.SkipTest("not running from a source checkout")
        with open(setup_py, encoding="utf-8") as f:
            module = ast.parse(f.read())
        globs = None
        for node in ast.walk(module):
            if isinstance(node, ast.keyword) and node.arg == "package_data":
                globs = ast.literal_eval(node.value)["gam.rspec"]
        self.assertIsNotNone(globs)
        package = os.path.dirname(validation.SCHEMA_DIR)
        for folder, _, files in os.walk(validation.SCHEMA_DIR):
            for name in files:
                if name.endswith(".xsd"):
                    rel = os.path.relpath(os.path.join(folder, name), package)
                    rel = rel.replace(os.sep, "/")
                    matched = [g for g in globs if fnmatch.fnmatchcase(rel, g)
                               and rel.count("/") == g.count("/")]
                    self.assertTrue(matched, "%s is not shipped by setup.py" % rel)

    def test_every_kind_compiles(self):
        for kind in ("request", "manifest", "advertisement"):
            self.assertIsNotNone(validation.load_schema(kind))
        self.assertRaises(ValueError, validation.load_schema, "credential")

    def test_references_resolve_only_inside_the_bundle(self):
        local = validation._local_path
        request_xsd = os.path.realpath(os.path.join(validation.SCHEMA_DIR, "request.xsd"))
        self.assertEqual(local("http://www.geni.net/resources/rspec/3/request.xsd"),
                         request_xsd)
        self.assertEqual(local(request_xsd), request_xsd)
        self.assertEqual(local("file://" + request_xsd), request_xsd)
        self.assertIsNone(local("http://www.w3.org/2001/xml.xsd"))
        self.assertIsNone(local("https://example.org/request.xsd"))
        self.assertIsNone(local("/etc/passwd"))
        self.assertIsNone(local(os.path.join(validation.SCHEMA_DIR, "..", "request.py")))
        self.assertIsNone(local("http://www.geni.net/resources/rspec/3/../../evil.xsd"))

    def test_cache_is_per_thread(self):
        here = validation.load_schema("request")
        self.assertIs(validation.load_schema("request"), here)
        seen = []
        thread = threading.Thread(target=lambda: seen.append(validation.load_schema("request")))
        thread.start()
        thread.join()
        self.assertIsNot(seen[0], here)


class LaxExtensionTests(unittest.SynchronousTestCase):
    def test_known_extension_namespace_is_not_checked_against_old_schema(self):
        # emulab:vnode@hardware_type postdates the bundled 2011 emulab schema;
        # extensions are lax, so the core manifest schema lets it through.
        document = (
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="manifest" '
            'xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1">'
            '<node client_id="a"><emulab:vnode name="pc1" hardware_type="d430" '
            'invented="yes"/></node></rspec>')
        self.assertEqual(validation.validate_document(document, "manifest"), [])

    def test_core_errors_still_found(self):
        errors = validation.validate_document(
            support.read("manifest", "geni-pisces_emulab-manifest.xml"), "manifest")
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0].startswith("line 14: "))
        self.assertIn("ipv4", errors[0])

    def test_good_examples_validate(self):
        self.assertEqual(validation.validate_document(
            support.read("manifest", "geni-tools_amapi2-manifest.xml"), "manifest"), [])
        self.assertEqual(validation.validate_document(
            support.read("ad", "geni-tools_amapi2-ad.xml"), "advertisement"), [])
