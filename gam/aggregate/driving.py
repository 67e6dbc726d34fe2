"""Between the aggregate and the drivers manager: plans down, reports up.

The drivers manager (:class:`gam.drivers.manager.Drivers`) does
slice-level work in its own bounded thread pool::

    await drivers.provision(links, nodes, report, stitching)  # -> {urn: Outcome}
    await drivers.perform(refs, action, users, report)        # -> {urn: Outcome}
    await drivers.delete(refs)                                # -> {urn: Outcome}
    await drivers.clean_restart(refs)                         # -> CleanResult(gone, errors)

``refs`` are :class:`~gam.drivers.manager.SliverRef` (URN, resource type and
the data of the driver's last outcome). ``report(outcome)`` is called on
every state change (``geni_configuring``, then ``geni_ready`` or
``geni_failed`` with ``error``); each report is written to the database
here, in order per sliver, and the manager waits for the write. Work on a
sliver is tracked until its last report is written, so that Delete and
expiry wait for it (:meth:`DriverGateway.idle`) instead of racing a
half-made sliver, and a sliver the drivers leave without a final word is
marked geni_failed rather than left configuring forever.
"""
from datetime import datetime, timezone

from twisted.internet import defer
from twisted.logger import Logger

from gam.aggregate import lifecycle
from gam.aggregate.manifest import (
    CONFIGURING, FAILED, NOTREADY, PROVISIONED, STOPPING, UPDATING_USERS)
from gam.aggregate.options import users_from_data
from gam.db.slivers import thd_get_slivers
from gam.drivers.base import InterfacePlan, LinkEnd, LinkPlan, NodePlan, Outcome
from gam.drivers.manager import SliverRef
from gam.errors import Unsupported

log = Logger(namespace="gam.aggregate")

#: The operational states in which a report of each operation still applies.
ACTIVE_STATES = {
    "provision": frozenset({NOTREADY, CONFIGURING}),
    lifecycle.START: frozenset({CONFIGURING}),
    lifecycle.RESTART: frozenset({CONFIGURING}),
    lifecycle.STOP: frozenset({STOPPING}),
    lifecycle.UPDATE_USERS: frozenset({UPDATING_USERS}),
}


def sliver_ref(sliver):
    """The manager's view of a stored sliver: URN, resource type, driver data."""
    return SliverRef(sliver.urn, sliver.resource_type, dict(sliver.data.get("driver") or {}))


def _outcomes(result):
    """Outcomes from what a manager call returned ({urn: Outcome} or a list)."""
    if isinstance(result, dict):
        result = result.values()
    return [o for o in result or () if isinstance(o, Outcome)]


def thd_stitching(conn, nodes, making):
    """``{link sliver URN: driver data}`` of the provisioned links the
    ``nodes`` attach to, except those in ``making`` (made in this batch)."""
    wanted = {i["link"] for n in nodes for i in n.data.get("interfaces") or ()
              if i.get("link") and i["link"] not in making}
    return {s.urn: dict(s.data.get("driver") or {}) for s in thd_get_slivers(conn, wanted)
            if s.allocation_state == PROVISIONED and s.data.get("driver")}


def node_plan(sliver):
    data = sliver.data
    return NodePlan(
        sliver_urn=sliver.urn, slice_urn=sliver.slice_urn, client_id=sliver.client_id,
        host=data["host"], sliver_type=sliver.sliver_type, image=data.get("image"),
        cores=data.get("cores"), memory_mb=data.get("memory_mb"),
        interfaces=tuple(InterfacePlan(i["client_id"], i.get("link"), i.get("address"),
                                       i.get("netmask"))
                         for i in data.get("interfaces") or ()),
        users=users_from_data(data.get("users")))


def link_plan(sliver):
    data = sliver.data
    return LinkPlan(
        sliver_urn=sliver.urn, slice_urn=sliver.slice_urn, client_id=sliver.client_id,
        vlan_tag=data.get("vlan_tag"), capacity_kbps=data.get("capacity_kbps"),
        latency_ms=data.get("latency_ms"), packet_loss=data.get("packet_loss"),
        ends=tuple(LinkEnd(e["node"], e["interface"], e.get("address"), e.get("netmask"))
                   for e in data.get("ends") or ()))


