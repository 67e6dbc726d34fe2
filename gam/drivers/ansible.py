"""Run an Ansible playbook for a driver, in a thread, and judge it per host.

``_thd_run_playbook`` is the thread-side work: it runs ``ansible-playbook``
(ansible-core) through ansible-runner in a private data directory made for
this one run and removed afterwards, with the timeout enforced inside the
work (ansible-runner kills the playbook's process group when the job time
is up). It reads the job events back and returns a :class:`PlaybookResult`
with one :class:`HostResult` per host; a failed or unreachable host, a
playbook that Ansible itself rejected, or a timeout raise DriverError /
DriverTimeout naming the host, the task and Ansible's own message.

``run_playbook`` is the reactor side: it hands the work to the drivers'
bounded thread pool and returns a Deferred-able coroutine.

Hosts come from configuration as :class:`Host` entries and are turned into
an inventory whose SSH settings (user, port, key file, known-hosts file)
are per-host variables, so nothing depends on the AM user's ~/.ssh or on
an ``ansible.cfg`` lying around.
"""
import os
import shlex
import shutil
import signal
import sys
import tempfile
import uuid
from dataclasses import dataclass, field

import yaml
from twisted.internet import threads

from gam.drivers.base import DriverError, DriverTimeout

#: Longest piece of Ansible's own message carried into an error.
MESSAGE_LIMIT = 600
#: How often (seconds) ansible-runner checks the job's time while it waits.
POLL_INTERVAL = 1
#: Seconds Ansible waits for an SSH connection to a host.
CONNECT_TIMEOUT = 15
#: Ansible's own default: one SSH connection per host, kept 60 s for the
#: next run (the handler config's ssh_args replaces it).
DEFAULT_SSH_ARGS = "-C -o ControlMaster=auto -o ControlPersist=60s"
#: Environment variable marking every process of one run (see _kill_run).
RUN_MARK = "GAM_ANSIBLE_RUN"


@dataclass(frozen=True)
class Host:
    """One inventory host. ``connection`` is ``ssh`` or ``local``."""

    name: str
    address: str | None = None
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    known_hosts: str | None = None
    host_key_checking: bool = True
    connection: str = "ssh"
    python: str | None = None
    become: bool = False
    vars: dict = field(default_factory=dict)

    def inventory_vars(self):
        """The Ansible variables that reach this host."""
        out = dict(self.vars)
        out["ansible_connection"] = self.connection
        if self.connection == "local":
            # The controller's own interpreter: it is there and has what
            # the modules need.
            out["ansible_python_interpreter"] = self.python or sys.executable
        else:
            out["ansible_host"] = self.address or self.name
            out["ansible_port"] = int(self.port)
            if self.user:
                out["ansible_user"] = self.user
            if self.key_file:
                out["ansible_ssh_private_key_file"] = self.key_file
            ssh_args = ["-o BatchMode=yes", "-o IdentitiesOnly=yes" if self.key_file else ""]
            # Said twice on purpose: ansible-runner turns Ansible's checking
            # off by default, and ssh obeys the first value it is given.
            out["ansible_host_key_checking"] = bool(self.host_key_checking)
            if not self.host_key_checking:
                ssh_args += ["-o StrictHostKeyChecking=no", "-o UserKnownHostsFile=/dev/null"]
            elif self.known_hosts:
                ssh_args += ["-o StrictHostKeyChecking=yes",
                             f"-o UserKnownHostsFile={self.known_hosts}"]
            out["ansible_ssh_common_args"] = " ".join(a for a in ssh_args if a)
            out["ansible_python_interpreter"] = self.python or "auto_silent"
        if self.become:
            out["ansible_become"] = True
        return out


def build_inventory(hosts):
    """An ansible-runner inventory (a dict) for ``hosts`` (Host entries)."""
    return {"all": {"hosts": {h.name: h.inventory_vars() for h in hosts}}}


