"""Provisioning through the whole AM (Allocate, Provision, Status until
geni_ready) with the real namespace driver; logins as the experimenter with
the key from geni_users and the manifest's <login>; Delete leaves nothing.

Root only (CI runs as root); skipped with the reason elsewhere.
"""
import json
import subprocess
import sys

from tests.drivers.test_netns_system import RECEIVER, SENDER
from tests.system.support import LOGIN_HOST, AMSystemCase, gnode, link, rspec

ADDRS = "/usr/sbin/ip -4 -o addr show"


def tc_qdiscs(dev, netns=None):
    argv = ["tc"] + (["-n", netns] if netns else []) + ["-s", "-j", "qdisc", "show", "dev", dev]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def tbf(qdiscs):
    (q,) = [q for q in qdiscs if q["kind"] == "tbf"]
    return q


class ProvisionTests(AMSystemCase):

    async def test_two_node_lan(self):
        request = rspec(gnode("a", [("a:if0", "10.11.0.1")]),
                        gnode("b", [("b:if0", "10.11.0.2")]),
                        link("lan0", "a:if0", "b:if0", capacity=10000))
        nodes = await self.create("lan2", request)
        self.assertEqual(sorted(nodes), ["a", "b"])
        for me, peer, address, peer_address in (("a", "b", "10.11.0.1", "10.11.0.2"),
                                                ("b", "a", "10.11.0.2", "10.11.0.1")):
            login = self.login_of(nodes, me)
            self.assertEqual(login["hostname"], LOGIN_HOST)
            self.assertEqual(nodes[me]["host"], me)
            res = await self.ssh(login, f"hostname; id -un; {ADDRS} eth0; "
                                        f"ping -c 1 -W 5 {peer_address}; "
                                        "cat /sys/class/net/eth0/address")
            lines = res.stdout.splitlines()
            self.assertEqual(lines[:2], [me, "alice"])
            self.assertIn(f"inet {address}/24", lines[2])
            self.assertIn("1 received", res.stdout)
            self.assertEqual(lines[-1], nodes[me]["macs"][f"{me}:if0"])
            # /etc/hosts names the neighbour
            res = await self.ssh(login, f"getent hosts {peer}")
            self.assertIn(peer_address, res.stdout)

        # 10 Mbit/s: a token bucket on both ends of each interface...
        data = await self.am.driver_data(n["sliver_id"] for n in nodes.values())
        a, b = (data[nodes[c]["sliver_id"]] for c in ("a", "b"))
        for end in (a, b):
            self.assertEqual(tbf(tc_qdiscs(end["veths"][0]))["options"]["rate"], 10_000_000 // 8)
            self.assertEqual(tbf(tc_qdiscs("eth0", end["netns"]))["options"]["rate"],
                             10_000_000 // 8)
        res = await self.ssh(self.login_of(nodes, "a"), "/usr/sbin/tc -j qdisc show dev eth0")
        self.assertEqual(tbf(json.loads(res.stdout))["options"]["rate"], 10_000_000 // 8)
        # ... which holds back a burst far beyond its bucket (counted, not timed).
        recv = subprocess.Popen(["ip", "netns", "exec", b["netns"], sys.executable, "-c",
                                 RECEIVER, "10.11.0.2"], stdout=subprocess.PIPE, text=True)
        try:
            subprocess.run(["ip", "netns", "exec", a["netns"], sys.executable, "-c", SENDER,
                            "10.11.0.2", str(600_000)], check=True, timeout=60)
            self.assertEqual(recv.communicate(timeout=60)[0].strip(), "600000")
        finally:
            recv.kill()
            recv.wait()
        q = tbf(tc_qdiscs("eth0", a["netns"]))
        self.assertGreater(q["overlimits"] + q["drops"], 0, q)

        await self.delete("lan2")
        self.assertNothingLeft()

    async def test_three_node_line(self):
        request = rspec(gnode("a", [("a:if0", "10.12.1.1")]),
                        gnode("b", [("b:if0", "10.12.1.2"), ("b:if1", "10.12.2.2")]),
                        gnode("c", [("c:if0", "10.12.2.3")]),
                        link("ab", "a:if0", "b:if0"), link("bc", "b:if1", "c:if0"))
        nodes = await self.create("line3", request)
        res = await self.ssh(self.login_of(nodes, "b"),
                             f"hostname; {ADDRS}; ping -c1 -W5 10.12.1.1; ping -c1 -W5 10.12.2.3")
        self.assertEqual(res.stdout.splitlines()[0], "b")
        self.assertIn("inet 10.12.1.2/24", res.stdout)
        self.assertIn("inet 10.12.2.2/24", res.stdout)
        self.assertEqual(res.stdout.count("1 received"), 2, res.stdout)
        for me, address, peer in (("a", "10.12.1.1", "10.12.1.2"),
                                  ("c", "10.12.2.3", "10.12.2.2")):
            res = await self.ssh(self.login_of(nodes, me),
                                 f"hostname; {ADDRS} eth0; ping -c1 -W5 {peer}")
            self.assertEqual(res.stdout.splitlines()[0], me)
            self.assertIn(f"inet {address}/24", res.stdout)
            self.assertIn("1 received", res.stdout)
        # a and c share no link: nothing routes between them.
        res = await self.ssh(self.login_of(nodes, "a"), "ping -c1 -W1 10.12.2.3", check=False)
        self.assertNotEqual(res.status, 0, res.stdout)
        await self.delete("line3")
        self.assertNothingLeft()

    async def test_slices_on_overlapping_subnets(self):
        """Two slices, same client ids, same subnet, one address in both:
        each node reaches only the nodes of its own slice."""
        left = rspec(gnode("n1", [("n1:if0", "10.13.0.1")]),
                     gnode("n2", [("n2:if0", "10.13.0.2")]), link("lan", "n1:if0", "n2:if0"))
        right = rspec(gnode("n1", [("n1:if0", "10.13.0.1")]),
                      gnode("n2", [("n2:if0", "10.13.0.3")]), link("lan", "n1:if0", "n2:if0"))
        await self.allocate_provision("left", left)
        await self.allocate_provision("right", right)
        await self.wait_ready("left")
        await self.wait_ready("right")
        nodes = {"left": await self.describe("left"), "right": await self.describe("right")}
        for name, mine, other in (("left", "10.13.0.2", "10.13.0.3"),
                                  ("right", "10.13.0.3", "10.13.0.2")):
            login = self.login_of(nodes[name], "n1")
            res = await self.ssh(login, f"ping -c1 -W5 {mine} >/dev/null && "
                                        f"/usr/sbin/ip neigh show {mine}")
            # the answer came from n2 of this slice (its MAC), not the other's
            self.assertIn(f"lladdr {nodes[name]['n2']['macs']['n2:if0']} ", res.stdout)
            res = await self.ssh(login, f"ping -c1 -W1 {other}", check=False)
            self.assertNotEqual(res.status, 0, res.stdout)
        self.assertNotEqual(nodes["left"]["n2"]["macs"]["n2:if0"],
                            nodes["right"]["n2"]["macs"]["n2:if0"])
        await self.delete("left")
        await self.delete("right")
        self.assertNothingLeft()
