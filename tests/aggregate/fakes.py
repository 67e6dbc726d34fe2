"""The real drivers manager over the drivers' FakeHandler test double.

:func:`fake_drivers` builds a :class:`gam.drivers.manager.Drivers` whose
node handler serves the inventory's sliver types and whose link handler
serves ``link``, both :class:`ActionRecorder` (a FakeHandler that also
remembers which actions it performed). :class:`Fakes` gives tests the
knobs: hold creates until released, fail an operation, see what exists.
"""
from twisted.internet import defer

from gam.drivers.config import parse_config
from gam.drivers.fake import FakeHandler
from gam.drivers.manager import Drivers

NODE_TYPES = ("default-vm", "raw-pc")


class ActionRecorder(FakeHandler):
    """A FakeHandler that records ``(action, sliver urn, users)`` of each
    perform, and can say when it has been called ``count`` times for ``op``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.performed = []
        self._waiting = []          # (op, count, Deferred)

    def wait_for(self, op, count):
        """Fires once ``op`` has been entered ``count`` times in all."""
        d = defer.Deferred()
        self._waiting.append((op, count, d))
        self._check()
        return d

    def _check(self):
        for item in list(self._waiting):
            op, count, d = item
            if sum(1 for c in self.calls if c[0] == op) >= count:
                self._waiting.remove(item)
                d.callback(None)

    async def _enter(self, op, urn, keys):
        # The call is recorded as soon as the coroutine starts: tell waiters
        # then, before it may hang.
        entered = defer.ensureDeferred(super()._enter(op, urn, keys))
        self._check()
        await entered

    async def perform(self, sliver_urn, data, action, users=()):
        self.performed.append((action, sliver_urn, tuple(users)))
        return await super().perform(sliver_urn, data, action, users)


def fake_config(node_types=NODE_TYPES, timeout=60):
    path = f"{__name__}.ActionRecorder"
    return parse_config({"pool_size": 8, "handlers": {
        "fake-node": {"class": path, "resource_types": list(node_types), "timeout": timeout},
        "fake-link": {"class": path, "kind": "link", "resource_types": ["link"],
                      "timeout": timeout}}})


class Fakes:
    """The manager (``drivers``) and its two fake handlers (``node``, ``link``)."""

    def __init__(self, clock, reactor, node_types=NODE_TYPES):
        self.drivers = Drivers(fake_config(node_types), reactor=reactor, clock=clock)
        self.node = self.drivers.handler_for(node_types[0])
        self.link = self.drivers.handler_for("link")
        for fake in (self.node, self.link):
            fake.clock = clock

    @property
    def made(self):
        """Sliver URN -> data of everything the fakes hold now."""
        return {**self.node.items, **self.link.items}

    def hold(self):
        """Creates wait until release()."""
        self.node.hang_on("create")
        self.link.hang_on("create")

    def release(self):
        self.node.release()
        self.link.release()

    def creates(self):
        return [urn for op, urn in self.node.calls + self.link.calls if op == "create"]

    def deletes(self):
        return [urn for op, urn in self.node.calls + self.link.calls if op == "delete"]

    def actions(self):
        return [action for action, _, _ in self.node.performed]
