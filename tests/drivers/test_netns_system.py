"""Root-only system tests of the namespace driver, through the Drivers manager.

They build real namespaces, bridges and sshd processes on this host, log
in with Paramiko as the experimenter, and check that delete leaves
nothing. They skip (with the reason) when not root or a tool is missing.
"""
import json
import subprocess
import sys

from gam.drivers import base
from gam.drivers.netns import host, names as names_mod, runtime

from tests.drivers.netns_support import SystemTestCase, snapshot
from tests.drivers.support import link_plan, make_keypair, node_plan, sliver

RECEIVER = ("import socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
            "socket.SO_REUSEADDR,1);s.bind((sys.argv[1],5001));s.listen(1);s.settimeout(20);"
            "c,_=s.accept();c.settimeout(20);n=0\nwhile True:\n d=c.recv(65536)\n if not d:"
            " break\n n+=len(d)\nprint(n)")
SENDER = ("import socket,sys,time\nfor _ in range(100):\n try:\n  c=socket.create_connection("
          "(sys.argv[1],5001),timeout=20);break\n except OSError: time.sleep(0.05)\n"
          "c.sendall(b'x'*int(sys.argv[2]));c.close()")


def tc_qdiscs(dev, netns=None):
    argv = ["tc"] + (["-n", netns] if netns else []) + ["-s", "-j", "qdisc", "show", "dev", dev]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


