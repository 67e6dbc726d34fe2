"""FakeHandler: an in-memory TEST DOUBLE of a driver handler.

For tests only (the aggregate core's, the manager's): it builds nothing,
keeps its slivers in a dict and can be told to fail, be slow (on an
injected Clock) or hang. It honours the Handler contract: a failed create
leaves nothing, delete is idempotent, poll of a sliver it does not have
says geni_failed. Never configure it for a real aggregate.

    fake = FakeHandler(kind="node", clock=clock)
    fake.fail_on("create", "node-1", "disk on fire", times=1)   # then succeeds
    fake.delay("create", 5)          # advance the Clock to finish
    fake.hang_on("poll")             # until fake.release()
"""
import hashlib

from twisted.internet import defer, task

from gam.drivers import base
from gam.errors import GeniCode


class FakeHandler(base.Handler):
    """In-memory handler for tests; ``kind`` is ``node`` or ``link``."""

    def __init__(self, kind="node", clock=None, name="fake"):
        if kind not in ("node", "link"):
            raise ValueError(f"kind must be node or link, not {kind!r}")
        if clock is None:
            from twisted.internet import reactor as clock
        self.kind = kind
        self.name = name
        self.clock = clock
        self.items = {}            # sliver urn -> data of what "exists"
        self.stopped = set()
        self.users = {}            # sliver urn -> users of the last update
        self.stitching = {}        # sliver urn -> stitching its create got
        self.calls = []            # (op, sliver urn or None), in call order
        self.running = 0
        self.max_running = 0       # most operations seen at once
        self.actions = base.ACTIONS
        self.caps = {}
        self.started = self.stopped_service = False
        self._fail = {}            # (op, key) -> [message, code, times left or None]
        self._delays = {}          # op -> seconds
        self._hang = set()
        self._held = []

    @classmethod
    def from_config(cls, raw, *, threadpool=None, reactor=None, path=None, key=None):
        """For config-driven tests: own keys ``kind``, ``delays``, ``actions``."""
        fake = cls(kind=raw.get("kind", "node"), clock=reactor,
                   name=(key or "fake").rsplit(".", 1)[-1])
        fake._delays.update(raw.get("delays") or {})
        if "actions" in raw:
            fake.actions = tuple(raw["actions"])
        return fake

    # -- knobs --------------------------------------------------------------

    def fail_on(self, op, key="*", message="injected failure", times=None,
                geni_code=GeniCode.ERROR):
        """Make ``op`` fail for ``key`` (a client_id, sliver URN or ``*``),
        ``times`` times (None: always)."""
        self._fail[(op, key)] = [message, geni_code, times]

    def delay(self, op, seconds):
        self._delays[op] = seconds

    def hang_on(self, op):
        self._hang.add(op)

    def release(self):
        """Let every hung operation go on."""
        self._hang.clear()
        held, self._held = self._held, []
        for d in held:
            d.callback(None)

    # -- the contract ------------------------------------------------------

    async def _enter(self, op, urn, keys):
        self.calls.append((op, urn))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if op in self._hang:
                d = defer.Deferred()
                self._held.append(d)
                await d
            if self._delays.get(op):
                await task.deferLater(self.clock, self._delays[op], lambda: None)
            for k in (*keys, "*"):
                rule = self._fail.get((op, k))
                if rule and rule[2] != 0:
                    if rule[2] is not None:
                        rule[2] -= 1
                    raise base.DriverError(f"{self.name}: {op} of {k}: {rule[0]}",
                                           geni_code=rule[1])
        finally:
            self.running -= 1

    async def create(self, plan, stitching):
        self.stitching[plan.sliver_urn] = dict(stitching or {})
        await self._enter("create", plan.sliver_urn, (plan.client_id, plan.sliver_urn))
        if self.kind == "link":
            data = {"fake": True, "vlan_tag": plan.vlan_tag,
                    "bridge": "fake-" + _short(plan.sliver_urn),
                    "capacity_kbps": plan.capacity_kbps}
        else:
            data = {"fake": True, "host": plan.host,
                    "logins": [{"username": u.name, "hostname": "fake.invalid", "port": 22}
                               for u in plan.users],
                    "interfaces": {i.client_id: {"mac": _mac(plan.sliver_urn, i.client_id),
                                                 "address": i.address, "netmask": i.netmask}
                                   for i in plan.interfaces},
                    "links": sorted(stitching or {})}
        self.items[plan.sliver_urn] = data
        return base.Outcome(plan.sliver_urn, base.READY, data)

    async def delete(self, sliver_urn, data):
        await self._enter("delete", sliver_urn, (sliver_urn,))
        self.items.pop(sliver_urn, None)
        self.stopped.discard(sliver_urn)

    async def poll(self, sliver_urn, data):
        await self._enter("poll", sliver_urn, (sliver_urn,))
        if sliver_urn not in self.items:
            return base.FAILED
        return base.NOTREADY if sliver_urn in self.stopped else base.READY

    async def perform(self, sliver_urn, data, action, users=()):
        if action not in self.actions:
            raise base.DriverError(f"{self.name} does not support {action}",
                                   geni_code=GeniCode.UNSUPPORTED)
        await self._enter("perform", sliver_urn, (sliver_urn, action))
        if sliver_urn not in self.items:
            raise base.DriverError(f"{self.name}: {sliver_urn} does not exist")
        if action == base.STOP:
            self.stopped.add(sliver_urn)
            return base.NOTREADY
        if action == base.UPDATE_USERS:
            self.users[sliver_urn] = tuple(users)
            return base.NOTREADY if sliver_urn in self.stopped else base.READY
        self.stopped.discard(sliver_urn)
        return base.READY

    async def clean_restart(self, live):
        await self._enter("clean_restart", None, ())
        for urn in list(self.items):
            if urn not in live:
                del self.items[urn]
        return [urn for urn in live if urn not in self.items]

    def capabilities(self):
        return {"actions": tuple(self.actions), **self.caps}

    async def start(self):
        self.started = True

    async def stop(self):
        self.stopped_service = True


def _short(urn):
    return hashlib.sha256(urn.encode()).hexdigest()[:8]


def _mac(urn, iface):
    h = hashlib.sha256(f"{urn} {iface}".encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in h[:5])
