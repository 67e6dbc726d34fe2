"""A real run of the netns playbooks through AnsibleHandler over SSH.

The test starts its own sshd on 127.0.0.1 (a free port, a host key and an
authorized key it makes), then builds a link and a node on this machine
through it, logs in to the node as the experimenter, and deletes both.
Needs root, sshd (openssh-server), iproute2 and util-linux; skips without.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

from twisted.internet import defer, reactor, threads
from twisted.trial import unittest

from gam.drivers import ansible, base
from gam.drivers.ansible_handler import AnsibleHandler, sliver_id
from tests.drivers.test_ansible_support import PLAYBOOKS, ansible_missing, start_pool

SSHD = "/usr/sbin/sshd"
TOOLS = ("ip", "unshare", "setsid", "flock", "ssh", "ssh-keygen")


def _mgmt():
    """A management network and bridge of this run's own, so that runs on one
    machine at once never share addresses (each has its own state folder)."""
    r = os.urandom(2)
    return {"netns_mgmt_network": f"10.254.{r[0]}.{r[1] & 0xF0}/28",
            "netns_mgmt_bridge": f"gam-t{r.hex()}"}


def _skip_reason():
    if not os.path.exists(SSHD):
        return f"{SSHD} is missing (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "needs root (namespaces, bridges, an sshd of its own)"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return f"missing tools: {', '.join(missing)} (iproute2, util-linux, openssh-client)"
    return ansible_missing()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path, comment):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                   check=True)
    with open(path + ".pub") as f:
        return f.read().strip()


class NetnsOverSSHTests(unittest.TestCase):
    skip = _skip_reason()
    timeout = 300

    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir, mode=0o700)
        self.port = _free_port()
        host_pub = _keygen(os.path.join(self.dir, "host_key"), "test-sshd")
        am_pub = _keygen(os.path.join(self.dir, "am_key"), "gam-am")
        self.user_pub = _keygen(os.path.join(self.dir, "user_key"), "experimenter")
        with open(os.path.join(self.dir, "authorized_keys"), "w") as f:
            f.write(am_pub + "\n")
        with open(os.path.join(self.dir, "known_hosts"), "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {host_pub.rsplit(' ', 1)[0]}\n")
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as f:
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\n"
                    f"HostKey {self.dir}/host_key\nPidFile {self.dir}/sshd.pid\n"
                    f"AuthorizedKeysFile {self.dir}/authorized_keys\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                    "Subsystem sftp internal-sftp\n")
        os.makedirs("/run/sshd", exist_ok=True)
        subprocess.run([SSHD, "-t", "-f", config], check=True)
        self.log = open(os.path.join(self.dir, "sshd.log"), "wb")
        self.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.addCleanup(self._stop_sshd)
        self._wait_for_sshd()
        self.state = os.path.join(self.dir, "state")
        self.vars = dict(_mgmt(), netns_state_root=self.state)
        self.host = {"address": "127.0.0.1", "port": self.port, "user": "root",
                     "key_file": os.path.join(self.dir, "am_key"),
                     "known_hosts": os.path.join(self.dir, "known_hosts"),
                     "python": sys.executable}
        self.pool = start_pool(self)
        tag = os.urandom(4).hex()
        self.node_urn = f"urn:publicid:IDN+test+sliver+node-{tag}"
        self.link_urn = f"urn:publicid:IDN+test+sliver+link-{tag}"
        # Runs before sshd stops: whatever the test left, removed locally.
        self.addCleanup(self._remove_locally)

    def _wait_for_sshd(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.sshd.poll() is not None:
                self.fail(f"sshd exited with status {self.sshd.returncode}; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.fail(f"sshd did not listen on 127.0.0.1:{self.port} within 15 s")

    def _stop_sshd(self):
        try:
            os.killpg(self.sshd.pid, signal.SIGTERM)
            self.sshd.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.sshd.pid, signal.SIGKILL)
            self.sshd.wait(10)
        finally:
            self.log.close()

    @defer.inlineCallbacks
    def _remove_locally(self):
        """Run the delete playbooks on this host directly (connection: local)."""
        local = [ansible.Host(name="cleanup", connection="local")]
        for book, urn in (("node-delete.yml", self.node_urn), ("link-delete.yml", self.link_urn)):
            yield threads.deferToThread(
                ansible._thd_run_playbook, os.path.join(PLAYBOOKS, "netns", book),
                hosts=local, extravars=self.vars, unsafe_vars={"gam_id": sliver_id(urn)},
                timeout=60)

    def handler(self, kind, prefix):
        ops = {"create": f"{prefix}-create.yml", "delete": f"{prefix}-delete.yml",
               "poll": f"{prefix}-poll.yml", "clean_restart": f"{prefix}-clean.yml"}
        if kind == "node":
            ops["perform"] = "node-action.yml"
        return AnsibleHandler.from_config(
            {"kind": kind, "playbook_dir": os.path.join(PLAYBOOKS, "netns"), "playbooks": ops,
             "hosts": {"testhost": self.host}, "timeout": 120, "vars": self.vars,
             # No connection outlives the test's sshd.
             "ssh_args": "-o ControlMaster=no"},
            threadpool=self.pool, reactor=reactor)

    def ssh(self, user, address, command):
        return threads.deferToThread(subprocess.run, [
            "ssh", "-i", os.path.join(self.dir, "user_key"), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", f"{user}@{address}", command],
            capture_output=True, text=True, timeout=60)

    def node_log(self, data):
        """The node's own log and processes, for failure messages."""
        path = os.path.join(self.state, data["namespace"], "node.log")
        try:
            with open(path) as f:
                log = f.read()[-2000:]
        except OSError as e:
            log = f"(no log: {e})"
        pids = subprocess.run(["ip", "netns", "pids", data["namespace"]], capture_output=True,
                              text=True).stdout.split()
        return f"node log:\n{log}\nprocesses in its netns: {pids}"

    def host_objects(self, *ids):
        """Names of network namespaces and links on this host that carry any
        of ``ids``, and processes whose command line names the state dir."""
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        found = [line.split()[0] for line in out.splitlines()
                 if any(i in line for i in ids)]
        found += [n for n in os.listdir("/sys/class/net")
                  if any(i in n for i in ids) or n == self.vars["netns_mgmt_bridge"]]
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if self.state.encode() in f.read():
                        found.append(f"process {pid}")
            except OSError:
                pass
        return found

    @defer.inlineCallbacks
    def test_wrong_host_key_is_refused(self):
        other_pub = _keygen(os.path.join(self.dir, "other_key"), "impostor")
        with open(os.path.join(self.dir, "known_hosts"), "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {other_pub.rsplit(' ', 1)[0]}\n")
        nodes = self.handler("node", "node")
        with self.assertRaises(base.DriverError) as caught:
            yield defer.ensureDeferred(nodes.poll(self.node_urn, {"host": "testhost"}))
        message = caught.exception.message
        self.assertIn("host 'testhost' is unreachable", message)
        self.assertIn("REMOTE HOST IDENTIFICATION HAS CHANGED", message)

    @defer.inlineCallbacks
    def test_node_and_link_lifecycle(self):
        links = self.handler("link", "link")
        nodes = self.handler("node", "node")
        account = "gamalice"
        self.assertRaises(KeyError, pwd.getpwnam, account)

        link = yield defer.ensureDeferred(links.create(
            base.LinkPlan(sliver_urn=self.link_urn, slice_urn="urn:s", client_id="lan0"), {}))
        bridge = link.data["bridge"]
        self.assertTrue(os.path.isdir(f"/sys/class/net/{bridge}/bridge"))
        self.assertEqual(link.data["hosts"], ["testhost"])

        plan = base.NodePlan(
            sliver_urn=self.node_urn, slice_urn="urn:s", client_id="node-a", host="testhost",
            sliver_type="gam-netns",
            interfaces=(base.InterfacePlan("node-a:if0", self.link_urn, "10.10.1.1",
                                           "255.255.255.0"),),
            users=(base.User("urn:publicid:IDN+test+user+alice", account, (self.user_pub,)),))
        node = yield defer.ensureDeferred(nodes.create(plan, {self.link_urn: link.data}))
        data = node.data
        self.assertEqual(node.state, base.READY)
        self.assertEqual(data["host"], "testhost")
        (login,) = data["logins"]
        self.assertEqual((login["username"], login["port"]), (account, 22))

        # The namespace is there, and the node's own sshd lets the
        # experimenter in, to a host name, accounts and PID 1 of its own.
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertIn(data["namespace"], netns)
        out = yield self.ssh(account, login["hostname"],
                             "hostname; id -un; tr '\\0' ' ' </proc/1/cmdline; echo; "
                             "cat /sys/class/net/eth0/address; ip -4 -o addr show eth0")
        self.assertEqual(out.returncode, 0, out.stderr + self.node_log(data))
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], "node-a")
        self.assertEqual(lines[1], account)
        self.assertIn(f"sshd -D -e -f {self.state}", lines[2])
        self.assertEqual(lines[3], data["interfaces"]["node-a:if0"]["mac"])
        self.assertIn("10.10.1.1/24", lines[4])
        self.assertRaises(KeyError, pwd.getpwnam, account)     # only inside the node
        with open(f"/sys/class/net/{bridge}/brif/gam-v{sliver_id(self.node_urn)}0/port_no"):
            pass                                               # its veth is on the link

        state = yield defer.ensureDeferred(nodes.poll(self.node_urn, data))
        self.assertEqual(state, base.READY)

        # A second user replaces the first.
        bob = base.User("urn:publicid:IDN+test+user+bob", "gambob", (self.user_pub,))
        state = yield defer.ensureDeferred(nodes.perform(self.node_urn, data,
                                                         base.UPDATE_USERS, users=(bob,)))
        self.assertEqual(state, base.READY)
        out = yield self.ssh("gambob", login["hostname"], "id -un")
        self.assertEqual(out.stdout.strip(), "gambob", out.stderr + self.node_log(data))
        out = yield self.ssh(account, login["hostname"], "true")
        self.assertNotEqual(out.returncode, 0)

        yield defer.ensureDeferred(nodes.delete(self.node_urn, data))
        yield defer.ensureDeferred(links.delete(self.link_urn, link.data))
        ids = (sliver_id(self.node_urn), sliver_id(self.link_urn))
        self.assertEqual(self.host_objects(*ids), [])
        self.assertEqual(os.listdir(self.state), [".lock"])
        state = yield defer.ensureDeferred(nodes.poll(self.node_urn, data))
        self.assertEqual(state, base.FAILED)
        # Deleting again is fine.
        yield defer.ensureDeferred(nodes.delete(self.node_urn, data))