class LanTests(SystemTestCase):

    async def test_two_node_lan(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "10.10.0.1"), ("n1", "n1:if0", "10.10.0.2")],
                        capacity_kbps=10000)
        nodes = [node_plan(f"n{i}", [(f"n{i}:if0", "lan0", f"10.10.0.{i + 1}")],
                           users=[self.alice]) for i in range(2)]
        out, reports = await self.provision([lan], nodes)
        for p in [lan] + nodes:
            self.assertEqual(out[p.sliver_urn].state, base.READY, out[p.sliver_urn].error)
            self.assertEqual(reports.states(p.sliver_urn), [base.CONFIGURING, base.READY])
        link = out[lan.sliver_urn].data
        self.assertEqual(link["vlan_tag"], 1001)
        if link["forward_rule"]:      # bridged traffic passes iptables here: let it through
            subprocess.run(["iptables", "-w", "5", "-C", "FORWARD", "-i", link["bridge"], "-o",
                            link["bridge"], "-j", "ACCEPT"], check=True)
        for i, n in enumerate(nodes):
            data = out[n.sliver_urn].data
            self.assertEqual(data["logins"], [{"username": "alice", "hostname": data["logins"][0]
                                               ["hostname"], "port": data["login_port"]}])
            self.assertEqual(data["interfaces"][f"n{i}:if0"]["address"], f"10.10.0.{i + 1}")
            res = await self.run_on(data, "hostname; id -un; /usr/sbin/ip -4 -o addr show eth0; "
                                          f"ping -c 1 -W 5 10.10.0.{2 - i}")
            lines = res.stdout.splitlines()
            self.assertEqual(lines[0], f"n{i}")
            self.assertEqual(lines[1], "alice")
            self.assertIn(f"inet 10.10.0.{i + 1}/24", lines[2])
            self.assertIn("1 received", res.stdout)
            mac = data["interfaces"][f"n{i}:if0"]["mac"]
            res = await self.run_on(data, "cat /sys/class/net/eth0/address")
            self.assertEqual(res.stdout.strip(), mac)
        # The login relay runs in the node's network namespace, as nobody.
        relays = [p for p in host.processes_in(out[nodes[0].sliver_urn].data["netns"]) if p[2]
                  and "gam-node-init" not in p[3]]
        self.assertEqual(len(relays), 1, relays)
        if runtime.proxyd():
            self.assertTrue(relays[0][3][0].endswith("systemd-socket-proxyd"), relays)
        with open(f"/proc/{relays[0][0]}/status") as f:
            self.assertIn("\t65534\t", [ln for ln in f if ln.startswith("Uid:")][0])
        # A 10 Mbit/s link: a token bucket on both ends of each interface ...
        rx_veth = out[nodes[1].sliver_urn].data["veths"][0]
        ns1 = out[nodes[1].sliver_urn].data["netns"]
        for dev, ns in ((rx_veth, None), ("eth0", ns1)):
            (q,) = [q for q in tc_qdiscs(dev, ns) if q["kind"] == "tbf"]
            self.assertEqual(q["options"]["rate"], 10_000_000 // 8)
        # ... which holds back a burst well beyond its bucket.
        ns0 = out[nodes[0].sliver_urn].data["netns"]
        recv = subprocess.Popen(["ip", "netns", "exec", ns1, sys.executable, "-c", RECEIVER,
                                 "10.10.0.2"], stdout=subprocess.PIPE, text=True)
        subprocess.run(["ip", "netns", "exec", ns0, sys.executable, "-c", SENDER, "10.10.0.2",
                        str(600_000)], check=True, timeout=30)
        self.assertEqual(recv.communicate(timeout=30)[0].strip(), "600000")
        (q,) = [q for q in tc_qdiscs("eth0", ns0) if q["kind"] == "tbf"]   # the sender's end
        self.assertGreater(q["overlimits"] + q["drops"], 0, q)
        res = await self.drivers.delete(self.refs(nodes + [lan], out))
        self.assertEqual({o.error for o in res.values()}, {""})
        self.assertNothingLeft()

    async def test_three_node_line(self):
        links = [link_plan("ab", [("a", "a:if0", "10.1.1.1"), ("b", "b:if0", "10.1.1.2")]),
                 link_plan("bc", [("b", "b:if1", "10.1.2.2"), ("c", "c:if0", "10.1.2.3")],
                           tag=1002)]
        nodes = [node_plan("a", [("a:if0", "ab", "10.1.1.1")], users=[self.alice]),
                 node_plan("b", [("b:if0", "ab", "10.1.1.2"), ("b:if1", "bc", "10.1.2.2")],
                           users=[self.alice]),
                 node_plan("c", [("c:if0", "bc", "10.1.2.3")], users=[self.alice])]
        out, _ = await self.provision(links, nodes)
        self.assertEqual({o.state for o in out.values()}, {base.READY},
                         [o.error for o in out.values()])
        a, b, c = (out[n.sliver_urn].data for n in nodes)
        res = await self.run_on(b, "hostname; /usr/sbin/ip -4 -o addr; ping -c1 -W5 10.1.1.1;"
                                   " ping -c1 -W5 10.1.2.3")
        self.assertEqual(res.stdout.splitlines()[0], "b")
        self.assertIn("inet 10.1.1.2/24", res.stdout)
        self.assertIn("inet 10.1.2.2/24", res.stdout)
        self.assertEqual(res.stdout.count("1 received"), 2)
        res = await self.run_on(a, "hostname; ping -c1 -W5 10.1.1.2; getent hosts b")
        self.assertEqual(res.stdout.splitlines()[0], "a")
        self.assertIn("1 received", res.stdout)
        self.assertIn("10.1.1.2", res.stdout)          # /etc/hosts names the neighbours
        # a and c share no link: no route between them.
        res = await self.run_on(a, "ping -c1 -W1 10.1.2.3", check=False)
        self.assertNotEqual(res.status, 0)
        res = await self.run_on(c, "hostname; ping -c1 -W5 10.1.2.2")
        self.assertEqual(res.stdout.splitlines()[0], "c")
        await self.drivers.delete(self.refs(nodes + links, out))
        self.assertNothingLeft()

    async def test_slices_and_host_are_out_of_reach(self):
        one = link_plan("lan1", [("x", "x:if0", "10.20.0.1")])
        other = base.LinkPlan(sliver("lan2"), "urn:publicid:IDN+gam.test+slice+s2", "lan2",
                              vlan_tag=1003)
        x = node_plan("x", [("x:if0", "lan1", "10.20.0.1")], users=[self.alice])
        y = node_plan("y", [("y:if0", "lan2", "10.20.0.2")], users=[self.alice])
        out, _ = await self.provision([one, other], [x, y])
        self.assertEqual({o.state for o in out.values()}, {base.READY})
        ydata = out[y.sliver_urn].data
        # Same subnet, other slice: unreachable.
        res = await self.run_on(ydata, "ping -c1 -W1 10.20.0.1", check=False)
        self.assertNotEqual(res.status, 0)
        # The host: no route, no processes, no accounts of its own visible.
        res = await self.run_on(ydata, "ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok; "
                                       "ls /proc | grep -c '^[0-9]'; cut -d: -f1 /etc/passwd;"
                                       " ls /run/netns 2>&1 | head -1", check=False)
        lines = res.stdout.splitlines()
        self.assertEqual(lines[0], "lo-ok")             # its own loopback only
        self.assertLess(int(lines[1]), 15)              # its own few processes
        self.assertIn("alice", lines[2:])
        for addr in ("192.0.2.2", "10.20.0.1", "8.8.8.8"):
            res = await self.run_on(ydata, f"ping -c1 -W1 {addr}", check=False)
            self.assertNotEqual(res.status, 0, addr)
        await self.drivers.delete(self.refs([x, y, one, other], out))
        self.assertNothingLeft()


class FailureTests(SystemTestCase):

    async def test_impossible_address(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "999.1.1.1")])
        n = node_plan("n0", [("n0:if0", "lan0", "999.1.1.1")], users=[self.alice])
        out, reports = await self.provision([lan], [n])
        self.assertEqual(out[lan.sliver_urn].state, base.FAILED)
        self.assertIn("999.1.1.1", out[lan.sliver_urn].error)
        self.assertIn("not an IPv4 address", out[lan.sliver_urn].error)
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertEqual(reports.states(lan.sliver_urn), [base.CONFIGURING, base.FAILED])
        self.assertNothingLeft()

    async def test_impossible_address_on_the_node_only(self):
        lan = link_plan("lan0", [("n0", "n0:if0", None)])
        n = node_plan("n0", [("n0:if0", "lan0", "999.1.1.1")], users=[self.alice])
        out, _ = await self.provision([lan], [n])
        self.assertEqual(out[lan.sliver_urn].state, base.READY)
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertIn("999.1.1.1", out[n.sliver_urn].error)
        await self.drivers.delete(self.refs([lan], out))
        self.assertNothingLeft()

    async def test_address_clash(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "10.30.0.5"), ("n1", "n1:if0", "10.30.0.5")])
        nodes = [node_plan(f"n{i}", [(f"n{i}:if0", "lan0", "10.30.0.5")]) for i in range(2)]
        out, _ = await self.provision([lan], nodes)
        self.assertEqual({o.state for o in out.values()}, {base.FAILED})
        self.assertIn("10.30.0.5 is requested for both", out[lan.sliver_urn].error)
        self.assertNothingLeft()

    async def test_latency_where_the_kernel_can(self):
        caps = self.drivers.capabilities("link")
        lan = link_plan("lan0", [("n0", "n0:if0", "10.31.0.1")], latency_ms=20)
        n = node_plan("n0", [("n0:if0", "lan0", "10.31.0.1")], users=[self.alice])
        out, _ = await self.provision([lan], [n])
        if caps["latency"]:
            self.assertEqual(out[n.sliver_urn].state, base.READY, out[n.sliver_urn].error)
            veth = out[n.sliver_urn].data["veths"][0]
            self.assertIn("netem", [q["kind"] for q in tc_qdiscs(veth)])
            await self.drivers.delete(self.refs([n, lan], out))
        else:
            self.assertEqual(out[lan.sliver_urn].state, base.FAILED)
            self.assertIn("cannot emulate latency", out[lan.sliver_urn].error)
            self.assertIn("link lan0 failed", out[n.sliver_urn].error)
        self.assertNothingLeft()

    async def test_bad_key_refused(self):
        bad = base.User("urn:publicid:IDN+gam.test+user+eve", "eve", ("ssh-rsa NOTBASE64!!",))
        n = node_plan("n0", users=[bad])
        out, _ = await self.provision([], [n])
        self.assertEqual(out[n.sliver_urn].state, base.FAILED)
        self.assertIn("not a valid OpenSSH public key", out[n.sliver_urn].error)
        self.assertNothingLeft()


