"""AnsibleHandler on localhost with the test playbooks of
tests/data/ansible/handler, and the checking of its configuration."""
import os

import yaml
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from gam.drivers import base
from gam.drivers.ansible_config import load_handlers, parse_settings
from gam.drivers.ansible_handler import AnsibleHandler, sliver_id
from gam.drivers.config import DEFAULT_TIMEOUTS, Checker, parse_timeouts
from gam.errors import ConfigError, GeniCode
from tests.drivers.test_ansible_support import DATA, REPO, ansible_missing, start_pool

HANDLER_DIR = os.path.join(DATA, "handler")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyFakeKeyForTests alice@test"


def handler_config(work_dir, **over):
    cfg = {
        "kind": "node",
        "playbook_dir": HANDLER_DIR,
        "playbooks": {"create": "create.yml", "delete": "delete.yml", "poll": "poll.yml",
                      "perform": "action.yml", "clean_restart": "clean.yml"},
        "actions": ["geni_start", "geni_stop", "geni_update_users"],
        "hosts": {"here": {"connection": "local"}},
        "timeout": 60,
        "vars": {"work_dir": work_dir, "fail_times": 0},
    }
    cfg.update(over)
    return cfg


def node_plan(urn="urn:publicid:IDN+test+sliver+n1", host="here"):
    return base.NodePlan(sliver_urn=urn, slice_urn="urn:publicid:IDN+test+slice+s",
                         client_id="node-1", host=host, sliver_type="test",
                         users=(base.User("urn:publicid:IDN+test+user+alice", "alice",
                                          (KEY,)),))


