"""The quickstart's pieces that need no root: its configuration files, the
printed summary, the omni_config nickname, the pid file and the command line."""
import datetime
import os

from twisted.trial import unittest

from gam.cli import build_parser
from gam.config import load_config
from gam.drivers.config import load_config as load_drivers_config
from gam.drivers.manager import Drivers
from gam.quickstart import pidfile
from gam.quickstart.clientfiles import add_nickname
from gam.quickstart.configs import Options, write_configs
from gam.quickstart.summary import parse, render
from gam.registry.config import load_settings

UTC = datetime.timezone.utc


class ConfigTests(unittest.SynchronousTestCase):

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        self.options = Options(directory=self.directory, am_port=0, registry_port=4444,
                               authority="qs", prefix="qz")
        self.options.layout.prepare()

    def test_the_files_are_ordinary_gam_configuration(self):
        registry, am, drivers = write_configs(self.options)
        self.assertEqual(drivers, os.path.join(self.options.layout.drivers_dir, "netns.yaml"))
        layout = self.options.layout
        settings = load_settings(registry)
        self.assertEqual((settings.authority, settings.port, settings.database_url),
                         ("qs", 4444, layout.database_url))
        self.assertEqual(settings.public_url, "https://127.0.0.1:4444/registry")
        self.assertEqual(settings.state_dir, layout.registry_dir)
        for path in (layout.am_cert, layout.am_key):
            with open(path, "w") as f:
                f.write("")
        config = load_config(am)
        self.assertEqual(config.am_urn, "urn:publicid:IDN+qs+authority+am")
        self.assertEqual(config.database_url, layout.database_url)
        self.assertEqual(config.inventory.component_manager_id,
                         "urn:publicid:IDN+qs+authority+cm")
        self.assertEqual([h.name for h in config.inventory.hosts], ["node1", "node2"])
        self.assertEqual(config.port, 0)
        self.assertIsNone(config.public_url)
        parsed = load_drivers_config(layout.drivers_dir)
        node = next(h for h in parsed.handlers if h.name == "netns-node").raw
        # The handlers accept their own keys (made, not started).
        made = Drivers.from_files([layout.drivers_dir])
        self.assertTrue(made.handles("default-vm") and made.handles("link"))
        self.assertEqual(node["prefix"], "qz")
        self.assertEqual(node["state_dir"], layout.netns_dir)
        self.assertEqual(node["login"]["hostname"], "127.0.0.1")

    def test_a_public_name(self):
        options = Options(directory=self.directory, host="0.0.0.0", public_name="box.example",
                          am_port=12346)
        self.assertEqual(options.url(12346, "/am/3.0"), "https://box.example:12346/am/3.0")
        self.assertEqual(Options(host="::1").url(1, "/x"), "https://[::1]:1/x")


class NicknameTests(unittest.SynchronousTestCase):

    def test_added_once_and_replaced(self):
        text = "[omni]\nusers = alice\n\n[aggregate_nicknames]\n"
        once = add_nickname(text, "gam", "urn:publicid:IDN+qs+authority+am", "https://h:1/am")
        self.assertTrue(once.endswith("[aggregate_nicknames]\n"
                                      "gam=urn:publicid:IDN+qs+authority+am,https://h:1/am\n"))
        twice = add_nickname(once, "gam", "urn:publicid:IDN+qs+authority+am", "https://h:2/am")
        self.assertEqual(twice.count("gam="), 1)
        self.assertIn("https://h:2/am", twice)
        self.assertIn("[aggregate_nicknames]\ngam=", add_nickname("[omni]\n", "gam", "u", "v"))


SUMMARY = {
    "directory": "/srv/qs", "pid": 42, "am_url": "https://127.0.0.1:12346/am/3.0",
    "am_urn": "urn:publicid:IDN+gam+authority+am",
    "registry_url": "https://127.0.0.1:12345/registry",
    "authority_urn": "urn:publicid:IDN+gam+authority+sa",
    "trust_root": "/srv/qs/am/trusted_roots/gam.pem", "database": "/srv/qs/gam.db",
    "prefix": "gq", "netns_dir": "/srv/qs/netns", "inventory": "2 hosts", "log": "/srv/qs/log",
    "experimenter": {
        "user": "alice", "user_urn": "urn:publicid:IDN+gam+user+alice",
        "cert": "/srv/qs/experimenter/alice.pem", "key": "/srv/qs/experimenter/alice.key",
        "ssh_key": "/srv/qs/experimenter/alice_ssh",
        "ssh_public_key": "/srv/qs/experimenter/alice_ssh.pub",
        "user_credential": "/srv/qs/experimenter/alice-usercred.xml",
        "slice_name": "demo", "slice_urn": "urn:publicid:IDN+gam+slice+demo",
        "slice_expires": "2030-01-08T00:00:00Z",
        "slice_credential": "/srv/qs/experimenter/demo-slicecred.xml",
        "omni_config": "/srv/qs/experimenter/omni_config",
        "context": "/srv/qs/experimenter/context.json",
        "geni_lib_dir": "/srv/qs/experimenter/geni-lib",
        "rspec": "/srv/qs/experimenter/two-nodes.rspec"},
    "notes": {"authority": "reused", "slice credential": "renewed"},
}