class HalfMadeTests(SystemTestCase):
    """A create the kernel refuses half-way, after the node's folder,
    accounts and namespace exist: all of that is removed again."""

    async def test_kernel_refusal_half_way_is_cleaned_up(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "10.41.0.1")])
        n = node_plan("n0", [("n0:if0", "lan0", "10.41.0.1")], users=[self.alice])
        out, _ = await self.provision([lan], [])
        self.assertEqual(out[lan.sliver_urn].state, base.READY, out[lan.sliver_urn].error)
        # Something already holds the name of the node's veth: `ip link add`
        # fails once the folder, the accounts and the namespace are made.
        names = self.drivers.handler_for("namespace").settings.names
        veth = names.veth(n.sliver_urn, "n0:if0")
        subprocess.run(["ip", "link", "add", veth, "type", "bridge"], check=True)
        self.addCleanup(subprocess.run, ["ip", "link", "delete", veth], capture_output=True)
        made = []
        real_add = host.netns_add

        def watched(name, deadline):
            real_add(name, deadline)
            made.append(name)
        host.netns_add = watched
        self.addCleanup(setattr, host, "netns_add", real_add)
        reports = []
        nodes = await self.drivers.provision([], [n], lambda o: reports.append(o.state),
                                             stitching={lan.sliver_urn: out[lan.sliver_urn].data})
        o = nodes[n.sliver_urn]
        self.assertEqual(o.state, base.FAILED)
        self.assertEqual(len(made), 1, "the namespace was never made: nothing was half-made")
        self.assertIn("making the node's veth pairs", o.error)
        self.assertIn("File exists", o.error)
        self.assertIn("everything made for it was removed", o.error)
        left = snapshot(self.prefix, self.state_dir)
        self.assertEqual((left["netns"], left["processes"], left["state"]), ([], [], []), left)
        await self.drivers.delete(self.refs([lan], out))
        self.assertNothingLeft()