@dataclass(frozen=True)
class HostResult:
    """How one host fared in one run."""

    host: str
    ok: int = 0
    changed: int = 0
    failed: bool = False
    unreachable: bool = False
    task: str = ""        # the task that failed it, or that could not reach it
    message: str = ""     # Ansible's message for that task


@dataclass(frozen=True)
class PlaybookResult:
    playbook: str
    status: str           # ansible-runner's: successful, failed, timeout, ...
    rc: int | None
    hosts: dict           # host name -> HostResult
    stats: dict           # the set_stats data of the run (per_host: false)

    @property
    def failed_hosts(self):
        return [r for r in self.hosts.values() if r.failed or r.unreachable]


def _shorten(text, limit=MESSAGE_LIMIT):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def task_message(res):
    """Ansible's message for a failed or unreachable task result ``res``."""
    if not isinstance(res, dict):
        return _shorten(res)
    parts = []
    msg = res.get("msg")
    if msg and msg != "non-zero return code":
        parts.append(str(msg))
    for key in ("stderr", "module_stderr", "stdout", "module_stdout"):
        value = str(res.get(key) or "").strip()
        if "Traceback (most recent call last)" in value:
            # A module crashed: its exception, not its traceback.
            value = value.splitlines()[-1].strip()
        if value:
            parts.append(value)
            break
    if not parts and msg:
        parts.append(str(msg))
    if res.get("rc") not in (None, 0):
        parts.append(f"(exit status {res['rc']})")
    if res.get("results"):        # a loop: the first failed item speaks
        for item in res["results"]:
            if isinstance(item, dict) and item.get("failed"):
                parts.append(task_message(item))
                break
    return _shorten(" ".join(parts) or "no message from Ansible")


def collect(playbook, status, rc, events):
    """Build a PlaybookResult from ansible-runner's job events."""
    last_failure = {}
    stats_event = None
    for event in events:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind in ("runner_on_failed", "runner_on_unreachable", "runner_item_on_failed"):
            if data.get("ignore_errors") or kind == "runner_item_on_failed":
                continue
            host = data.get("host") or data.get("remote_addr") or "?"
            last_failure[host] = (kind, data.get("task") or "", task_message(data.get("res")))
        elif kind == "playbook_on_stats":
            stats_event = data
    hosts = {}
    stats = {}
    if stats_event is not None:
        stats = dict(stats_event.get("artifact_data") or {})
        names = set()
        for key in ("ok", "changed", "failures", "dark", "processed", "skipped"):
            names.update((stats_event.get(key) or {}).keys())
        for name in sorted(names):
            failed = bool((stats_event.get("failures") or {}).get(name))
            dark = bool((stats_event.get("dark") or {}).get(name))
            task, message = "", ""
            if (failed or dark) and name in last_failure:
                _, task, message = last_failure[name]
            hosts[name] = HostResult(
                host=name, ok=(stats_event.get("ok") or {}).get(name, 0),
                changed=(stats_event.get("changed") or {}).get(name, 0),
                failed=failed, unreachable=dark, task=task, message=message)
    else:
        # No summary (the run was cut short): report what the events said.
        for name, (kind, task, message) in last_failure.items():
            hosts[name] = HostResult(host=name, failed=kind != "runner_on_unreachable",
                                     unreachable=kind == "runner_on_unreachable",
                                     task=task, message=message)
    return PlaybookResult(playbook=playbook, status=status, rc=rc, hosts=hosts, stats=stats)


def _describe_failures(result):
    parts = []
    for r in result.failed_hosts:
        if r.unreachable:
            parts.append(f"host {r.host!r} is unreachable (task {r.task!r}): {r.message}")
        else:
            parts.append(f"host {r.host!r}: task {r.task!r} failed: {r.message}")
    return "; ".join(parts)


