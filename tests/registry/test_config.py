"""The registry's YAML configuration."""
import datetime
import os

from twisted.trial.unittest import SynchronousTestCase

from gam.errors import ConfigError
from gam.registry.config import load_settings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ConfigTests(SynchronousTestCase):

    def write(self, text):
        path = os.path.abspath(self.mktemp())
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults(self):
        path = self.write("registry: {}\n")
        settings = load_settings(path)
        self.assertEqual(settings.authority, "gam")
        self.assertEqual(settings.port, 12345)
        self.assertEqual(settings.slice_max_lifetime, datetime.timedelta(days=60))
        self.assertTrue(settings.database_url.startswith("sqlite:///"))

    def test_values_and_relative_paths(self):
        path = self.write("registry:\n  authority: example:gam\n  state_dir: state\n"
                          "  listen: {port: 8443, path: /sa}\n"
                          "  slices: {default_lifetime_days: 0.5, max_lifetime_days: 14}\n")
        settings = load_settings(path)
        self.assertEqual(settings.authority, "example:gam")
        self.assertEqual(settings.state_dir, os.path.join(os.path.dirname(path), "state"))
        self.assertEqual((settings.port, settings.path), (8443, "/sa"))
        self.assertEqual(settings.slice_default_lifetime, datetime.timedelta(hours=12))

    def test_errors_name_file_and_key(self):
        cases = [
            ("registry:\n  authority: gam.example\n", "registry.authority", "'.' is not allowed"),
            ("registry:\n  listen: {port: http}\n", "registry.listen.port", "whole number"),
            ("registry:\n  lisen: {}\n", "registry.lisen", "unknown setting"),
            ("registry:\n  slices: {max_lifetime_days: .inf}\n",
             "registry.slices.max_lifetime_days", "at most 36500"),
            ("registry:\n  certificates: {user_lifetime_days: .nan}\n",
             "registry.certificates.user_lifetime_days", "positive number of days"),
            ("registry:\n  slices: {max_lifetime_days: -1}\n", "registry.slices.max_lifetime_days",
             "positive"),
            ("registry:\n  slices: {default_lifetime_days: 9, max_lifetime_days: 3}\n",
             "registry.slices.default_lifetime_days", "longer"),
            ("other: 1\n", "", "no 'registry' section"),
            ("registry: [\n", "", "not valid YAML"),
        ]
        for text, key, words in cases:
            path = self.write(text)
            with self.assertRaises(ConfigError) as e:
                load_settings(path)
            self.assertIn(path, str(e.exception))
            self.assertIn(key, str(e.exception))
            self.assertIn(words, str(e.exception))

    def test_missing_file(self):
        with self.assertRaises(ConfigError) as e:
            load_settings("/nonexistent/registry.yaml")
        self.assertIn("does not exist", str(e.exception))

    def test_shipped_example_is_valid(self):
        settings = load_settings(os.path.join(REPO, "etc", "registry.yaml"))
        self.assertEqual(settings.path, "/registry")
