"""gam login forwarder: relay TCP connections into one node's sshd.

Run by the namespace driver as::

    nsenter --net=/run/netns/NS -- python3 -I -S forward.py --gam-forward NS FD HOST PORT

``FD`` is a listening socket the AM opened in the host's network
namespace; this process lives in the node's network namespace, so the
connections it makes to HOST:PORT (the node's sshd on 127.0.0.1:22) are
the node's. It drops to user nobody at once, relays bytes both ways for at
most MAX_CONNECTIONS connections at a time, and runs until it is killed.
Standard library only (started with -I -S for a quick start).
"""
import encodings.idna  # noqa: F401  (imported before dropping privileges)
import os
import socket
import sys
import threading
import time

MAX_CONNECTIONS = 64
CONNECT_TIMEOUT = 10
NOBODY = 65534


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(conn, target, slots):
    try:
        up = socket.socket(socket.AF_INET6 if ":" in target[0] else socket.AF_INET)
        try:
            up.settimeout(CONNECT_TIMEOUT)
            up.connect(target)
        except OSError as e:
            print(f"forward: cannot reach {target[0]}:{target[1]}: {e}", file=sys.stderr)
            up.close()
            return
        up.settimeout(None)
        back = threading.Thread(target=pump, args=(up, conn), daemon=True)
        back.start()
        pump(conn, up)
        back.join()
        up.close()
    finally:
        conn.close()
        slots.release()


def main(argv):
    if len(argv) != 6 or argv[1] != "--gam-forward":
        print("usage: forward.py --gam-forward NETNS FD HOST PORT", file=sys.stderr)
        return 2
    listener = socket.socket(fileno=int(argv[3]))
    target = (argv[4], int(argv[5]))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as e:          # out of descriptors, say: wait and go on
            print(f"forward: accept failed: {e}", file=sys.stderr)
            time.sleep(0.5)
            continue
        if not slots.acquire(blocking=False):
            conn.close()
            continue
        threading.Thread(target=serve, args=(conn, target, slots), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
