"""The AM with the real namespace driver across its own restart, slivers
provisioned piecemeal, partial Delete, geni_restart and Shutdown.
Root only (CI runs as root); skipped with the reason elsewhere.
"""
import os
import signal
import subprocess
from datetime import timedelta

from tests.system.support import (
    FAILED, READY, AMSystemCase, gnode, link, manifest_nodes, rspec)

LAN = rspec(gnode("a", [("a:if0", "10.18.0.1")]), gnode("b", [("b:if0", "10.18.0.2")]),
            link("lan0", "a:if0", "b:if0"))


class RecoveryTests(AMSystemCase):

    async def restart_am(self):
        await self.am.restart()
        self.client = self.am.client()

    async def test_am_restart_keeps_nodes(self):
        nodes = await self.create("stay", LAN)
        login = self.login_of(nodes, "a")
        before = await self.ssh(login, "hostname")
        await self.restart_am()
        slivers = await self.status("stay")
        self.assertEqual({s["geni_operational_status"] for s in slivers}, {READY})
        self.assertEqual(await self.describe("stay"), nodes)
        res = await self.ssh(login, "hostname; ping -c1 -W5 10.18.0.2")
        self.assertEqual(res.stdout.splitlines()[0], "a")
        self.assertIn("1 received", res.stdout)
        self.assertEqual(res.host_key, before.host_key)
        await self.delete("stay")
        self.assertNothingLeft()

    async def test_node_lost_while_the_am_was_down(self):
        nodes = await self.create("lost", LAN)
        data = await self.am.driver_data([nodes["b"]["sliver_id"]])
        await self.am.service.stop()
        # Node b dies with its namespace while the AM is down; its folder stays.
        ns = data[nodes["b"]["sliver_id"]]["netns"]
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                              check=True).stdout.split()
        self.assertTrue(pids)
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], check=True)
        await self.restart_am()
        states = {s["geni_sliver_urn"]: s for s in await self.status("lost")}
        b = states[nodes["b"]["sliver_id"]]
        self.assertEqual(b["geni_operational_status"], FAILED)
        self.assertIn("gone when the aggregate restarted", b["geni_error"])
        self.assertEqual(states[nodes["a"]["sliver_id"]]["geni_operational_status"], READY)
        self.assertEqual((await self.describe("lost"))["b"]["logins"], [])    # dead ones
        await self.login_fails(self.login_of(nodes, "b"))
        # as the error suggests: geni_restart brings it back
        await self.call("PerformOperationalAction", [nodes["b"]["sliver_id"]],
                        self.am.credentials("lost"), "geni_restart", {})
        await self.wait_ready("lost")
        again = await self.describe("lost")
        res = await self.ssh(self.login_of(again, "b"), "hostname; ping -c1 -W5 10.18.0.1")
        self.assertEqual(res.stdout.splitlines()[0], "b")
        self.assertIn("1 received", res.stdout)
        await self.delete("lost")
        self.assertNothingLeft()

    async def test_restart_action(self):
        nodes = await self.create("again", LAN)
        await self.ssh(self.login_of(nodes, "a"), "nohup sleep 600 >/dev/null 2>&1 &")
        await self.call("PerformOperationalAction", [self.am.slice_urn("again")],
                        self.am.credentials("again"), "geni_restart", {})
        await self.wait_ready("again")
        res = await self.ssh(self.login_of(nodes, "a"), "ps -e -o comm=; ping -c1 -W5 10.18.0.2")
        self.assertNotIn("sleep", res.stdout)
        self.assertIn("1 received", res.stdout)
        await self.delete("again")
        self.assertNothingLeft()

    async def test_link_first_then_nodes_then_part_delete(self):
        name, creds = "steps", self.am.credentials("steps")
        self.slices.append(name)
        allocated = await self.call("Allocate", self.am.slice_urn(name), creds, LAN, {})
        urns = {s["geni_sliver_urn"] for s in allocated["geni_slivers"]}
        nodes = manifest_nodes(allocated["geni_rspec"])
        node_urns = {n["sliver_id"] for n in nodes.values()}
        (link_urn,) = urns - node_urns
        await self.call("Provision", [link_urn], creds, {"geni_users": self.users()})
        await self.wait_for(name, lambda ss: any(
            s["geni_sliver_urn"] == link_urn and s["geni_operational_status"] == READY
            for s in ss), "link ready")
        await self.call("Provision", sorted(node_urns), creds, {"geni_users": self.users()})
        await self.wait_ready(name)
        nodes = await self.describe(name)
        res = await self.ssh(self.login_of(nodes, "a"), "ping -c1 -W5 10.18.0.2")
        self.assertIn("1 received", res.stdout)
        # Delete node b only: a stays and still runs, b is gone from the host.
        b_data = (await self.am.driver_data([nodes["b"]["sliver_id"]]))[nodes["b"]["sliver_id"]]
        deleted = await self.call("Delete", [nodes["b"]["sliver_id"]], creds, {})
        self.assertEqual([s["geni_sliver_urn"] for s in deleted], [nodes["b"]["sliver_id"]])
        self.assertNotIn(b_data["netns"], self.am.snapshot()["netns"])
        await self.login_fails(self.login_of(nodes, "b"))
        res = await self.ssh(self.login_of(nodes, "a"), "ping -c1 -W1 10.18.0.2", check=False)
        self.assertNotEqual(res.status, 0)
        self.assertEqual(len(await self.status(name)), 2)
        await self.delete(name)
        self.assertNothingLeft()


class ShutdownTests(AMSystemCase):
    limits = {"expiry_interval": 1}

    async def test_shutdown_then_expiry(self):
        nodes = await self.create("shut", LAN)
        creds = self.am.credentials("shut")
        self.assertIs(await self.call("Shutdown", self.am.slice_urn("shut"), creds, {}), True)
        urns = {n["sliver_id"] for n in nodes.values()}
        await self.wait_for("shut", lambda ss: all(
            s["geni_operational_status"] == "geni_notready" for s in ss
            if s["geni_sliver_urn"] in urns), "stopped")
        for c in ("a", "b"):
            await self.login_fails(self.login_of(nodes, c))
        envelope = await self.call("PerformOperationalAction", [self.am.slice_urn("shut")],
                                   creds, "geni_start", {}, code=11)
        self.assertIn("shut down", envelope["output"])
        self.clock.skip(timedelta(days=2).total_seconds())
        await self.wait_gone("shut")
        self.assertNothingLeft()
