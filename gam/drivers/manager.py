"""The driver manager: the slice-level operations the aggregate calls.

::

    drivers = Drivers.from_files(["etc/drivers/netns.yaml"])
    await drivers.start()                  # or as a child service
    outcomes = await drivers.provision(links, nodes, report)
    await drivers.delete([SliverRef(urn, "namespace", data), ...])

:class:`Drivers` owns a bounded thread pool (handlers run their blocking
work in it with :func:`gam.drivers.calls.run_in_pool`) and one handler
per configured entry, chosen by resource type (a node's sliver type, or
``link``). Handlers are built with ``cls.from_config(raw, threadpool=,
reactor=, path=, key=)``; they may define ``async start()`` and ``async
stop()``, which the manager calls when it starts and stops, and set
``retries_itself = True`` if they retry on their own (the manager then
makes one attempt, and waits for it as long as ``budget(op)`` says all
their attempts may take). Call ``start()`` before anything else: the pool's
work waits for it.

Results come back as :class:`~gam.drivers.base.Outcome` per sliver URN.
A failure never raises out of ``provision``/``delete``/``poll``/
``perform``: it is that sliver's Outcome (state ``geni_failed`` or the
polled state, ``error`` saying what happened); only a request that cannot
start at all (a resource type nobody handles, an unknown action) raises
:class:`gam.errors.Unsupported` before anything is done.
"""
import inspect
import json
from dataclasses import dataclass, field

from twisted.application import service
from twisted.internet import defer, threads
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python import threadpool as tp

from gam.drivers import base
from gam.drivers.calls import GRACE, Caller, as_geni_error, run_in_pool
from gam.drivers.config import DEFAULT_POOL_SIZE, load_config
from gam.errors import ConfigError, GeniError, Unsupported

log = Logger()

LINK = "link"
_TRANSITIONS = {base.STOP: base.STOPPING, base.UPDATE_USERS: base.UPDATING_USERS,
                base.START: base.CONFIGURING, base.RESTART: base.CONFIGURING}


@dataclass(frozen=True)
class SliverRef:
    """A provisioned sliver as the aggregate stored it."""

    sliver_urn: str
    resource_type: str                 # the node's sliver type, or "link"
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CleanResult:
    gone: frozenset                    # live sliver URNs whose resources are gone
    errors: dict                       # handler name -> what went wrong


