"""A crash mid-operation leaves the database consistent; a restart finishes the story."""
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from gam.aggregate import allocation
from gam.errors import SearchFailed
from gam.schedule import thd_usage

from tests.aggregate.support import T0, AggregateMixin, auth, link, node, slice_urn
from tests.db.support import SQLiteBackend


class RecoveryTests(AggregateMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def restart(self):
        """A new Aggregate on the same database and drivers, as after a crash."""
        self.am = self.make_aggregate()
        yield defer.Deferred.fromCoroutine(self.am.start())

    @defer.inlineCallbacks
    def test_crash_inside_allocate_leaves_nothing(self):
        def crash(*args):
            raise RuntimeError("the AM died here")
        self.patch(allocation, "_book_link", crash)
        err = yield self.failure_of(self.allocate(
            node("a", host="node1", interfaces=[("a:0", None)]),
            node("b", host="node2", interfaces=[("b:0", None)]), link("l", "a:0", "b:0")))
        self.assertIsInstance(err, RuntimeError)
        for resource in ("cores:node1", "cores:node2", "vlan:lan"):
            usage = yield self.db.read(thd_usage, resource, T0)
            self.assertEqual(usage.used, 0, resource)
        err = yield self.failure_of(self.call("status", auth(), slice_urn(), None, {}))
        self.assertIsInstance(err, SearchFailed)

    @defer.inlineCallbacks
    def test_restart_while_configuring(self):
        yield self.allocate(node("a"))
        self.fakes.node.hang_on("create")
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.fakes.node.wait_for("create", 1)
        before = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in before.values()],
                         ["geni_configuring"])
        old = self.am
        yield self.restart()
        states = yield self.status()
        [state] = states.values()
        self.assertEqual(state["geni_operational_status"], "geni_failed")
        self.assertIn("restarted", state["geni_error"])
        # the old process's work ends; a restart makes the sliver again
        self.fakes.release()
        yield defer.Deferred.fromCoroutine(old.settle())
        yield self.call("perform_operational_action", auth(), slice_urn(), None,
                        "geni_restart", {})
        yield self.settle()
        states = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in states.values()],
                         ["geni_ready"])

    @defer.inlineCallbacks
    def test_restart_finds_resources_gone(self):
        result = yield self.allocate(node("a"), node("b"))
        a, b = [s["geni_sliver_urn"] for s in result["geni_slivers"]]
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        del self.fakes.node.items[b]           # b's VM vanished while the AM was down
        yield self.restart()
        states = yield self.status()
        self.assertEqual(states[a]["geni_operational_status"], "geni_ready")
        self.assertEqual(states[b]["geni_operational_status"], "geni_failed")
        self.assertIn("gone", states[b]["geni_error"])
        # and the inventory's resources were defined again, unchanged
        usage = yield self.db.read(thd_usage, "cores:node1", T0)
        self.assertEqual(usage.capacity, 4)