class BrokenSshdTests(SystemTestCase):
    """A node whose sshd never answers: the create's own deadline ends it,
    and what was built (namespace, veths, processes) is removed."""

    node_settings = {"sshd": "/bin/false", "timeouts": {"create": 3}}

    async def test_failed_start_is_cleaned_up(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "10.40.0.1")])
        n = node_plan("n0", [("n0:if0", "lan0", "10.40.0.1")], users=[self.alice])
        out, _ = await self.provision([lan], [n])
        o = out[n.sliver_urn]
        self.assertEqual(o.state, base.FAILED)
        self.assertIn("sshd did not come up", o.error)
        self.assertIn("everything made for it was removed", o.error)
        self.assertEqual(snapshot(self.prefix, self.state_dir)["netns"], [])
        await self.drivers.delete(self.refs([lan], out))
        self.assertNothingLeft()


class PythonForwarderTests(SystemTestCase):
    """Logins through forward.py (where systemd-socket-proxyd is missing)."""

    node_settings = {"login": {"forwarder": "python"}}

    async def test_login(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "10.60.0.1")])
        n = node_plan("n0", [("n0:if0", "lan0", "10.60.0.1")], users=[self.alice])
        out, _ = await self.provision([lan], [n])
        self.assertEqual(out[n.sliver_urn].state, base.READY, out[n.sliver_urn].error)
        res = await self.run_on(out[n.sliver_urn].data, "hostname")
        self.assertEqual(res.stdout.strip(), "n0")
        procs = host.processes_in(out[n.sliver_urn].data["netns"])
        self.assertTrue([p for p in procs if "--gam-forward" in p[3]], procs)
        await self.drivers.delete(self.refs([n, lan], out))
        self.assertNothingLeft()


