"""The README's first command for real: ``gam quickstart``, then an experiment.

Root only (the namespace driver makes network namespaces, bridges, veth
pairs and one sshd per node); each test has its own state directory, free
ports and node prefix, and checks at the end that nothing of that prefix is
left on the host. The experimenter uses only what the summary printed: the
AM's URL, the trust root, the certificate, keys and slice credential.
"""
import os
import secrets
import shutil
import ssl
import tempfile
import xmlrpc.client

from lxml import etree
from twisted.trial import unittest

from tests.drivers.netns_support import skip_reason, snapshot
from tests.quickstart.support import QuickstartProcess, purge, run_gam

RSPEC = "{http://www.geni.net/resources/rspec/3}"
V3 = {"type": "GENI", "version": "3"}


def _skip():
    reason = skip_reason()
    if reason:
        return reason
    try:
        import paramiko  # noqa: F401
    except ImportError:
        return "needs paramiko for the ssh login"
    return None


class Experimenter:
    """AM API v3 calls over TLS with the printed certificate, key and trust root."""

    def __init__(self, facts, user_urn):
        self.url = facts["AM (AM API v3)"]
        self.user_urn = user_urn
        self.slice_urn = facts["slice"].split(",")[0]
        with open(facts["slice credential"]) as f:
            self.creds = [{"geni_type": "geni_sfa", "geni_version": "3",
                           "geni_value": f.read()}]
        with open(facts["ssh public key"]) as f:
            self.ssh_public = f.read().strip()
        self.ssh_key = facts["ssh key"]
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.context.check_hostname = False
        self.context.load_verify_locations(cafile=facts["trust root"])
        self.context.load_cert_chain(facts["certificate"], facts["private key"])

    def call(self, method, *params):
        proxy = xmlrpc.client.ServerProxy(self.url, context=self.context)
        answer = getattr(proxy, method)(*params)
        assert answer["code"]["geni_code"] == 0, (method, answer)
        return answer["value"]


def node_logins(manifest):
    root = etree.fromstring(manifest.encode())
    out = {}
    for node in root.iter(RSPEC + "node"):
        login = node.find(f"{RSPEC}services/{RSPEC}login")
        out[node.get("client_id")] = (login.get("username"), login.get("hostname"),
                                      int(login.get("port")))
    return out


def ssh_run(login, key_path, command):
    import paramiko
    user, host, port = login
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host, port=port, username=user,
                   pkey=paramiko.RSAKey.from_private_key_file(key_path),
                   allow_agent=False, look_for_keys=False, timeout=30)
    try:
        _, stdout, stderr = client.exec_command(command, timeout=30)
        status = stdout.channel.recv_exit_status()
        return status, stdout.read().decode(), stderr.read().decode()
    finally:
        client.close()


