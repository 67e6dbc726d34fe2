from twisted.trial.unittest import SynchronousTestCase

from gam.auth.urn import (URN, URNError, publicid_to_urn, same_urn, urn_to_publicid,
                          validate_slice_name, validate_user_name)
from gam.errors import GeniCode


class TranscriptionTests(SynchronousTestCase):
    def test_authority_separators(self):
        self.assertEqual(publicid_to_urn("IDN geni//gpo//gcf user alice"),
                         "urn:publicid:IDN+geni:gpo:gcf+user+alice")
        self.assertEqual(urn_to_publicid("urn:publicid:IDN+geni:gpo:gcf+user+alice"),
                         "IDN geni//gpo//gcf user alice")

    def test_double_colon_and_escapes(self):
        self.assertEqual(publicid_to_urn("IDN a::b c+d 50% e/f 'g'?#"),
                         "urn:publicid:IDN+a;b+c%2Bd+50%25+e%2Ff+%27g%27%3F%23")
        self.assertEqual(publicid_to_urn("IDN x:y"), "urn:publicid:IDN+x%3Ay")

    def test_whitespace_collapsed(self):
        self.assertEqual(publicid_to_urn("  IDN   geni \t user\n bob "),
                         "urn:publicid:IDN+geni+user+bob")

    def test_round_trip(self):
        for publicid in ["IDN geni//gpo//gcf slice my-slice", "IDN a::b c+d 50% e/f",
                         "IDN emulab.net node pc1", "IDN x;y 'quoted' what? #1",
                         "IDN ch.geni.net:proj slice s1"]:
            self.assertEqual(urn_to_publicid(publicid_to_urn(publicid)), publicid)

    def test_lowercase_escape_decoded(self):
        self.assertEqual(urn_to_publicid("urn:publicid:IDN+a%2bb"), "IDN a+b")

    def test_not_a_publicid(self):
        self.assertRaises(URNError, urn_to_publicid, "urn:uuid:1234")


