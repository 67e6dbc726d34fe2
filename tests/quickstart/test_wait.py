"""``gam wait``: the polling loop, its display and its arguments (no AM needed).

The loop gets a scripted series of Status answers and a fake clock and
sleep; the real loop against a real AM runs in test_system.
"""
import argparse
import io
import json
import os
import sys
import xmlrpc.client

from twisted.trial import unittest

from gam.ops import wait
from gam.ops.amclient import AMClient

S = "urn:publicid:IDN+qs+sliver+"
MANIFEST = """<rspec xmlns="http://www.geni.net/resources/rspec/3" type="manifest">
  <node client_id="node-a" sliver_id="{s}a"/><node client_id="node-b" sliver_id="{s}b"/>
  <link client_id="lan0" sliver_id="{s}l"/></rspec>""".format(s=S)


def info(name, state, error=""):
    return {"geni_sliver_urn": S + name, "geni_operational_status": state,
            "geni_allocation_status": "geni_provisioned", "geni_error": error,
            "geni_expires": "2030-01-01T00:00:00Z"}


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class FollowTests(unittest.SynchronousTestCase):

    def follow(self, answers, timeout=60.0, tty=False):
        answers = list(answers)
        fake = FakeTime()
        described = []
        out = io.StringIO()

        def describe():
            described.append(1)
            return MANIFEST
        code = wait.follow(lambda: answers.pop(0), describe, wait.Progress(out, "exp1", tty),
                           interval=2.0, timeout=timeout, sleep=fake.sleep, clock=fake.clock)
        return code, out.getvalue(), fake, described

    def test_until_every_sliver_is_ready(self):
        code, out, fake, described = self.follow([
            [info("a", "geni_notready"), info("l", "geni_configuring")],
            [info("a", "geni_configuring"), info("l", "geni_ready")],
            [info("a", "geni_ready"), info("l", "geni_ready")],
        ])
        self.assertEqual(code, wait.EXIT_READY)
        self.assertEqual(fake.slept, [2.0, 2.0])
        self.assertEqual(len(described), 1)     # names are read once
        self.assertEqual(out.splitlines(), [
            "    0s  node-a: notready", "    0s  lan0: configuring",
            "    2s  node-a: notready -> configuring", "    2s  lan0: configuring -> ready",
            "    4s  node-a: configuring -> ready"])

    def test_settles_on_failure_once_nothing_moves(self):
        code, out, _, _ = self.follow([
            [info("a", "geni_failed", "sshd did not start"), info("b", "geni_configuring")],
            [info("a", "geni_failed", "sshd did not start"), info("b", "geni_ready")],
        ])
        self.assertEqual(code, wait.EXIT_FAILED)
        self.assertIn("node-a: failed  ! sshd did not start", out)

    def test_times_out(self):
        code, out, fake, _ = self.follow([[info("a", "geni_configuring")]] * 10, timeout=5)
        self.assertEqual(code, wait.EXIT_TIMEOUT)
        self.assertEqual(fake.slept, [2.0, 2.0, 2.0])
        self.assertIn("timed out after 5s", out)

    def test_an_empty_slice_is_a_failure_not_a_wait(self):
        code, out, _, _ = self.follow([[]])
        self.assertEqual(code, wait.EXIT_FAILED)
        self.assertIn("allocate and provision first", out)

    def test_terminal_display_redraws_in_place(self):
        code, out, _, _ = self.follow([
            [info("a", "geni_configuring"), info("b", "geni_ready")],
            [info("a", "geni_ready"), info("b", "geni_ready")],
        ], tty=True)
        self.assertEqual(code, wait.EXIT_READY)
        first, second = out.split("\x1b[3F")      # cursor up over the 3 lines drawn
        self.assertIn("[##########----------] 1/2 ready", first)
        self.assertIn("[####################] 2/2 ready", second)
        self.assertIn("node-a    configuring", first)

    def test_verdict(self):
        self.assertIsNone(wait.verdict([]))
        self.assertEqual(wait.verdict([info("a", "geni_ready_busy")]), "ready")
        self.assertIsNone(wait.verdict([info("a", "geni_ready"), info("b", "geni_stopping")]))