class _Op:
    """Work in progress on some slivers; waiters fire when it is over."""

    def __init__(self):
        self.done = False
        self._waiters = []

    def wait(self):
        if self.done:
            return defer.succeed(None)
        d = defer.Deferred()
        self._waiters.append(d)
        return d

    def finish(self):
        self.done = True
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)


class DriverGateway:
    """Runs driver work for the aggregate and records what comes back."""

    def __init__(self, drivers, db, clock):
        self.drivers = drivers
        self.db = db
        self.clock = clock
        self._ops = {}          # sliver URN -> _Op
        self._writes = {}       # sliver URN -> tail Deferred of its report writes

    def now(self):
        return datetime.fromtimestamp(self.clock.seconds(), timezone.utc)

    # ------------------------------------------------------------ tracking

    def pending(self):
        """URNs of the slivers drivers are working on now."""
        return [urn for urn, op in self._ops.items() if not op.done]

    async def idle(self, urns):
        """Wait until no driver work is running on any of ``urns``."""
        for urn in urns:
            op = self._ops.get(urn)
            if op is not None:
                await op.wait()

    def _launch(self, urns, states, work):
        """Run ``work()`` (a coroutine function) in the background for ``urns``."""
        op = _Op()
        for urn in urns:
            self._ops[urn] = op

        async def run():
            failure = None
            try:
                for outcome in _outcomes(await work()):
                    self._report(outcome, states)
            except Exception as e:      # the drivers must never leave a sliver hanging
                failure = e
                log.failure("driver work on {urns} failed", urns=urns)
            await self._flush(urns)
            # Nobody will report on a sliver still in this operation's state.
            error = (f"the drivers failed: {failure}" if failure is not None else
                     "the drivers finished without a result for this sliver")
            for urn in urns:
                await self._record(urn, states, state=FAILED,
                                   error=error + "; restart it (geni_restart) or delete it",
                                   only=states - {NOTREADY} if failure is None else states)
            for urn in urns:
                if self._ops.get(urn) is op:
                    del self._ops[urn]
            op.finish()

        d = defer.Deferred.fromCoroutine(run())
        d.addErrback(lambda f: log.failure("tracking driver work failed", f))
        return op

    def _report(self, outcome, states):
        """Queue the write of one report; writes of a sliver keep their order.
        Returns a Deferred that fires once it is written."""
        if not isinstance(outcome, Outcome):
            log.error("the drivers reported {what!r}, not an Outcome", what=outcome)
            return None
        urn = outcome.sliver_urn
        previous = self._writes.get(urn, defer.succeed(None))

        def write(_):
            return defer.Deferred.fromCoroutine(self._record(
                urn, states, state=outcome.state, error=outcome.error, data=outcome.data))
        d = previous.addBoth(write)
        self._writes[urn] = d

        def forget(result):
            if self._writes.get(urn) is d:
                del self._writes[urn]
            return result
        d.addBoth(forget)
        written = defer.Deferred()
        d.addBoth(lambda r: (written.callback(None), r)[1])
        return written

    async def written(self):
        """Wait until every report received so far is in the database."""
        await self._flush(list(self._writes))

    async def _flush(self, urns):
        for urn in urns:
            d = self._writes.get(urn)
            if d is not None:
                waiter = defer.Deferred()
                d.addBoth(lambda r, w=waiter: (w.callback(None), r)[1])
                await waiter

    async def _record(self, urn, states, *, state, error="", data=None, only=None):
        try:
            await self.db.run(lifecycle.thd_record_outcome, urn, self.now(), state=state,
                              error=error, data=data, expect=only or states)
        except Exception:
            log.failure("recording the driver's report on {urn} failed", urn=urn)

    # ------------------------------------------------------------ operations

    def check_types(self, resource_types):
        """Unsupported (13) unless a driver handles every one of ``resource_types``."""
        handles = getattr(self.drivers, "handles", None)
        if handles is None:
            return
        missing = sorted({t for t in resource_types if not handles(t)})
        if missing:
            what = ", ".join("links" if t == "link" else f"sliver type {t!r}" for t in missing)
            raise Unsupported(f"this aggregate has no driver for {what} at the moment; ask "
                              "for what its drivers make, or tell its operator")

    def check_action(self, slivers, action):
        """Unsupported (13) if the driver of one of the node ``slivers`` does
        not offer ``action``."""
        capabilities = getattr(self.drivers, "capabilities", None)
        if capabilities is None:
            return
        for sliver in slivers:
            if sliver.kind != "node":
                continue
            self.check_types([sliver.resource_type])
            offered = (capabilities(sliver.resource_type) or {}).get("actions")
            if offered is not None and action not in offered:
                raise Unsupported(
                    f"{action} is not available for node {sliver.client_id!r} "
                    f"({sliver.resource_type}); it offers {', '.join(offered) or 'none'}",
                    reason="unsupported-action")

    def provision(self, slivers, remake=False):
        """Create ``slivers`` (links first, then nodes) in the background;
        ``remake``: first remove whatever an earlier attempt left of them."""
        links = [link_plan(s) for s in slivers if s.kind == "link"]
        nodes = [s for s in slivers if s.kind == "node"]
        urns = [s.urn for s in slivers]
        states = ACTIVE_STATES["provision"]
        if not urns:
            return None

        async def work():
            if remake:      # the drivers find leftovers by name; errors show in the create
                await self.drivers.delete([sliver_ref(s) for s in slivers])
            making = {p.sliver_urn for p in links}
            stitching = await self.db.read(thd_stitching, nodes, making) if nodes else {}
            return await self.drivers.provision(links, [node_plan(s) for s in nodes],
                                                lambda o: self._report(o, states),
                                                stitching)
        return self._launch(urns, states, work)

    def perform(self, slivers, action, users=()):
        """Carry out ``action`` on node ``slivers`` in the background.

        Slivers the drivers never made (their provisioning failed or was
        interrupted) are made again instead when started or restarted.
        """
        made = [s for s in slivers if s.data.get("driver")]
        unmade = [s for s in slivers if not s.data.get("driver")]
        if action in (lifecycle.START, lifecycle.RESTART) and unmade:
            self.provision(unmade, remake=True)
            slivers = made
        if not slivers:
            return None
        states = ACTIVE_STATES[action]
        targets = [sliver_ref(s) for s in slivers]

        async def work():
            return await self.drivers.perform(targets, action, tuple(users),
                                              lambda o: self._report(o, states))
        return self._launch([s.urn for s in slivers], states, work)

    async def delete(self, slivers):
        """Free what the drivers made for ``slivers``: ``{urn: error}``, '' when freed.

        Waits for running work on them first. Slivers never provisioned
        have nothing to free.
        """
        urns = [s.urn for s in slivers]
        await self.idle(urns)
        provisioned = [s for s in slivers if s.allocation_state == "geni_provisioned"]
        errors = {urn: "" for urn in urns}
        if not provisioned:
            return errors
        try:
            outcomes = await self.drivers.delete([sliver_ref(s) for s in provisioned])
        except Exception as e:
            log.failure("deleting {urns} failed", urns=[s.urn for s in provisioned])
            message = getattr(e, "message", None) or str(e) or type(e).__name__
            for s in provisioned:
                errors[s.urn] = f"freeing its resources failed: {message}"
            return errors
        for outcome in _outcomes(outcomes):
            if outcome.error and outcome.sliver_urn in errors:
                errors[outcome.sliver_urn] = f"freeing its resources failed: {outcome.error}"
        return errors

    async def clean_restart(self, live):
        """After a restart: which of the ``live`` slivers (``(urn, resource
        type, driver data)``) have lost their resources; their URNs."""
        result = await self.drivers.clean_restart([SliverRef(*item) for item in live])
        for name, error in (getattr(result, "errors", None) or {}).items():
            log.error("clean restart of {name}: {error}", name=name, error=error)
        gone = getattr(result, "gone", result)
        return sorted(str(u) for u in gone or ())


__all__ = ["DriverGateway", "sliver_ref", "node_plan", "link_plan", "thd_stitching",
           "ACTIVE_STATES"]
