"""Failed creates through the whole AM with the real namespace driver: they
end in geni_failed with a clear geni_error and leave nothing on the host.

Root only (CI runs as root); skipped with the reason elsewhere.
"""
from tests.aggregate.support import SSH_KEY
from tests.system.support import FAILED, READY, AMSystemCase, gnode, link, rspec


def by_urn(slivers):
    return {s["geni_sliver_urn"]: s for s in slivers}


class FailureTests(AMSystemCase):

    async def test_impossible_address(self):
        """The broadcast address of its subnet: the AM takes it (it is an
        IPv4 address), the driver refuses it before making anything."""
        request = rspec(gnode("a", [("a:if0", "10.14.0.1")]),
                        gnode("b", [("b:if0", "10.14.0.255")]),
                        link("lan0", "a:if0", "b:if0"))
        provisioned = await self.allocate_provision("bad", request)
        urns = [s["geni_sliver_urn"] for s in provisioned["geni_slivers"]]
        slivers = by_urn(await self.wait_settled("bad"))
        self.assertEqual({s["geni_operational_status"] for s in slivers.values()}, {FAILED})
        self.assertEqual({s["geni_allocation_status"] for s in slivers.values()},
                         {"geni_provisioned"})
        errors = [slivers[u]["geni_error"] for u in urns]
        for error in errors:        # every sliver says what was wrong and where
            self.assertIn("10.14.0.255 is the broadcast address of 10.14.0.0/24", error)
            self.assertIn("pick a host address", error)
        self.assertTrue(any(e.startswith("a: not created: link lan0 failed") for e in errors),
                        errors)
        self.assertNothingLeft()         # before any Delete: nothing was made
        # Describe still answers, with no logins for nodes never made.
        nodes = await self.describe("bad")
        self.assertEqual({c: n["logins"] for c, n in nodes.items()}, {"a": [], "b": []})
        await self.delete("bad")
        self.assertNothingLeft()

    async def test_unusable_key_fails_the_node_only(self):
        """A key that looks like one but is not: the link is made, the node
        is refused before anything of it is made (tests/drivers'
        HalfMadeTests covers a node refused half-way); Delete frees the
        link."""
        request = rspec(gnode("a", [("a:if0", "10.15.0.1")]), link("lan0", "a:if0"))
        await self.allocate_provision("badkey", request,
                                      self.users((self.alice, [SSH_KEY])))
        slivers = await self.wait_settled("badkey")
        states = sorted((s["geni_operational_status"], s["geni_error"]) for s in slivers)
        self.assertEqual([s for s, _ in states], [FAILED, READY], states)
        self.assertIn("is not a valid OpenSSH public key", states[0][1])
        self.assertIn("user alice", states[0][1])
        left = self.am.snapshot()
        self.assertEqual((left["netns"], left["processes"], left["state"]), ([], [], []))
        self.assertEqual(len(left["links"]), 1, left)        # the link's bridge
        await self.delete("badkey")
        self.assertNothingLeft()

    async def test_malformed_address_refused_at_allocate(self):
        request = rspec(gnode("a", [("a:if0", "999.1.1.1")]), link("lan0", "a:if0"))
        envelope = await self.call("Allocate", self.am.slice_urn("refused"),
                                   self.am.credentials("refused"), request, {}, code=1)
        self.assertIn("999.1.1.1", envelope["output"])
        await self.status("refused", code=12)
        self.assertNothingLeft()
