"""How the driver manager calls a handler: bounded, timed, retried.

Each handler operation runs under the handler's concurrency limit and is
awaited for at most its configured timeout plus a grace period. The
handler enforces the timeout inside its own work (see
:mod:`gam.drivers.deadline`); the manager's wait is only a safety net
for a handler that does not: when it gives up, the operation goes on in
the background and its late result is handed to ``on_late`` (a create
that succeeds too late is deleted) rather than abandoned while it may
still be building.
"""
import inspect

from twisted.internet import defer, task, threads
from twisted.logger import Logger
from twisted.python.failure import Failure

from gam.drivers.base import DriverError, DriverTimeout
from gam.drivers.deadline import Deadline
from gam.errors import GeniCode, GeniError

log = Logger()

#: geni_codes of failures worth another attempt.
RETRYABLE = frozenset({GeniCode.ERROR, GeniCode.TIMEDOUT, GeniCode.BUSY})
#: Seconds the manager waits beyond a handler's own timeout.
GRACE = 5.0


class GaveUp(DriverTimeout):
    """The manager stopped waiting; the operation may still be running, so
    it is never retried."""


def run_in_pool(reactor, threadpool, fn, *args, timeout, what=None, **kwargs):
    """Run ``fn(*args, deadline=Deadline(timeout), **kwargs)`` in ``threadpool``.

    ``fn`` is a thread-side function (``_thd_*``) that honours the deadline
    between its steps and in every blocking call, so the work itself stops
    on time. Returns a Deferred with ``fn``'s result.
    """
    deadline = Deadline(timeout, what or getattr(fn, "__name__", "the operation"))
    return threads.deferToThreadPool(reactor, threadpool, fn, *args,
                                     deadline=deadline, **kwargs)


def as_geni_error(err, what):
    """A GeniError for any exception a handler raised (bugs are logged
    with their traceback; the client sees no traceback)."""
    if isinstance(err, Failure):
        err = err.value
    if isinstance(err, GeniError):
        return err
    if isinstance(err, defer.CancelledError):
        return DriverError(f"{what} was cancelled")
    if isinstance(err, OSError):
        return DriverError(f"{what} failed: {err}")
    log.failure("{what} failed with an unexpected error", Failure(err), what=what)
    return DriverError(f"{what} failed: internal error in the driver ({type(err).__name__}: "
                       f"{err}); the AM log has the details", reason="internal")


def retryable(err):
    return (not isinstance(err, GaveUp) and isinstance(err, GeniError)
            and err.geni_code in RETRYABLE and err.reason != "internal")


def _start(method, *args):
    result = method(*args)
    if inspect.isawaitable(result) and not isinstance(result, defer.Deferred):
        return defer.ensureDeferred(result)
    return result


class Caller:
    """Calls one handler's operations within its limits (see module doc)."""

    def __init__(self, name, handler, spec, clock, track, grace=GRACE):
        self.name = name
        self.handler = handler
        self.spec = spec
        self.clock = clock
        self._track = track
        self.grace = grace
        self.limit = defer.DeferredSemaphore(max(1, spec.pool_size or 1))
        # A handler that retries by itself (e.g. AnsibleHandler) gets one
        # call, waited for as long as all its attempts may take.
        self.retries_itself = getattr(handler, "retries_itself", False)
        self.retries = 0 if self.retries_itself else spec.retries

    def timeout(self, op):
        return self.spec.timeouts.get(op) or self.spec.timeouts["create"]

    def wait_limit(self, op):
        """How long one call of ``op`` is waited for (before the grace)."""
        budget = getattr(self.handler, "budget", None)
        if self.retries_itself and budget is not None:
            return max(self.timeout(op), budget(op))
        return self.timeout(op)

    async def once(self, op, method, *args, what, on_late=None):
        """One call of ``method(*args)``; its result or a GeniError."""
        await self.limit.acquire()
        try:
            d = defer.maybeDeferred(_start, method, *args)
        except BaseException:
            self.limit.release()
            raise

        def release(result):
            self.limit.release()
            return result
        d.addBoth(release)
        self._track(d)
        seconds = self.wait_limit(op) + self.grace
        try:
            return await self._wait(d, seconds, what, on_late)
        except Exception as e:
            raise as_geni_error(e, what) from e

    def _wait(self, d, seconds, what, on_late):
        waiter = defer.Deferred()

        def give_up():
            waiter.errback(GaveUp(
                f"{what} did not finish within {seconds:g} s ({self.name}'s time limit "
                f"plus {self.grace:g} s); gam stopped waiting and will clean up whatever it "
                "makes; raise the timeout in the driver configuration if it is just slow"))
        timer = self.clock.callLater(seconds, give_up)

        def done(result):
            if timer.active():
                timer.cancel()
                if isinstance(result, Failure):
                    waiter.errback(result)
                else:
                    waiter.callback(result)
            elif on_late is not None:
                on_late(result)
            elif isinstance(result, Failure):
                log.warn("{what} failed after gam stopped waiting: {error}", what=what,
                         error=result.getErrorMessage())
            return None
        d.addBoth(done)
        return waiter

    async def retrying(self, op, method, *args, what, on_late=None):
        """``once`` up to 1 + retries times while failures are retryable."""
        tries = self.retries + 1
        first = None
        for n in range(1, tries + 1):
            try:
                return await self.once(op, method, *args, what=what, on_late=on_late)
            except GeniError as e:
                if first is not None and e.geni_code == GeniCode.ALREADYEXISTS:
                    # What the first attempt left in the way stops this one:
                    # the first error is the one that says what went wrong.
                    raise type(first)(f"{first.message}; a retry could not start: {e.message}",
                                      reason=first.reason, geni_code=first.geni_code) from e
                first = first or e
                if n == tries or not retryable(e):
                    raise
                log.warn("{what} failed (attempt {n} of {tries}), trying again in {delay} s: "
                         "{error}", what=what, n=n, tries=tries, error=e,
                         delay=self.spec.retry_delay)
                if self.spec.retry_delay:
                    await task.deferLater(self.clock, self.spec.retry_delay, lambda: None)