class HandlerTests(unittest.TestCase):
    skip = ansible_missing()

    def setUp(self):
        self.work = os.path.abspath(self.mktemp())
        os.makedirs(self.work)
        self.pool = start_pool(self)

    def handler(self, **over):
        return AnsibleHandler.from_config(handler_config(self.work, **over),
                                          threadpool=self.pool, reactor=reactor)

    def made(self, plan):
        return os.path.exists(os.path.join(self.work, "made-" + sliver_id(plan.sliver_urn)))

    def read(self, name):
        with open(os.path.join(self.work, name)) as f:
            return f.read()

    @defer.inlineCallbacks
    def test_create_poll_perform_delete(self):
        h = self.handler()
        plan = node_plan()
        outcome = yield defer.ensureDeferred(h.create(plan, {}))
        self.assertEqual(outcome.state, base.READY)
        self.assertEqual(outcome.sliver_urn, plan.sliver_urn)
        self.assertEqual(outcome.data["logins"],
                         [{"username": "alice", "hostname": "here", "port": 22}])
        self.assertEqual(outcome.data["host"], "here")
        self.assertEqual(outcome.data["id"], sliver_id(plan.sliver_urn))
        self.assertTrue(self.made(plan))

        state = yield defer.ensureDeferred(h.poll(plan.sliver_urn, outcome.data))
        self.assertEqual(state, base.READY)
        state = yield defer.ensureDeferred(h.perform(
            plan.sliver_urn, outcome.data, base.STOP))
        self.assertEqual(state, base.NOTREADY)
        bob = base.User("urn:publicid:IDN+test+user+bob", "bob", (KEY,))
        yield defer.ensureDeferred(h.perform(plan.sliver_urn, outcome.data,
                                             base.UPDATE_USERS, users=(bob,)))
        self.assertEqual(self.read("action-" + outcome.data["id"]),
                         "geni_update_users bob\n")

        yield defer.ensureDeferred(h.delete(plan.sliver_urn, outcome.data))
        self.assertFalse(self.made(plan))
        state = yield defer.ensureDeferred(h.poll(plan.sliver_urn, outcome.data))
        self.assertEqual(state, base.FAILED)

    @defer.inlineCallbacks
    def test_failed_create_cleans_up(self):
        h = self.handler(vars={"work_dir": self.work, "fail_times": 5})
        plan = node_plan()
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(h.create(plan, {}))
        message = caught.exception.message
        self.assertIn("host 'here'", message)
        self.assertIn("task 'Fail while told to' failed", message)
        self.assertIn("attempt 1 fails on purpose", message)
        self.assertIn("what it had made was removed", message)
        self.assertFalse(self.made(plan))
        self.assertEqual(self.read("deletes"), f"{sliver_id(plan.sliver_urn)} here\n")

    @defer.inlineCallbacks
    def test_create_retries_after_cleaning_up(self):
        h = self.handler(retries=2, vars={"work_dir": self.work, "fail_times": 1})
        plan = node_plan()
        outcome = yield defer.ensureDeferred(h.create(plan, {}))
        self.assertEqual(outcome.state, base.READY)
        self.assertEqual(self.read("attempts").strip(), "2")
        self.assertEqual(len(self.read("deletes").splitlines()), 1)
        self.assertTrue(self.made(plan))

    @defer.inlineCallbacks
    def test_create_fails_when_the_cleanup_fails_too(self):
        h = self.handler(playbooks={"create": "create.yml", "delete": "../fail.yml",
                                    "poll": "poll.yml", "clean_restart": "clean.yml"},
                         actions=[], vars={"work_dir": self.work, "fail_times": 5})
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(h.create(node_plan(), {}))
        message = caught.exception.message
        self.assertIn("cleaning up also failed", message)
        self.assertIn("Break on purpose", message)

    @defer.inlineCallbacks
    def test_playbook_that_reports_nothing(self):
        h = self.handler(playbooks={"create": "no-outcome.yml", "delete": "delete.yml",
                                    "poll": "poll.yml", "clean_restart": "clean.yml"},
                         actions=[])
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(h.create(node_plan(), {}))
        self.assertIn("set no gam_outcome", caught.exception.message)

    @defer.inlineCallbacks
    def test_unsupported_action(self):
        h = self.handler()
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(h.perform("urn:x", {"host": "here"}, base.RESTART))
        self.assertEqual(caught.exception.geni_code, GeniCode.UNSUPPORTED)

    @defer.inlineCallbacks
    def test_bad_login_name_is_refused_before_running(self):
        h = self.handler()
        plan = node_plan()
        plan = base.NodePlan(**{**plan.__dict__, "users": (base.User("urn:u", "Root;rm", ()),)})
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(h.create(plan, {}))
        self.assertEqual(caught.exception.geni_code, GeniCode.BADARGS)
        self.assertFalse(os.path.exists(os.path.join(self.work, "attempts")))

    @defer.inlineCallbacks
    def test_host_outside_inventory(self):
        h = self.handler()
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(h.create(node_plan(host="pc9"), {}))
        self.assertIn("'pc9' is not in this handler's inventory", caught.exception.message)

    @defer.inlineCallbacks
    def test_clean_restart(self):
        h = self.handler()
        kept, orphan = node_plan("urn:kept"), node_plan("urn:orphan")
        kept_out = yield defer.ensureDeferred(h.create(kept, {}))
        yield defer.ensureDeferred(h.create(orphan, {}))
        gone = yield defer.ensureDeferred(h.clean_restart(
            {"urn:kept": kept_out.data, "urn:vanished": {"host": "here"}}))
        self.assertEqual(gone, ["urn:vanished"])
        self.assertTrue(self.made(kept))
        self.assertFalse(self.made(orphan))

    @defer.inlineCallbacks
    def test_link_runs_on_link_hosts(self):
        h = self.handler(kind="link", actions=[],
                         playbooks={"create": "create.yml", "delete": "delete.yml",
                                    "poll": "poll.yml", "clean_restart": "clean.yml"})
        plan = base.LinkPlan(sliver_urn="urn:link", slice_urn="urn:s", client_id="lan0",
                             vlan_tag=1234)
        outcome = yield defer.ensureDeferred(h.create(plan, {}))
        self.assertEqual(outcome.data["hosts"], ["here"])
        self.assertNotIn("host", outcome.data)
        yield defer.ensureDeferred(h.delete(plan.sliver_urn, outcome.data))
        self.assertEqual(self.read("deletes"), f"{sliver_id(plan.sliver_urn)} \n")


class ConfigTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.work = os.path.abspath(self.mktemp())
        os.makedirs(self.work)

    def expect(self, key, **over):
        with self.assertRaises(ConfigError) as caught:
            parse_settings(handler_config(self.work, **over), path="/etc/gam/h.yaml",
                           key="handlers.h")
        self.assertIn(key, str(caught.exception))
        self.assertTrue(str(caught.exception).startswith("/etc/gam/h.yaml: "))
        return str(caught.exception)

    def test_good_config(self):
        s = parse_settings(handler_config(self.work, timeouts={"create": 900}, retries=2,
                                          ssh={"user": "gam", "key_file": "k"},
                                          hosts={"pc1": {"address": "192.0.2.1"}}),
                           path="/etc/gam/h.yaml")
        self.assertEqual(s.timeouts["create"], 900)
        self.assertEqual(s.timeouts["poll"], 60)
        self.assertEqual(s.retries, 2)
        self.assertEqual(s.hosts[0].user, "gam")
        self.assertEqual(s.hosts[0].key_file, "/etc/gam/k")
        self.assertEqual(s.playbooks["create"], os.path.join(HANDLER_DIR, "create.yml"))

    def test_timeouts_read_as_the_manager_reads_them(self):
        # The manager waits as long as the handler lets a playbook run: both
        # read timeout/timeouts the same way, defaults included.
        for over in ({}, {"timeout": 45}, {"timeouts": {"create": 900}},
                     {"timeout": 45, "timeouts": {"poll": 7}}):
            raw = handler_config(self.work, **over)
            if "timeout" not in over:
                del raw["timeout"]
            mine = parse_settings(raw, path="/etc/gam/h.yaml").timeouts
            managers = parse_timeouts(raw, Checker("/etc/gam/h.yaml"))
            self.assertEqual(mine, managers, over)
            if not over:
                self.assertEqual(mine, dict(DEFAULT_TIMEOUTS))

    def test_budget_covers_every_attempt_and_cleanup(self):
        s = parse_settings(handler_config(self.work, timeouts={"create": 300, "delete": 60},
                                          retries=2, retry_delay=5), path="/etc/gam/h.yaml")
        handler = AnsibleHandler(s, threadpool=None, reactor=task.Clock())
        # 3 attempts of create, each followed by its cleanup (a delete), 2 delays
        self.assertEqual(handler.budget("create"), 3 * (300 + 60) + 2 * 5)
        self.assertEqual(handler.budget("delete"), 3 * 60 + 2 * 5)
        self.assertTrue(handler.retries_itself)

    def test_errors_name_the_key(self):
        self.expect("handlers.h.kind", kind="switch")
        self.expect("handlers.h.playbooks.delete", playbooks={"create": "create.yml"})
        self.expect("handlers.h.playbooks.poll", playbooks={
            "create": "create.yml", "delete": "delete.yml", "poll": "nope.yml",
            "clean_restart": "clean.yml"})
        self.expect("handlers.h.timeout", timeout=0)
        self.expect("handlers.h.retries", retries=-1)
        self.expect("handlers.h.hosts", hosts={})
        self.expect("handlers.h.hosts.pc1.port", hosts={"pc1": {"port": 70000}})
        self.expect("handlers.h.hosts.pc1", hosts={"pc1": {"adress": "x"}})
        self.expect("handlers.h.actions", actions=["geni_explode"])
        self.expect("handlers.h.vars", vars={"gam_plan": 1})
        self.expect("handlers.h", colour="blue")

    def test_shipped_example_configs_load(self):
        for name in ("ansible.yaml", "libvirt.yaml"):
            handlers = load_handlers(os.path.join(REPO, "etc", "drivers", name))
            kinds = {s.kind for s in handlers.values()}
            self.assertEqual(kinds, {"node", "link"}, name)
            for s in handlers.values():
                for path in s.playbooks.values():
                    self.assertTrue(os.path.isfile(path), path)

    def test_file_errors(self):
        bad = os.path.join(self.work, "bad.yaml")
        with open(bad, "w") as f:
            yaml.safe_dump({"handlers": {"h": {"kind": "node"}}}, f)
        with self.assertRaises(ConfigError) as caught:
            load_handlers(bad)
        self.assertIn("handlers.h.playbooks.create", str(caught.exception))
        with self.assertRaises(ConfigError):
            load_handlers(os.path.join(self.work, "missing.yaml"))
