"""The quickstart's pid file: one quickstart per state directory, and ``--stop``.

The running quickstart holds an exclusive ``flock`` on the file for as
long as it lives, so a leftover file of a crashed run is told apart from a
running one without trusting the pid in it (pids are reused).
"""
import errno
import fcntl
import os
import signal
import time


class AlreadyRunning(Exception):
    def __init__(self, pid):
        super().__init__(pid)
        self.pid = pid


class PidFile:
    def __init__(self, path):
        self.path = path
        self._fd = None

    def acquire(self):
        """Lock the file and write our pid; AlreadyRunning when another holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    raise AlreadyRunning(read_pid(self.path)) from None
                raise
            # The holder before us removes the file when it stops: a lock won
            # on a file no longer at the path would not keep out the next one.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self):
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None


def _same_file(fd, path):
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def read_pid(path):
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def running_pid(path):
    """The pid of the quickstart holding ``path``, or None when none runs."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return read_pid(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def stop(path, *, timeout=120.0, sleep=time.sleep, clock=time.monotonic):
    """SIGTERM the quickstart of ``path`` and wait until it has exited.

    Returns ``(pid, outcome)``: outcome is "stopped", "not running",
    "not permitted" (another user's) or "still running" (after ``timeout``
    seconds).
    """
    pid = running_pid(path)
    if pid is None:
        return None, "not running"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return pid, "stopped"
    except PermissionError:
        return pid, "not permitted"
    deadline = clock() + timeout
    while clock() < deadline:
        if running_pid(path) is None:
            return pid, "stopped"
        sleep(0.2)
    return pid, "still running"


__all__ = ["PidFile", "AlreadyRunning", "running_pid", "read_pid", "stop"]
