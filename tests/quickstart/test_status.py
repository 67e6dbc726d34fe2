"""``gam status`` and ``gam slice show`` over a database with known contents.

The AM's tables are filled with the store's own functions (a slice with a
ready node and a link, one with only a deleted sliver, bookings on a
host); the registry's records come from a real RegistryManager on the same
SQLite file, as in a quickstart.
"""
import argparse
import contextlib
import datetime
import io
import os

from twisted.internet import defer, reactor
from twisted.trial import unittest

from gam.aggregate.resources import resource_specs
from gam.db.engine import make_engine
from gam.db.migrate import thd_upgrade
from gam.db.slices import thd_ensure_slice
from gam.db.slivers import thd_insert_sliver, thd_mark_deleted
from gam.inventory import Inventory
from gam.errors import ConfigError
from gam.ops import sources, status, views
from gam.quickstart import pidfile
from gam.quickstart.layout import Layout
from gam.ops.text import relative, span, table
from gam.registry.config import RegistrySettings
from gam.registry.manager import RecordSpec, RegistryManager
from gam.auth.urn import URN
from gam.schedule import Pool, thd_define_resources, thd_reserve
from tests.registry.support import KeyPool

UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC).replace(microsecond=0)
SLICE = "urn:publicid:IDN+qs+slice+exp1"
OLD = "urn:publicid:IDN+qs+slice+old"
INVENTORY = {"authority": "qs", "hosts": [
    {"name": "node1", "cores": 4, "memory_mb": 8192},
    {"name": "node2", "cores": 4, "memory_mb": 8192}]}


class TextTests(unittest.SynchronousTestCase):

    def test_relative_times(self):
        at = datetime.datetime(2030, 1, 1, tzinfo=UTC)
        cases = [(0, "now"), (42, "in 42s"), (-42, "42s ago"), (9 * 60, "in 9m"),
                 (9 * 60 + 30, "in 9m30s"), (3 * 3600 + 12 * 60, "in 3h12m"),
                 (-2 * 3600, "2h ago"), (6 * 86400 + 23 * 3600 + 59 * 60, "in 6d23h"),
                 (7 * 86400, "in 7d")]
        for seconds, text in cases:
            self.assertEqual(relative(at + datetime.timedelta(seconds=seconds), at), text)
        self.assertEqual(relative(None, at), "-")
        self.assertEqual(span(600), "10m")

    def test_table_aligns_columns(self):
        lines = table(["A", "LONGER", "C"], [["xxxx", "y", "z"], ["1", "2", "3"]])
        self.assertEqual(lines, ["  A     LONGER  C", "  xxxx  y       z", "  1     2       3"])


def fill_am_tables(url, inventory):
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            thd_upgrade(conn)
        with engine.begin() as conn:
            thd_define_resources(conn, resource_specs(inventory), NOW)
            for urn in (SLICE, OLD):
                thd_ensure_slice(conn, urn, NOW + datetime.timedelta(days=6), NOW)
            login = {"username": "alice", "hostname": "box.example", "port": 30001}
            thd_insert_sliver(
                conn, urn="urn:publicid:IDN+qs+sliver+n1", slice_urn=SLICE, client_id="node-a",
                kind="node", resource_type="default-vm", sliver_type="default-vm",
                expires=NOW + datetime.timedelta(minutes=9), now=NOW,
                allocation_state="geni_provisioned", operational_state="geni_ready",
                data={"host": "node1", "driver": {"logins": [login]}})
            thd_insert_sliver(
                conn, urn="urn:publicid:IDN+qs+sliver+l1", slice_urn=SLICE, client_id="lan0",
                kind="link", resource_type="link", expires=NOW + datetime.timedelta(hours=3),
                now=NOW, allocation_state="geni_provisioned",
                operational_state="geni_failed", error="the bridge could not be made")
            thd_insert_sliver(
                conn, urn="urn:publicid:IDN+qs+sliver+gone", slice_urn=OLD, client_id="x",
                kind="node", resource_type="default-vm", expires=NOW, now=NOW)
            thd_mark_deleted(conn, ["urn:publicid:IDN+qs+sliver+gone"], NOW)
            thd_reserve(conn, "urn:publicid:IDN+qs+sliver+n1",
                        [Pool("cores:node1", 1), Pool("memory:node1", 1024)],
                        NOW - datetime.timedelta(minutes=1), NOW + datetime.timedelta(minutes=9),
                        NOW)
    finally:
        engine.dispose()


