"""Pieces of the namespace driver that need no namespaces: names,
addresses, shaping, accounts (root for chown), the login forwarder."""
import os
import socket
import subprocess
import sys
import threading

from twisted.trial import unittest

from gam.drivers import base
from gam.drivers.base import DriverError
from gam.drivers.netns import accounts, addressing, runtime, shaping
from gam.drivers.netns.names import Names, hostname_for
from gam.errors import GeniCode

from tests.drivers.support import make_keypair

URN = "urn:publicid:IDN+gam.test+sliver+n0"


class NamesTests(unittest.SynchronousTestCase):

    def test_names_fit_linux_and_parse_back(self):
        names = Names("gam4")
        made = [names.netns(URN), names.veth(URN, "n0:if0"), names.bridge(URN),
                names.uplink(URN), names.probe("x")]
        for name, kind in zip(made, "nvbup"):
            self.assertLessEqual(len(name), 15)
            self.assertEqual(names.parse(name)[0], kind)
        self.assertNotEqual(names.veth(URN, "n0:if0"), names.veth(URN, "n0:if1"))
        self.assertEqual(names.netns(URN), Names("gam4").netns(URN))

    def test_foreign_names_are_not_ours(self):
        names = Names("gam")
        other = Names("gamn")
        for name in (other.bridge(URN), "gamb123", "gamb012345678", "gamx0123456789",
                     "gambzzzzzzzzzz", "eth0", Names("ga").bridge(URN)):
            self.assertIsNone(names.parse(name), name)
        self.assertEqual(names.ours(["eth0", names.bridge(URN), names.netns(URN)], "b"),
                         [names.bridge(URN)])

    def test_bad_prefix(self):
        for p in ("", "G", "1ab", "abcde", "a-b"):
            self.assertRaises(ValueError, Names, p)

    def test_host_names(self):
        self.assertEqual(hostname_for("Node 1.a"), "node-1-a")
        self.assertEqual(hostname_for("---"), "node")
        self.assertEqual(len(hostname_for("x" * 100)), 63)


class AddressTests(unittest.SynchronousTestCase):

    def test_good(self):
        self.assertEqual(str(addressing.interface("10.0.0.1", "255.255.255.0", "i")),
                         "10.0.0.1/24")
        self.assertEqual(str(addressing.interface("10.0.0.1", None, "i")), "10.0.0.1/24")
        self.assertEqual(str(addressing.interface("10.0.0.0", "31", "i")), "10.0.0.0/31")
        self.assertIsNone(addressing.interface(None, None, "i"))

    def test_bad(self):
        for addr, mask, text in (("999.1.1.1", None, "not an IPv4 address"),
                                 ("10.0.0.1", "255.0.255.0", "not an IPv4 netmask"),
                                 ("10.0.0.0", "24", "network address of 10.0.0.0/24"),
                                 ("10.0.0.255", "24", "broadcast address"),
                                 ("127.0.0.2", "8", "loopback"),
                                 ("224.0.0.1", None, "multicast"),
                                 ("fe80::1", None, "not an IPv4 address")):
            with self.subTest(addr=addr):
                with self.assertRaises(DriverError) as e:
                    addressing.interface(addr, mask, "interface if0 of n0")
                self.assertEqual(e.exception.geni_code, GeniCode.BADARGS)
                self.assertIn(text, str(e.exception))
                self.assertIn("interface if0 of n0", str(e.exception))

    def test_clash(self):
        a = addressing.interface("10.0.0.1", "24", "a")
        with self.assertRaises(DriverError) as e:
            addressing.check_unique([("a", a), ("b", None), ("c", a)], "link lan0")
        self.assertIn("10.0.0.1 is requested for both a and c", str(e.exception))


