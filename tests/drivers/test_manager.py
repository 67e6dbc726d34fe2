"""The driver manager over fake handlers: order, stitching, parallelism,
retries, timeouts, failures, delete/poll/actions, clean restart."""
from twisted.internet import defer, task
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial import unittest

from gam.drivers import base
from gam.drivers.manager import SliverRef
from gam.errors import GeniCode, Unsupported

from tests.drivers.support import Reports, fake_drivers, link_plan, node_plan, sliver


def _lan(n=2, link="lan0"):
    lp = link_plan(link, [(f"n{i}", f"n{i}:if0", f"10.0.0.{i + 1}") for i in range(n)])
    nodes = [node_plan(f"n{i}", [(f"n{i}:if0", link, f"10.0.0.{i + 1}")]) for i in range(n)]
    return lp, nodes


class ProvisionTests(unittest.TestCase):

    def setUp(self):
        self.clock = task.Clock()

    def provision(self, drivers, links, nodes, reports=None, **kw):
        return defer.ensureDeferred(drivers.provision(links, nodes, Reports() if reports is None else reports, **kw))

    def test_links_before_nodes_and_stitching(self):
        drivers, nodef, linkf = fake_drivers(self.clock)
        shared = []
        nodef.calls = linkf.calls = shared
        linkf.delay("create", 5)
        lp, nodes = _lan(3)
        d = self.provision(drivers, [lp], nodes)
        self.assertEqual(shared, [("create", lp.sliver_urn)])
        self.clock.advance(4.9)
        self.assertEqual(len(shared), 1, "a node started before its link was made")
        self.clock.advance(0.2)
        out = self.successResultOf(d)
        self.assertEqual([c[1] for c in shared[1:]], [n.sliver_urn for n in nodes])
        for n in nodes:
            self.assertEqual(out[n.sliver_urn].state, base.READY)
            self.assertEqual(nodef.stitching[n.sliver_urn],
                             {lp.sliver_urn: out[lp.sliver_urn].data})
        self.assertEqual(out[lp.sliver_urn].data["vlan_tag"], 1001)

    def test_earlier_links_stitched_in(self):
        drivers, nodef, _ = fake_drivers(self.clock)
        n = node_plan("a", [("a:if0", "old", "10.0.0.1")])
        out = self.successResultOf(self.provision(
            drivers, [], [n], stitching={sliver("old"): {"bridge": "b0"}}))
        self.assertEqual(out[n.sliver_urn].state, base.READY)
        self.assertEqual(nodef.stitching[n.sliver_urn], {sliver("old"): {"bridge": "b0"}})

    def test_missing_link_fails_the_node_without_calling_it(self):
        drivers, nodef, _ = fake_drivers(self.clock)
        n = node_plan("a", [("a:if0", "nowhere", None)])
        out = self.successResultOf(self.provision(drivers, [], [n]))
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertIn("not provisioned", out[n.sliver_urn].error)
        self.assertEqual(nodef.calls, [])

    def test_nodes_run_in_parallel(self):
        drivers, nodef, _ = fake_drivers(self.clock)
        nodef.delay("create", 10)
        nodes = [node_plan(f"n{i}") for i in range(6)]
        d = self.provision(drivers, [], nodes)
        self.assertEqual(nodef.running, 6)
        self.clock.advance(10)
        out = self.successResultOf(d)
        self.assertEqual({o.state for o in out.values()}, {base.READY})

    def test_handler_pool_size_bounds_parallelism(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"pool_size": 2})
        nodef.delay("create", 10)
        d = self.provision(drivers, [], [node_plan(f"n{i}") for i in range(5)])
        for running in (2, 2, 1):
            self.assertEqual(nodef.running, running)
            self.clock.advance(10)
        self.successResultOf(d)
        self.assertEqual(nodef.max_running, 2)

    def test_reports_every_state_change(self):
        drivers, nodef, _ = fake_drivers(self.clock)
        nodef.fail_on("create", "bad", "no room", geni_code=GeniCode.BADARGS)
        good, bad = node_plan("good"), node_plan("bad")
        reports = Reports()
        out = self.successResultOf(self.provision(drivers, [], [good, bad], reports))
        self.assertEqual(reports.states(good.sliver_urn), [base.CONFIGURING, base.READY])
        self.assertEqual(reports.states(bad.sliver_urn), [base.CONFIGURING, base.FAILED])
        self.assertIn("no room", out[bad.sliver_urn].error)
        self.assertEqual(out[good.sliver_urn].state, base.READY)
        self.assertNotIn(bad.sliver_urn, nodef.items)

    def test_retry_after_a_transient_failure(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"retries": 2, "retry_delay": 3})
        nodef.fail_on("create", "a", "flaky", times=2)
        n = node_plan("a")
        d = self.provision(drivers, [], [n])
        self.assertNoResult(d)
        self.clock.advance(3)
        self.clock.advance(3)
        out = self.successResultOf(d)
        self.assertEqual(out[n.sliver_urn].state, base.READY)
        self.assertEqual(nodef.calls.count(("create", n.sliver_urn)), 3)

    def test_a_retry_stopped_by_leftovers_reports_the_first_error(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"retries": 2})
        nodef.fail_on("create", "a", "the bridge vanished; removing what was made also failed",
                      times=1)
        nodef.fail_on("create", "*", "namespace gam-n1 already exists; delete the sliver first",
                      geni_code=GeniCode.ALREADYEXISTS)
        n = node_plan("a")
        out = self.successResultOf(self.provision(drivers, [], [n]))
        error = out[n.sliver_urn].error
        self.assertIn("the bridge vanished", error)
        self.assertIn("a retry could not start: ", error)
        self.assertIn("already exists", error)
        self.assertEqual(nodef.calls.count(("create", n.sliver_urn)), 2)

    def test_retries_are_bounded(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"retries": 1})
        nodef.fail_on("create", "a", "broken")
        n = node_plan("a")
        out = self.successResultOf(self.provision(drivers, [], [n]))
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertEqual(nodef.calls.count(("create", n.sliver_urn)), 2)

    def test_bad_arguments_are_not_retried(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"retries": 3})
        nodef.fail_on("create", "a", "999.1.1.1 is no address", geni_code=GeniCode.BADARGS)
        n = node_plan("a")
        out = self.successResultOf(self.provision(drivers, [], [n]))
        self.assertEqual(nodef.calls.count(("create", n.sliver_urn)), 1)
        self.assertIn("999.1.1.1", out[n.sliver_urn].error)

    def test_timeout_then_late_success_is_deleted(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"timeouts": {"create": 20}})
        nodef.hang_on("create")
        n = node_plan("a")
        d = self.provision(drivers, [], [n])
        self.clock.advance(20)
        self.assertNoResult(d)            # the grace period is not over
        self.clock.advance(10)
        out = self.successResultOf(d)
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertIn("did not finish", out[n.sliver_urn].error)
        self.assertEqual(nodef.calls.count(("create", n.sliver_urn)), 1, "retried a hung op")
        nodef.release()                   # it finishes after all ...
        self.assertEqual(nodef.calls[-1], ("delete", n.sliver_urn))
        self.assertEqual(nodef.items, {})  # ... and is removed

    def test_late_failure_is_logged(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"timeouts": {"create": 20}})
        nodef.hang_on("create")
        nodef.fail_on("create", "a", "the bridge vanished; removing what was made also failed")
        n = node_plan("a")
        d = self.provision(drivers, [], [n])
        self.clock.advance(30)
        self.assertEqual(self.successResultOf(d)[n.sliver_urn].state, base.FAILED)
        seen = []
        globalLogPublisher.addObserver(seen.append)
        self.addCleanup(globalLogPublisher.removeObserver, seen.append)
        nodef.release()                   # the create fails after gam gave up
        said = [formatEvent(e) for e in seen]
        self.assertTrue(any("failed after gam gave up" in m and "bridge vanished" in m
                            for m in said), said)
        self.assertNotIn(("delete", n.sliver_urn), nodef.calls)

    def test_self_retrying_handler_is_waited_for_all_its_attempts(self):
        # A handler that retries on its own says how long all its attempts
        # may take; the manager must not give up after one attempt's time.
        drivers, nodef, _ = fake_drivers(self.clock, node={"timeouts": {"create": 20}})
        nodef.retries_itself = True
        nodef.budget = lambda op: 65 if op == "create" else 20
        caller = next(c for c in drivers._order if c.handler is nodef)
        caller.retries_itself = True
        nodef.delay("create", 50)         # longer than one attempt's 20 s + grace
        n = node_plan("a")
        d = self.provision(drivers, [], [n])
        self.clock.advance(49)
        self.assertNoResult(d)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d)[n.sliver_urn].state, base.READY)
        self.assertEqual(caller.wait_limit("create"), 65)
        self.assertEqual(caller.wait_limit("poll"), 30)   # never below its timeout

    def test_failed_link_fails_its_nodes_only(self):
        drivers, nodef, linkf = fake_drivers(self.clock)
        linkf.fail_on("create", "lan0", "address clash")
        lp, nodes = _lan(2)
        lone = node_plan("lone")
        reports = Reports()
        out = self.successResultOf(self.provision(drivers, [lp], nodes + [lone], reports))
        self.assertEqual(out[lp.sliver_urn].state, base.FAILED)
        for n in nodes:
            self.assertEqual(out[n.sliver_urn].state, base.FAILED)
            self.assertIn("link lan0 failed", out[n.sliver_urn].error)
            self.assertIn("address clash", out[n.sliver_urn].error)
            self.assertEqual(reports.states(n.sliver_urn), [base.FAILED])
        self.assertEqual(out[lone.sliver_urn].state, base.READY)
        self.assertEqual([c for c in nodef.calls if c[0] == "create"],
                         [("create", lone.sliver_urn)])

    def test_unknown_type_refused_before_anything(self):
        drivers, nodef, linkf = fake_drivers(self.clock)
        lp, nodes = _lan(1)
        odd = node_plan("odd", sliver_type="raw-pc")
        d = self.provision(drivers, [lp], nodes + [odd])
        self.failureResultOf(d, Unsupported)
        self.assertEqual(nodef.calls + linkf.calls, [])

    def test_bad_outcome_is_undone(self):
        drivers, nodef, _ = fake_drivers(self.clock)

        async def sloppy(plan, stitching):
            nodef.items[plan.sliver_urn] = {}
            return base.Outcome(plan.sliver_urn, base.READY, {"logins": []})
        nodef.create = sloppy
        n = node_plan("a")
        out = self.successResultOf(self.provision(drivers, [], [n]))
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertIn("without interfaces", out[n.sliver_urn].error)
        self.assertEqual(nodef.items, {})

    def test_internal_error_has_no_traceback(self):
        drivers, nodef, _ = fake_drivers(self.clock, node={"retries": 2})

        async def buggy(plan, stitching):
            nodef.calls.append(("create", plan.sliver_urn))
            raise KeyError("oops")
        nodef.create = buggy
        n = node_plan("a")
        out = self.successResultOf(self.provision(drivers, [], [n]))
        self.assertIn("internal error", out[n.sliver_urn].error)
        self.assertNotIn("Traceback", out[n.sliver_urn].error)
        self.assertEqual(len(nodef.calls), 1, "a bug is not worth retrying")
        self.flushLoggedErrors(KeyError)


