"""The netns playbooks through AnsibleHandler on this host (connection:
local), for what test_ansible_ssh does not reach: a delete whose
``ip link delete`` fails is reported, not hidden, and a node is ready only
once an SSH banner comes from its management address.

A stand-in ``ip`` (tests/data/ansible/fakebin) refuses to delete the devices
named in GAM_FAKE_IP_KEEP and runs the real ip for everything else. The
node's "sshd" is a small script of the test's own. Needs root, iproute2,
util-linux and ssh-keygen; skips without.
"""
import os
import shutil
import subprocess
import sys

from twisted.internet import defer, threads
from twisted.trial import unittest

from gam.drivers import ansible, base
from gam.drivers.ansible_handler import sliver_id
from tests.drivers.test_ansible_support import (
    DATA, PLAYBOOKS, ansible_missing, playbook_handler, start_pool)

FAKEBIN = os.path.join(DATA, "fakebin")
TOOLS = ("ip", "unshare", "setsid", "flock", "ssh-keygen")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyFakeKeyForTests x@test"
REFUSED = "RTNETLINK answers: Operation not permitted"   # the stand-in ip's refusal

# A node's sshd for these tests: takes connections on its config's Port and
# sends BANNER (or, if None, nothing: like a relay that is up before sshd).
# It stops by itself after a while.
FAKE_SSHD = '''#!{python}
import socket, sys, time
BANNER = {banner!r}
if "-t" in sys.argv:
    sys.exit(0)
with open(sys.argv[sys.argv.index("-f") + 1]) as f:
    port = next(int(line.split()[1]) for line in f if line.startswith("Port "))
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", port))
server.listen(8)
server.settimeout(1)
held, end = [], time.monotonic() + 120
while time.monotonic() < end:
    try:
        conn = server.accept()[0]
    except socket.timeout:
        continue
    if BANNER:
        conn.sendall(BANNER)
    held.append(conn)
'''


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root (namespaces, bridges, veths)"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return f"missing tools: {', '.join(missing)} (iproute2, util-linux, openssh-client)"
    return ansible_missing()


def _there(dev):
    return os.path.exists(f"/sys/class/net/{dev}")


