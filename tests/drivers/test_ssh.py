"""gam.drivers.ssh against a loopback Paramiko server and broken endpoints."""
import os
import socket
import threading
import time

from twisted.trial import unittest

from gam.drivers.base import DriverError, DriverTimeout
from gam.drivers.deadline import Deadline
from gam.drivers.ssh import (
    HostKeyMismatch, public_key_lines, thd_install_keys, thd_run_command, thd_wait_for_ssh)
from gam.errors import GeniCode

from tests.drivers.sshserver import SSHServer
from tests.drivers.support import make_keypair


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class KeyLineTests(unittest.SynchronousTestCase):

    def test_valid_keys(self):
        _, pub = make_keypair("alice@laptop")
        _, pub2 = make_keypair()
        self.assertEqual(public_key_lines([pub]), [pub])
        self.assertEqual(public_key_lines([f"# mine\n {pub}\n\n{pub2}\n"]), [pub, pub2])

    def test_refused(self):
        _, pub = make_keypair()
        kind, blob = pub.split()[:2]
        for bad in ("ssh-rsa NOT!BASE64", f'command="rm -rf /" {pub}', f"ssh-rsa {blob}",
                    f"ssh-dss {blob}", "hello", f"{kind} {blob[:-4]}"):
            with self.subTest(bad=bad):
                with self.assertRaises(DriverError) as e:
                    public_key_lines([bad], owner="user bob")
                self.assertEqual(e.exception.geni_code, GeniCode.BADARGS)
                self.assertIn("user bob", str(e.exception))


class BrokenEndpointTests(unittest.SynchronousTestCase):

    def test_nothing_listening(self):
        port = _free_port()
        with self.assertRaises(DriverTimeout) as e:
            thd_wait_for_ssh("127.0.0.1", port, deadline=Deadline(0.5), user="alice",
                             pkey=make_keypair()[0])
        msg = str(e.exception)
        self.assertIn(f"ssh alice@127.0.0.1:{port}", msg)
        self.assertIn("cannot connect", msg)

    def test_not_ssh(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        port = srv.getsockname()[1]

        def talk():
            for _ in range(50):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                c.sendall(b"HTTP/1.0 400 nope\r\n\r\n")
                c.close()
        threading.Thread(target=talk, daemon=True).start()
        self.addCleanup(srv.close)
        with self.assertRaises(DriverError) as e:
            thd_run_command("127.0.0.1", port, "bob", make_keypair()[0], "true",
                            deadline=Deadline(3))
        self.assertIn(f"ssh bob@127.0.0.1:{port}", str(e.exception))

    def test_silent_server_is_bounded(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        self.addCleanup(srv.close)
        port = srv.getsockname()[1]
        with self.assertRaises(DriverTimeout) as e:
            thd_wait_for_ssh("127.0.0.1", port, deadline=Deadline(1))
        self.assertIn(f"127.0.0.1:{port}", str(e.exception))


class ServerTests(unittest.SynchronousTestCase):

    def setUp(self):
        self.home = os.path.abspath(self.mktemp())
        os.makedirs(self.home)
        self.key, self.pub = make_keypair()
        self.server = SSHServer("alice", self.key, self.home)
        self.addCleanup(self.server.close)
        self.host_pub = f"{self.server.host_key.get_name()} {self.server.host_key.get_base64()}"

    def test_wait_then_run(self):
        key = thd_wait_for_ssh("127.0.0.1", self.server.port, deadline=Deadline(10),
                               user="alice", pkey=self.key, host_key=self.host_pub)
        self.assertEqual(key, self.server.host_key)
        res = thd_run_command("127.0.0.1", self.server.port, "alice", self.key,
                              ["echo", "hello world"], deadline=Deadline(10),
                              host_key=self.host_pub)
        self.assertEqual((res.status, res.stdout), (0, "hello world\n"))

    def test_failing_command(self):
        with self.assertRaises(DriverError) as e:
            thd_run_command("127.0.0.1", self.server.port, "alice", self.key,
                            "echo oops >&2; exit 4", deadline=Deadline(10))
        self.assertIn("exit status 4: oops", str(e.exception))
        self.assertIn(f"ssh alice@127.0.0.1:{self.server.port}", str(e.exception))
        res = thd_run_command("127.0.0.1", self.server.port, "alice", self.key, "exit 4",
                              deadline=Deadline(10), check=False)
        self.assertEqual(res.status, 4)

    def test_deadline_bounds_the_whole_command(self):
        # Each read returns in time; the command as a whole must not outlive
        # the deadline, whether it is silent or keeps writing.
        for command in ("sleep 30", "while :; do echo tick; sleep 0.1; done"):
            start = time.monotonic()
            with self.assertRaises(DriverTimeout) as e:
                thd_run_command("127.0.0.1", self.server.port, "alice", self.key, command,
                                deadline=Deadline(1.5, "the test command"))
            self.assertLess(time.monotonic() - start, 5, command)
            self.assertIn("timed out after 1.5 s while running", str(e.exception))
            self.assertIn(f"ssh alice@127.0.0.1:{self.server.port}", str(e.exception))

    def test_output_is_capped_and_complete_below_the_cap(self):
        res = thd_run_command("127.0.0.1", self.server.port, "alice", self.key,
                              "seq 1 20000; echo done >&2", deadline=Deadline(20))
        self.assertEqual(res.stdout.splitlines()[-1], "20000")
        self.assertEqual(len(res.stdout.splitlines()), 20000)
        self.assertEqual(res.stderr, "done\n")

    def test_wrong_key_and_wrong_host_key(self):
        with self.assertRaises(DriverError) as e:
            thd_run_command("127.0.0.1", self.server.port, "alice", make_keypair()[0], "true",
                            deadline=Deadline(10))
        self.assertIn("login refused", str(e.exception))
        other = make_keypair()[1]
        with self.assertRaises(HostKeyMismatch):
            thd_wait_for_ssh("127.0.0.1", self.server.port, deadline=Deadline(10),
                             host_key=other)
        with self.assertRaises(HostKeyMismatch):
            thd_run_command("127.0.0.1", self.server.port, "alice", self.key, "true",
                            deadline=Deadline(10), host_key=other)

    def test_install_keys_once(self):
        _, extra = make_keypair("extra")
        n = thd_install_keys("127.0.0.1", self.server.port, "alice", self.key, [extra, self.pub],
                             deadline=Deadline(10))
        self.assertEqual(n, 2)
        n = thd_install_keys("127.0.0.1", self.server.port, "alice", self.key, [extra],
                             deadline=Deadline(10))
        self.assertEqual(n, 0)
        with open(os.path.join(self.home, ".ssh", "authorized_keys")) as f:
            self.assertEqual(f.read().splitlines(), [extra, self.pub])
