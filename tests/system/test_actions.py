"""Operational actions and expiry through the whole AM with the real
namespace driver: geni_stop/geni_start, geni_update_users, leases that run
out. Root only (CI runs as root); skipped with the reason elsewhere.
"""
from datetime import datetime, timedelta, timezone

from gam.rfc3339 import format_time

from tests.drivers.support import make_keypair
from tests.system.support import (
    NOTREADY, READY, AMSystemCase, gnode, link, rspec)

LAN = rspec(gnode("a", [("a:if0", "10.16.0.1")]), gnode("b", [("b:if0", "10.16.0.2")]),
            link("lan0", "a:if0", "b:if0"))
BOB = "urn:publicid:IDN+gam.test+user+bob"


class ActionTests(AMSystemCase):

    async def act(self, name, action, options=None, code=0):
        return await self.call("PerformOperationalAction", [self.am.slice_urn(name)],
                               self.am.credentials(name), action, options or {}, code=code)

    async def wait_nodes(self, name, nodes, state):
        urns = {n["sliver_id"] for n in nodes.values()}
        slivers = await self.wait_for(
            name, lambda ss: all(s["geni_operational_status"] == state for s in ss
                                 if s["geni_sliver_urn"] in urns), state)
        self.assertEqual({s["geni_error"] for s in slivers if s["geni_sliver_urn"] in urns},
                         {""})
        return slivers

    async def test_stop_then_start(self):
        nodes = await self.create("ops", LAN)
        logins = {c: self.login_of(nodes, c) for c in ("a", "b")}
        keys = {}
        for c, login in logins.items():
            res = await self.ssh(login, "hostname; nohup sleep 600 >/dev/null 2>&1 &")
            self.assertEqual(res.stdout.strip(), c)
            keys[c] = res.host_key

        answer = await self.act("ops", "geni_stop")
        self.assertEqual({s["geni_operational_status"] for s in answer
                          if s["geni_sliver_urn"] in {n["sliver_id"] for n in nodes.values()}},
                         {"geni_stopping"})
        await self.wait_nodes("ops", nodes, NOTREADY)
        for login in logins.values():
            await self.login_fails(login)

        await self.act("ops", "geni_start")
        await self.wait_nodes("ops", nodes, READY)
        again = await self.describe("ops")
        for c, peer in (("a", "10.16.0.2"), ("b", "10.16.0.1")):
            login = self.login_of(again, c)
            self.assertEqual(login, logins[c])          # same login as before the stop
            res = await self.ssh(login, f"hostname; ps -e -o comm=; ping -c1 -W5 {peer}")
            self.assertEqual(res.stdout.splitlines()[0], c)
            self.assertNotIn("sleep", res.stdout)       # the stop ended what ran
            self.assertIn("1 received", res.stdout)
            self.assertEqual(res.host_key, keys[c])     # known_hosts stays right
        await self.delete("ops")
        self.assertNothingLeft()

    async def test_update_users(self):
        nodes = await self.create("users", rspec(gnode("a", [("a:if0", "10.17.0.1")]),
                                                 link("lan0", "a:if0")))
        login = self.login_of(nodes, "a")
        key2, pub2 = make_keypair("alice-second")
        bob_key, bob_pub = make_keypair("bob")
        envelope = await self.act("users", "geni_update_users", code=1)
        self.assertIn("geni_users", envelope["output"])

        await self.act("users", "geni_update_users", {"geni_users": self.users(
            (self.alice, [self.pub, pub2]), (BOB, [bob_pub]))})
        await self.wait_nodes("users", nodes, READY)
        updated = await self.describe("users")
        self.assertEqual(sorted(lg["username"] for lg in updated["a"]["logins"]),
                         ["alice", "bob"])
        self.assertEqual(self.login_of(updated, "a"), login)
        bob = self.login_of(updated, "a", "bob")
        self.assertEqual((bob["hostname"], bob["port"]), (login["hostname"], login["port"]))
        for pkey in (self.pkey, key2):                  # both of alice's keys work
            res = await self.ssh(login, "id -un", pkey=pkey)
            self.assertEqual(res.stdout.strip(), "alice")
        res = await self.ssh(bob, "id -un; pwd", pkey=bob_key)
        self.assertEqual(res.stdout.split(), ["bob", "/home/bob"])
        await self.login_fails(bob, pkey=self.pkey)    # bob's login takes only his key

        # the list replaces the previous one
        await self.act("users", "geni_update_users",
                       {"geni_users": self.users((self.alice, [pub2]))})
        await self.wait_nodes("users", nodes, READY)
        res = await self.ssh(login, "id -un", pkey=key2)
        self.assertEqual(res.stdout.strip(), "alice")
        await self.login_fails(login)
        await self.login_fails(bob, pkey=bob_key)
        await self.delete("users")
        self.assertNothingLeft()


class ExpiryTests(AMSystemCase):
    """The AM's own expiry loop (every second here) frees slivers whose
    lease is over; the AM's clock is moved past the lease instead of waiting."""

    limits = {"expiry_interval": 1}

    async def test_expiry_frees_everything(self):
        end = format_time(datetime.fromtimestamp(self.clock.seconds(), timezone.utc)
                          + timedelta(hours=1))
        nodes = await self.create("short", LAN, geni_end_time=end)
        slivers = await self.status("short")
        self.assertEqual({s["geni_expires"] for s in slivers}, {end})
        login = self.login_of(nodes, "a")
        await self.ssh(login, "true")
        self.assertNotEqual(self.am.snapshot(), self.before)
        self.clock.skip(timedelta(hours=2).total_seconds())     # past the lease
        await self.wait_gone("short")
        self.assertNothingLeft()
        await self.login_fails(login)
        # The slivers are gone for good, and their resources free again.
        await self.call("Status", [slivers[0]["geni_sliver_urn"]],
                        self.am.credentials("short"), {}, code=12)
        nodes = await self.create("again", LAN)
        await self.ssh(self.login_of(nodes, "b"), "true")
        await self.delete("again")
        self.assertNothingLeft()