class LifecycleTests(unittest.TestCase):

    def setUp(self):
        self.clock = task.Clock()
        self.drivers, self.nodef, self.linkf = fake_drivers(self.clock)
        lp, nodes = _lan(2)
        out = self.successResultOf(defer.ensureDeferred(
            self.drivers.provision([lp], nodes, Reports())))
        self.refs = [SliverRef(n.sliver_urn, "namespace", out[n.sliver_urn].data)
                     for n in nodes]
        self.link = SliverRef(lp.sliver_urn, "link", out[lp.sliver_urn].data)

    def run_(self, coro):
        return self.successResultOf(defer.ensureDeferred(coro))

    def test_delete_nodes_then_links_and_idempotent(self):
        shared = []
        self.nodef.calls = self.linkf.calls = shared
        out = self.run_(self.drivers.delete([self.link] + self.refs))
        self.assertEqual([c[0] for c in shared], ["delete"] * 3)
        self.assertEqual(shared[-1], ("delete", self.link.sliver_urn))
        self.assertEqual({o.error for o in out.values()}, {""})
        self.assertEqual(self.nodef.items, {})
        again = self.run_(self.drivers.delete(self.refs))
        self.assertEqual({o.error for o in again.values()}, {""})

    def test_failed_delete_is_reported(self):
        self.nodef.fail_on("delete", self.refs[0].sliver_urn, "device busy",
                           geni_code=GeniCode.BADARGS)
        out = self.run_(self.drivers.delete(self.refs))
        self.assertEqual(out[self.refs[0].sliver_urn].state, base.FAILED)
        self.assertIn("device busy", out[self.refs[0].sliver_urn].error)
        self.assertEqual(out[self.refs[1].sliver_urn].error, "")

    def test_poll(self):
        self.nodef.stopped.add(self.refs[0].sliver_urn)
        self.nodef.items.pop(self.refs[1].sliver_urn)
        out = self.run_(self.drivers.poll(self.refs + [self.link]))
        self.assertEqual(out[self.refs[0].sliver_urn].state, base.NOTREADY)
        self.assertEqual(out[self.refs[1].sliver_urn].state, base.FAILED)
        self.assertEqual(out[self.link.sliver_urn].state, base.READY)

    def test_poll_timeout_is_failed(self):
        self.nodef.hang_on("poll")
        d = defer.ensureDeferred(self.drivers.poll(self.refs[:1]))
        self.clock.advance(40)
        out = self.successResultOf(d)
        self.assertEqual(out[self.refs[0].sliver_urn].state, base.FAILED)
        self.assertIn("did not finish", out[self.refs[0].sliver_urn].error)
        self.nodef.release()

    def test_stop_and_start(self):
        reports = Reports()
        out = self.run_(self.drivers.perform(self.refs, base.STOP, report=reports))
        self.assertEqual({o.state for o in out.values()}, {base.NOTREADY})
        self.assertEqual(reports.states(self.refs[0].sliver_urn),
                         [base.STOPPING, base.NOTREADY])
        out = self.run_(self.drivers.perform(self.refs, base.START))
        self.assertEqual({o.state for o in out.values()}, {base.READY})

    def test_update_users_passes_users(self):
        users = (base.User("urn:publicid:IDN+gam.test+user+bob", "bob", ("ssh-ed25519 AAAA",)),)
        self.run_(self.drivers.perform(self.refs[:1], base.UPDATE_USERS, users))
        self.assertEqual(self.nodef.users[self.refs[0].sliver_urn], users)

    def test_unknown_or_unoffered_action_refused_up_front(self):
        d = defer.ensureDeferred(self.drivers.perform(self.refs, "geni_explode"))
        self.failureResultOf(d, Unsupported)
        self.nodef.actions = (base.START,)
        calls = len(self.nodef.calls)
        d = defer.ensureDeferred(self.drivers.perform(self.refs, base.STOP))
        self.assertIn("offers geni_start", str(self.failureResultOf(d, Unsupported).value))
        self.assertEqual(len(self.nodef.calls), calls)

    def test_failed_action_keeps_the_polled_state(self):
        self.nodef.fail_on("perform", base.RESTART, "sshd will not start",
                           geni_code=GeniCode.BADARGS)
        out = self.run_(self.drivers.perform(self.refs[:1], base.RESTART))
        o = out[self.refs[0].sliver_urn]
        self.assertEqual(o.state, base.READY)
        self.assertIn("sshd will not start", o.error)

    def test_clean_restart(self):
        shared = []
        self.nodef.calls = self.linkf.calls = shared
        self.nodef.items["urn:stale"] = {}
        live = [self.refs[0], self.link, SliverRef("urn:lost", "namespace", {})]
        res = self.run_(self.drivers.clean_restart(live))
        self.assertEqual(res.gone, {"urn:lost"})
        self.assertEqual(res.errors, {})
        self.assertEqual(set(self.nodef.items), {self.refs[0].sliver_urn})
        self.assertEqual(shared, [("clean_restart", None)] * 2)
        self.assertEqual(self.linkf.calls, shared)


class ServiceTests(unittest.TestCase):

    def test_start_and_stop_call_the_handlers(self):
        drivers, nodef, linkf = fake_drivers(task.Clock())
        yield_ = drivers.start()
        self.successResultOf(yield_)
        self.assertTrue(nodef.started and linkf.started)
        self.assertTrue(drivers.threadpool.started)
        return drivers.stop().addCallback(
            lambda _: self.assertTrue(nodef.stopped_service and linkf.stopped_service))

    def test_lookups(self):
        drivers, nodef, _ = fake_drivers(task.Clock())
        self.assertIs(drivers.handler_for("namespace"), nodef)
        self.assertTrue(drivers.handles("link"))
        self.assertFalse(drivers.handles("raw-pc"))
        self.assertRaises(Unsupported, drivers.handler_for, "raw-pc")
        self.assertIn("actions", drivers.capabilities("namespace"))
