"""The playbook runner: per-host results, error reporting, timeouts, and
the reading of ansible-runner's events. Real ansible-playbook runs on
localhost (connection: local) or against a closed port on 127.0.0.1."""
import os
import socket

from twisted.internet import defer, reactor
from twisted.trial import unittest

from gam.drivers import ansible
from gam.drivers.base import DriverError, DriverTimeout
from gam.errors import GeniCode
from tests.drivers.test_ansible_support import DATA, ansible_missing, local_host, start_pool

SKIP = ansible_missing()


def closed_port():
    """A port on 127.0.0.1 nothing listens on (it was just bound and freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunTests(unittest.SynchronousTestCase):
    skip = SKIP

    def setUp(self):
        self.work = os.path.abspath(self.mktemp())
        os.makedirs(self.work)

    def run_book(self, name, **kwargs):
        kwargs.setdefault("hosts", [local_host()])
        kwargs.setdefault("extravars", {"work_dir": self.work})
        return ansible._thd_run_playbook(os.path.join(DATA, name), **kwargs)

    def test_failed_task_names_host_task_and_message(self):
        with self.assertRaises(DriverError) as caught:
            self.run_book("fail.yml")
        e = caught.exception
        self.assertNotIsInstance(e, DriverTimeout)
        self.assertEqual(e.geni_code, GeniCode.ERROR)
        self.assertIn("host 'here'", e.message)
        self.assertIn("task 'Break on purpose' failed", e.message)
        self.assertIn("the widget is jammed", e.message)
        self.assertIn("exit status 3", e.message)

    def test_unreachable_host_is_named(self):
        far = ansible.Host(name="far-away", address="127.0.0.1", port=closed_port(),
                           user="nobody", host_key_checking=False)
        with self.assertRaises(DriverError) as caught:
            self.run_book("fail.yml", hosts=[far])
        self.assertIn("host 'far-away' is unreachable", caught.exception.message)
        self.assertIn("Connection refused", caught.exception.message)

    def test_one_host_fails_the_other_does_not(self):
        far = ansible.Host(name="far-away", address="127.0.0.1", port=closed_port(),
                           host_key_checking=False)
        with self.assertRaises(DriverError) as caught:
            self.run_book("stats.yml", hosts=[local_host(), far],
                          extravars={"trusted": "x"}, unsafe_vars={"gam_plan": {"key": "k"}})
        message = caught.exception.message
        self.assertIn("far-away", message)
        self.assertNotIn("'here'", message)

    def test_hanging_playbook_is_stopped_by_the_timeout(self):
        with self.assertRaises(DriverTimeout) as caught:
            self.run_book("hang.yml", timeout=3)
        self.assertEqual(caught.exception.geni_code, GeniCode.TIMEDOUT)
        self.assertIn("did not finish within 3 s", caught.exception.message)
        # The command the playbook ran was killed too, although Ansible's
        # worker had put it in a session of its own.
        with open(os.path.join(self.work, "hang.pid")) as f:
            pid = int(f.read())
        self.assertFalse(_alive(pid), f"process {pid} of the hung playbook is still running")

    def test_success_gives_per_host_results_and_stats(self):
        result = self.run_book("stats.yml", extravars={"trusted": "{{ 40 + 2 }}"},
                               unsafe_vars={"gam_plan": {"key": "plain"}}, limit="here")
        self.assertEqual(result.status, "successful")
        self.assertEqual(set(result.hosts), {"here"})
        here = result.hosts["here"]
        self.assertFalse(here.failed or here.unreachable)
        self.assertEqual(result.failed_hosts, [])
        self.assertGreaterEqual(here.ok, 2)   # the ignored failure does not count
        self.assertEqual(result.stats["gam_outcome"], {"echoed": "plain 42", "host": "here"})

    def test_request_values_are_never_templated(self):
        marker = os.path.join(self.work, "pwned")
        evil = "{{ lookup('ansible.builtin.pipe', 'touch " + marker + "') }}"
        result = self.run_book("stats.yml", extravars={"trusted": "x"},
                               unsafe_vars={"gam_plan": {"key": evil}})
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(result.stats["gam_outcome"]["echoed"], evil + " x")

    def test_request_strings_stay_strings(self):
        # Ids are 8 hex digits, and 2.3% of them are all decimal digits;
        # user names and client_ids may read as YAML words. Tagging each
        # string !unsafe let ansible-core 2.19 read '00001234' as 668.
        values = ["00001234", "36757479", "no", "yes", "null", "1e5", "0x1F",
                  "2026-01-01", "{{ 1 + 1 }}", 7, True, None]
        result = self.run_book("types.yml", unsafe_vars={
            "gam_id": "00001234", "gam_plan": {"values": values}})
        out = result.stats["gam_outcome"]
        self.assertEqual((out["id"], out["id_type"], out["named"]),
                         ("00001234", "str", "gam-n00001234"))
        self.assertEqual(out["values"], values)
        self.assertEqual(out["types"], ["str"] * 9 + ["int", "bool", "NoneType"])

    def test_config_and_request_vars_may_not_clash(self):
        with self.assertRaises(DriverError) as caught:
            self.run_book("stats.yml", extravars={"gam_plan": 1}, unsafe_vars={"gam_plan": 2})
        self.assertIn("gam_plan", caught.exception.message)

    def test_missing_playbook(self):
        with self.assertRaises(DriverError) as caught:
            self.run_book("no-such-playbook.yml")
        self.assertIn("does not exist", caught.exception.message)

    def test_host_not_in_inventory(self):
        with self.assertRaises(DriverError) as caught:
            self.run_book("stats.yml", limit="elsewhere")
        self.assertIn("elsewhere", caught.exception.message)
        self.assertIn("not in the handler's inventory", caught.exception.message)

    def test_broken_playbook_reports_ansible_error(self):
        broken = os.path.join(self.work, "broken.yml")
        with open(broken, "w") as f:
            f.write("- hosts: all\n  tasks:\n    - ansible.builtin.no_such_module: {}\n")
        with self.assertRaises(DriverError) as caught:
            ansible._thd_run_playbook(broken, hosts=[local_host()])
        self.assertIn("failed before any host reported", caught.exception.message)
        self.assertIn("no_such_module", caught.exception.message)

    def test_private_data_dir_is_removed(self):
        import tempfile
        tmp = os.path.join(self.work, "tmp")
        os.makedirs(tmp)
        self.patch(tempfile, "tempdir", tmp)
        self.run_book("stats.yml", extravars={"trusted": "x"},
                      unsafe_vars={"gam_plan": {"key": "k"}})
        with self.assertRaises(DriverError):
            self.run_book("fail.yml")
        with self.assertRaises(DriverTimeout):
            self.run_book("hang.yml", timeout=2)
        self.assertEqual(os.listdir(tmp), [])


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class ThreadedRunTests(unittest.TestCase):
    skip = SKIP

    @defer.inlineCallbacks
    def test_run_in_the_pool(self):
        pool = start_pool(self)
        work = os.path.abspath(self.mktemp())
        os.makedirs(work)
        with self.assertRaises(DriverError) as caught:
            yield defer.ensureDeferred(ansible.run_playbook(
                pool, reactor, os.path.join(DATA, "fail.yml"), hosts=[local_host()]))
        self.assertIn("Break on purpose", caught.exception.message)


def _event(kind, host=None, task=None, res=None, **extra):
    data = {"host": host, "task": task, "res": res}
    data.update(extra)
    return {"event": kind, "event_data": data}


class CollectTests(unittest.SynchronousTestCase):
    """Reading events, without running Ansible."""

    def stats(self, **kw):
        base = {"ok": {}, "changed": {}, "failures": {}, "dark": {}, "processed": {},
                "skipped": {}, "artifact_data": {}}
        base.update(kw)
        return {"event": "playbook_on_stats", "event_data": base}

    def test_ignored_and_rescued_failures_do_not_count(self):
        events = [
            _event("runner_on_failed", "a", "ignored", {"msg": "x"}, ignore_errors=True),
            _event("runner_on_failed", "a", "rescued", {"msg": "y"}),
            self.stats(ok={"a": 3}, processed={"a": 1}, artifact_data={"gam_state": "s"}),
        ]
        result = ansible.collect("p.yml", "successful", 0, events)
        self.assertEqual(result.failed_hosts, [])
        self.assertEqual(result.hosts["a"].ok, 3)
        self.assertEqual(result.stats, {"gam_state": "s"})

    def test_last_failure_of_each_host(self):
        events = [
            _event("runner_on_failed", "a", "first", {"msg": "one"}),
            _event("runner_on_failed", "a", "second", {"msg": "two", "rc": 1,
                                                        "stderr": "it broke"}),
            _event("runner_on_unreachable", "b", "connect", {"msg": "no route"}),
            self.stats(failures={"a": 1}, dark={"b": 1}, processed={"a": 1, "b": 1}),
        ]
        result = ansible.collect("p.yml", "failed", 2, events)
        self.assertEqual(result.hosts["a"].task, "second")
        self.assertEqual(result.hosts["a"].message, "two it broke (exit status 1)")
        self.assertTrue(result.hosts["b"].unreachable)
        with self.assertRaises(DriverError) as caught:
            ansible.judge(result, "", 10, "create of x")
        self.assertIn("host 'a': task 'second' failed: two it broke", caught.exception.message)
        self.assertIn("host 'b' is unreachable (task 'connect'): no route",
                      caught.exception.message)

    def test_run_cut_short_without_stats(self):
        events = [_event("runner_on_failed", "a", "t", {"msg": "boom"})]
        result = ansible.collect("p.yml", "timeout", 254, events)
        with self.assertRaises(DriverTimeout) as caught:
            ansible.judge(result, "", 7, "poll of y")
        self.assertIn("within 7 s", caught.exception.message)
        self.assertIn("boom", caught.exception.message)

    def test_loop_failure_names_the_item(self):
        res = {"msg": "One or more items failed", "results": [
            {"failed": False}, {"failed": True, "msg": "item two is bad"}]}
        self.assertIn("item two is bad", ansible.task_message(res))

    def test_module_tracebacks_are_cut_to_the_exception(self):
        res = {"msg": "MODULE FAILURE", "module_stderr": "Traceback (most recent call last):\n"
               "  File \"/tmp/x.py\", line 1, in <module>\nKeyError: 'eth0'\n"}
        message = ansible.task_message(res)
        self.assertEqual(message, "MODULE FAILURE KeyError: 'eth0'")

    def test_long_messages_are_cut(self):
        message = ansible.task_message({"msg": "x" * 5000})
        self.assertLessEqual(len(message), ansible.MESSAGE_LIMIT)

    def test_inventory_of_ssh_host(self):
        host = ansible.Host(name="pc1", address="192.0.2.1", port=2222, user="gam",
                            key_file="/k", known_hosts="/kh", become=True)
        inv = ansible.build_inventory([host])["all"]["hosts"]["pc1"]
        self.assertEqual(inv["ansible_host"], "192.0.2.1")
        self.assertEqual(inv["ansible_port"], 2222)
        self.assertEqual(inv["ansible_user"], "gam")
        self.assertEqual(inv["ansible_ssh_private_key_file"], "/k")
        self.assertIn("UserKnownHostsFile=/kh", inv["ansible_ssh_common_args"])
        self.assertIn("StrictHostKeyChecking=yes", inv["ansible_ssh_common_args"])
        self.assertIs(inv["ansible_host_key_checking"], True)
        self.assertTrue(inv["ansible_become"])
