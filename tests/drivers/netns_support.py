"""Support for the namespace driver's root-only system tests.

Each test gets its own prefix (so it touches nothing else on the host) and
state folder, a started Drivers, and a cleanup that removes everything of
that prefix even when the test failed. :func:`snapshot` lists what of a
prefix exists on the host (namespaces, interfaces, processes, mounts,
iptables rules, folders) for before/after comparisons.
"""
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

from twisted.internet import defer
from twisted.trial import unittest

from gam.drivers import base, ssh
from gam.drivers.config import parse_config
from gam.drivers.manager import Drivers, SliverRef
from gam.drivers.netns import host

from tests.drivers.support import Reports, make_keypair

TOOLS = ("ip", "tc", "bridge", "unshare", "nsenter", "mount", "setpriv", "ping")
SSHD = "/usr/sbin/sshd"


def skip_reason():
    """Why the system tests cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "the namespace driver needs Linux"
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth pairs, bridges); CI runs as root"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not os.access(SSHD, os.X_OK):
        missing.append(SSHD)
    if missing:
        return (f"missing {', '.join(missing)}: apt-get install iproute2 util-linux "
                "openssh-server iputils-ping")
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        return "ip netns does not work here"
    return None


def snapshot(prefix, state_dir):
    """What of ``prefix`` exists on this host now."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if prefix in line or state_dir in line]
    rules = []
    if host.iptables_available():
        res = subprocess.run(["iptables", "-w", "5", "-S"], capture_output=True, text=True)
        rules = [r for r in res.stdout.splitlines() if prefix in r]
    procs = sorted({" ".join(argv) for argv in host.marked_processes(prefix).values()
                    if any(a.startswith(prefix) for a in argv)}
                   | {f"pid {pid} GAM_NODE={ns}" for pid, ns in
                      host.marked_environ("GAM_NODE").items() if ns.startswith(prefix)})
    return {
        "netns": sorted(n for n in host.list_netns() if n.startswith(prefix)),
        "links": sorted(n for n in host.host_links() if n.startswith(prefix)),
        "processes": procs,
        "mounts": sorted(mounts),
        "iptables": sorted(rules),
        "state": sorted(os.listdir(state_dir)) if os.path.isdir(state_dir) else [],
    }


def config(prefix, state_dir, node=None, link=None):
    node = dict(node or {})
    login = {"bind": "127.0.0.1", "ports": "0", **node.pop("login", {})}
    node = {"class": "gam.drivers.netns.NetnsNodeHandler", "resource_types": ["namespace"],
            "prefix": prefix, "state_dir": state_dir, "timeouts": {"create": 60},
            "login": login, "retries": 0, **node}
    link = {"class": "gam.drivers.netns.NetnsLinkHandler", "resource_types": ["link"],
            "prefix": prefix, "timeout": 30, "retries": 0, **(link or {})}
    return parse_config({"pool_size": 16, "handlers": {"node": node, "link": link}})


class SystemTestCase(unittest.TestCase):
    """A Drivers with a private prefix; everything removed afterwards."""

    timeout = 180
    node_settings = None

    def setUp(self):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        self.prefix = "t" + secrets.token_hex(2)[:3]
        self.state_dir = tempfile.mkdtemp(prefix="gam-netns-test-")
        self.before = snapshot(self.prefix, self.state_dir)
        self.drivers = Drivers(config(self.prefix, self.state_dir, self.node_settings))
        self.addCleanup(self._clean)
        self.pkey, self.pub = make_keypair()
        self.alice = base.User("urn:publicid:IDN+gam.test+user+alice", "alice", (self.pub,))
        return self.drivers.start()

    async def _clean_async(self):
        if self.drivers.started:
            await self.drivers.clean_restart([])
            await self.drivers.stop()

    def _clean(self):
        d = defer.ensureDeferred(self._clean_async())

        def last(result):
            shutil.rmtree(self.state_dir, ignore_errors=True)
            return result
        return d.addBoth(last)

    def assertNothingLeft(self):
        self.assertEqual(snapshot(self.prefix, self.state_dir), self.before)

    async def provision(self, links, nodes):
        reports = Reports()
        out = await self.drivers.provision(links, nodes, reports)
        return out, reports

    def refs(self, plans, out):
        return [SliverRef(p.sliver_urn, getattr(p, "sliver_type", "link"),
                          out[p.sliver_urn].data) for p in plans]

    def run_on(self, data, command, user="alice", pkey=None, check=True):
        """Run ``command`` on the node of ``data`` as ``user``, over its login."""
        login = next(lg for lg in data["logins"] if lg["username"] == user)
        return self.drivers.run_in_pool(
            ssh.thd_run_command, "127.0.0.1", login["port"], user, pkey or self.pkey,
            command, host_key=data["host_key"], check=check, timeout=30)