class ShapingTests(unittest.SynchronousTestCase):

    def test_lines(self):
        self.assertEqual(shaping.qdisc_lines("v0"), [])
        (line,) = shaping.qdisc_lines("v0", 10000)
        self.assertEqual(line, "qdisc replace dev v0 root handle 1: "
                               "tbf rate 10000kbit burst 12500 latency 50ms")
        lines = shaping.qdisc_lines("v0", 1000, 20, 0.01)
        self.assertEqual(lines[0], "qdisc replace dev v0 root handle 1: netem delay 20ms loss 1%")
        self.assertIn("parent 1:1 handle 10: tbf rate 1000kbit burst 3200", lines[1])


class UserCheckTests(unittest.SynchronousTestCase):

    def test_refusals(self):
        _, pub = make_keypair()
        for users, text in (
                ([base.User("u", "Alice", (pub,))], "cannot be a login"),
                ([base.User("u", "bob", (pub,)), base.User("v", "bob", ())], "listed twice"),
                ([base.User("u", "root", (pub,))], "system accounts"),
                ([base.User("u", "bob", ("ssh-rsa AAAA",))], "not a valid OpenSSH")):
            with self.subTest(text=text):
                with self.assertRaises(DriverError) as e:
                    accounts.check_users(users)
                self.assertEqual(e.exception.geni_code, GeniCode.BADARGS)
                self.assertIn(text, str(e.exception))


class AccountFileTests(unittest.SynchronousTestCase):

    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (homes belong to the experimenters' uids)")
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.dir, "home"))
        self.alice = make_keypair()[1]
        self.bob = make_keypair()[1]

    def read(self, *path):
        with open(os.path.join(self.dir, *path)) as f:
            return f.read()

    def test_accounts_and_keys(self):
        made = accounts.thd_write_accounts(self.dir, [("alice", (self.alice,))],
                                           uid_base=30000, group="geni")
        self.assertEqual([(a.name, a.uid) for a in made], [("alice", 30001)])
        passwd = self.read("etc", "passwd").splitlines()
        self.assertIn("alice:x:30001:30001:GENI user alice:/home/alice:/bin/bash", passwd)
        self.assertTrue(passwd[0].startswith("root:x:0:0:"))
        self.assertFalse([p for p in passwd if 1000 <= int(p.split(":")[2]) < 30000])
        groups = self.read("etc", "group").splitlines()
        self.assertIn("geni:x:30000:alice", groups)
        self.assertFalse([g for g in groups if not g.startswith(("geni:", "alice:"))
                          and not g.endswith(":")], "system groups keep no members")
        self.assertIn("alice:*:", self.read("etc", "shadow"))
        self.assertEqual(self.read("home", "alice", ".ssh", "authorized_keys"), self.alice + "\n")
        st = os.stat(os.path.join(self.dir, "home", "alice", ".ssh", "authorized_keys"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (30001, 0o600))
        # An update keeps alice's uid, adds bob, and a user left out loses the keys.
        made = accounts.thd_write_accounts(self.dir, [("bob", (self.bob,))],
                                           uid_base=30000, group="geni")
        self.assertEqual([(a.name, a.uid, bool(a.keys)) for a in made],
                         [("alice", 30001, False), ("bob", 30002, True)])
        self.assertEqual(self.read("home", "alice", ".ssh", "authorized_keys"), "")

    def test_symlinks_planted_by_the_user_are_not_followed(self):
        accounts.thd_write_accounts(self.dir, [("alice", (self.alice,))], uid_base=30000,
                                    group="geni")
        victim = os.path.join(self.dir, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        ssh = os.path.join(self.dir, "home", "alice", ".ssh")
        os.unlink(os.path.join(ssh, "authorized_keys"))
        os.symlink(victim, os.path.join(ssh, "authorized_keys"))
        accounts.thd_write_accounts(self.dir, [("alice", (self.bob,))], uid_base=30000,
                                    group="geni")
        self.assertEqual(self.read("victim"), "precious\n")
        self.assertFalse(os.path.islink(os.path.join(ssh, "authorized_keys")))
        os.rename(ssh, ssh + ".old")
        os.symlink(self.dir, ssh)              # .ssh -> the node folder
        accounts.thd_write_accounts(self.dir, [("alice", (self.alice,))], uid_base=30000,
                                    group="geni")
        self.assertFalse(os.path.islink(ssh))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "authorized_keys")))
        self.assertEqual(self.read("home", "alice", ".ssh", "authorized_keys"), self.alice + "\n")

    def test_files_are_rewritten_in_place(self):
        accounts.thd_write_accounts(self.dir, [("alice", (self.alice,))], uid_base=30000,
                                    group="geni")
        before = os.stat(os.path.join(self.dir, "etc", "passwd")).st_ino
        accounts.thd_write_accounts(self.dir, [("bob", (self.bob,))], uid_base=30000,
                                    group="geni")
        self.assertEqual(os.stat(os.path.join(self.dir, "etc", "passwd")).st_ino, before)

    def test_hosts_file(self):
        text = accounts.hosts_file("n0", [("10.0.0.2", "n1"), ("10.0.0.2", "n1")])
        self.assertIn("127.0.1.1\tn0\n", text)
        self.assertEqual(text.count("10.0.0.2\tn1"), 1)


