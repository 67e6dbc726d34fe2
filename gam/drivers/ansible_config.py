"""The configuration of one Ansible handler, checked, as AnsibleSettings.

A handler's YAML mapping (see ``etc/drivers/ansible.yaml``)::

    kind: node                  # or link
    playbook_dir: ../../playbooks/netns   # relative to the config file
    playbooks: {create: node-create.yml, delete: node-delete.yml,
                poll: node-poll.yml, perform: node-action.yml,
                clean_restart: node-clean.yml}
    actions: [geni_start, geni_stop, geni_restart, geni_update_users]
    timeout: 300                # seconds, every operation
    timeouts: {create: 900}     # per operation
    retries: 1                  # extra attempts after a failure
    retry_delay: 5              # seconds between attempts
    ssh: {user: root, port: 22, key_file: ..., known_hosts: ...}
    hosts: {pc1: {address: 192.0.2.11}, local: {connection: local}}
    ssh_args: -o ControlMaster=no   # replaces Ansible's ssh_args (default: share
                                    # one connection per host for 60 s)
    link_hosts: [pc1]           # links only: where they are built (default all)
    vars: {netns_mgmt_network: 10.254.0.0/16}   # trusted extra vars
    capabilities: {latency: false}

Keys the driver manager reads (``driver``, ``resource_types``, ``name``)
are accepted and left alone. Every error is a ConfigError naming the file
and the key.
"""
import os
from dataclasses import dataclass, field

from gam.drivers.ansible import Host
from gam.drivers.base import ACTIONS
from gam.drivers.config import Checker, parse_timeouts
from gam.errors import ConfigError
from gam.yamlfile import read_yaml

OPERATIONS = ("create", "delete", "poll", "perform", "clean_restart")
REQUIRED_OPERATIONS = ("create", "delete", "poll", "clean_restart")
MANAGER_KEYS = {"driver", "resource_types", "name", "class", "description", "pool_size"}
HANDLER_KEYS = {"kind", "playbook_dir", "playbooks", "actions", "timeout", "timeouts",
                "retries", "retry_delay", "ssh", "hosts", "link_hosts", "vars",
                "capabilities", "forks", "ansible_cfg", "ssh_args"} | MANAGER_KEYS
HOST_KEYS = {"address", "port", "user", "key_file", "known_hosts", "host_key_checking",
             "connection", "python", "become", "vars"}


@dataclass(frozen=True)
class AnsibleSettings:
    kind: str
    playbooks: dict                 # operation -> absolute path
    hosts: tuple                    # Host
    timeouts: dict                  # operation -> seconds
    retries: int = 0
    retry_delay: float = 0.0
    actions: tuple = ()
    link_hosts: tuple = ()
    vars: dict = field(default_factory=dict)
    capabilities: dict = field(default_factory=dict)
    forks: int = 5
    ansible_cfg: str | None = None
    ssh_args: str | None = None     # None: Ansible's (connection sharing, 60 s)

    def host(self, name):
        for h in self.hosts:
            if h.name == name:
                return h
        return None


def _host(chk, name, raw, defaults, base):
    sub = f"hosts.{name}"
    merged = dict(chk.mapping(defaults, "ssh", HOST_KEYS))
    merged.update(chk.mapping(raw, sub, HOST_KEYS))
    connection = merged.get("connection", "ssh")
    if connection not in ("ssh", "local"):
        chk.fail(f"{sub}.connection", f"must be ssh or local, not {connection!r}")
    if connection == "ssh" and not (merged.get("address") or name):
        chk.fail(f"{sub}.address", "is required for an ssh host")
    port = chk.number(merged.get("port", 22), f"{sub}.port", 1, integer=True)
    if port > 65535:
        chk.fail(f"{sub}.port", f"must be at most 65535, not {port}")
    key_file = merged.get("key_file")
    known_hosts = merged.get("known_hosts")
    checking = merged.get("host_key_checking", True)
    if not isinstance(checking, bool):
        chk.fail(f"{sub}.host_key_checking", "must be true or false")
    return Host(
        name=str(name),
        address=merged.get("address"),
        port=port,
        user=merged.get("user"),
        key_file=chk.path_of(key_file, f"{sub}.key_file", base) if key_file else None,
        known_hosts=(chk.path_of(known_hosts, f"{sub}.known_hosts", base)
                     if known_hosts else None),
        host_key_checking=checking,
        connection=connection,
        python=merged.get("python"),
        become=bool(merged.get("become", False)),
        vars=dict(chk.mapping(merged.get("vars"), f"{sub}.vars")),
    )