class Drivers(service.Service):
    """Handlers by resource type, a bounded thread pool, slice-level calls.

    ``reactor`` runs the thread pool's callbacks; ``clock`` (default: the
    reactor) times the manager's waits and retry delays.
    """

    name = "drivers"

    def __init__(self, config, reactor=None, clock=None, grace=GRACE):
        if reactor is None:
            from twisted.internet import reactor
        self.config = config
        self.reactor = reactor
        self.clock = clock or reactor
        self.pool_size = config.pool_size or DEFAULT_POOL_SIZE
        # Made here, started in start(): a ThreadPool has no threads before.
        self.threadpool = tp.ThreadPool(minthreads=0, maxthreads=self.pool_size,
                                        name="gam-drivers")
        self._started = False
        self._stopped = False
        self._pending = set()
        self._trigger = None
        self._callers = {}             # resource type -> Caller
        self._order = []               # Callers, one per handler, in config order
        for spec in config.handlers:
            handler = spec.cls.from_config(spec.raw, threadpool=self.threadpool,
                                           reactor=reactor, path=spec.path, key=spec.key)
            self._check_kind(spec, handler)
            if spec.pool_size is None:
                spec = _with_pool(spec, self.pool_size)
            caller = Caller(spec.name, handler, spec, self.clock, self._track, grace)
            self._order.append(caller)
            for t in spec.resource_types:
                self._callers[t] = caller

    @classmethod
    def from_files(cls, paths, reactor=None, clock=None):
        return cls(load_config(paths), reactor=reactor, clock=clock)

    @staticmethod
    def _check_kind(spec, handler):
        kind = getattr(handler, "kind", None)
        if kind not in ("node", "link"):
            raise ConfigError(f"{spec.cls.__name__} has kind {kind!r}; a handler's kind is "
                              "node or link", path=spec.path, key=f"{spec.key}.class")
        for t in spec.resource_types:
            if (t == LINK) != (kind == "link"):
                raise ConfigError(
                    f"resource type {t!r} needs a {'link' if t == LINK else 'node'} handler, "
                    f"but {spec.cls.__name__} handles {kind}s",
                    path=spec.path, key=f"{spec.key}.resource_types")

    # -- service ----------------------------------------------------------

    @property
    def started(self):
        return self._started

    async def _start(self):
        self.threadpool.start()
        self._started = True
        self._trigger = self.reactor.addSystemEventTrigger("during", "shutdown", self._stop_now)
        for caller in self._order:
            hook = getattr(caller.handler, "start", None)
            if hook is not None:
                await _maybe_await(hook())

    def start(self):
        """Start the pool and the handlers (their ``start()``). A Deferred."""
        if self._started:
            return defer.succeed(None)
        if self._stopped:
            return defer.fail(RuntimeError("a stopped Drivers cannot start again (its handlers "
                                           "hold its stopped thread pool); make a new one"))
        return defer.ensureDeferred(self._start())

    async def _stop(self):
        if not self._started:
            return
        if self._pending:
            bound = max((c.wait_limit(op) for c in self._order for op in c.spec.timeouts),
                        default=0) + GRACE
            if not await _within(defer.DeferredList(list(self._pending), consumeErrors=True),
                                 bound, self.clock):
                log.error("{n} driver operations still running after {s} s; stopping anyway",
                          n=len(self._pending), s=bound)
        for caller in self._order:
            hook = getattr(caller.handler, "stop", None)
            if hook is not None:
                try:
                    await _maybe_await(hook())
                except Exception as e:
                    log.error("stopping {name} failed: {error}", name=caller.name, error=e)
        if self._trigger is not None:
            self.reactor.removeSystemEventTrigger(self._trigger)
            self._trigger = None
        self._started = False
        # ThreadPool.stop joins its threads: not on the reactor thread.
        self._stopped = True
        await threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                        self.threadpool.stop)

    def stop(self):
        """Wait for running operations, stop handlers and the pool."""
        return defer.ensureDeferred(self._stop())

    def _stop_now(self):
        self._trigger = None
        if self._started:
            self._started, self._stopped = False, True
            self.threadpool.stop()

    def startService(self):
        super().startService()
        return self.start()

    def stopService(self):
        super().stopService()
        return self.stop()

    def _track(self, d):
        self._pending.add(d)

        def forget(result):
            self._pending.discard(d)
            return result
        d.addBoth(forget)

    # -- lookups ------------------------------------------------------------

    @property
    def resource_types(self):
        return tuple(self._callers)

    def handles(self, resource_type):
        return resource_type in self._callers

    def handler_for(self, resource_type):
        return self._caller(resource_type).handler

    def capabilities(self, resource_type):
        return dict(self._caller(resource_type).handler.capabilities() or {})

    def _caller(self, resource_type):
        caller = self._callers.get(resource_type)
        if caller is None:
            raise Unsupported(f"no driver handles resource type {resource_type!r}; this "
                              f"aggregate offers {', '.join(self._callers) or 'nothing'}")
        return caller

    def run_in_pool(self, fn, *args, timeout, what=None, **kwargs):
        """Run thread-side ``fn(*args, deadline=..., **kwargs)`` in the pool."""
        return run_in_pool(self.reactor, self.threadpool, fn, *args, timeout=timeout,
                           what=what, **kwargs)

    # -- provisioning -------------------------------------------------------

    async def provision(self, links, nodes, report, stitching=None):
        """Create ``links`` (LinkPlans), then ``nodes`` (NodePlans), each
        kind in parallel within the limits; nodes get their links' outcome
        data (plus ``stitching``: link URN -> data for links made earlier).

        ``report(outcome)`` (may return a Deferred) is called when a sliver
        starts (geni_configuring) and when it ends (geni_ready, or
        geni_failed with the error). Returns ``{sliver_urn: Outcome}``.
        """
        links, nodes = list(links), list(nodes)
        link_caller = self._caller(LINK) if links else None
        node_callers = [self._caller(n.sliver_type) for n in nodes]
        results = {}
        made = await _gather(self._create(link_caller, plan, {}, report) for plan in links)
        for outcome in made:
            results[outcome.sliver_urn] = outcome
        known = dict(stitching or {})
        known.update({o.sliver_urn: o.data for o in made if o.state == base.READY})
        failed = {o.sliver_urn: o.error for o in made if o.state != base.READY}
        by_id = {p.sliver_urn: p.client_id for p in links}

        async def node(caller, plan):
            needed = [i.link_sliver for i in plan.interfaces if i.link_sliver]
            for urn in needed:
                if urn in failed:
                    return await self._refuse(plan, report, f"not created: link "
                                              f"{by_id.get(urn, urn)} failed: {failed[urn]}")
                if urn not in known:
                    return await self._refuse(plan, report, f"not created: its link {urn} "
                                              "is not provisioned (no stitching data)")
            return await self._create(caller, plan, {u: known[u] for u in needed}, report)

        for outcome in await _gather(node(c, p) for c, p in zip(node_callers, nodes)):
            results[outcome.sliver_urn] = outcome
        return results

    async def _refuse(self, plan, report, error):
        outcome = base.Outcome(plan.sliver_urn, base.FAILED, error=f"{plan.client_id}: {error}")
        await _report(report, outcome)
        return outcome

    async def _create(self, caller, plan, stitching, report):
        urn = plan.sliver_urn
        what = f"create of {plan.client_id} ({caller.name})"
        await _report(report, base.Outcome(urn, base.CONFIGURING))

        def late(result):
            if isinstance(result, base.Outcome) and result.state == base.READY:
                log.warn("{what} finished after gam gave up; deleting it", what=what)
                self._track(defer.ensureDeferred(self._delete_one(caller, urn, result.data)))
            elif isinstance(result, Failure):
                log.warn("{what} failed after gam gave up: {error}", what=what,
                         error=result.getErrorMessage())
            else:
                log.warn("{what} ended after gam gave up, with {result!r}", what=what,
                         result=result)
            return None
        try:
            made = await caller.retrying("create", caller.handler.create, plan, stitching,
                                         what=what, on_late=late)
            outcome = await self._checked(caller, plan, made, what)
        except GeniError as e:
            outcome = base.Outcome(urn, base.FAILED, error=str(e))
            log.warn("{what} failed: {error}", what=what, error=e)
        await _report(report, outcome)
        return outcome

    async def _checked(self, caller, plan, made, what):
        """The handler's Outcome, if it is one we can store; else undo it."""
        problem = None
        if not isinstance(made, base.Outcome) or made.sliver_urn != plan.sliver_urn:
            problem = f"returned {made!r} instead of an Outcome for {plan.sliver_urn}"
        elif made.state != base.READY:
            problem = f"returned state {made.state} ({made.error or 'no error given'})"
        else:
            try:
                json.dumps(made.data)
            except (TypeError, ValueError) as e:
                problem = f"returned data that cannot be stored ({e})"
            if caller.handler.kind == "node" and problem is None:
                missing = [k for k in ("logins", "interfaces") if k not in made.data]
                if missing:
                    problem = f"returned node data without {', '.join(missing)}"
        if problem is None:
            return base.Outcome(plan.sliver_urn, base.READY, data=dict(made.data))
        data = made.data if isinstance(made, base.Outcome) else {}
        await self._delete_one(caller, plan.sliver_urn, data)
        raise base.DriverError(f"{what}: the handler {problem}; what it made was deleted")

    # -- delete, poll, actions ------------------------------------------------

    async def delete(self, slivers):
        """Delete slivers (SliverRefs): nodes first, then links. Returns
        ``{urn: Outcome}``: state geni_notready and no error when gone,
        geni_failed and the error when something could not be removed."""
        refs = list(slivers)
        nodes = [r for r in refs if r.resource_type != LINK]
        links = [r for r in refs if r.resource_type == LINK]
        results = {}
        for group in (nodes, links):
            for o in await _gather(self._delete_ref(r) for r in group):
                results[o.sliver_urn] = o
        return results

    async def _delete_ref(self, ref):
        caller = self._callers.get(ref.resource_type)
        if caller is None:
            return base.Outcome(ref.sliver_urn, base.FAILED, dict(ref.data), error=(
                f"cannot delete {ref.sliver_urn}: no driver handles resource type "
                f"{ref.resource_type!r} any more; restore its handler in the configuration"))
        return await self._delete_one(caller, ref.sliver_urn, ref.data)

    async def _delete_one(self, caller, urn, data):
        try:
            await caller.retrying("delete", caller.handler.delete, urn, dict(data or {}),
                                  what=f"delete of {urn} ({caller.name})")
        except GeniError as e:
            log.error("delete of {urn} failed: {error}", urn=urn, error=e)
            return base.Outcome(urn, base.FAILED, dict(data or {}), error=str(e))
        return base.Outcome(urn, base.NOTREADY)

    async def poll(self, slivers):
        """The operational state of each sliver: ``{urn: Outcome}``."""
        return {o.sliver_urn: o for o in await _gather(self._poll_ref(r) for r in slivers)}

    async def _poll_ref(self, ref):
        caller = self._callers.get(ref.resource_type)
        if caller is None:
            return base.Outcome(ref.sliver_urn, base.FAILED, dict(ref.data), error=(
                f"no driver handles resource type {ref.resource_type!r} any more"))
        try:
            res = await caller.once("poll", caller.handler.poll, ref.sliver_urn,
                                    dict(ref.data), what=f"poll of {ref.sliver_urn}")
        except GeniError as e:
            return base.Outcome(ref.sliver_urn, base.FAILED, dict(ref.data), error=str(e))
        return _as_outcome(ref, res)

    async def perform(self, slivers, action, users=(), report=None):
        """Carry out an operational action on each sliver, in parallel.

        Raises Unsupported before doing anything if the action is unknown
        or a sliver's handler does not offer it. Returns ``{urn: Outcome}``
        with the new state (and data, if the handler changed it); a failed
        action leaves the state the handler then reports, and the error.
        """
        refs = list(slivers)
        if action not in base.ACTIONS:
            raise Unsupported(f"unknown operational action {action!r}; this aggregate offers "
                              f"{', '.join(base.ACTIONS)}")
        for ref in refs:
            caller = self._caller(ref.resource_type)
            offered = (caller.handler.capabilities() or {}).get("actions")
            if offered is not None and action not in offered:
                raise Unsupported(f"{action} is not available for {ref.sliver_urn} "
                                  f"({caller.name} offers {', '.join(offered) or 'no action'})")
        return {o.sliver_urn: o for o in
                await _gather(self._perform_ref(r, action, tuple(users), report) for r in refs)}

    async def _perform_ref(self, ref, action, users, report):
        caller = self._callers[ref.resource_type]
        if report is not None:
            await _report(report, base.Outcome(ref.sliver_urn, _TRANSITIONS[action],
                                               dict(ref.data)))
        try:
            res = await caller.retrying("perform", caller.handler.perform, ref.sliver_urn,
                                        dict(ref.data), action, users,
                                        what=f"{action} on {ref.sliver_urn} ({caller.name})")
            outcome = _as_outcome(ref, res)
        except GeniError as e:
            now = await self._poll_ref(ref)
            outcome = base.Outcome(ref.sliver_urn, now.state, dict(ref.data), error=str(e))
        if report is not None:
            await _report(report, outcome)
        return outcome

    async def clean_restart(self, live):
        """After a restart: each handler removes what no live sliver owns
        (node handlers first). ``live``: SliverRefs the database holds."""
        groups = {id(c): {} for c in self._order}
        gone, errors = set(), {}
        for ref in live:
            caller = self._callers.get(ref.resource_type)
            if caller is None:
                gone.add(ref.sliver_urn)
                errors[ref.resource_type] = "no driver handles this resource type any more"
            else:
                groups[id(caller)][ref.sliver_urn] = dict(ref.data)
        ordered = sorted(self._order, key=lambda c: c.handler.kind == "link")
        for caller in ordered:
            mine = groups[id(caller)]
            try:
                res = await caller.once("clean_restart", caller.handler.clean_restart, mine,
                                        what=f"clean restart of {caller.name}")
                gone.update(u for u in (res or ()) if u in mine)
            except GeniError as e:
                log.error("clean restart of {name} failed: {error}", name=caller.name, error=e)
                errors[caller.name] = str(e)
        return CleanResult(frozenset(gone), errors)


