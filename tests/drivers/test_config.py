"""Driver configuration: loading, defaults, errors naming file and key."""
import os

from twisted.internet import task
from twisted.trial import unittest

from gam.drivers.config import DEFAULT_TIMEOUTS, load_config, parse_config
from gam.drivers.fake import FakeHandler
from gam.drivers.manager import Drivers
from gam.drivers.netns import NetnsLinkHandler, NetnsNodeHandler
from gam.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = "gam.drivers.fake.FakeHandler"


def one(**handler):
    return {"handlers": {"h": {"class": FAKE, "resource_types": ["namespace"], **handler}}}


class ParseTests(unittest.TestCase):

    def assertConfigError(self, doc, key, text, path="drivers.yaml"):
        with self.assertRaises(ConfigError) as e:
            parse_config(doc, path)
        self.assertEqual(e.exception.key, key)
        self.assertIn(text, str(e.exception))
        self.assertTrue(str(e.exception).startswith(f"{path}: {key}: "), str(e.exception))

    def test_defaults(self):
        cfg = parse_config(one())
        (spec,) = cfg.handlers
        self.assertIs(spec.cls, FakeHandler)
        self.assertEqual(spec.timeouts, dict(DEFAULT_TIMEOUTS))
        self.assertEqual((spec.retries, spec.retry_delay, spec.pool_size), (0, 0, None))
        self.assertIsNone(cfg.pool_size)
        self.assertIs(cfg.spec_for("namespace"), spec)
        self.assertIsNone(cfg.spec_for("link"))

    def test_timeout_for_all_and_per_operation(self):
        (spec,) = parse_config(one(timeout=7, timeouts={"create": 70})).handlers
        self.assertEqual(spec.timeouts, {"create": 70, "delete": 7, "poll": 7, "perform": 7,
                                         "clean_restart": 7})

    def test_errors_name_the_key(self):
        cases = [
            ({"handlers": {"h": {"resource_types": ["x"]}}}, "handlers.h.class", "either class"),
            (one(**{"class": "no.such.Module"}), "handlers.h.class", "cannot import no.such"),
            (one(**{"class": "gam.drivers.fake.Nothing"}), "handlers.h.class", "has no Nothing"),
            (one(**{"class": "gam.errors.GeniError"}), "handlers.h.class", "not a subclass"),
            (one(**{"class": "notdotted"}), "handlers.h.class", "dotted path"),
            (one(driver="warp"), "handlers.h.class", "not both"),
            ({"handlers": {"h": {"driver": "warp", "resource_types": ["x"]}}},
             "handlers.h.driver", "unknown driver 'warp'"),
            (one(resource_types=[]), "handlers.h.resource_types", "non-empty list"),
            (one(resource_types=["a", "a"]), "handlers.h.resource_types", "twice"),
            (one(timeouts={"create": -1}), "handlers.h.timeouts.create", "must be a number"),
            (one(timeouts={"create": float("nan")}), "handlers.h.timeouts.create",
             "must be a number"),
            (one(timeout=float("inf")), "handlers.h.timeout", "must be a number"),
            (one(timeouts={"boot": 1}), "handlers.h.timeouts", "unknown key(s) boot"),
            (one(retries=-1), "handlers.h.retries", "integer >= 0"),
            (one(retries=1.5), "handlers.h.retries", "integer >= 0"),
            (one(pool_size=0), "handlers.h.pool_size", "integer >= 1"),
            ({"pool_size": "many", "handlers": {}}, "pool_size", "integer >= 1"),
            ({"handlers": [1]}, "handlers", "must be a mapping"),
            ({"handler": {}}, None, "unknown key(s) handler"),
        ]
        for doc, key, text in cases:
            with self.subTest(key=key, text=text):
                with self.assertRaises(ConfigError) as e:
                    parse_config(doc, "drivers.yaml")
                self.assertEqual(e.exception.key, key, str(e.exception))
                self.assertIn(text, str(e.exception))
                self.assertIn("drivers.yaml", str(e.exception))

    def test_anchor_holders_allowed(self):
        cfg = parse_config({"x-common": {"retries": 2}, **one()})
        self.assertEqual(len(cfg.handlers), 1)

    def test_a_type_served_twice_names_both(self):
        doc = {"handlers": {"a": {"class": FAKE, "resource_types": ["namespace"]},
                            "b": {"class": FAKE, "resource_types": ["vm", "namespace"]}}}
        self.assertConfigError(doc, "handlers.b.resource_types", "already served by "
                               "drivers.yaml: handlers.a")

    def test_files_and_folders(self):
        folder = self.mktemp()
        os.makedirs(folder)
        with open(os.path.join(folder, "a.yaml"), "w") as f:
            f.write(f"pool_size: 4\nhandlers:\n  a: {{class: {FAKE}, resource_types: [vm]}}\n")
        with open(os.path.join(folder, "b.yml"), "w") as f:
            f.write(f"handlers:\n  b: {{class: {FAKE}, kind: link, resource_types: [link]}}\n")
        cfg = load_config(folder)
        self.assertEqual([s.name for s in cfg.handlers], ["a", "b"])
        self.assertEqual(cfg.pool_size, 4)
        with open(os.path.join(folder, "c.yaml"), "w") as f:
            f.write(f"handlers:\n  a: {{class: {FAKE}, resource_types: [pc]}}\n")
        with self.assertRaises(ConfigError) as e:
            load_config(folder)
        self.assertIn("also defined at", str(e.exception))
        self.assertIn("c.yaml", str(e.exception))

    def test_disabled_file_is_skipped(self):
        folder = self.mktemp()
        os.makedirs(folder)
        with open(os.path.join(folder, "a.yaml"), "w") as f:
            f.write(f"handlers:\n  a: {{class: {FAKE}, kind: link, resource_types: [link]}}\n")
        with open(os.path.join(folder, "b.yaml"), "w") as f:
            f.write("enabled: false\nhandlers:\n  b: {class: no.such.Class, "
                    "resource_types: [link]}\n")
        cfg = load_config(folder)
        self.assertEqual([s.name for s in cfg.handlers], ["a"])
        with open(os.path.join(folder, "b.yaml"), "w") as f:
            f.write("enabled: maybe\n")
        with self.assertRaises(ConfigError) as e:
            load_config(folder)
        self.assertIn("b.yaml: enabled: must be true or false", str(e.exception))

    def test_unreadable_and_invalid_files(self):
        with self.assertRaises(ConfigError) as e:
            load_config("/nonexistent/drivers.yaml")
        self.assertIn("/nonexistent/drivers.yaml: cannot read it", str(e.exception))
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("handlers: [unclosed\n")
        self.assertRaises(ConfigError, load_config, path)

    def test_shipped_default(self):
        cfg = load_config(os.path.join(REPO, "etc", "drivers", "netns.yaml"))
        drivers = Drivers(cfg, clock=task.Clock())
        self.assertIsInstance(drivers.handler_for("namespace"), NetnsNodeHandler)
        self.assertIsInstance(drivers.handler_for("link"), NetnsLinkHandler)
        node = drivers.handler_for("namespace")
        self.assertEqual(node.settings.names.prefix, "gam")
        self.assertEqual(node.settings.ports, (30000, 39999))
        self.assertEqual(node.settings.timeouts["create"], 120)

    def test_handler_kind_must_fit_the_type(self):
        cfg = parse_config({"handlers": {"h": {"class": FAKE, "resource_types": ["link"]}}},
                           "d.yaml")
        with self.assertRaises(ConfigError) as e:
            Drivers(cfg, clock=task.Clock())
        self.assertIn("d.yaml: handlers.h.resource_types", str(e.exception))


