"""The whole AM for real: TLS, a SQLite file and the namespace driver of
``etc/drivers/netns.yaml``, as an experimenter's client sees it.

:class:`RealAM` builds one AM in a temporary folder: the test PKI's files,
the shipped ``netns.yaml`` with its own ``state_dir`` and host-object
``prefix`` (and logins on 127.0.0.1, any free port), a config on port 0,
and the drivers from :func:`gam.aggregate.service.load_drivers`. The tests
and ``bench/bench_provision.py`` both use it.

:class:`AMSystemCase` starts one per test (root only; skips with the
reason elsewhere), talks to it over TLS as alice, logs in to nodes with
Paramiko (:func:`thd_ssh`) and, whatever happened, deletes the slices it
made, has the driver remove everything of its prefix (``clean_restart``
with no live sliver) and checks that the host holds nothing of the prefix
any more. Waits are deadline-bounded polls of Status.
"""
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass

import paramiko
import yaml
from lxml import etree
from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from gam.aggregate.service import AMService, load_drivers
from gam.config import parse_config
from gam.db.slivers import thd_get_slivers
from gam.rspec.validation import schema_errors

from tests.aggregate.support import link, node, rspec
from tests.aggregate.tls_support import V3, Client, config_data
from tests.drivers.netns_support import skip_reason, snapshot
from tests.drivers.support import make_keypair
from tests.pki import pki, struct

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NETNS_YAML = os.path.join(REPO, "etc", "drivers", "netns.yaml")
CM = "urn:publicid:IDN+gam.test+authority+cm"
LOGIN_HOST = "127.0.0.1"
NS = {"r": "http://www.geni.net/resources/rspec/3"}
READY, FAILED, NOTREADY = "geni_ready", "geni_failed", "geni_notready"
#: Longest wait for the AM to reach a state (a poll of Status every POLL s).
DEADLINE = 150
POLL = 0.2
SSH_TIMEOUT = 30

__all__ = ["RealAM", "AMSystemCase", "SkewedClock", "thd_ssh", "driver_config",
           "free_prefix", "gnode", "link", "rspec", "manifest_nodes", "skip_reason", "V3",
           "READY", "FAILED", "NOTREADY"]


