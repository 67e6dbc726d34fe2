"""A small Paramiko SSH server on loopback for testing gam.drivers.ssh.

It accepts one user with one public key and runs exec requests with
``sh -c`` in a home folder of its own (HOME set to it). Threads, port 0,
stopped by ``close()``.
"""
import os
import socket
import subprocess
import threading

import paramiko

from tests.drivers.support import make_keypair


class _Server(paramiko.ServerInterface):
    def __init__(self, owner):
        self.owner = owner
        self.command = None
        self.ready = threading.Event()

    def check_auth_publickey(self, username, key):
        if username == self.owner.user and key == self.owner.user_key:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "publickey"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else \
            paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        self.command = command.decode()
        self.ready.set()
        return True


class SSHServer:
    def __init__(self, user, user_key, home):
        self.user = user
        self.user_key = user_key
        self.home = home
        self.host_key = make_keypair("host")[0]
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.transports = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        t = paramiko.Transport(conn)
        self.transports.append(t)
        t.add_server_key(self.host_key)
        server = _Server(self)
        try:
            t.start_server(server=server)
        except (paramiko.SSHException, EOFError, OSError):
            return
        chan = t.accept(10)
        if chan is None or not server.ready.wait(10):
            return
        res = subprocess.run(["sh", "-c", server.command], capture_output=True, cwd=self.home,
                             env={"HOME": self.home, "PATH": os.environ.get("PATH", "")})
        chan.sendall(res.stdout)
        chan.sendall_stderr(res.stderr)
        chan.send_exit_status(res.returncode)
        chan.shutdown_write()
        chan.close()

    def close(self):
        self.sock.close()
        for t in self.transports:
            t.close()