class QuickstartSystemTests(unittest.SynchronousTestCase):

    def setUp(self):
        reason = _skip()
        if reason:
            raise unittest.SkipTest(reason)
        self.base = tempfile.mkdtemp(prefix="gam-quickstart-test-")
        self.directory = os.path.join(self.base, "state")
        self.netns_dir = os.path.join(self.directory, "netns")
        self.prefix = "q" + secrets.token_hex(2)[:3]
        self.before = snapshot(self.prefix, self.netns_dir)
        self.processes = []
        self.addCleanup(self._clean)

    def _clean(self):
        run_gam("quickstart", "--stop", "--dir", self.directory, timeout=180)
        for qs in self.processes:
            qs.kill()
        if snapshot(self.prefix, self.netns_dir) != self.before:
            purge(self.prefix, self.netns_dir)
        shutil.rmtree(self.base, ignore_errors=True)

    def start(self):
        qs = QuickstartProcess(self.directory, self.prefix)
        self.processes.append(qs)
        qs.wait_for("Ready")
        return qs

    def stop(self, qs):
        result = run_gam("quickstart", "--stop", "--dir", self.directory, timeout=180)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("stopped", result.stdout)
        self.assertEqual(qs.process.wait(60), 0, qs.stderr())
        return qs.rest()

    def test_quickstart_to_ssh_and_back(self):
        qs = self.start()
        facts = qs.facts()
        for label in ("AM (AM API v3)", "registry (SFA)", "trust root", "certificate",
                      "private key", "ssh key", "slice credential", "omni_config",
                      "geni-lib context"):
            self.assertIn(label, facts)
        for label in ("trust root", "certificate", "private key", "ssh key",
                      "slice credential", "omni_config", "geni-lib context", "request RSpec"):
            self.assertTrue(os.path.isfile(facts[label]), facts[label])
        self.assertEqual(len(os.listdir(facts["geni-lib data dir"])), 2)
        user_line = next(line for line in qs.lines if line.startswith("Experimenter "))
        user_urn = user_line.split("(", 1)[1].rstrip(")")
        am = Experimenter(facts, user_urn)

        version = am.call("GetVersion")
        self.assertEqual(version["geni_api"], 3)
        with open(facts["request RSpec"]) as f:
            request = f.read()
        allocated = am.call("Allocate", am.slice_urn, am.creds, request, {})
        self.assertEqual(len(allocated["geni_slivers"]), 3)    # two nodes and their LAN
        am.call("Provision", [am.slice_urn], am.creds,
                {"geni_users": [{"urn": user_urn, "keys": [am.ssh_public]}]})

        # gam wait follows Status over TLS until every sliver is ready.
        waited = run_gam("wait", am.slice_urn.rsplit("+", 1)[1], "--dir", self.directory,
                         "--progress", "lines", "--timeout", "240", timeout=300)
        self.assertEqual(waited.returncode, 0, waited.stdout + waited.stderr)
        self.assertIn("every sliver is ready", waited.stdout)
        status = am.call("Status", [am.slice_urn], am.creds, {})
        self.assertEqual({s["geni_operational_status"] for s in status["geni_slivers"]},
                         {"geni_ready"})

        shown = run_gam("status", "--dir", self.directory)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("SLIVERS (3)", shown.stdout)

        manifest = am.call("Describe", [am.slice_urn], am.creds,
                           {"geni_rspec_version": V3})["geni_rspec"]
        logins = node_logins(manifest)
        self.assertEqual(sorted(logins), ["node-a", "node-b"])
        code, out, err = ssh_run(logins["node-a"], am.ssh_key, "hostname; ping -c 1 -W 5 "
                                 "10.10.1.2 >/dev/null && echo reached node-b")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.split(), ["node-a", "reached", "node-b"])

        deleted = am.call("Delete", [am.slice_urn], am.creds, {})
        self.assertEqual({s["geni_allocation_status"] for s in deleted}, {"geni_unallocated"})
        rest = self.stop(qs)
        self.assertIn("gam quickstart: stopped; no slivers were left running", rest)
        self.assertEqual(snapshot(self.prefix, self.netns_dir), self.before)

    def test_second_run_reuses_the_state(self):
        first = self.start()
        facts = first.facts()
        files = {label: open(facts[label]).read() for label in
                 ("trust root", "certificate", "private key", "ssh key", "slice credential")}
        self.stop(first)

        second = self.start()
        again = second.facts()
        self.assertIn("This start: reused: authority, AM certificate, ssh key, user, slice, "
                      "user credential, slice credential", second.lines)
        self.assertEqual(again["slice"].split(",")[0], facts["slice"].split(",")[0])
        for label, text in files.items():
            self.assertEqual(again[label], facts[label])
            with open(again[label]) as f:
                self.assertEqual(f.read(), text, f"{label} changed on the second run")
        user_line = next(line for line in second.lines if line.startswith("Experimenter "))
        am = Experimenter(again, user_line.split("(", 1)[1].rstrip(")"))
        self.assertEqual(am.call("GetVersion")["geni_api"], 3)
        # The slice credential of the first run still works at the AM of the second.
        described = am.call("Describe", [am.slice_urn], am.creds, {"geni_rspec_version": V3})
        self.assertEqual(described["geni_slivers"], [])
        self.stop(second)
        self.assertEqual(snapshot(self.prefix, self.netns_dir), self.before)