def driver_config(prefix, state_dir, path=NETNS_YAML):
    """The shipped namespace driver configuration with this ``prefix`` and
    ``state_dir``, logins on 127.0.0.1 (any free port) named ``LOGIN_HOST``."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    for handler in data["handlers"].values():
        cls = handler.get("class", "") + handler.get("driver", "")
        handler["prefix"] = prefix
        if cls.endswith("NetnsNodeHandler") or cls == "netns-node":
            handler["state_dir"] = state_dir
            handler["login"] = dict(handler.get("login") or {}, bind="127.0.0.1", ports="0",
                                    hostname=LOGIN_HOST)
    return data


def free_prefix(first="s"):
    """A host-object prefix nothing on this host uses yet."""
    for _ in range(50):
        prefix = first + secrets.token_hex(2)[:3]
        if not any(snapshot(prefix, "/nonexistent-gam-state").values()):
            return prefix
    raise RuntimeError("no free prefix found for host objects")


class SkewedClock:
    """The reactor's time plus an offset that only moves forward: the AM's
    clock, so that a test can let leases run out without waiting."""

    def __init__(self, reactor_):
        self.reactor = reactor_
        self.offset = 0.0

    def seconds(self):
        return self.reactor.seconds() + self.offset

    def callLater(self, delay, fn, *args, **kwargs):
        return self.reactor.callLater(delay, fn, *args, **kwargs)

    def skip(self, seconds):
        self.offset += seconds


class RealAM:
    """One AM in ``directory`` with the real drivers; host objects named ``prefix``."""

    def __init__(self, directory, prefix, *, limits=None, inventory=None, clock=None):
        self.directory = directory
        self.prefix = prefix
        self.pki = pki()
        self.state_dir = os.path.join(directory, "netns")
        os.makedirs(os.path.join(directory, "var"), exist_ok=True)
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        drivers_dir = os.path.join(directory, "drivers")
        os.makedirs(drivers_dir, exist_ok=True)
        with open(os.path.join(drivers_dir, "netns.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(driver_config(prefix, self.state_dir), f)
        files = self.pki.write_files(directory)
        data = config_data(directory, files, **(limits or {}))
        data["drivers"] = {"config_dir": drivers_dir}
        if inventory is not None:
            data["inventory"] = inventory
        self.config = parse_config(data, path=os.path.join(directory, "gam.yaml"),
                                   base_dir=directory)
        self.drivers = load_drivers(self.config, reactor)
        self.service = AMService(self.config, self.drivers, reactor=reactor, clock=clock)
        self.url = None
        self.started = False

    async def start(self):
        await self.service.start()
        self.started = True
        self.url = f"https://127.0.0.1:{self.service.port_number}{self.config.rpc_path}"

    async def restart(self):
        """Stop the AM and start a new one on the same database and host
        objects (the drivers manager cannot start twice: a new one)."""
        await self.service.stop()
        self.started = False
        self.drivers = load_drivers(self.config, reactor)
        self.service = AMService(self.config, self.drivers, reactor=reactor,
                                 clock=self.service.aggregate.clock)
        await self.start()

    def client(self, identity=None):
        return Client(self.url, identity or self.pki.alice, self.pki.root.gid.pem,
                      self.directory)

    def slice_urn(self, name):
        return str(self.pki.slice_urn(name))

    def credentials(self, name, owner=None):
        return [struct(self.pki.slice_credential(owner or self.pki.alice, name))]

    def snapshot(self):
        """This AM's objects on the host (see tests.drivers.netns_support.snapshot)."""
        return snapshot(self.prefix, self.state_dir)

    async def driver_data(self, urns):
        """``{sliver urn: the driver's data}`` as the AM stored it."""
        slivers = await self.service.aggregate.db.read(thd_get_slivers, list(urns))
        return {s.urn: dict(s.data.get("driver") or {}) for s in slivers}

    async def tear_down(self, slice_names=()):
        """Delete ``slice_names``, remove whatever of the prefix is left
        (clean_restart with no live sliver), stop. Returns what went wrong."""
        problems = []
        if self.started:
            client = self.client()
            for name in slice_names:
                try:
                    env = await client("Delete", [self.slice_urn(name)],
                                       self.credentials(name), {"geni_best_effort": True})
                except Exception as e:
                    problems.append(f"Delete of {name} raised {e!r}")
                    continue
                code = env["code"]["geni_code"]
                bad = [s for s in (env["value"] if code == 0 else []) if s.get("geni_error")]
                # 12: gone already; 11: shut down (only expiry or clean_restart frees it)
                if code not in (0, 11, 12) or bad:
                    problems.append(f"Delete of {name}: {env.get('output') or bad}")
        if self.drivers.started:
            try:
                result = await self.drivers.clean_restart([])
                if result.errors:
                    problems.append(f"clean_restart: {result.errors}")
            except Exception as e:
                problems.append(f"clean_restart raised {e!r}")
        await self.service.stop()
        self.started = False
        return problems


@dataclass(frozen=True)
class SshResult:
    status: int
    stdout: str
    stderr: str
    host_key: str        # the server's host key, "type base64"