def _as_outcome(ref, res):
    if isinstance(res, base.Outcome):
        return base.Outcome(ref.sliver_urn, res.state, dict(res.data or ref.data), res.error)
    return base.Outcome(ref.sliver_urn, res, dict(ref.data))


def _with_pool(spec, size):
    from dataclasses import replace
    return replace(spec, pool_size=size)


def _within(d, seconds, clock):
    """A Deferred: True when ``d`` fires within ``seconds``, else False
    (``d`` is left running, not cancelled)."""
    out = defer.Deferred()
    timer = clock.callLater(seconds, lambda: out.callback(False))

    def done(result):
        if timer.active():
            timer.cancel()
            out.callback(True)
        return result
    d.addBoth(done)
    return out


async def _maybe_await(value):
    if isinstance(value, defer.Deferred) or inspect.isawaitable(value):
        return await value
    return value


async def _report(report, outcome):
    try:
        await _maybe_await(report(outcome))
    except Exception:
        log.failure("reporting {state} for {urn} failed", state=outcome.state,
                    urn=outcome.sliver_urn)


async def _gather(coros):
    ds = [defer.ensureDeferred(c) for c in coros]
    if not ds:
        return []
    results = await defer.DeferredList(ds, consumeErrors=True)
    out = []
    for ok, value in results:
        if not ok:   # a bug in the manager itself: surface it
            value.raiseException()
        out.append(value)
    return out


__all__ = ["Drivers", "SliverRef", "CleanResult", "as_geni_error", "run_in_pool"]