class ParseTests(SynchronousTestCase):
    def test_parse_fields(self):
        u = URN.parse("urn:publicid:IDN+geni:gpo:gcf+slice+myslice")
        self.assertEqual((u.authority, u.type, u.name), ("geni:gpo:gcf", "slice", "myslice"))
        self.assertEqual(str(u), "urn:publicid:IDN+geni:gpo:gcf+slice+myslice")
        self.assertEqual(u.hrn, "geni.gpo.gcf.myslice")
        self.assertEqual(str(u.authority_urn), "urn:publicid:IDN+geni:gpo:gcf+authority+sa")

    def test_authority_case_insensitive(self):
        a = URN.parse("urn:publicid:IDN+GENI:GPO:gcf+user+alice")
        b = URN.parse("urn:publicid:idn+geni:gpo:GCF+user+alice")
        self.assertEqual(a, b)
        self.assertEqual(hash(a), hash(b))
        self.assertTrue(same_urn(str(a), str(b)))

    def test_name_case_sensitive(self):
        self.assertNotEqual(URN.parse("urn:publicid:IDN+geni+user+Alice"),
                            URN.parse("urn:publicid:IDN+geni+user+alice"))

    def test_type_normalised(self):
        self.assertEqual(URN.parse("urn:publicid:IDN+geni+SLICE+s").type, "slice")

    def test_sliver_name_with_escapes(self):
        u = URN.parse("urn:publicid:IDN+am.test+sliver+a%2Bb")
        self.assertEqual(u.name, "a+b")
        self.assertEqual(str(u), "urn:publicid:IDN+am.test+sliver+a%2Bb")

    def test_compare_with_string(self):
        u = URN("geni", "user", "bob")
        self.assertEqual(u, "urn:publicid:IDN+GENI+user+bob")
        self.assertNotEqual(u, "not a urn")

    def test_malformed(self):
        for bad in ["", "urn:publicid:IDN", "urn:publicid:IDN+geni+user",
                    "urn:publicid:IDN++user+bob", "urn:uuid:1234",
                    "urn:publicid:IDN+geni+spaceship+x", "urn:publicid:IDN+geni+user+",
                    "urn:publicid:IDN+ge ni+user+bob", "urn:publicid:IDN+geni::x+user+bob"]:
            with self.assertRaises(URNError, msg=bad) as cm:
                URN.parse(bad)
            self.assertEqual(cm.exception.geni_code, GeniCode.BADARGS)
            self.assertTrue(cm.exception.message)

    def test_not_a_string(self):
        self.assertRaises(URNError, URN.parse, 42)

    def test_expect_type(self):
        with self.assertRaises(URNError) as cm:
            URN.parse("urn:publicid:IDN+geni+user+bob", expect_type="slice")
        self.assertIn("slice URN is needed", cm.exception.message)

    def test_immutable(self):
        u = URN("geni", "user", "bob")
        self.assertRaises(AttributeError, setattr, u, "name", "eve")


    def test_canonical_shortcut_agrees_with_the_general_parse(self):
        # Canonical URNs take a one-match shortcut; every field, the text,
        # equality and hashing must be what the general parse gives.
        for text in ["urn:publicid:IDN+geni:gpo:gcf+user+alice",
                     "urn:publicid:IDN+bench.test+slice+s-1",
                     "urn:publicid:IDN+emulab.net+authority+sa",
                     "urn:publicid:IDN+a_b.c-d:e+sliver+0f9a-11",
                     "urn:publicid:IDN+x+node+pc1.example"]:
            fast = URN.parse(text)
            general = URN(fast.authority, fast.type, fast.name)
            self.assertEqual((fast.authority, fast.type, fast.name, str(fast)),
                             (general.authority, general.type, general.name, str(general)))
            self.assertEqual(str(fast), text)
            self.assertEqual(hash(fast), hash(general))
            self.assertEqual(fast, general)
        # Texts outside the shortcut still parse, by the general rules.
        self.assertEqual(str(URN.parse(" urn:publicid:IDN+geni+user+bob ")),
                         "urn:publicid:IDN+geni+user+bob")
        self.assertEqual(str(URN.parse("urn:publicid:IDN+geni+User+bob")),
                         "urn:publicid:IDN+geni+user+bob")
        self.assertEqual(URN.parse("urn:publicid:IDN+geni+interface+pc1:eth0").name, "pc1:eth0")
        self.assertRaises(URNError, URN.parse, "urn:publicid:IDN+geni+gadget+x")

class NamespaceTests(SynchronousTestCase):
    def test_within(self):
        u = URN.parse("urn:publicid:IDN+geni:gpo:gcf+user+alice")
        self.assertTrue(u.is_within("geni"))
        self.assertTrue(u.is_within("GENI:gpo"))
        self.assertTrue(u.is_within("geni:gpo:gcf"))
        self.assertFalse(u.is_within("geni:gp"))
        self.assertFalse(u.is_within("geni:gpo:gcf:sub"))
        self.assertTrue(u.is_within(URN.parse("urn:publicid:IDN+geni:gpo+authority+sa")))


class NameRuleTests(SynchronousTestCase):
    def test_slice_names(self):
        for good in ["a", "my-slice", "0abc", "a" * 19]:
            self.assertEqual(validate_slice_name(good), good)
        for bad in ["", "-abc", "a" * 20, "my_slice", "my slice", None]:
            self.assertRaises(URNError, validate_slice_name, bad)
        self.assertRaises(URNError, URN.slice, "geni", "bad_name")

    def test_user_names(self):
        for good in ["a", "alice", "al_ce9", "abcdefgh"]:
            self.assertEqual(validate_user_name(good), good)
        for bad in ["", "9alice", "abcdefghi", "al-ice", "_x"]:
            self.assertRaises(URNError, validate_user_name, bad)
        self.assertEqual(str(URN.user("geni", "bob")), "urn:publicid:IDN+geni+user+bob")