class StatusTests(unittest.TestCase):

    timeout = 60

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.url = "sqlite:///" + os.path.join(self.directory, "gam.db")
        self.inventory = Inventory.from_dict(INVENTORY)
        fill_am_tables(self.url, self.inventory)
        for name in ("am.pem", "am.key"):
            with open(os.path.join(self.directory, name), "w") as f:
                f.write("not read by the views\n")
        os.makedirs(os.path.join(self.directory, "roots"))
        self.config = os.path.join(self.directory, "gam.yaml")
        with open(self.config, "w") as f:
            f.write("tls: {certificate: am.pem, key: am.key, trust_roots: roots}\n"
                    f"database: {{url: '{self.url}'}}\n"
                    "inventory: {authority: qs, hosts: [{name: node1, cores: 4, memory_mb: "
                    "8192}, {name: node2, cores: 4, memory_mb: 8192}]}\n")
        self.patch(status, "_now", lambda: NOW)
        # Nothing of this machine's own configuration may leak in.
        self.patch(sources, "REGISTRY_CANDIDATES", ())
        self.patch(sources, "LOCAL_REGISTRY", os.path.join(self.directory, "no-etc"))
        self.patch(sources, "DEFAULT_DIR", os.path.join(self.directory, "no-quickstart"))
        self.patch(os, "environ", {k: v for k, v in os.environ.items()
                                   if k != "GAM_REGISTRY_CONFIG"})

    def run_command(self, fn, **kwargs):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = fn(argparse.Namespace(**kwargs))
        return code, out.getvalue(), err.getvalue()

    def test_overview(self):
        overview = views.read(self.url, views.thd_overview, self.inventory, NOW)
        self.assertEqual([s.name for s in overview.slices], ["exp1"])
        self.assertEqual(overview.idle_slices, 1)
        self.assertEqual([(h.name, h.slivers, h.cores_used, h.memory_used) for h in
                          overview.hosts], [("node1", 1, 1, 1024), ("node2", 0, 0, 0)])
        self.assertEqual((overview.vlan_used, overview.vlan_total), (0, 1000))

    def test_status_command(self):
        code, out, err = self.run_command(status.cmd_status, config=self.config, dir=None)
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertIn("SLICES (1 with live slivers, 1 without)", lines)
        row = next(line for line in lines if "node-a" in line)
        self.assertEqual(row.split(), ["exp1", "node-a", "node", "default-vm", "node1",
                                       "provisioned", "ready", "in", "9m",
                                       "alice@box.example:30001"])
        header = lines[lines.index(row) - 1]
        self.assertEqual(header.index("EXPIRES"), row.index("in 9m"))
        self.assertIn("  ! lan0: the bridge could not be made", lines)
        slice_row = next(line for line in lines if line.startswith("  exp1  "))
        self.assertEqual(slice_row.split(), ["exp1", "in", "6d", "2", "1", "failed,", "1",
                                             "ready"])
        self.assertIn("  node1  1        1/4    1024/8192 MB  -", lines)

    def test_status_without_a_database(self):
        os.unlink(self.url[len("sqlite:///"):])
        code, out, err = self.run_command(status.cmd_status, config=self.config, dir=None)
        self.assertEqual(code, 2)
        self.assertIn("does not exist yet", err)

    def test_slice_show_from_the_am(self):
        code, out, err = self.run_command(status.cmd_slice_show, name="exp1", dir=None,
                                          am_config=self.config, config=None)
        self.assertEqual(code, 0, err)
        self.assertIn(f"slice exp1  {SLICE}", out)
        self.assertIn("2 live slivers: 1 failed, 1 ready", out)
        self.assertIn("urn:publicid:IDN+qs+sliver+l1", out)
        code, out, err = self.run_command(status.cmd_slice_show, name="nosuch", dir=None,
                                          am_config=self.config, config=None)
        self.assertEqual(code, 1)
        self.assertIn("no slice nosuch", err)

    @defer.inlineCallbacks
    def test_slice_show_with_the_registry(self):
        settings = RegistrySettings(authority="qs", state_dir=os.path.join(self.directory, "reg"),
                                    database=self.url, db_pool_size=1)
        manager = RegistryManager(settings, reactor=reactor, key_factory=KeyPool())
        yield defer.ensureDeferred(manager.start())
        try:
            yield manager.register(RecordSpec(urn=URN("qs", "user", "alice")))
            yield manager.register(RecordSpec(urn=URN("qs", "slice", "exp1"),
                                              researchers=(URN("qs", "user", "alice"),)))
        finally:
            yield defer.ensureDeferred(manager.stop())
        registry_yaml = os.path.join(self.directory, "registry.yaml")
        with open(registry_yaml, "w") as f:
            f.write(f"registry: {{authority: qs, state_dir: reg, database: '{self.url}'}}\n")
        code, out, err = self.run_command(status.cmd_slice_show, name="exp1", dir=None,
                                          am_config=self.config, config=registry_yaml)
        self.assertEqual(code, 0, err)
        self.assertIn("registry  live, expires", out)
        self.assertIn("researchers: alice", out)
        self.assertIn("AM        expires", out)


class SourcesTests(unittest.SynchronousTestCase):
    """Without -c or --dir: a running quickstart, then /etc/gam, then the rest."""

    def setUp(self):
        base = os.path.abspath(self.mktemp())
        self.quickstart = Layout.at(os.path.join(base, "qs"))
        self.quickstart.prepare()
        self.installed = os.path.join(base, "etc-gam", "gam.yaml")
        self.local = os.path.join(base, "checkout", "etc", "gam.yaml")
        for path in (self.quickstart.am_config, self.installed, self.local):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("")
        self.patch(sources, "DEFAULT_DIR", self.quickstart.root)
        self.patch(sources, "AM_CANDIDATES", (self.installed,))
        self.patch(sources, "LOCAL_AM", self.local)

    def test_order(self):
        self.assertEqual(sources.am_config_path(), self.installed)
        running = pidfile.PidFile(self.quickstart.pid_file)
        running.acquire()
        self.addCleanup(running.release)
        self.assertEqual(sources.am_config_path(), self.quickstart.am_config)
        running.release()
        os.unlink(self.installed)
        self.assertEqual(sources.am_config_path(), self.quickstart.am_config)
        os.unlink(self.quickstart.am_config)
        self.assertEqual(sources.am_config_path(), self.local)
        os.unlink(self.local)
        self.assertRaises(ConfigError, sources.am_config_path)
        self.assertEqual(sources.am_config_path("x.yaml", "/ignored"), "x.yaml")
        self.assertEqual(sources.am_config_path(None, "/q"), "/q/etc/gam.yaml")
