"""Wire conversions and argument decoding, without a server."""
import datetime
import xmlrpc.client

from twisted.trial import unittest

from gam.auth.urn import URN
from gam.errors import BadArgs
from gam.rpc.amapi3 import compress, decode_options, decompress, split_urns
from gam.rpc.envelope import GeniEnvelope, Result
from gam.rpc.wire import NilInResult, UnsendableResult, format_time, parse_time, to_wire
from gam.rpc.xmlrpc import MalformedRequest, loads_request

UTC = datetime.timezone.utc
T = datetime.datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


class TimeTests(unittest.SynchronousTestCase):
    def test_format(self):
        self.assertEqual(format_time(T), "2026-11-21T10:00:00Z")
        self.assertEqual(format_time(T.replace(tzinfo=None)), "2026-11-21T10:00:00Z")
        plus_two = datetime.timezone(datetime.timedelta(hours=2))
        self.assertEqual(format_time(datetime.datetime(2026, 11, 21, 12, tzinfo=plus_two)),
                         "2026-11-21T10:00:00Z")

    def test_parse_forms(self):
        for value in ("2026-11-21T10:00:00Z", "2026-11-21T10:00:00+00:00",
                      "2026-11-21T10:00:00", "2026-11-21T11:00:00+01:00",
                      "2026-11-21T10:00:00.000Z", " 2026-11-21T10:00:00z ",
                      xmlrpc.client.DateTime("20261121T10:00:00"), T):
            when = parse_time(value)
            self.assertEqual(when, T, value)
            self.assertEqual(when.tzinfo, UTC)

    def test_parse_errors_name_the_argument(self):
        for value in ("soon", "", 1700000000, None, ["2026-11-21T10:00:00Z"]):
            e = self.assertRaises(BadArgs, parse_time, value, "expiration_time")
            self.assertIn("expiration_time", str(e))

    def test_round_trip(self):
        self.assertEqual(parse_time(format_time(T)), T)


class ToWireTests(unittest.SynchronousTestCase):
    def test_converts(self):
        value = {"t": T, "u": URN.parse("urn:publicid:IDN+gam.test+slice+s"),
                 "l": (1, True, "x", 1.5), "d": datetime.date(2026, 1, 2)}
        self.assertEqual(to_wire(value), {"t": "2026-11-21T10:00:00Z",
                                          "u": "urn:publicid:IDN+gam.test+slice+s",
                                          "l": [1, True, "x", 1.5], "d": "2026-01-02"})

    def test_none_is_refused_with_its_path(self):
        e = self.assertRaises(NilInResult, to_wire, {"geni_slivers": [{"geni_error": None}]})
        self.assertEqual(e.path, "value['geni_slivers'][0]['geni_error']")

    def test_other_types_are_refused(self):
        self.assertRaises(UnsendableResult, to_wire, {"x": object()})
        self.assertRaises(UnsendableResult, to_wire, {1: "non-string key"})

    def test_result_is_not_modified(self):
        value = {"t": T}
        to_wire(value)
        self.assertEqual(value, {"t": T})


class EnvelopeTests(unittest.SynchronousTestCase):
    def test_success_and_extra(self):
        env = GeniEnvelope().success(Result({"a": 1}, extra={"geni_api": 3}))
        self.assertEqual(env, {"geni_api": 3, "value": {"a": 1}, "output": "",
                               "code": {"geni_code": 0, "am_type": "gam", "am_code": 0}})

    def test_error_always_has_output(self):
        env = GeniEnvelope().error(12, "")
        self.assertEqual(env["value"], "")
        self.assertTrue(env["output"])
        self.assertEqual(env["code"]["geni_code"], 12)


class UrnsTests(unittest.SynchronousTestCase):
    S = "urn:publicid:IDN+gam.test+slice+s"
    V = "urn:publicid:IDN+gam.test+sliver+1"

    def test_forms(self):
        self.assertEqual(split_urns([self.S]), (URN.parse(self.S), []))
        self.assertEqual(split_urns(self.S), (URN.parse(self.S), []))
        self.assertEqual(split_urns([self.V, self.V]), (None, [URN.parse(self.V)]))
        # Authorities compare case-insensitively: one slice, named twice.
        self.assertEqual(split_urns([self.S, self.S.replace("gam.test", "GAM.test")])[0],
                         URN.parse(self.S))

    def test_errors(self):
        for urns in ([], None, {}, [self.S, "urn:publicid:IDN+gam.test+slice+t"],
                     ["urn:publicid:IDN+gam.test+user+alice"], [42], ["not a urn"]):
            self.assertRaises(BadArgs, split_urns, urns)


class OptionsTests(unittest.SynchronousTestCase):
    def test_times_are_parsed_and_input_untouched(self):
        raw = {"geni_end_time": "2026-11-21T10:00:00Z", "geni_best_effort": False}
        options = decode_options(raw)
        self.assertEqual(options["geni_end_time"], T)
        self.assertEqual(raw["geni_end_time"], "2026-11-21T10:00:00Z")
        self.assertEqual(decode_options(None), {})
        self.assertRaises(BadArgs, decode_options, "x")
        self.assertRaises(BadArgs, decode_options, {"geni_start_time": "later"})

    def test_compression_round_trip(self):
        text = "<rspec>é</rspec>" * 100
        self.assertEqual(decompress(compress(text)), text)
        self.assertLess(len(compress(text)), len(text))


class LoadsTests(unittest.SynchronousTestCase):
    def test_request(self):
        body = xmlrpc.client.dumps(([1, "a"], {"k": xmlrpc.client.Binary(b"\x00")}), "M")
        params, method = loads_request(body.encode("utf-8"))
        self.assertEqual(method, "M")
        self.assertEqual(params[0], [1, "a"])
        self.assertEqual(params[1]["k"].data, b"\x00")

    def test_refusals(self):
        for body in (b"", b"<methodResponse><params/></methodResponse>", b"<a>",
                     b"<!DOCTYPE x SYSTEM 'http://example.net/x.dtd'><methodCall/>"):
            self.assertRaises(MalformedRequest, loads_request, body)