class NetnsSettingsTests(unittest.TestCase):

    def build(self, **own):
        doc = {"handlers": {"n": {"class": "gam.drivers.netns.NetnsNodeHandler",
                                  "resource_types": ["namespace"], **own}}}
        return Drivers(parse_config(doc, "n.yaml"), clock=task.Clock())

    def test_own_keys_checked(self):
        cases = [({"prefix": "Gam-1"}, "handlers.n.prefix"),
                 ({"prefix": "toolong"}, "handlers.n.prefix"),
                 ({"login": {"bind": "here"}}, "handlers.n.login.bind"),
                 ({"login": {"ports": "9-1"}}, "handlers.n.login.ports"),
                 ({"login": {"port": 22}}, "handlers.n.login"),
                 ({"sshd": "sshd"}, "handlers.n.sshd"),
                 ({"group": "Geni Users"}, "handlers.n.group"),
                 ({"uid_base": 10}, "handlers.n.uid_base"),
                 ({"colour": "red"}, "handlers.n")]
        for own, key in cases:
            with self.subTest(own=own):
                with self.assertRaises(ConfigError) as e:
                    self.build(**own)
                self.assertEqual(e.exception.key, key, str(e.exception))
                self.assertIn("n.yaml", str(e.exception))

    def test_values(self):
        node = self.build(prefix="x1", login={"bind": "127.0.0.1", "ports": "0",
                                              "hostname": "am.example"}).handler_for("namespace")
        s = node.settings
        self.assertEqual((s.ports, s.bind, s.hostname), ((0, 0), "127.0.0.1", "am.example"))
        self.assertEqual(s.connect_address(), "127.0.0.1")
        self.assertEqual(s.names.netns("urn:x")[:3], "x1n")
