"""NetnsNodeHandler: nodes as Linux namespaces on this host (see package doc)."""
import os
import shutil

from twisted.logger import Logger

from gam.drivers import base
from gam.drivers.calls import run_in_pool
from gam.drivers.netns import host, nodework, runtime
from gam.drivers.netns.settings import parse_node
from gam.errors import GeniCode

log = Logger()

TOOLS = ("ip", "tc", "bridge", "unshare", "nsenter", "mount", "setpriv")


def thd_check_host(settings, *, deadline):
    """What keeps this host from running nodes ("" if nothing); makes the
    state folder (root only)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the AM does not run as root")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        problems.append(f"missing programs: {', '.join(missing)} (install iproute2 and "
                        "util-linux)")
    if not os.access(settings.sshd, os.X_OK):
        problems.append(f"no sshd at {settings.sshd} (install openssh-server)")
    if not os.path.exists("/proc/self/ns/net"):
        problems.append("the kernel has no network namespaces")
    if not problems:
        os.makedirs(settings.state_dir, mode=0o700, exist_ok=True)
        os.chmod(settings.state_dir, 0o700)
    return "; ".join(problems)


def thd_clean(settings, live, *, deadline):
    """Remove nodes no live sliver owns; return live URNs whose node is gone."""
    names = settings.names
    keep = {}
    for urn, data in live.items():
        keep[(data or {}).get("netns") or names.netns(urn)] = urn
    live_veths = {v for data in live.values() for v in (data or {}).get("veths", ())}
    problems = []
    dirs = os.listdir(settings.state_dir) if os.path.isdir(settings.state_dir) else []
    stale = set(names.ours(host.list_netns(), "n")) | set(names.ours(dirs, "n"))
    stale |= set(runtime.stray_processes(names, keep).values())
    for ns in sorted(stale - set(keep)):
        log.info("removing leftover node {ns}", ns=ns)
        try:
            nodework.thd_teardown(ns, os.path.join(settings.state_dir, ns), deadline=deadline)
        except base.DriverError as e:
            problems.append(str(e))
    for veth in names.ours(host.host_links(), "v"):
        if veth not in live_veths:
            try:
                host.delete_link(veth, deadline)
            except base.DriverError as e:
                problems.append(str(e))
    if problems:
        raise base.DriverError("clean restart left some leftovers: " + "; ".join(problems))
    return [urn for ns, urn in keep.items()
            if not host.netns_exists(ns)
            or not os.path.isdir(os.path.join(settings.state_dir, ns))]


class NetnsNodeHandler(base.Handler):
    """Nodes as namespaces with their own sshd; see ``gam.drivers.netns``."""

    kind = "node"

    def __init__(self, settings, *, threadpool, reactor=None, name="netns-node"):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self.name = name
        self.threadpool = threadpool
        self.reactor = reactor
        self.problem = None          # set by start() when the host cannot do it

    @classmethod
    def from_config(cls, raw, *, threadpool, reactor=None, path=None, key=None):
        return cls(parse_node(raw, path=path, key=key), threadpool=threadpool,
                   reactor=reactor, name=(key or "netns-node").rsplit(".", 1)[-1])

    async def start(self):
        """Check the host once (root, programs, kernel); make the state folder."""
        self.problem = await run_in_pool(self.reactor, self.threadpool, thd_check_host,
                                         self.settings, timeout=30, what="checking the host")
        if self.problem:
            log.error("{name}: nodes cannot be made on this host: {problem}",
                      name=self.name, problem=self.problem)

    async def _usable(self):
        if self.problem is None:
            await self.start()
        if self.problem:
            raise base.DriverError(f"{self.name} cannot make nodes on this host: "
                                   f"{self.problem}", geni_code=GeniCode.UNAVAILABLE)

    def capabilities(self):
        return {"actions": base.ACTIONS, "isolation": ["net", "uts", "mount", "pid", "ipc"],
                "root_access": False, "cores_memory_enforced": False}

    async def create(self, plan, stitching):
        await self._usable()
        data = await run_in_pool(self.reactor, self.threadpool, nodework.thd_create,
                                 self.settings, plan, dict(stitching or {}),
                                 timeout=self.settings.timeouts["create"],
                                 what=f"create of node {plan.client_id}")
        return base.Outcome(plan.sliver_urn, base.READY, data)

    def _where(self, sliver_urn, data):
        ns = (data or {}).get("netns") or self.settings.names.netns(sliver_urn)
        return ns, (data or {}).get("dir") or os.path.join(self.settings.state_dir, ns)

    async def delete(self, sliver_urn, data):
        ns, node_dir = self._where(sliver_urn, data)
        await run_in_pool(self.reactor, self.threadpool, nodework.thd_teardown, ns, node_dir,
                          list((data or {}).get("veths", ())),
                          timeout=self.settings.timeouts["delete"], what=f"delete of {ns}")

    async def poll(self, sliver_urn, data):
        ns, node_dir = self._where(sliver_urn, data)
        state, error = await run_in_pool(self.reactor, self.threadpool, nodework.thd_poll,
                                         ns, node_dir, timeout=self.settings.timeouts["poll"],
                                         what=f"poll of {ns}")
        return base.Outcome(sliver_urn, state, dict(data or {}), error)

    async def perform(self, sliver_urn, data, action, users=()):
        if action not in base.ACTIONS:
            raise base.DriverError(f"{self.name} does not support {action}",
                                   geni_code=GeniCode.UNSUPPORTED)
        await self._usable()
        ns, node_dir = self._where(sliver_urn, data)
        data = dict(data or {}, netns=ns, dir=node_dir)
        timeout, what = self.settings.timeouts["perform"], f"{action} on {ns}"

        def call(fn, *args):
            return run_in_pool(self.reactor, self.threadpool, fn, *args, timeout=timeout,
                               what=what)
        if action == base.UPDATE_USERS:
            new = await call(nodework.thd_update_users, self.settings, data, tuple(users))
            state, error = await call(nodework.thd_poll, ns, node_dir)
            return base.Outcome(sliver_urn, state, new, error)
        if action in (base.STOP, base.RESTART):
            state = await call(nodework.thd_stop, ns, node_dir)
        if action in (base.START, base.RESTART):
            state = await call(nodework.thd_start, self.settings, data)
        return state

    async def clean_restart(self, live):
        return await run_in_pool(self.reactor, self.threadpool, thd_clean, self.settings,
                                 dict(live or {}), timeout=self.settings.timeouts["clean_restart"],
                                 what=f"clean restart of {self.name}")