class ForwarderTests(unittest.SynchronousTestCase):
    """forward.py relays bytes both ways (here without a namespace)."""

    def test_relay(self):
        echo = socket.socket()
        echo.bind(("127.0.0.1", 0))
        echo.listen(4)
        self.addCleanup(echo.close)

        def serve():
            c, _ = echo.accept()
            while data := c.recv(4096):
                c.sendall(data.upper())
            c.close()
        threading.Thread(target=serve, daemon=True).start()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-I", "-S", runtime.FORWARD_PY,
                                 runtime.FORWARD_MARK, "test", str(listener.fileno()),
                                 "127.0.0.1", str(echo.getsockname()[1])],
                                pass_fds=(listener.fileno(),))
        listener.close()
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"hello")
        c.shutdown(socket.SHUT_WR)
        got = b""
        while data := c.recv(4096):
            got += data
        self.assertEqual(got, b"HELLO")


class LinkCheckTests(unittest.SynchronousTestCase):
    """What the link handler refuses, and how it picks a VLAN mode."""

    def settings(self, **own):
        from gam.drivers.netns.settings import parse_link
        return parse_link({"class": "x", "resource_types": ["link"], **own})

    def test_latency_needs_netem(self):
        from gam.drivers.netns import link
        from gam.drivers.netns.probe import Capabilities
        from tests.drivers.support import link_plan
        plan = link_plan("lan0", [("a", "a:if0", "10.0.0.1")], latency_ms=20)
        with self.assertRaises(DriverError) as e:
            link._check(plan, Capabilities(netem=False))
        self.assertEqual(e.exception.geni_code, GeniCode.UNSUPPORTED)
        self.assertIn("cannot emulate latency", str(e.exception))
        link._check(plan, Capabilities(netem=True))
        bad = link_plan("lan0", [], capacity_kbps=-5)
        self.assertRaises(DriverError, link._check, bad, Capabilities())

    def test_vlan_modes(self):
        from gam.drivers.netns import link
        from gam.drivers.netns.probe import Capabilities
        from tests.drivers.support import link_plan
        plan = link_plan("lan0", [], tag=1500)
        self.assertEqual(link._vlan_mode(self.settings(), Capabilities(), plan)[0], "none")
        self.assertEqual(link._vlan_mode(self.settings(),
                                         Capabilities(bridge_vlan_filtering=True), plan)[0],
                         "bridge")
        untagged = link_plan("lan0", [], tag=None)
        self.assertIn("no VLAN tag", link._vlan_mode(self.settings(), Capabilities(),
                                                     untagged)[1])
        with self.assertRaises(DriverError) as e:
            link._vlan_mode(self.settings(uplink="eth9"), Capabilities(), plan)
        self.assertIn("no 802.1q", str(e.exception))
        with self.assertRaises(DriverError) as e:
            link._vlan_mode(self.settings(uplink="gamnosuchnic"),
                            Capabilities(vlan_8021q=True), plan)
        self.assertIn("does not exist", str(e.exception))
