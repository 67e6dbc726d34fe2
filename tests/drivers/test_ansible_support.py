"""Helpers shared by the tests of gam's Ansible path (no tests here)."""
import os
import shutil
import sys

from twisted.python.threadpool import ThreadPool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "data", "ansible")
PLAYBOOKS = os.path.join(REPO, "playbooks")


def ansible_missing():
    """Why the Ansible tests cannot run here, or None."""
    try:
        import ansible_runner  # noqa: F401
    except ImportError:
        return "ansible-runner is not installed (pip install ansible-runner ansible-core)"
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    if not shutil.which("ansible-playbook", path=path):
        return "ansible-playbook is not installed (pip install ansible-core)"
    return None


def local_host(name="here"):
    from gam.drivers.ansible import Host

    return Host(name=name, connection="local")


def start_pool(case):
    """A started thread pool for ``case``, stopped at its cleanup."""
    pool = ThreadPool(minthreads=1, maxthreads=2, name="test-ansible")
    pool.start()
    case.addCleanup(pool.stop)
    return pool


def playbook_handler(playbook_set, kind, host, extra_vars, threadpool):
    """An AnsibleHandler running ``playbooks/<playbook_set>`` for ``kind``
    (node or link) on the local connection named ``host``."""
    from twisted.internet import reactor

    from gam.drivers.ansible_handler import AnsibleHandler

    ops = {op: f"{kind}-{name}.yml" for op, name in (
        ("create", "create"), ("delete", "delete"), ("poll", "poll"),
        ("clean_restart", "clean"))}
    if kind == "node":
        ops["perform"] = "node-action.yml"
    return AnsibleHandler.from_config(
        {"kind": kind, "playbook_dir": os.path.join(PLAYBOOKS, playbook_set),
         "playbooks": ops, "hosts": {host: {"connection": "local"}}, "timeout": 120,
         "vars": extra_vars}, threadpool=threadpool, reactor=reactor)