def parse_settings(raw, *, path=None, key=None):
    """Check one handler's mapping and return its AnsibleSettings.

    Relative paths are taken from the directory of ``path`` (the config
    file), or from the current directory when there is no file."""
    chk = Checker(path, key)
    raw = chk.mapping(raw, "", HANDLER_KEYS)
    base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    kind = raw.get("kind")
    if kind not in ("node", "link"):
        chk.fail("kind", f"must be node or link, not {kind!r}")
    pb_dir = chk.path_of(raw.get("playbook_dir", "."), "playbook_dir", base)
    books = chk.mapping(raw.get("playbooks"), "playbooks", set(OPERATIONS))
    playbooks = {}
    for op in OPERATIONS:
        if op not in books:
            if op in REQUIRED_OPERATIONS:
                chk.fail(f"playbooks.{op}", "is missing: name the playbook for this operation")
            continue
        full = chk.path_of(books[op], f"playbooks.{op}", pb_dir)
        if not os.path.isfile(full):
            chk.fail(f"playbooks.{op}", f"{full} does not exist; check playbook_dir")
        playbooks[op] = full
    actions = raw.get("actions", list(ACTIONS) if "perform" in playbooks else [])
    if not isinstance(actions, list) or any(a not in ACTIONS for a in actions):
        chk.fail("actions", f"must be a list drawn from {', '.join(ACTIONS)}")
    if actions and "perform" not in playbooks:
        chk.fail("actions", "needs playbooks.perform to carry them out")
    # The same reading as the manager's, so that both wait as long.
    timeouts = parse_timeouts(raw, chk)
    defaults = raw.get("ssh")
    hosts_raw = chk.mapping(raw.get("hosts"), "hosts")
    if not hosts_raw:
        chk.fail("hosts", "must name at least one host to run the playbooks on")
    hosts = tuple(_host(chk, name, hosts_raw[name], defaults, base) for name in hosts_raw)
    link_hosts = raw.get("link_hosts", [])
    if not isinstance(link_hosts, list) or any(h not in hosts_raw for h in link_hosts):
        chk.fail("link_hosts", "must be a list of names from hosts:")
    variables = chk.mapping(raw.get("vars"), "vars")
    reserved = sorted(k for k in variables if str(k).startswith("gam_"))
    if reserved:
        chk.fail("vars", f"{', '.join(reserved)}: names starting with gam_ are set by gam")
    cfg = raw.get("ansible_cfg")
    return AnsibleSettings(
        kind=kind,
        playbooks=playbooks,
        hosts=hosts,
        timeouts=timeouts,
        retries=chk.number(raw.get("retries", 0), "retries", 0, integer=True),
        retry_delay=chk.number(raw.get("retry_delay", 0), "retry_delay", 0),
        actions=tuple(actions),
        link_hosts=tuple(link_hosts),
        vars=dict(variables),
        capabilities=dict(chk.mapping(raw.get("capabilities"), "capabilities")),
        forks=chk.number(raw.get("forks", 5), "forks", 1, integer=True),
        ansible_cfg=chk.path_of(cfg, "ansible_cfg", base) if cfg else None,
        ssh_args=(chk.string(raw["ssh_args"], "ssh_args") if "ssh_args" in raw else None),
    )


def load_handlers(path):
    """Read a handlers file (``handlers: {name: mapping}``) and return
    ``{name: AnsibleSettings}``."""
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("handlers"), dict):
        raise ConfigError("must be a mapping with a handlers: mapping of name to handler",
                          path=path, key="handlers")
    return {name: parse_settings(raw, path=path, key=f"handlers.{name}")
            for name, raw in doc["handlers"].items()}
