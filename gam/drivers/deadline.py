"""Deadlines enforced inside thread-side driver work.

A :class:`Deadline` is made when an operation starts and handed to the
thread-side function, which asks it for the time it may still spend on
each blocking step (a subprocess timeout, a socket timeout) and checks it
between steps; when the time is up it raises :class:`DriverTimeout`
naming the operation and the step. So an operation ends on time even when
nobody cancels anything::

    def _thd_build(plan, *, deadline):
        subprocess.run(argv, timeout=deadline.cap(30, "creating the bridge"))
        deadline.check("waiting for sshd")
"""
import math
import time

from gam.drivers.base import DriverTimeout


class Deadline:
    """``seconds`` from now (``None``: never) on the clock ``now``."""

    def __init__(self, seconds, what="the operation", now=time.monotonic):
        if seconds is not None and (isinstance(seconds, bool) or seconds <= 0):
            raise ValueError(f"a deadline needs a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self.what = what
        self._now = now
        self._end = math.inf if seconds is None else now() + seconds

    def remaining(self):
        """Seconds left (never negative; ``math.inf`` without a limit)."""
        return max(0.0, self._end - self._now())

    @property
    def expired(self):
        return self._now() >= self._end

    def check(self, step=""):
        """Raise DriverTimeout if the time is up."""
        if self.expired:
            raise self.timeout_error(step)

    def cap(self, seconds=None, step=""):
        """The timeout for one blocking step: what is left, at most
        ``seconds``. Raises DriverTimeout if nothing is left."""
        left = self.remaining()
        if left <= 0:
            raise self.timeout_error(step)
        if seconds is not None:
            left = min(left, seconds)
        return None if math.isinf(left) else left

    def timeout_error(self, step=""):
        during = f" while {step}" if step else ""
        limit = "" if self.seconds is None else f" after {self.seconds:g} s"
        return DriverTimeout(f"{self.what} timed out{limit}{during}; raise its timeout in "
                             "the driver configuration if the substrate is just slow")
