"""geni-lib against gam with the real Linux-namespace driver (root only).

geni-lib creates the two-node LAN of :func:`tests.clients.test_genilib.lan_request`,
waits with ``sliverstatus`` until it is ready, reads the logins from the
manifest with its own classes, and the test logs in to each node over SSH
with Paramiko at that login, with the key the geni-lib context handed the
AM. Everything of the test's host-object prefix is removed afterwards,
whatever happened. Skips with the reason when geni-lib is missing or the
namespace driver cannot run here (not root, a tool missing).
"""
import os
import secrets
import shutil
import tempfile
import time

from twisted.internet import defer, reactor, task, threads
from twisted.trial import util
from twisted.trial.unittest import SkipTest, TestCase

from gam.aggregate.service import AMService
from gam.config import parse_config
from gam.drivers.manager import Drivers

from tests.aggregate.tls_support import config_data
from tests.clients.genilib_support import (
    GENILIB_MISSING, build_context, ssh_keypair, v2_aggregate)
from tests.clients.test_genilib import ADDRESSES, CM, SLICE, lan_request
from tests.drivers.netns_support import config as netns_config
from tests.drivers.netns_support import skip_reason, snapshot
from tests.pki import pki

#: Longest wait for the slice to be ready, and the pause between SliverStatus calls.
DEADLINE = 150
POLL = 0.5
SSH_TIMEOUT = 30


def thd_ssh(login, key_path, command):
    """Run ``command`` over SSH at geni-lib's ``login`` with the key in
    ``key_path`` only; ``(exit status, stdout, stderr)``."""
    import paramiko

    client = paramiko.SSHClient()
    # the node's host key is new for each node: a first contact, as for a user
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(login.hostname, port=login.port, username=login.username,
                       key_filename=key_path, look_for_keys=False, allow_agent=False,
                       timeout=SSH_TIMEOUT, banner_timeout=SSH_TIMEOUT,
                       auth_timeout=SSH_TIMEOUT)
        _, stdout, stderr = client.exec_command(command, timeout=SSH_TIMEOUT)
        out, err = stdout.read().decode(), stderr.read().decode()
        return stdout.channel.recv_exit_status(), out, err
    finally:
        client.close()


def free_prefix():
    """A host-object prefix nothing on this host uses yet."""
    for _ in range(50):
        prefix = "c" + secrets.token_hex(2)[:3]
        if not any(snapshot(prefix, "/nonexistent-gam-state").values()):
            return prefix
    raise RuntimeError("no free prefix for host objects")


class GeniLibNamespaceTests(TestCase):
    timeout = 300
    suppress = [util.suppress(message="Unverified HTTPS request")]

    def setUp(self):
        reason = GENILIB_MISSING or skip_reason()
        if reason:
            raise SkipTest(reason)
        return defer.Deferred.fromCoroutine(self._start())

    async def _start(self):
        self.pki = pki()
        directory = self.directory = tempfile.mkdtemp(prefix="gam-genilib-")
        self.addCleanup(shutil.rmtree, directory, True)
        os.makedirs(os.path.join(directory, "var"))
        self.state_dir = os.path.join(directory, "netns")
        os.makedirs(self.state_dir, mode=0o700)
        self.prefix = free_prefix()
        self.before = snapshot(self.prefix, self.state_dir)
        files = self.pki.write_files(directory)
        config = parse_config(config_data(directory, files),
                              path=os.path.join(directory, "gam.yaml"), base_dir=directory)
        node = {"resource_types": ["default-vm", "emulab-xen"],
                "login": {"hostname": "127.0.0.1"}, "timeouts": {"create": 120}}
        self.drivers = Drivers(netns_config(self.prefix, self.state_dir, node=node),
                               reactor=reactor)
        self.service = AMService(config, self.drivers, reactor=reactor)
        self.addCleanup(lambda: defer.Deferred.fromCoroutine(self._tear_down()))
        await self.service.start()
        self.key_path, public_path, _ = ssh_keypair(directory, "alice-ssh")
        self.context = build_context(directory, self.pki, self.pki.alice, public_path)
        self.am = v2_aggregate(f"https://127.0.0.1:{self.service.port_number}/am/2.0", CM)

    async def _tear_down(self):
        """Delete the slice, remove what is left of the prefix, stop; then
        check that the host holds nothing of the prefix."""
        problems = []
        if self.service.port is not None:
            try:
                await threads.deferToThread(self.am.deletesliver, self.context, SLICE)
            except Exception as e:
                if getattr(e, "data", None) is None or e.data["code"]["geni_code"] != 12:
                    problems.append(f"DeleteSliver: {e!r}")
        if self.drivers.started:
            result = await self.drivers.clean_restart([])
            if result.errors:
                problems.append(f"clean_restart: {result.errors}")
        await self.service.stop()
        left = snapshot(self.prefix, self.state_dir)
        if left != self.before:
            problems.append(f"left on the host: {left}")
        if problems:
            raise AssertionError("cleanup: " + "; ".join(problems))

    async def wait_ready(self):
        """SliverStatus until the slice is ready (fails on failed or the deadline)."""
        end = time.monotonic() + DEADLINE
        while True:
            status = await threads.deferToThread(self.am.sliverstatus, self.context, SLICE)
            if status["geni_status"] == "ready":
                return status
            self.assertNotEqual(status["geni_status"], "failed", status)
            if time.monotonic() >= end:
                self.fail(f"not ready after {DEADLINE} s: {status}")
            await task.deferLater(reactor, POLL, lambda: None)

    @defer.inlineCallbacks
    def test_login_to_nodes_from_the_manifest(self):
        yield threads.deferToThread(self.am.createsliver, self.context, SLICE, lan_request())
        yield defer.Deferred.fromCoroutine(self.wait_ready())
        manifest = yield threads.deferToThread(self.am.listresources, self.context, SLICE)
        nodes = {n.client_id: n for n in manifest.nodes}
        self.assertEqual(sorted(nodes), sorted(ADDRESSES))
        for name, node in nodes.items():
            [login] = [lg for lg in node.logins if lg.username == "alice"]
            self.assertEqual((login.hostname, login.auth), ("127.0.0.1", "ssh-keys"))
            [peer] = [a for n, a in ADDRESSES.items() if n != name]
            status, out, err = yield threads.deferToThread(
                thd_ssh, login, self.key_path,
                f"hostname; id -un; /usr/sbin/ip -4 -o addr; ping -c 1 -W 5 {peer}")
            self.assertEqual(status, 0, err)
            lines = out.splitlines()
            self.assertEqual(lines[0], name)
            self.assertEqual(lines[1], "alice")
            self.assertIn(f"inet {ADDRESSES[name]}/24", out)
            self.assertIn("1 received", out)
            [iface] = node.interfaces
            mac = yield threads.deferToThread(
                thd_ssh, login, self.key_path,
                f"/usr/sbin/ip -o link | grep -F {iface.mac_address} | wc -l")
            self.assertEqual(mac[1].strip(), "1", mac)
        yield threads.deferToThread(self.am.deletesliver, self.context, SLICE)
        error = None
        try:
            yield threads.deferToThread(self.am.sliverstatus, self.context, SLICE)
        except Exception as e:
            error = e
        self.assertIsNotNone(error, "SliverStatus still answers after DeleteSliver")
        self.assertEqual(error.data["code"]["geni_code"], 12)