class ActionTests(SystemTestCase):

    async def _one(self):
        lan = link_plan("lan0", [("n0", "n0:if0", "10.50.0.1")])
        n = node_plan("n0", [("n0:if0", "lan0", "10.50.0.1")], users=[self.alice])
        out, _ = await self.provision([lan], [n])
        self.assertEqual(out[n.sliver_urn].state, base.READY, out[n.sliver_urn].error)
        return lan, n, out

    async def test_stop_start_restart(self):
        lan, n, out = await self._one()
        (ref,) = self.refs([n], out)
        await self.run_on(ref.data, "nohup sleep 600 >/dev/null 2>&1 &")
        res = await self.drivers.perform([ref], base.STOP)
        self.assertEqual(res[n.sliver_urn].state, base.NOTREADY, res[n.sliver_urn].error)
        self.assertEqual((await self.drivers.poll([ref]))[n.sliver_urn].state, base.NOTREADY)
        ns = ref.data["netns"]
        self.assertEqual([p for p in host.processes_in(ns) if not p[2]], [])
        with self.assertRaises(base.DriverError):
            await self.run_on(ref.data, "true")
        res = await self.drivers.perform([ref], base.START)
        self.assertEqual(res[n.sliver_urn].state, base.READY, res[n.sliver_urn].error)
        ps = await self.run_on(ref.data, "hostname; ps -e -o comm=")
        self.assertEqual(ps.stdout.splitlines()[0], "n0")
        self.assertNotIn("sleep", ps.stdout)          # the stop ended it
        res = await self.drivers.perform([ref], base.RESTART)
        self.assertEqual(res[n.sliver_urn].state, base.READY, res[n.sliver_urn].error)
        self.assertEqual((await self.drivers.poll([ref]))[n.sliver_urn].state, base.READY)
        await self.drivers.delete(self.refs([n, lan], out))
        self.assertNothingLeft()

    async def test_update_users(self):
        lan, n, out = await self._one()
        (ref,) = self.refs([n], out)
        bob_key, bob_pub = make_keypair("bob")
        bob = base.User("urn:publicid:IDN+gam.test+user+bob", "bob", (bob_pub,))
        res = await self.drivers.perform([ref], base.UPDATE_USERS, users=[bob])
        o = res[n.sliver_urn]
        self.assertEqual(o.state, base.READY, o.error)
        self.assertEqual([lg["username"] for lg in o.data["logins"]], ["bob"])
        who = await self.run_on(o.data, "id -un; pwd", user="bob", pkey=bob_key)
        self.assertEqual(who.stdout.split(), ["bob", "/home/bob"])
        # alice's keys were replaced: she can no longer log in.
        with self.assertRaises(base.DriverError) as e:
            await self.run_on(dict(o.data, logins=ref.data["logins"]), "true")
        self.assertIn("alice@127.0.0.1", str(e.exception))
        await self.drivers.delete(self.refs([lan], out) + [base_ref(o, ref)])
        self.assertNothingLeft()

    async def test_clean_restart(self):
        lan, n, out = await self._one()
        refs = self.refs([n, lan], out)
        res = await self.drivers.clean_restart(refs)
        self.assertEqual((res.gone, res.errors), (frozenset(), {}))
        self.assertEqual((await self.drivers.poll(refs))[n.sliver_urn].state, base.READY)
        # A sliver the database holds but the host lost is reported gone.
        subprocess.run(["ip", "netns", "del", refs[0].data["netns"]], check=True)
        res = await self.drivers.clean_restart(refs)
        self.assertEqual(res.gone, {n.sliver_urn})
        # Nothing live: everything of this prefix goes.
        res = await self.drivers.clean_restart([])
        self.assertEqual(res.errors, {})
        self.assertNothingLeft()
        names = names_mod.Names(self.prefix)
        self.assertEqual(names.ours(host.host_links(), "b"), [])


def base_ref(outcome, ref):
    from gam.drivers.manager import SliverRef
    return SliverRef(ref.sliver_urn, ref.resource_type, outcome.data)
