"""HRNs, xrns and record keys."""
from twisted.trial.unittest import SynchronousTestCase

from gam.auth.urn import URN
from gam.errors import BadArgs
from gam.registry import hrn


class HRNTests(SynchronousTestCase):

    def test_candidates_of_an_hrn(self):
        self.assertEqual(hrn.candidates("gam.lab.alice"), [
            URN("gam:lab:alice", "authority", "sa"), URN("gam:lab", "user", "alice"),
            URN("gam:lab", "slice", "alice"), URN("gam:lab", "node", "alice")])

    def test_type_narrows(self):
        self.assertEqual(hrn.candidates("gam.lab.my-slice", "slice"),
                         [URN("gam:lab", "slice", "my-slice")])
        self.assertEqual(hrn.candidates("gam", None), [URN("gam", "authority", "sa")])

    def test_names_that_fit_no_type(self):
        with self.assertRaises(BadArgs) as e:
            hrn.candidates("gam.toolongusername", "user")
        self.assertIn("user names have 1-8", e.exception.message)
        for bad in ("", "gam..alice", ".gam", "gam.", "gam.b@d"):
            self.assertRaises(BadArgs, hrn.candidates, bad)

    def test_urn_stands_for_itself(self):
        urn = "urn:publicid:IDN+gam:lab+slice+exp1"
        self.assertEqual(hrn.candidates(urn), [URN.parse(urn)])
        self.assertEqual(hrn.candidates(urn, "slice"), [URN.parse(urn)])
        with self.assertRaises(BadArgs):
            hrn.candidates(urn, "user")
        with self.assertRaises(BadArgs):
            hrn.candidates("urn:publicid:IDN+gam+sliver+x")

    def test_hrn_round_trip(self):
        for urn in (URN("gam:lab", "user", "alice"), URN("gam:lab", "authority", "sa"),
                    URN("gam", "slice", "s-1")):
            self.assertIn(urn, hrn.candidates(hrn.hrn_of(urn), urn.type))

    def test_escaped_dots(self):
        self.assertEqual(hrn.split_hrn(r"a\.b.c"), ["a.b", "c"])
        self.assertEqual(hrn.hrn_of(URN("a.b", "user", "c")), r"a\.b.c")

    def test_record_key_folds_authority_case(self):
        self.assertEqual(hrn.record_key("urn:publicid:IDN+GAM:Lab+user+alice"),
                         hrn.record_key("urn:publicid:IDN+gam:lab+user+alice"))
        self.assertNotEqual(hrn.record_key("urn:publicid:IDN+gam+user+Alice"),
                            hrn.record_key("urn:publicid:IDN+gam+user+alice"))
        self.assertEqual(hrn.record_key("urn:publicid:IDN+gam:lab+authority+ma"),
                         hrn.record_key("urn:publicid:IDN+gam:lab+authority+sa"))

    def test_parent_namespace(self):
        self.assertEqual(hrn.parent_namespace("urn:publicid:IDN+Gam:Lab+user+x"), "gam:lab")
        self.assertEqual(hrn.parent_namespace("urn:publicid:IDN+gam:lab+authority+sa"), "gam")
        self.assertEqual(hrn.parent_namespace("urn:publicid:IDN+gam+authority+sa"), "")

    def test_types(self):
        self.assertEqual(hrn.normalise_type("authority+sa"), "authority")
        self.assertEqual(hrn.normalise_type("SLICE"), "slice")
        self.assertIsNone(hrn.normalise_type(""))
        self.assertRaises(BadArgs, hrn.normalise_type, "sliver")