class NetnsLocalTests(unittest.TestCase):
    skip = _skip_reason()
    timeout = 240

    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir, mode=0o700)
        old_env = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(old_env)))
        os.environ["PATH"] = FAKEBIN + os.pathsep + os.environ.get("PATH", "")
        r = os.urandom(2)
        self.state = os.path.join(self.dir, "state")
        # A management network and bridge of this test's own.
        self.vars = {"netns_state_root": self.state,
                     "netns_mgmt_network": f"10.254.{r[0]}.{r[1] & 0xF0}/28",
                     "netns_mgmt_bridge": f"gam-t{r.hex()}", "netns_start_wait": 3}
        self.pool = start_pool(self)
        tag = os.urandom(4).hex()
        self.node_urn = f"urn:publicid:IDN+test+sliver+node-{tag}"
        self.link_urn = f"urn:publicid:IDN+test+sliver+link-{tag}"
        self.addCleanup(self._remove_all)

    @defer.inlineCallbacks
    def _remove_all(self):
        """Whatever a test left: the delete playbooks with the real ip, then
        any device of this test's that is still there."""
        os.environ.pop("GAM_FAKE_IP_KEEP", None)
        local = [ansible.Host(name="cleanup", connection="local")]
        for book, urn in (("node-delete.yml", self.node_urn), ("link-delete.yml", self.link_urn)):
            try:
                yield threads.deferToThread(
                    ansible._thd_run_playbook, os.path.join(PLAYBOOKS, "netns", book),
                    hosts=local, extravars=self.vars, unsafe_vars={"gam_id": sliver_id(urn)},
                    timeout=60)
            except base.DriverError:
                pass
        ids = (sliver_id(self.node_urn), sliver_id(self.link_urn))
        for dev in os.listdir("/sys/class/net"):
            if any(i in dev for i in ids) or dev == self.vars["netns_mgmt_bridge"]:
                subprocess.run(["ip", "link", "delete", dev], capture_output=True)

    def handler(self, kind):
        return playbook_handler("netns", kind, "here", self.vars, self.pool)

    def fake_sshd(self, banner):
        """A node handler whose nodes run the test's sshd (see FAKE_SSHD)."""
        path = os.path.join(self.dir, "sshd")
        with open(path, "w") as f:
            f.write(FAKE_SSHD.format(python=sys.executable, banner=banner))
        os.chmod(path, 0o755)
        self.vars["netns_sshd"] = path
        return self.handler("node")

    def node_plan(self):
        return base.NodePlan(
            sliver_urn=self.node_urn, slice_urn="urn:s", client_id="node-a", host="here",
            sliver_type="gam-netns",
            users=(base.User("urn:publicid:IDN+test+user+alice", "gamalice", (KEY,)),))

    @defer.inlineCallbacks
    def test_link_delete_reports_a_bridge_that_stays(self):
        links = self.handler("link")
        link = yield defer.ensureDeferred(links.create(
            base.LinkPlan(sliver_urn=self.link_urn, slice_urn="urn:s", client_id="lan0"), {}))
        bridge = link.data["bridge"]
        os.environ["GAM_FAKE_IP_KEEP"] = bridge
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        self.assertIn(f"cannot delete {bridge}: {REFUSED}", caught.exception.message)
        self.assertTrue(_there(bridge))

        del os.environ["GAM_FAKE_IP_KEEP"]
        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        self.assertFalse(_there(bridge))
        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))    # gone: fine

    @defer.inlineCallbacks
    def test_node_delete_reports_devices_that_stay(self):
        # What a node leaves on the host if its namespace is gone but not
        # its devices: its folder, a data veth (the peer on the host here,
        # so it outlives the namespace) and the management bridge.
        nid = sliver_id(self.node_urn)
        veth, bridge = f"gam-v{nid}0", self.vars["netns_mgmt_bridge"]
        os.makedirs(os.path.join(self.state, f"gam-n{nid}"))
        subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name",
                        f"gam-p{nid}"], check=True)
        subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
        nodes = self.handler("node")

        os.environ["GAM_FAKE_IP_KEEP"] = veth
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.delete(self.node_urn, {"host": "here"}))
        self.assertIn(f"cannot delete {veth}: {REFUSED}", caught.exception.message)
        self.assertTrue(_there(veth))
        self.assertTrue(os.path.isdir(os.path.join(self.state, f"gam-n{nid}")))

        os.environ["GAM_FAKE_IP_KEEP"] = bridge
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.delete(self.node_urn, {"host": "here"}))
        self.assertIn(f"cannot delete {bridge}: {REFUSED}", caught.exception.message)
        self.assertFalse(_there(veth))
        self.assertTrue(_there(bridge))

        del os.environ["GAM_FAKE_IP_KEEP"]
        yield defer.ensureDeferred(nodes.delete(self.node_urn, {"host": "here"}))
        self.assertFalse(_there(bridge))
        self.assertEqual(os.listdir(self.state), [".lock"])
        yield defer.ensureDeferred(nodes.delete(self.node_urn, {"host": "here"}))   # fine

    @defer.inlineCallbacks
    def test_node_is_ready_only_once_its_sshd_says_so(self):
        ns = "gam-n" + sliver_id(self.node_urn)
        # The port takes connections, but no SSH banner comes.
        nodes = self.fake_sshd(banner=None)
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.create(self.node_plan(), {}))
        message = caught.exception.message
        self.assertIn(f"the sshd of node {ns} did not answer with an SSH banner on", message)
        self.assertIn(":22 within 3 s", message)
        self.assertIn("what it had made was removed", message)
        self.assertFalse(os.path.exists(f"/run/netns/{ns}"))

        nodes = self.fake_sshd(banner=b"SSH-2.0-OpenSSH_9.2p1 gam-test\r\n")
        node = yield defer.ensureDeferred(nodes.create(self.node_plan(), {}))
        self.assertEqual(node.state, base.READY)
        self.assertEqual([(lg["username"], lg["port"]) for lg in node.data["logins"]],
                         [("gamalice", 22)])
        yield defer.ensureDeferred(nodes.delete(self.node_urn, node.data))
        self.assertFalse(os.path.exists(f"/run/netns/{ns}"))
