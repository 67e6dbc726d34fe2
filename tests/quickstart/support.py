"""Running ``gam quickstart`` as a subprocess, as the README's first command does.

:class:`QuickstartProcess` starts ``python -m gam.cli quickstart`` (the
function the ``gam`` console script calls) from this checkout in a state
directory of its own, on free ports and with a node prefix of its own,
reads its standard output until the summary's ``Ready`` line and parses
the summary's ``label  value`` lines. :func:`purge` removes whatever of a
prefix is left on the host after a failed test.
"""
import os
import queue
import re
import subprocess
import sys
import threading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FACT = re.compile(r"^  (\S.*?)\s{2,}(\S.*)$")
START_TIMEOUT = 180


def gam_command(*args):
    return [sys.executable, "-m", "gam.cli", *args]


def gam_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_gam(*args, timeout=300):
    """Run one ``gam`` command to its end; the CompletedProcess (text)."""
    return subprocess.run(gam_command(*args), cwd=REPO, env=gam_env(), capture_output=True,
                          text=True, timeout=timeout)


class QuickstartProcess:
    """One ``gam quickstart`` in the foreground, its output read by a thread."""

    def __init__(self, directory, prefix, *extra):
        self.directory = directory
        self.stderr_path = os.path.join(os.path.dirname(directory),
                                        os.path.basename(directory) + ".stderr")
        self._stderr = open(self.stderr_path, "a")
        self.process = subprocess.Popen(
            gam_command("quickstart", "--dir", directory, "--am-port", "0",
                        "--registry-port", "0", "--prefix", prefix, "--login-ports", "0",
                        *extra),
            cwd=REPO, env=gam_env(), stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self.lines = []
        self._queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def stderr(self):
        self._stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def wait_for(self, prefix, timeout=START_TIMEOUT):
        """Read lines until one starts with ``prefix``; that line (AssertionError if the
        process ends or ``timeout`` passes first)."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line starting with {prefix!r} within {timeout} s; "
                                     f"output so far: {self.lines}") from None
            if line is None:
                raise AssertionError(f"gam quickstart ended (status {self.process.wait()}) "
                                     f"before {prefix!r}; output: {self.lines}; stderr: "
                                     f"{self.stderr()}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def rest(self, timeout=60):
        """The remaining output once the process has ended."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("the output did not end") from None
            if line is None:
                return self.lines
            self.lines.append(line)

    def facts(self):
        """``{label: value}`` of the summary printed so far."""
        found = {}
        for line in self.lines:
            m = FACT.match(line)
            if m:
                found.setdefault(m.group(1), m.group(2))
        return found

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self._stderr.close()


def purge(prefix, netns_dir):
    """Remove every node and link of ``prefix`` (after a failed test)."""
    from gam.drivers.deadline import Deadline
    from gam.drivers.netns import link, node, settings
    node.thd_clean(settings.parse_node({"prefix": prefix, "state_dir": netns_dir}), {},
                   deadline=Deadline(120))
    link.thd_clean(settings.parse_link({"prefix": prefix}), {}, deadline=Deadline(60))
