"""Deadlines enforced inside the work; commands; the bounded pool."""
import threading

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from gam.drivers.base import DriverError, DriverTimeout
from gam.drivers.deadline import Deadline
from gam.drivers.proc import thd_run

from tests.drivers.support import fake_drivers


class FakeTime:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class DeadlineTests(unittest.SynchronousTestCase):

    def test_counts_down_and_caps(self):
        t = FakeTime()
        d = Deadline(10, "create of n0", now=t)
        self.assertEqual(d.remaining(), 10)
        self.assertEqual(d.cap(3), 3)
        t.now += 8
        self.assertEqual(d.cap(3), 2)
        d.check("step")
        t.now += 2
        self.assertTrue(d.expired)
        with self.assertRaises(DriverTimeout) as e:
            d.check("waiting for sshd")
        self.assertIn("create of n0 timed out after 10 s while waiting for sshd", str(e.exception))
        self.assertRaises(DriverTimeout, d.cap, 1)

    def test_no_limit(self):
        d = Deadline(None)
        self.assertIsNone(d.cap())
        self.assertEqual(d.cap(4), 4)
        self.assertFalse(d.expired)

    def test_refuses_nonsense(self):
        self.assertRaises(ValueError, Deadline, 0)
        self.assertRaises(ValueError, Deadline, -1)


class CommandTests(unittest.SynchronousTestCase):

    def test_output_and_failure(self):
        res = thd_run(["sh", "-c", "echo hi"], Deadline(10))
        self.assertEqual(res.stdout, "hi\n")
        with self.assertRaises(DriverError) as e:
            thd_run(["sh", "-c", "echo boom >&2; exit 3"], Deadline(10), step="making a bridge")
        self.assertIn("making a bridge", str(e.exception))
        self.assertIn("exit status 3: boom", str(e.exception))
        self.assertEqual(thd_run(["false"], Deadline(10), check=False).returncode, 1)

    def test_missing_program(self):
        with self.assertRaises(DriverError) as e:
            thd_run(["no-such-program-gam"], Deadline(10))
        self.assertIn("not installed", str(e.exception))

    def test_deadline_kills_the_command(self):
        with self.assertRaises(DriverTimeout) as e:
            thd_run(["sleep", "30"], Deadline(0.3, "delete of n0"))
        self.assertIn("delete of n0 timed out", str(e.exception))

    def test_cap_kills_the_command(self):
        with self.assertRaises(DriverError) as e:
            thd_run(["sleep", "30"], Deadline(60), cap=0.3)
        self.assertIn("did not finish within 0.3 s", str(e.exception))


class PoolTests(unittest.TestCase):

    def setUp(self):
        self.drivers, _, _ = fake_drivers(task.Clock(), pool_size=2)
        self.addCleanup(self.drivers.stop)
        return self.drivers.start()

    def test_work_gets_a_deadline_and_runs_off_the_reactor(self):
        main = threading.current_thread()

        def _thd_work(x, *, deadline):
            return x * 2, deadline.seconds, threading.current_thread() is main

        d = self.drivers.run_in_pool(_thd_work, 21, timeout=5)
        return d.addCallback(self.assertEqual, (42, 5, False))

    def test_the_timeout_is_enforced_inside_the_work(self):
        def _thd_slow(*, deadline):
            thd_run(["sleep", "60"], deadline, step="sleeping")

        d = self.drivers.run_in_pool(_thd_slow, timeout=0.3, what="a slow step")
        return self.assertFailure(d, DriverTimeout).addCallback(
            lambda e: self.assertIn("a slow step timed out after 0.3 s while sleeping", str(e)))

    @defer.inlineCallbacks
    def test_pool_is_bounded(self):
        running, most = [0], [0]
        lock = threading.Lock()
        gate = threading.Event()

        def _thd_busy(*, deadline):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            gate.wait(deadline.cap(5))
            with lock:
                running[0] -= 1

        ds = [self.drivers.run_in_pool(_thd_busy, timeout=10) for _ in range(5)]
        for _ in range(500):                # until the pool is full (5 s at most)
            if running[0] == 2:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        gate.set()
        yield defer.gatherResults(ds)
        self.assertEqual(most[0], 2)
