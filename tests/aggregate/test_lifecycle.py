"""Provision, Status, Describe, actions, Renew, Delete and Shutdown through the delegate."""
from datetime import timedelta

from lxml import etree
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from gam.auth.urn import URN
from gam.rpc.delegate import AMDelegate
from gam.errors import BadArgs, GeniCode, OutOfRange, SearchFailed, Unavailable, Unsupported
from gam.rspec.validation import schema_errors
from gam.schedule import thd_usage

from tests.aggregate.support import (
    T0, V3, AggregateMixin, auth, link, node, slice_urn, users)
from tests.db.support import SQLiteBackend

NS = {"r": "http://www.geni.net/resources/rspec/3"}
DAY = timedelta(days=1)


def urns(result):
    slivers = result["geni_slivers"] if isinstance(result, dict) else result
    return [s["geni_sliver_urn"] for s in slivers]


class ProvisionTests(AggregateMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_provision_to_ready_with_logins(self):
        allocated = yield self.allocate(
            node("a", interfaces=[("a:0", "10.0.0.1")]),
            node("b", interfaces=[("b:0", "10.0.0.2")]), link("lan", "a:0", "b:0"))
        self.fakes.node.hang_on("create")
        result = yield self.call("provision", auth(), slice_urn(), None,
                                 {"geni_users": users("alice", "bob")})
        self.assertEqual(sorted(urns(result)), sorted(urns(allocated)))
        for info in result["geni_slivers"]:
            self.assertEqual(info["geni_allocation_status"], "geni_provisioned")
            self.assertEqual(info["geni_operational_status"], "geni_notready")
            self.assertEqual(info["geni_expires"], T0 + DAY)     # the credential's end
        yield self.fakes.node.wait_for("create", 2)        # the link is made, nodes booting
        states = yield self.status()
        by_kind = {urn: s["geni_operational_status"] for urn, s in states.items()}
        [link_urn] = self.fakes.link.items
        self.assertEqual(by_kind.pop(link_urn), "geni_ready")
        self.assertEqual(set(by_kind.values()), {"geni_configuring"})
        self.fakes.release()
        yield self.settle()
        states = yield self.status()
        self.assertEqual({s["geni_operational_status"] for s in states.values()},
                         {"geni_ready"})
        # the drivers made the link first, with its VLAN, then the nodes stitched to it
        # with the users
        [link_urn] = self.fakes.link.items
        self.assertEqual(self.fakes.link.items[link_urn]["vlan_tag"], 1000)
        for urn, data in self.fakes.node.items.items():
            self.assertEqual(sorted(x["username"] for x in data["logins"]), ["alice", "bob"])
            self.assertEqual(list(self.fakes.node.stitching[urn]), [link_urn])
        described = yield self.call("describe", auth(), slice_urn(), None,
                                    {"geni_rspec_version": V3})
        tree = etree.fromstring(described["geni_rspec"].encode())
        self.assertEqual(schema_errors(etree.ElementTree(tree), "manifest"), [])
        logins = tree.findall("r:node/r:services/r:login", NS)
        self.assertEqual(sorted(x.get("username") for x in logins),
                         ["alice", "alice", "bob", "bob"])
        self.assertTrue(all(x.get("port").isdigit() for x in logins))
        macs = [i.get("mac_address") for i in tree.findall("r:node/r:interface", NS)]
        self.assertTrue(all(macs))

    @defer.inlineCallbacks
    def test_failed_node_reports_its_error(self):
        yield self.allocate(node("good"), node("bad"))
        self.fakes.node.fail_on("create", "bad", "the image would not boot")
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        result = yield self.call("status", auth(), slice_urn(), None, {})
        by_state = {s["geni_operational_status"]: s for s in result["geni_slivers"]}
        self.assertEqual(set(by_state), {"geni_ready", "geni_failed"})
        self.assertIn("would not boot", by_state["geni_failed"]["geni_error"])
        self.assertEqual(by_state["geni_ready"]["geni_error"], "")

    @defer.inlineCallbacks
    def test_provision_named_slivers_only(self):
        result = yield self.allocate(node("a"), node("b"))
        first = urns(result)[0]
        yield self.call("provision", auth(), slice_urn(), [URN.parse(first)], {})
        states = yield self.status()
        self.assertEqual(states[first]["geni_allocation_status"], "geni_provisioned")
        self.assertEqual(states[urns(result)[1]]["geni_allocation_status"], "geni_allocated")

    @defer.inlineCallbacks
    def test_provision_end_time_and_max_lease(self):
        yield self.allocate(node("a"), expires=T0 + 30 * DAY)
        result = yield self.call("provision", auth(T0 + 30 * DAY), slice_urn(), None,
                                 {"geni_end_time": T0 + 20 * DAY})
        # capped by the lease booked at Allocate (max_lease, 7 days)
        self.assertEqual(result["geni_slivers"][0]["geni_expires"], T0 + 7 * DAY)
        usage = yield self.db.read(thd_usage, "cores:node1", T0 + 7 * DAY - timedelta(seconds=1))
        self.assertEqual(usage.used, 1)
        usage = yield self.db.read(thd_usage, "cores:node1", T0 + 7 * DAY)
        self.assertEqual(usage.used, 0)

    @defer.inlineCallbacks
    def test_provision_shortens_the_booking(self):
        yield self.allocate(node("a"))
        end = T0 + timedelta(hours=2)
        result = yield self.call("provision", auth(), slice_urn(), None, {"geni_end_time": end})
        self.assertEqual(result["geni_slivers"][0]["geni_expires"], end)
        usage = yield self.db.read(thd_usage, "cores:node1", end)
        self.assertEqual(usage.used, 0)

    @defer.inlineCallbacks
    def test_provision_twice_is_harmless(self):
        yield self.allocate(node("a"))
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        again = yield self.call("provision", auth(), slice_urn(), None, {})
        self.assertEqual(again["geni_slivers"][0]["geni_operational_status"], "geni_ready")
        self.assertEqual(len(self.fakes.creates()), 1)

    @defer.inlineCallbacks
    def test_bad_users(self):
        yield self.allocate(node("a"))
        for bad in ("alice", [{"keys": []}], [{"urn": "urn:publicid:IDN+x+slice+y"}],
                    [{"urn": "urn:publicid:IDN+x+user+a", "keys": ["not a key"]}]):
            err = yield self.failure_of(self.call("provision", auth(), slice_urn(), None,
                                                  {"geni_users": bad}))
            self.assertIsInstance(err, BadArgs)


class StatusDescribeTests(AggregateMixin, SQLiteBackend, TestCase):
    def test_is_an_am_delegate(self):
        self.assertIsInstance(self.am, AMDelegate)

    @defer.inlineCallbacks
    def test_describe_empty_slice(self):
        result = yield self.call("describe", auth(), slice_urn("nothing"), None,
                                 {"geni_rspec_version": V3})
        self.assertEqual(result["geni_slivers"], [])
        tree = etree.fromstring(result["geni_rspec"].encode())
        self.assertEqual(tree.get("type"), "manifest")
        self.assertEqual(len(tree), 0)

    @defer.inlineCallbacks
    def test_status_unknown_slice_and_sliver(self):
        err = yield self.failure_of(self.call("status", auth(), slice_urn("nothing"), None, {}))
        self.assertIsInstance(err, SearchFailed)
        unknown = URN.parse("urn:publicid:IDN+gam.localhost+sliver+nope")
        err = yield self.failure_of(self.call("resolve_slice", [unknown]))
        self.assertIsInstance(err, SearchFailed)

    @defer.inlineCallbacks
    def test_resolve_slice(self):
        one = yield self.allocate(node("a"), name="one")
        two = yield self.allocate(node("a"), name="two")
        got = yield self.call("resolve_slice", [URN.parse(u) for u in urns(one)])
        self.assertEqual(got, slice_urn("one"))
        err = yield self.failure_of(self.call(
            "resolve_slice", [URN.parse(urns(one)[0]), URN.parse(urns(two)[0])]))
        self.assertIsInstance(err, BadArgs)

    @defer.inlineCallbacks
    def test_status_always_has_geni_error(self):
        yield self.allocate(node("a"), node("b"))
        result = yield self.call("status", auth(), slice_urn(), None, {})
        self.assertEqual(result["geni_urn"], str(slice_urn()))
        for info in result["geni_slivers"]:
            self.assertEqual(info["geni_error"], "")
            self.assertEqual(set(info), {"geni_sliver_urn", "geni_expires", "geni_error",
                                         "geni_allocation_status", "geni_operational_status"})

    @defer.inlineCallbacks
    def test_describe_named_sliver(self):
        result = yield self.allocate(node("a"), node("b"))
        first = urns(result)[0]
        described = yield self.call("describe", auth(), slice_urn(), [URN.parse(first)],
                                    {"geni_rspec_version": V3})
        self.assertEqual(urns(described), [first])
        self.assertIn('client_id="a"', described["geni_rspec"])
        self.assertNotIn('client_id="b"', described["geni_rspec"])


class ActionTests(AggregateMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def provisioned(self, *names):
        result = yield self.allocate(*[node(n) for n in names])
        yield self.call("provision", auth(), slice_urn(), None, {"geni_users": users("alice")})
        yield self.settle()
        return urns(result)

    def poa(self, action, slivers=None, **options):
        return self.call("perform_operational_action", auth(), slice_urn(), slivers, action,
                         options)

    @defer.inlineCallbacks
    def test_start_stop_restart(self):
        yield self.provisioned("a")
        started = yield self.poa("geni_start")         # already ready: nothing to do
        self.assertEqual(started[0]["geni_operational_status"], "geni_ready")
        self.assertEqual(self.fakes.actions(), [])
        stopped = yield self.poa("geni_stop")
        self.assertEqual(stopped[0]["geni_operational_status"], "geni_stopping")
        yield self.settle()
        states = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in states.values()],
                         ["geni_notready"])
        started = yield self.poa("geni_start")
        self.assertEqual(started[0]["geni_operational_status"], "geni_configuring")
        yield self.settle()
        restarted = yield self.poa("geni_restart")
        self.assertEqual(restarted[0]["geni_operational_status"], "geni_configuring")
        yield self.settle()
        states = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in states.values()],
                         ["geni_ready"])
        self.assertEqual(self.fakes.actions(), ["geni_stop", "geni_start", "geni_restart"])

    @defer.inlineCallbacks
    def test_unknown_action(self):
        yield self.provisioned("a")
        err = yield self.failure_of(self.poa("geni_explode"))
        self.assertIsInstance(err, Unsupported)
        self.assertEqual(err.geni_code, 13)
        self.assertIn("geni_start", err.message)

    @defer.inlineCallbacks
    def test_wrong_state(self):
        result = yield self.allocate(node("a"))
        err = yield self.failure_of(self.poa("geni_start"))
        self.assertIsInstance(err, Unsupported)
        self.assertIn("Provision", err.message)
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        stopped = yield self.poa("geni_stop", [URN.parse(urns(result)[0])])
        self.assertEqual(stopped[0]["geni_operational_status"], "geni_stopping")
        yield self.settle()
        err = yield self.failure_of(self.poa("geni_restart"))     # from notready: start it
        self.assertIsInstance(err, Unsupported)
        self.assertIn("geni_notready", err.message)
        err = yield self.failure_of(self.poa("geni_update_users"))
        self.assertIsInstance(err, BadArgs)
        self.assertIn("geni_users", err.message)

    @defer.inlineCallbacks
    def test_best_effort_reports_per_sliver(self):
        result = yield self.allocate(node("a"), node("b"))
        a, b = urns(result)
        yield self.call("provision", auth(), slice_urn(), [URN.parse(a)], {})
        yield self.settle()
        err = yield self.failure_of(self.poa("geni_stop"))
        self.assertIsInstance(err, Unsupported)
        self.assertIn("'b'", err.message)
        answer = yield self.poa("geni_stop", geni_best_effort=True)
        by_urn = {s["geni_sliver_urn"]: s for s in answer}
        self.assertEqual(by_urn[a]["geni_error"], "")
        self.assertEqual(by_urn[a]["geni_operational_status"], "geni_stopping")
        self.assertIn("not provisioned", by_urn[b]["geni_error"])

    @defer.inlineCallbacks
    def test_update_users(self):
        yield self.provisioned("a")
        answer = yield self.poa("geni_update_users", geni_users=users("carol"))
        self.assertEqual(answer[0]["geni_operational_status"], "geni_updating_users")
        yield self.settle()
        [(action, _, given)] = self.fakes.node.performed
        self.assertEqual(action, "geni_update_users")
        self.assertEqual([u.name for u in given], ["carol"])
        states = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in states.values()],
                         ["geni_ready"])

    @defer.inlineCallbacks
    def test_restart_remakes_a_failed_sliver(self):
        yield self.allocate(node("a"))
        self.fakes.node.fail_on("create", "a", "no room", times=1)
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        yield self.poa("geni_restart")
        yield self.settle()
        states = yield self.status()
        [state] = states.values()
        self.assertEqual(state["geni_operational_status"], "geni_ready")
        self.assertEqual(state["geni_error"], "")
        self.assertEqual(len(self.fakes.creates()), 2)