class SummaryTests(unittest.SynchronousTestCase):

    def test_printed_facts(self):
        lines = render(SUMMARY, now=datetime.datetime(2030, 1, 1, tzinfo=UTC))
        facts = parse(lines)
        self.assertEqual(facts["AM (AM API v3)"], SUMMARY["am_url"])
        self.assertEqual(facts["trust root"], SUMMARY["trust_root"])
        self.assertEqual(facts["slice credential"], SUMMARY["experimenter"]["slice_credential"])
        self.assertEqual(facts["slice"], "urn:publicid:IDN+gam+slice+demo, expires "
                                         "2030-01-08T00:00:00Z (in 7d)")
        self.assertIn("This start: reused: authority; renewed: slice credential", lines)
        self.assertIn("  gam wait demo --dir /srv/qs", lines)
        self.assertTrue(lines[-1].startswith("Ready (pid 42)."))
        self.assertIn("gam quickstart --stop --dir /srv/qs", lines[-1])


class PidFileTests(unittest.SynchronousTestCase):

    def test_one_holder_at_a_time(self):
        path = os.path.abspath(self.mktemp())
        self.assertIsNone(pidfile.running_pid(path))
        self.assertEqual(pidfile.stop(path), (None, "not running"))
        held = pidfile.PidFile(path)
        held.acquire()
        self.addCleanup(held.release)
        self.assertEqual(pidfile.running_pid(path), os.getpid())
        error = self.assertRaises(pidfile.AlreadyRunning, pidfile.PidFile(path).acquire)
        self.assertEqual(error.pid, os.getpid())
        held.release()
        self.assertFalse(os.path.exists(path))
        self.assertIsNone(pidfile.running_pid(path))

    def test_a_lock_won_on_a_removed_file_does_not_count(self):
        # B opens the file; before B locks it, A stops (removing the file)
        # and C starts (a new file). B's lock is then on the old, removed
        # file: B must not think it runs alone.
        import fcntl
        import types
        path = os.path.abspath(self.mktemp())
        a, c = pidfile.PidFile(path), pidfile.PidFile(path)
        a.acquire()
        self.addCleanup(c.release)
        moved = []

        def flock(fd, operation):
            if not moved:
                moved.append(True)
                a.release()
                c.acquire()
            return fcntl.flock(fd, operation)
        self.patch(pidfile, "fcntl", types.SimpleNamespace(
            flock=flock, LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB,
            LOCK_SH=fcntl.LOCK_SH, LOCK_UN=fcntl.LOCK_UN))
        error = self.assertRaises(pidfile.AlreadyRunning, pidfile.PidFile(path).acquire)
        self.assertEqual(error.pid, os.getpid())

    def test_stopping_another_users_quickstart_says_so(self):
        path = os.path.abspath(self.mktemp())
        held = pidfile.PidFile(path)
        held.acquire()
        self.addCleanup(held.release)

        def kill(pid, sig):
            raise PermissionError(1, "Operation not permitted")
        self.patch(pidfile.os, "kill", kill)
        self.assertEqual(pidfile.stop(path), (os.getpid(), "not permitted"))

    def test_a_stale_file_is_not_a_running_quickstart(self):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("1\n")            # a pid that exists, but holds no lock
        self.assertIsNone(pidfile.running_pid(path))
        fresh = pidfile.PidFile(path)
        fresh.acquire()
        self.addCleanup(fresh.release)
        self.assertEqual(pidfile.read_pid(path), os.getpid())


class CommandLineTests(unittest.SynchronousTestCase):

    def test_subcommands(self):
        parser = build_parser()
        args = parser.parse_args(["quickstart", "--am-port", "0", "--dir", "/x"])
        self.assertEqual((args.am_port, args.registry_port, args.dir, args.stop),
                         (0, 12345, "/x", False))
        self.assertTrue(parser.parse_args(["quickstart", "--stop"]).stop)
        self.assertEqual(parser.parse_args(["status", "--dir", "/x"]).dir, "/x")
        self.assertEqual(parser.parse_args(["slice", "show", "demo"]).name, "demo")
        self.assertEqual(parser.parse_args(["wait", "demo", "--timeout", "5"]).timeout, 5.0)
        self.assertEqual(parser.parse_args(["am", "-c", "x.yaml"]).config, "x.yaml")