def _stdout_errors(stdout):
    """The ERROR lines (and what follows them) of ansible-playbook's output."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "ERROR" in line:
            return _shorten(" ".join(lines[i:i + 6]))
    return _shorten(" ".join(lines[-6:])) if lines else "no output"


def judge(result, stdout, timeout, what):
    """Raise the DriverError that ``result`` calls for, or return it."""
    if result.status == "timeout":
        done = _describe_failures(result)
        raise DriverTimeout(
            f"{what} did not finish within {timeout} s and was stopped"
            + (f" ({done})" if done else "")
            + "; check that the hosts answer, or raise the timeout in the handler config")
    if result.failed_hosts:
        raise DriverError(f"{what} failed: {_describe_failures(result)}")
    if result.status != "successful":
        raise DriverError(
            f"{what} failed before any host reported (status {result.status}, exit "
            f"status {result.rc}): {_stdout_errors(stdout)}; check the playbook and the "
            "handler config")
    return result


class _UnsafeVars(dict):
    """Extra vars from requests: Ansible must never template them."""


class _VarsDumper(yaml.SafeDumper):
    pass


# The whole mapping is tagged !unsafe, once, at its root. Tagging each string
# instead does not keep it a string: ansible-core 2.19 resolves an !unsafe
# scalar as if it were plain, so an id like '00001234' came back as the int
# 668 (YAML 1.1 octal) and 'no' as False. Inside the tagged mapping every
# scalar keeps the type its own (quoted) form gives it.
_VarsDumper.add_representer(
    _UnsafeVars, lambda dumper, data: dumper.represent_mapping("!unsafe", dict(data)))


def write_extravars(path, trusted, untrusted, unsafe_path):
    """Write the extra-vars files: ``trusted`` values (from configuration) to
    ``path`` as they are, ``untrusted`` ones (from requests) to
    ``unsafe_path`` as one ``!unsafe`` mapping, so that a ``{{ ... }}`` in an
    SSH key or a client_id is data, never a template, and every string stays
    a string."""
    clash = sorted(set(trusted or {}) & set(untrusted or {}))
    if clash:
        raise DriverError(f"extra vars {', '.join(clash)} are set both by the handler "
                          "config and by gam; rename them in the config's vars:")
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(dict(trusted or {}), f, Dumper=_VarsDumper, default_flow_style=False)
    with open(unsafe_path, "w", encoding="utf-8") as f:
        yaml.dump(_UnsafeVars(untrusted or {}), f, Dumper=_VarsDumper,
                  default_flow_style=False)


def _kill_run(token):
    """SIGKILL every process whose environment carries this run's mark.

    ansible-runner kills the playbook's process group on timeout, but
    Ansible's workers start sessions of their own (and so do the commands
    of local tasks), so the rest is found by the mark they all inherit.
    Returns the number of processes killed."""
    mark = f"{RUN_MARK}={token}".encode()
    killed = 0
    for _ in range(3):          # again, for anything forked meanwhile
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    marked = mark in f.read().split(b"\0")
            except OSError:
                continue
            if marked:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                    found += 1
                except OSError:
                    pass
        killed += found
        if not found:
            break
    return killed


def _search_path():
    """PATH with the directory of this interpreter's scripts first, so the
    ansible-playbook installed beside gam is the one that runs."""
    here = os.path.dirname(sys.executable)
    path = os.pathsep.join([here, os.environ.get("PATH", os.defpath)])
    if not shutil.which("ansible-playbook", path=path):
        raise DriverError("ansible-playbook is not installed on the AM host; install "
                          "ansible-core (pip install ansible-core)")
    return path


def _thd_run_playbook(playbook, *, hosts, extravars=None, unsafe_vars=None, timeout=600,
                      limit=None, envvars=None, forks=5, ansible_cfg=None, ssh_args=None,
                      what=None):
    """Run ``playbook`` (a path) against ``hosts`` (Host entries) and return
    its PlaybookResult; raise DriverError/DriverTimeout when it fails.

    Blocking: call it in a thread. ``limit`` restricts the run to some of
    the hosts. ``extravars`` (trusted, from config) and ``unsafe_vars``
    (from requests; never templated) are passed as Ansible extra vars.
    ``ssh_args`` replaces Ansible's ssh_args (connection sharing).
    """
    import ansible_runner   # heavy; imported in the thread that needs it

    what = what or f"playbook {os.path.basename(playbook)}"
    if not os.path.isfile(playbook):
        raise DriverError(f"{what}: {playbook} does not exist; check playbook_dir and "
                          "playbooks in the handler config")
    names = {h.name for h in hosts}
    wanted = [limit] if isinstance(limit, str) else list(limit or [])
    unknown = sorted(set(wanted) - names)
    if unknown:
        raise DriverError(f"{what}: host(s) {', '.join(unknown)} are not in the handler's "
                          "inventory; add them under hosts: in its config")
    timeout = max(1, int(timeout))
    private = tempfile.mkdtemp(prefix="gam-ansible-")
    try:
        os.chmod(private, 0o700)
        local_tmp = os.path.join(private, "tmp")
        os.mkdir(local_tmp)
        os.mkdir(os.path.join(private, "env"))
        unsafe_path = os.path.join(private, "env", "unsafe_vars")
        write_extravars(os.path.join(private, "env", "extravars"), extravars, unsafe_vars,
                        unsafe_path)
        cfg = ansible_cfg
        if cfg is None:
            cfg = os.path.join(private, "ansible.cfg")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write("# empty: gam passes every setting it needs\n")
        env = {
            "ANSIBLE_CONFIG": cfg,
            "ANSIBLE_LOCAL_TEMP": local_tmp,
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_TIMEOUT": str(CONNECT_TIMEOUT),
            "ANSIBLE_SSH_ARGS": DEFAULT_SSH_ARGS if ssh_args is None else ssh_args,
            # ansible-runner's default is False; hosts that may go unchecked
            # say so in their config (host_key_checking: false).
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "PATH": _search_path(),
            RUN_MARK: uuid.uuid4().hex,
        }
        env.update({k: v for k, v in (envvars or {}).items() if k != RUN_MARK})
        kwargs = dict(
            private_data_dir=private,
            project_dir=os.path.dirname(os.path.abspath(playbook)),
            playbook=os.path.abspath(playbook),
            inventory=build_inventory(hosts),
            cmdline=f"-e @{shlex.quote(unsafe_path)}",
            envvars=env,
            forks=forks,
            quiet=True,
            timeout=timeout,
            settings={"job_timeout": timeout, "pexpect_timeout": POLL_INTERVAL,
                      "suppress_ansible_output": True},
        )
        if wanted:
            kwargs["limit"] = ",".join(wanted)
        try:
            runner = ansible_runner.run(**kwargs)
        except ansible_runner.exceptions.AnsibleRunnerException as e:
            _kill_run(env[RUN_MARK])
            raise DriverError(f"{what} could not be started by ansible-runner: {e}") from e
        if runner.status in ("timeout", "canceled"):
            _kill_run(env[RUN_MARK])     # what the process-group kill missed
        result = collect(playbook, runner.status, runner.rc, list(runner.events))
        stdout = ""
        out_path = os.path.join(runner.config.artifact_dir, "stdout")
        if os.path.exists(out_path):
            with open(out_path, encoding="utf-8", errors="replace") as f:
                stdout = f.read()
        missing = [n for n in wanted if n not in result.hosts]
        if result.status == "successful" and missing:
            raise DriverError(f"{what} ran on no task for host(s) {', '.join(missing)}; "
                              "check the play's hosts: pattern (it should be 'all')")
        return judge(result, stdout, timeout, what)
    finally:
        shutil.rmtree(private, ignore_errors=True)


async def run_playbook(threadpool, reactor, playbook, **kwargs):
    """Reactor side of ``_thd_run_playbook``: run it in ``threadpool``."""
    return await threads.deferToThreadPool(reactor, threadpool, _thd_run_playbook,
                                           playbook, **kwargs)
