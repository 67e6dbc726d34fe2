"""Record dictionaries in and out."""
import datetime
import xmlrpc.client

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twisted.trial.unittest import SynchronousTestCase

from gam.auth.gid import generate_key
from gam.auth.urn import URN
from gam.errors import BadArgs
from gam.registry.records import Record
from gam.registry.sfarecord import (parse_expires, parse_public_key, parse_ssh_keys,
                                    record_to_sfa, sfa_to_spec)

UTC = datetime.timezone.utc
T = datetime.datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x@y"


class SpecTests(SynchronousTestCase):

    def test_omni_slice_record(self):
        spec = sfa_to_spec({"peer_authority": "", "description": "a slice", "url": "http://x",
                            "expires": "%d" % T.timestamp(), "authority": "gam.lab",
                            "researcher": ["gam.lab.alice"], "hrn": "gam.lab.exp1",
                            "PI": ["gam.lab.alice"], "type": "slice", "name": "gam.lab.exp1"})
        self.assertEqual(spec.urn, URN("gam:lab", "slice", "exp1"))
        self.assertEqual(spec.expires, T)
        self.assertEqual(spec.researchers, (URN("gam:lab", "user", "alice"),))
        self.assertIsNone(spec.pis)

    def test_expires_forms(self):
        for value in (int(T.timestamp()), float(T.timestamp()), "%d" % T.timestamp(),
                      "2030-05-01T12:00:00Z", "2030-05-01T14:00:00+02:00", "2030-05-01T12:00:00",
                      xmlrpc.client.DateTime("20300501T12:00:00")):
            self.assertEqual(parse_expires(value), T, value)
        for bad in ("tomorrow", True, [1]):
            self.assertRaises(BadArgs, parse_expires, bad)

    def test_user_fields(self):
        key = generate_key()
        pem = key.public_key().public_bytes(Encoding.PEM,
                                            PublicFormat.SubjectPublicKeyInfo).decode()
        spec = sfa_to_spec({"type": "user", "urn": "urn:publicid:IDN+gam+user+bob",
                            "email": "bob@example.net", "reg-keys": ED, "public_key": pem})
        self.assertEqual(spec.ssh_keys, (ED,))
        self.assertEqual(spec.public_key.public_numbers(), key.public_key().public_numbers())
        self.assertRaises(BadArgs, sfa_to_spec, {"type": "user", "hrn": "gam.bob",
                                                 "email": "not-an-address"})

    def test_hrn_and_urn_must_agree(self):
        self.assertRaises(BadArgs, sfa_to_spec, {"type": "user", "hrn": "gam.bob",
                                                 "urn": "urn:publicid:IDN+gam+user+carl"})

    def test_type_needed_when_ambiguous(self):
        with self.assertRaises(BadArgs) as e:
            sfa_to_spec({"hrn": "gam.bob"})
        self.assertIn("no 'type'", e.exception.message)

    def test_keys(self):
        self.assertEqual(parse_ssh_keys([ED, "  " + ED + "  "]), (ED,))
        self.assertRaises(BadArgs, parse_ssh_keys, ["ssh-rsa garbage"])
        self.assertRaises(BadArgs, parse_public_key, "-----BEGIN PUBLIC KEY-----\nxx\n")


class OutTests(SynchronousTestCase):

    def test_slice_dict_has_no_nil(self):
        record = Record(id=1, urn=URN("gam:lab", "slice", "exp1"), type="slice",
                        parent="gam:lab", gid="PEM", uuid="u", email=None, ssh_keys=(),
                        expires=T, created=T, updated=T,
                        researchers=(URN("gam:lab", "user", "alice"),))
        out = record_to_sfa(record)
        self.assertEqual(out["hrn"], "gam.lab.exp1")
        self.assertEqual(out["authority"], "gam.lab")
        self.assertEqual(out["expires"], "2030-05-01T12:00:00Z")
        self.assertEqual(out["reg-researchers"], ["gam.lab.alice"])
        self.assertNotIn(None, out.values())
        xmlrpc.client.dumps((out,), allow_none=False)
