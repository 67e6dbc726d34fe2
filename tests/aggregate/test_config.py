"""gam.config: defaults, paths, and errors that name the file and the key."""
import os
from datetime import timedelta

from twisted.trial.unittest import SynchronousTestCase

from gam.cli import main
from gam.config import load_config, parse_config
from gam.errors import ConfigError
from gam.inventory import Inventory

ETC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "etc")


class ConfigTests(SynchronousTestCase):
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.dir, "keys"))
        os.makedirs(os.path.join(self.dir, "trusted_roots"))
        for name in ("keys/am.pem", "keys/am.key"):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write("x")
        self.path = os.path.join(self.dir, "gam.yaml")

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def error(self, text):
        self.write(text)
        with self.assertRaises(ConfigError) as caught:
            load_config(self.path)
        return str(caught.exception)

    def test_defaults(self):
        self.write("")
        config = load_config(self.path)
        self.assertEqual((config.host, config.port, config.rpc_path), ("0.0.0.0", 12346, "/am/3.0"))
        self.assertEqual(config.certificate, os.path.join(self.dir, "keys", "am.pem"))
        self.assertEqual(config.trust_roots, os.path.join(self.dir, "trusted_roots"))
        self.assertEqual(config.database_url,
                         "sqlite:///" + os.path.join(self.dir, "var", "gam.db"))
        self.assertEqual(config.drivers_dir, os.path.join(self.dir, "drivers"))
        self.assertEqual(config.am_urn, "urn:publicid:IDN+gam.localhost+authority+am")
        self.assertEqual(config.limits.allocated_lifetime, timedelta(minutes=10))
        self.assertEqual(config.inventory, Inventory.default())
        self.assertIsNone(config.public_url)
        url = config.url_for_port(4242)
        self.assertTrue(url.startswith("https://") and url.endswith(":4242/am/3.0"), url)

    def test_values_and_units(self):
        self.write("am: {port: 0, public_url: 'https://am.example.net:443/x', "
                   "urn: 'urn:publicid:IDN+example.net+authority+am'}\n"
                   "database: {url: 'postgresql://gam@db/gam'}\n"
                   "limits: {allocated_lifetime: 90s, max_lease: 2h, max_renew: 3d, "
                   "max_request_bytes: 512KB, expiry_interval: 1m}\n")
        config = load_config(self.path)
        self.assertEqual(config.url_for_port(1), "https://am.example.net:443/x")
        self.assertEqual(config.am_authority, "example.net")
        self.assertEqual(config.database_url, "postgresql://gam@db/gam")
        self.assertEqual(config.limits.allocated_lifetime, timedelta(seconds=90))
        self.assertEqual(config.limits.max_lease, timedelta(hours=2))
        self.assertEqual(config.limits.max_renew, timedelta(days=3))
        self.assertEqual(config.limits.max_request_bytes, 512 * 1024)
        self.assertEqual(config.limits.expiry_interval, 60)
        for url in ("https://[2001:db8::1]:12346/am/3.0", "https://am.example.net/am/3.0"):
            self.write(f"am: {{public_url: '{url}'}}\n")
            self.assertEqual(load_config(self.path).url_for_port(1), url)
        for text, size in (("4MB", 4 << 20), ("4MiB", 4 << 20), ("3 GB", 3 << 30),
                           ("2048b", 2048), ("2048", 2048), ("8k", 8192)):
            self.write(f"limits: {{max_request_bytes: '{text}'}}\n")
            self.assertEqual(load_config(self.path).limits.max_request_bytes, size, text)

    def test_errors_name_file_and_key(self):
        cases = {
            "am: {port: 70000}": "am.port: must be an integer from 0 to 65535",
            "am: {port: abc}": "am.port: must be an integer from 0 to 65535",
            "am: {prot: 1}": "am.prot: unknown key",
            "amm: {}": "amm: unknown section",
            "am: {path: rpc}": "am.path: must start with '/'",
            "am: {public_url: 'http://x/am'}": "am.public_url: must be an absolute https URL",
            "am: {public_url: 'https://[x]:1/am'}": "am.public_url: must be an absolute https",
            "am: {urn: 'urn:publicid:IDN+x+user+y'}": "am.urn:",
            "tls: {certificate: missing.pem}": "tls.certificate: the file",
            "tls: {trust_roots: nowhere}": "tls.trust_roots: the directory",
            "database: {url: 'mysql://x'}": "database.url:",
            "limits: {max_lease: forever}": "limits.max_lease: must be a duration",
            "limits: {max_lease: 7d, max_renew: 1d}": "limits.max_renew:",
            "limits: {max_request_bytes: 10}": "limits.max_request_bytes: must be at least",
            "limits: {max_request_bytes: 4ib}": "limits.max_request_bytes: must be a size",
            "limits: {max_lease: .inf}": "limits.max_lease: must be a duration",
            "limits: {max_renew: 99999999999d}": "limits.max_renew: must be at most 3650 days",
            "limits: {expiry_interval: .nan}": "limits.expiry_interval: must be a duration",
            "inventory: {hosts: [{name: a, cores: 0}]}": "inventory.hosts[0].cores",
            "- a list": "must hold a mapping of sections",
            "am: [1": "is not valid YAML",
        }
        for text, expected in cases.items():
            message = self.error(text)
            self.assertTrue(message.startswith(self.path + ": "), message)
            self.assertIn(expected, message)

    def test_missing_file(self):
        with self.assertRaises(ConfigError) as caught:
            load_config(os.path.join(self.dir, "nope.yaml"))
        self.assertIn("nope.yaml: the configuration file does not exist", str(caught.exception))

    def test_shipped_example_is_valid(self):
        # etc/gam.yaml names keys that do not exist in a checkout: only those fail.
        path = os.path.join(ETC, "gam.yaml")
        if not os.path.exists(path):
            self.skipTest("etc/gam.yaml is not in this tree")
        with self.assertRaises(ConfigError) as caught:
            load_config(path)
        self.assertIn("tls.certificate", str(caught.exception))
        import yaml
        with open(path) as f:
            data = yaml.safe_load(f)
        data["tls"] = {"certificate": os.path.join(self.dir, "keys/am.pem"),
                       "key": os.path.join(self.dir, "keys/am.key"),
                       "trust_roots": os.path.join(self.dir, "trusted_roots")}
        config = parse_config(data, path=path, base_dir=ETC)
        self.assertEqual(config.inventory, Inventory.default())
        self.assertEqual(config.limits.max_lease, timedelta(days=7))

    def test_cli_reports_config_errors(self):
        self.write("am: {port: -1}")
        import io
        import sys
        err = io.StringIO()
        old, sys.stderr = sys.stderr, err
        try:
            status = main(["am", "-c", self.path])
        finally:
            sys.stderr = old
        self.assertEqual(status, 2)
        self.assertIn(f"{self.path}: am.port: must be an integer from 0 to 65535",
                      err.getvalue())