class _PlainHTTPClient(AMClient):
    """The AM client over plain HTTP, for a test server without TLS."""

    def envelope(self, method, *params):
        proxy = xmlrpc.client.ServerProxy(self.url)
        return getattr(proxy, method)(*params)


class ArgumentTests(unittest.SynchronousTestCase):

    def setUp(self):
        from tests.pki import pki
        self.pki = pki()
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.cert, self.key = self.pki.alice.write(self.directory, "alice")
        self.cred = os.path.join(self.directory, "cred.xml")
        with open(self.cred, "w") as f:
            f.write(self.pki.slice_credential(self.pki.alice, "exp1"))

    def args(self, slice_name, **kw):
        values = dict(slice=slice_name, dir=None, am="https://127.0.0.1:1/am/3.0",
                      cert=self.cert, key=self.key, credential=self.cred, trust_root=None)
        values.update(kw)
        return argparse.Namespace(**values)

    def test_the_slice_comes_from_the_credential(self):
        client, urn, xml = wait.connection(self.args("exp1"))
        self.assertEqual(urn, "urn:publicid:IDN+gam.test+slice+exp1")
        self.assertEqual(client.url, "https://127.0.0.1:1/am/3.0")

    def test_a_credential_of_another_slice_is_refused(self):
        error = self.assertRaises(wait.UsageError, wait.connection, self.args("other"))
        self.assertIn("not for a slice named other", str(error))
        error = self.assertRaises(wait.UsageError, wait.connection,
                                  self.args("urn:publicid:IDN+gam.test+slice+other"))
        self.assertIn("is for urn:publicid:IDN+gam.test+slice+exp1", str(error))

    def test_quickstart_directory(self):
        summary = {"am_url": "https://127.0.0.1:2/am/3.0", "trust_root": None,
                   "experimenter": {"cert": self.cert, "key": self.key, "slice_name": "exp1",
                                    "slice_urn": "urn:publicid:IDN+gam.test+slice+exp1",
                                    "slice_credential": self.cred}}
        with open(os.path.join(self.directory, "summary.json"), "w") as f:
            json.dump(summary, f)
        client, urn, _ = wait.connection(self.args("exp1", dir=self.directory, am=None,
                                                   cert=None, key=None, credential=None))
        self.assertEqual(client.url, "https://127.0.0.1:2/am/3.0")
        error = self.assertRaises(wait.UsageError, wait.connection, self.args(
            "other", dir=self.directory, am=None, cert=None, key=None, credential=None))
        self.assertIn("no slice credential for other", str(error))
        missing = os.path.join(self.directory, "nothing-here")
        error = self.assertRaises(wait.UsageError, wait.connection, self.args(
            "exp1", dir=missing, am=None, cert=None, key=None, credential=None))
        self.assertIn("start 'gam quickstart", str(error))

    def test_unusable_certificate_or_key_is_a_usage_error(self):
        other_cert, other_key = self.pki.bob.write(self.directory, "bob")
        for cert, key in ((os.path.join(self.directory, "nope.pem"), self.key),
                          (self.cert, other_key)):
            error = self.assertRaises(wait.UsageError, wait.connection,
                                      self.args("exp1", cert=cert, key=key))
            self.assertIn("cannot use the certificate", str(error))

    def test_exit_status_when_the_url_is_not_an_am(self):
        # A server that answers HTTP but not XML-RPC: exit 2 with a message,
        # not a traceback and 1 ("some slivers failed").
        import http.server
        import threading

        class NotAnAM(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.send_response(404)
                self.end_headers()

            def log_message(self, *a):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), NotAnAM)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        self.patch(sys, "stdout", io.StringIO())
        self.patch(wait, "AMClient", _PlainHTTPClient)
        code = wait.cmd_wait(self.args("exp1", am=f"http://127.0.0.1:{server.server_port}/x",
                                       interval=0.1, timeout=5, progress="plain"))
        self.assertEqual(code, wait.EXIT_USAGE, err.getvalue())
        self.assertIn("did not answer as an AM API v3 server does", err.getvalue())
        self.assertIn("not checking the AM's certificate", err.getvalue())

    def test_client_ids(self):
        self.assertEqual(wait.client_ids(MANIFEST), {S + "a": "node-a", S + "b": "node-b",
                                                     S + "l": "lan0"})