def thd_ssh(login, pkey, command, timeout=SSH_TIMEOUT):
    """Log in with Paramiko as ``login`` says (hostname, port, username)
    with ``pkey`` only, run ``command``; raises what Paramiko raises."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(login["hostname"], port=int(login["port"]), username=login["username"],
                       pkey=pkey, look_for_keys=False, allow_agent=False, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout)
        key = client.get_transport().get_remote_server_key()
        _, stdout, stderr = client.exec_command(command, timeout=timeout)
        out = stdout.read().decode(errors="replace")
        err = stderr.read().decode(errors="replace")
        return SshResult(stdout.channel.recv_exit_status(), out, err,
                         f"{key.get_name()} {key.get_base64()}")
    finally:
        client.close()


def gnode(client_id, ifaces=(), **kwargs):
    """A request node of this AM; ``ifaces``: (client_id, address) pairs."""
    return node(client_id, cm=CM, interfaces=ifaces, **kwargs)


def manifest_nodes(text):
    """``{client_id: {"logins": [...], "host": name, "macs": {iface: mac}, "sliver_id"}}``."""
    tree = etree.fromstring(text.encode())
    out = {}
    for el in tree.findall("r:node", NS):
        logins = [{"hostname": lg.get("hostname"), "port": int(lg.get("port")),
                   "username": lg.get("username"), "authentication": lg.get("authentication")}
                  for lg in el.findall("r:services/r:login", NS)]
        host = el.find("r:host", NS)
        out[el.get("client_id")] = {
            "logins": logins, "host": host.get("name") if host is not None else None,
            "sliver_id": el.get("sliver_id"),
            "macs": {i.get("client_id"): i.get("mac_address")
                     for i in el.findall("r:interface", NS)}}
    return out


class AMSystemCase(unittest.TestCase):
    """A real AM per test (``self.am``), alice's client and SSH key; every
    slice made with :meth:`create` is deleted and the host checked after."""

    timeout = 300
    limits = {}
    maxDiff = None

    def setUp(self):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        self.tmp = tempfile.mkdtemp(prefix="gam-system-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.clock = SkewedClock(reactor)
        self.am = RealAM(self.tmp, free_prefix(), limits=self.limits, clock=self.clock)
        self.before = self.am.snapshot()
        self.slices = []
        self.addCleanup(self._tear_down)
        self.pkey, self.pub = make_keypair("alice@gam-system")
        self.alice = str(self.am.pki.alice.urn)
        return defer.Deferred.fromCoroutine(self._start())

    async def _start(self):
        await self.am.start()
        self.client = self.am.client()

    def _tear_down(self):
        async def run():
            problems = await self.am.tear_down(self.slices)
            left = self.am.snapshot()
            if left != self.before:
                problems.append(f"left on the host: {left} (before: {self.before})")
            if problems:
                raise AssertionError("cleanup: " + "; ".join(problems))
        return defer.Deferred.fromCoroutine(run())

    # -- calls ----------------------------------------------------------

    async def call(self, method, *params, code=0, client=None):
        """The value of a call expected to succeed, or the envelope of one
        expected to fail with ``code``."""
        envelope = await (client or self.client)(method, *params)
        self.assertEqual(envelope["code"]["geni_code"], code,
                         f"{method}: {envelope.get('output')}")
        return envelope["value"] if code == 0 else envelope

    def users(self, *entries):
        """geni_users: alice with her key, or ``(urn, [keys])`` entries."""
        entries = entries or ((self.alice, [self.pub]),)
        return [{"urn": urn, "keys": list(keys)} for urn, keys in entries]

    async def allocate_provision(self, name, request, users=None, **options):
        """Allocate and Provision slice ``name`` (deleted after the test);
        ``options``: more Provision options."""
        if name not in self.slices:
            self.slices.append(name)
        urn, creds = self.am.slice_urn(name), self.am.credentials(name)
        allocated = await self.call("Allocate", urn, creds, request, {})
        self.assertEqual({s["geni_allocation_status"] for s in allocated["geni_slivers"]},
                         {"geni_allocated"})
        provisioned = await self.call("Provision", [urn], creds, {
            "geni_rspec_version": V3, "geni_users": users or self.users(), **options})
        self.assertEqual({s["geni_allocation_status"] for s in provisioned["geni_slivers"]},
                         {"geni_provisioned"})
        return provisioned

    async def status(self, name, code=0):
        value = await self.call("Status", [self.am.slice_urn(name)],
                                self.am.credentials(name), {}, code=code)
        return value["geni_slivers"] if code == 0 else value

    async def wait_for(self, name, done, what, deadline=DEADLINE):
        """Poll Status of slice ``name`` until ``done(slivers)``; the slivers."""
        end = time.monotonic() + deadline
        while True:
            slivers = await self.status(name)
            if done(slivers):
                return slivers
            if time.monotonic() >= end:
                self.fail(f"slice {name} not {what} after {deadline} s: " + "; ".join(
                    f"{s['geni_sliver_urn']}: {s['geni_operational_status']} "
                    f"{s['geni_error']}" for s in slivers))
            await task.deferLater(reactor, POLL, lambda: None)

    async def wait_gone(self, name, deadline=DEADLINE):
        """Poll Status of slice ``name`` until it answers 12 (no slivers)."""
        end = time.monotonic() + deadline
        while True:
            envelope = await self.client("Status", [self.am.slice_urn(name)],
                                         self.am.credentials(name), {})
            code = envelope["code"]["geni_code"]
            if code == 12:
                return envelope
            self.assertEqual(code, 0, envelope.get("output"))
            if time.monotonic() >= end:
                self.fail(f"slice {name} still there after {deadline} s: {envelope['value']}")
            await task.deferLater(reactor, POLL, lambda: None)

    async def wait_settled(self, name, deadline=DEADLINE):
        """Every sliver geni_ready or geni_failed: the slivers."""
        return await self.wait_for(
            name, lambda ss: all(s["geni_operational_status"] in (READY, FAILED) for s in ss),
            "settled", deadline)

    async def wait_ready(self, name, deadline=DEADLINE):
        slivers = await self.wait_settled(name, deadline)
        failed = {s["geni_sliver_urn"]: s["geni_error"] for s in slivers
                  if s["geni_operational_status"] != READY}
        self.assertEqual(failed, {}, f"slice {name} failed")
        return slivers

    async def create(self, name, request, users=None, **options):
        """Allocate, Provision, wait for geni_ready: the manifest's nodes."""
        await self.allocate_provision(name, request, users, **options)
        await self.wait_ready(name)
        return await self.describe(name)

    async def describe(self, name):
        """The manifest's nodes (see manifest_nodes); the manifest must be valid."""
        value = await self.call("Describe", [self.am.slice_urn(name)],
                                self.am.credentials(name), {"geni_rspec_version": V3})
        tree = etree.ElementTree(etree.fromstring(value["geni_rspec"].encode()))
        self.assertEqual(schema_errors(tree, "manifest"), [])
        return manifest_nodes(value["geni_rspec"])

    async def delete(self, name):
        value = await self.call("Delete", [self.am.slice_urn(name)],
                                self.am.credentials(name), {})
        self.assertEqual({s["geni_allocation_status"] for s in value}, {"geni_unallocated"})
        self.assertEqual([s["geni_error"] for s in value if s["geni_error"]], [])
        await self.status(name, code=12)
        return value

    # -- on the nodes ------------------------------------------------------

    def login_of(self, nodes, client_id, username="alice"):
        """The manifest's login of ``username`` on node ``client_id``."""
        logins = [lg for lg in nodes[client_id]["logins"] if lg["username"] == username]
        self.assertEqual(len(logins), 1, nodes[client_id]["logins"])
        self.assertEqual(logins[0]["authentication"], "ssh-keys")
        return logins[0]

    async def ssh(self, login, command, pkey=None, check=True):
        result = await threads.deferToThread(thd_ssh, login, pkey or self.pkey, command)
        if check:
            self.assertEqual(result.status, 0, f"{command!r} on {login}: {result.stderr}")
        return result

    async def login_fails(self, login, pkey=None):
        """The exception of a login that must not work."""
        try:
            result = await threads.deferToThread(thd_ssh, login, pkey or self.pkey, "true",
                                                 10)
        except (paramiko.SSHException, OSError, EOFError) as e:
            return e
        self.fail(f"logging in as {login} worked: {result}")

    def assertNothingLeft(self):
        self.assertEqual(self.am.snapshot(), self.before)