class RenewTests(AggregateMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_renew_in_range(self):
        result = yield self.allocate(node("a"))
        yield self.call("provision", auth(T0 + 10 * DAY), slice_urn(), None,
                        {"geni_end_time": T0 + timedelta(hours=1)})
        renewed = yield self.call("renew", auth(T0 + 10 * DAY), slice_urn(), None,
                                  T0 + 5 * DAY, {})
        self.assertEqual(urns(renewed), urns(result))
        self.assertEqual(renewed[0]["geni_expires"], T0 + 5 * DAY)
        usage = yield self.db.read(thd_usage, "cores:node1", T0 + 5 * DAY - timedelta(seconds=1))
        self.assertEqual(usage.used, 1)

    @defer.inlineCallbacks
    def test_renew_too_far_and_alap(self):
        yield self.allocate(node("a"))
        err = yield self.failure_of(self.call("renew", auth(T0 + 2 * DAY), slice_urn(), None,
                                              T0 + 3 * DAY, {}))
        self.assertIsInstance(err, OutOfRange)
        self.assertEqual(err.geni_code, 19)
        self.assertIn("credential", err.message)
        err = yield self.failure_of(self.call("renew", auth(T0 + 90 * DAY), slice_urn(), None,
                                              T0 + 60 * DAY, {}))
        self.assertIn("30 days", err.message)
        renewed = yield self.call("renew", auth(T0 + 90 * DAY), slice_urn(), None,
                                  T0 + 60 * DAY, {"geni_extend_alap": True})
        self.assertEqual(renewed[0]["geni_expires"], T0 + 30 * DAY)

    @defer.inlineCallbacks
    def test_renew_in_the_past(self):
        yield self.allocate(node("a"))
        err = yield self.failure_of(self.call("renew", auth(), slice_urn(), None,
                                              T0 - DAY, {}))
        self.assertIsInstance(err, OutOfRange)

    @defer.inlineCallbacks
    def test_renew_rechecks_conflicts(self):
        yield self.allocate(node("a", host="node1", sliver_type="raw-pc"),
                            options={"geni_end_time": T0 + DAY}, expires=T0 + 10 * DAY)
        # someone else books node1 from day 2
        yield self.allocate(node("b", host="node1", sliver_type="raw-pc"), name="later",
                            expires=T0 + 10 * DAY,
                            options={"geni_start_time": T0 + 2 * DAY,
                                     "geni_end_time": T0 + 3 * DAY})
        err = yield self.failure_of(self.call("renew", auth(T0 + 10 * DAY), slice_urn(), None,
                                              T0 + 4 * DAY, {}))
        self.assertEqual(err.geni_code, GeniCode.REFUSED)
        self.assertIn("node1", err.message)
        self.assertIn("2030-06-03T12:00:00Z", err.message)
        answer = yield self.call("renew", auth(T0 + 10 * DAY), slice_urn(), None,
                                 T0 + 4 * DAY, {"geni_best_effort": True})
        self.assertIn("node1", answer[0]["geni_error"])
        # as long as possible: up to the other booking
        answer = yield self.call("renew", auth(T0 + 10 * DAY), slice_urn(), None,
                                 T0 + 4 * DAY, {"geni_extend_alap": True})
        self.assertEqual(answer[0]["geni_expires"], T0 + 2 * DAY)
        self.assertEqual(answer[0]["geni_error"], "")


class LapsedTests(AggregateMixin, SQLiteBackend, TestCase):
    """Slivers past their expiry that the sweep has not freed yet (none runs here)."""

    LAPSE = T0 + timedelta(minutes=10)          # allocated slivers lapse then

    def assertExpired(self, err, *slivers):
        self.assertIsInstance(err, SearchFailed)
        self.assertEqual(err.geni_code, GeniCode.SEARCHFAILED)
        self.assertIn("expired", err.message)
        self.assertIn("allocate resources again", err.message)
        for urn in slivers:
            self.assertIn(urn, err.message)

    @defer.inlineCallbacks
    def test_a_lapsed_allocation_cannot_be_provisioned_or_renewed(self):
        [a] = urns((yield self.allocate(node("a"))))
        self.advance(timedelta(minutes=10))          # exactly at its expiry
        err = yield self.failure_of(self.call("provision", auth(), slice_urn(), None, {}))
        self.assertExpired(err)
        self.assertIn("2030-06-01T12:10:00Z", err.message)
        err = yield self.failure_of(self.call("provision", auth(), slice_urn(), [a], {}))
        self.assertExpired(err, a)
        self.assertIn("2030-06-01T12:10:00Z", err.message)
        err = yield self.failure_of(self.call("renew", auth(), slice_urn(), [a],
                                              T0 + timedelta(hours=2), {}))
        self.assertExpired(err, a)
        err = yield self.failure_of(self.call("renew", auth(), slice_urn(), None,
                                              T0 + timedelta(hours=2),
                                              {"geni_best_effort": True}))
        self.assertExpired(err)
        self.assertEqual(self.fakes.creates(), [])
        # nothing changed, and Status still shows it
        states = yield self.status()
        self.assertEqual(states[a]["geni_allocation_status"], "geni_allocated")
        self.assertEqual(states[a]["geni_expires"], self.LAPSE)

    @defer.inlineCallbacks
    def test_whole_slice_calls_act_on_the_others(self):
        [a] = urns((yield self.allocate(node("a"))))
        self.advance(timedelta(minutes=5))
        [b] = urns((yield self.allocate(node("b"))))
        self.advance(timedelta(minutes=5, seconds=20))     # a lapsed, b has 5 minutes
        result = yield self.call("provision", auth(), slice_urn(), None, {})
        self.assertEqual(urns(result), [b])
        renewed = yield self.call("renew", auth(), slice_urn(), None,
                                  T0 + timedelta(hours=2), {})
        self.assertEqual(urns(renewed), [b])
        yield self.settle()
        acted = yield self.call("perform_operational_action", auth(), slice_urn(), None,
                                "geni_restart", {})
        self.assertEqual(urns(acted), [b])
        states = yield self.status()
        self.assertEqual(states[a]["geni_allocation_status"], "geni_allocated")
        self.assertEqual(states[b]["geni_allocation_status"], "geni_provisioned")
        # naming a with b: the call is refused as a whole
        err = yield self.failure_of(self.call("renew", auth(), slice_urn(), [b, a],
                                              T0 + timedelta(hours=3), {}))
        self.assertExpired(err, a)
        self.assertNotIn(b, err.message)

    @defer.inlineCallbacks
    def test_actions_refuse_an_ended_lease(self):
        [a] = urns((yield self.allocate(node("a"))))
        yield self.call("provision", auth(), slice_urn(), None,
                        {"geni_end_time": T0 + timedelta(hours=1)})
        yield self.settle()
        self.advance(timedelta(hours=1, seconds=1))
        for action in ("geni_restart", "geni_stop"):
            err = yield self.failure_of(self.call(
                "perform_operational_action", auth(), slice_urn(), [a], action, {}))
            self.assertExpired(err, a)
        self.assertEqual(self.fakes.actions(), [])

    @defer.inlineCallbacks
    def test_status_describe_and_delete_still_work(self):
        [a] = urns((yield self.allocate(node("a", host="node1"))))
        yield self.call("provision", auth(), slice_urn(), None,
                        {"geni_end_time": T0 + timedelta(hours=1)})
        yield self.settle()
        self.advance(timedelta(hours=1, seconds=1))
        states = yield self.status()
        self.assertEqual(states[a]["geni_operational_status"], "geni_ready")
        described = yield self.call("describe", auth(), slice_urn(), [a],
                                    {"geni_rspec_version": V3})
        self.assertEqual(urns(described), [a])
        answer = yield self.call("delete", auth(), slice_urn(), None, {})
        self.assertEqual(urns(answer), [a])
        self.assertEqual(answer[0]["geni_allocation_status"], "geni_unallocated")
        self.assertEqual(self.fakes.made, {})
        usage = yield self.db.read(thd_usage, "cores:node1", T0 + timedelta(minutes=30))
        self.assertEqual(usage.used, 0)


class DeleteShutdownTests(AggregateMixin, SQLiteBackend, TestCase):
    @defer.inlineCallbacks
    def test_delete_frees_everything(self):
        result = yield self.allocate(node("a", interfaces=[("a:0", None)]),
                                     node("b", interfaces=[("b:0", None)]),
                                     link("l", "a:0", "b:0"))
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        self.assertEqual(len(self.fakes.made), 3)
        answer = yield self.call("delete", auth(), slice_urn(), None, {})
        self.assertEqual(sorted(urns(answer)), sorted(urns(result)))
        self.assertEqual({s["geni_allocation_status"] for s in answer}, {"geni_unallocated"})
        self.assertEqual(self.fakes.made, {})
        usage = yield self.db.read(thd_usage, "cores:node1", T0)
        self.assertEqual(usage.used, 0)
        usage = yield self.db.read(thd_usage, "vlan:lan", T0)
        self.assertEqual(usage.tags, ())
        err = yield self.failure_of(self.call("status", auth(), slice_urn(), None, {}))
        self.assertIsInstance(err, SearchFailed)
        err = yield self.failure_of(self.call("resolve_slice", [URN.parse(urns(result)[0])]))
        self.assertIsInstance(err, SearchFailed)

    @defer.inlineCallbacks
    def test_delete_waits_for_configuring(self):
        yield self.allocate(node("a"))
        self.fakes.hold()
        yield self.call("provision", auth(), slice_urn(), None, {})
        deleting = self.call("delete", auth(), slice_urn(), None, {})
        self.assertNoResult(deleting)
        self.fakes.release()
        answer = yield deleting
        self.assertEqual(answer[0]["geni_allocation_status"], "geni_unallocated")
        self.assertEqual(self.fakes.made, {})

    @defer.inlineCallbacks
    def test_delete_failure(self):
        result = yield self.allocate(node("a"), node("b"))
        a, b = urns(result)
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        self.fakes.node.fail_on("delete", b, "the hypervisor is down", times=2)
        err = yield self.failure_of(self.call("delete", auth(), slice_urn(), None, {}))
        self.assertEqual(err.geni_code, GeniCode.ERROR)
        self.assertIn("hypervisor", err.message)
        states = yield self.status()
        self.assertEqual(list(states), [b])
        self.assertEqual(states[b]["geni_operational_status"], "geni_failed")
        usage = yield self.db.read(thd_usage, "cores:node1", T0)
        self.assertEqual(usage.used, 1)          # b still holds its booking
        answer = yield self.call("delete", auth(), slice_urn(), None,
                                 {"geni_best_effort": True})
        self.assertIn("hypervisor", answer[0]["geni_error"])
        answer = yield self.call("delete", auth(), slice_urn(), None, {})
        self.assertEqual(urns(answer), [b])

    @defer.inlineCallbacks
    def test_shutdown(self):
        yield self.allocate(node("a"))
        yield self.call("provision", auth(), slice_urn(), None, {})
        yield self.settle()
        done = yield self.call("shutdown", auth(), slice_urn(), {})
        self.assertIs(done, True)
        yield self.settle()
        states = yield self.status()
        self.assertEqual([s["geni_operational_status"] for s in states.values()],
                         ["geni_notready"])
        self.assertEqual(self.fakes.actions(), ["geni_stop"])
        for method, args in [
                ("allocate", (slice_urn(), "<rspec/>", {})),
                ("provision", (slice_urn(), None, {})),
                ("renew", (slice_urn(), None, T0 + timedelta(hours=5), {})),
                ("perform_operational_action", (slice_urn(), None, "geni_start", {})),
                ("delete", (slice_urn(), None, {}))]:
            if method == "allocate":
                args = (slice_urn(), self._doc(), {})
            err = yield self.failure_of(self.call(method, auth(), *args))
            self.assertIsInstance(err, Unavailable, method)
            self.assertIn("shut down", err.message)
        again = yield self.call("shutdown", auth(), slice_urn(), {})
        self.assertIs(again, True)
        described = yield self.call("describe", auth(), slice_urn(), None,
                                    {"geni_rspec_version": V3})
        self.assertEqual(len(described["geni_slivers"]), 1)

    def _doc(self):
        from tests.aggregate.support import rspec
        return rspec(node("z"))

    @defer.inlineCallbacks
    def test_shutdown_unknown_slice(self):
        err = yield self.failure_of(self.call("shutdown", auth(), slice_urn("ghost"), {}))
        self.assertIsInstance(err, SearchFailed)
