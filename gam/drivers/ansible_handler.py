"""AnsibleHandler: a Handler whose every operation is a playbook.

The handler's config (see ``gam.drivers.ansible_config``) names one
playbook per operation. Each run gets these extra vars (from requests,
so tagged ``!unsafe``: Ansible never templates them):

``gam_op``          create, delete, poll, perform or clean_restart
``gam_id``          8 hex digits from the sliver URN; playbooks name what
                    they make on the host ``gam-<letter><gam_id>...``
``gam_sliver_urn``  the sliver
``gam_plan``        create: the NodePlan / LinkPlan as a mapping
``gam_stitching``   create (nodes): link sliver URN -> link outcome data
``gam_data``        delete, poll, perform: what create reported
``gam_action``      perform: geni_start, geni_stop, geni_restart, ...
``gam_users``       perform: ``[{urn, name, keys}]``
``gam_live``        clean_restart: ``[{urn, id, host}]`` to keep

plus the handler's ``vars`` (trusted). Playbooks answer with
``ansible.builtin.set_stats`` (``per_host: false``):

``gam_outcome``     create: the outcome data; a node's has ``logins`` and
                    ``interfaces`` (see gam.drivers.base.Outcome)
``gam_state``       poll and perform: the operational state
``gam_found``       clean_restart: ids of the live slivers still there

Nodes are built on the plan's ``host``; links on every host of the
inventory (or ``link_hosts``); clean_restart runs on every host.
"""
import hashlib
import re
from dataclasses import asdict

from twisted.internet import task
from twisted.logger import Logger

from gam.drivers import base
from gam.drivers.ansible import run_playbook
from gam.drivers.ansible_config import parse_settings
from gam.errors import GeniCode

log = Logger()

STATES = (base.NOTREADY, base.CONFIGURING, base.READY, base.FAILED, base.STOPPING,
          base.UPDATING_USERS)
_LOGIN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def sliver_id(sliver_urn):
    """The short id host objects of a sliver are named by (8 hex digits)."""
    return hashlib.sha256(sliver_urn.encode("utf-8")).hexdigest()[:8]


def _users(users):
    out = []
    for user in users:
        if not _LOGIN.match(user.name or "") or user.name == "root":
            raise base.DriverError(
                f"user name {user.name!r} (from {user.urn}) cannot be a login on a node: "
                "use lowercase letters, digits, _ and -, at most 32, not root",
                geni_code=GeniCode.BADARGS)
        out.append({"urn": user.urn, "name": user.name, "keys": [str(k) for k in user.keys]})
    return out


class AnsibleHandler(base.Handler):
    """Run the configured playbook for each operation, in ``threadpool``."""

    # It retries (and cleans up between attempts) by itself; the manager
    # must not add its own attempts on top.
    retries_itself = True

    def __init__(self, settings, *, threadpool, reactor=None, name="ansible"):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self.kind = settings.kind
        self.name = name
        self._pool = threadpool
        self._reactor = reactor

    @classmethod
    def from_config(cls, raw, *, threadpool, reactor=None, path=None, key=None):
        """Build a handler from its config mapping (ConfigError if wrong)."""
        settings = parse_settings(raw, path=path, key=key)
        return cls(settings, threadpool=threadpool, reactor=reactor,
                   name=(key or "ansible").rsplit(".", 1)[-1])

    def capabilities(self):
        return dict(self.settings.capabilities)

    def budget(self, op):
        """The longest ``op`` can take in all: every attempt at its timeout,
        the cleanup after each failed create, the delays between attempts."""
        tries = self.settings.retries + 1
        each = self.settings.timeouts[op]
        if op == "create":
            each += self.settings.timeouts["delete"]
        return tries * each + (tries - 1) * self.settings.retry_delay

    # -- running --------------------------------------------------------

    def _hosts_for(self, op, data=None, plan=None):
        """The inventory hosts an operation runs on (a limit list)."""
        if op == "clean_restart":
            return [h.name for h in self.settings.hosts]
        if self.kind == "link":
            return list(self.settings.link_hosts) or [h.name for h in self.settings.hosts]
        host = plan.host if plan is not None else (data or {}).get("host")
        if not host:
            raise base.DriverError(f"{self.name}: no host recorded for this node sliver; "
                                   "it was not made by this handler")
        if self.settings.host(host) is None:
            raise base.DriverError(
                f"{self.name}: host {host!r} is not in this handler's inventory; add it to "
                "hosts: in the handler config or fix the schedule's inventory")
        return [host]

    async def _run(self, op, sliver, limit, gam_vars):
        playbook = self.settings.playbooks[op]
        gam_vars = dict(gam_vars, gam_op=op)
        return await run_playbook(
            self._pool, self._reactor, playbook,
            hosts=self.settings.hosts, limit=limit, extravars=self.settings.vars,
            unsafe_vars=gam_vars, timeout=self.settings.timeouts[op],
            forks=self.settings.forks, ansible_cfg=self.settings.ansible_cfg,
            ssh_args=self.settings.ssh_args,
            what=f"{op} of {sliver} ({self.name}, playbook "
                 f"{playbook.rsplit('/', 1)[-1]})")

    async def _retrying(self, op, sliver, attempt, between=None):
        """Call ``attempt()`` up to 1 + retries times; ``between(error)``
        runs after each failure but the last."""
        tries = self.settings.retries + 1
        for n in range(1, tries + 1):
            try:
                return await attempt()
            except base.DriverError as e:
                if n == tries or e.geni_code in (GeniCode.BADARGS, GeniCode.UNSUPPORTED):
                    raise
                log.warn("{op} of {sliver} failed (attempt {n} of {tries}), trying again: "
                         "{error}", op=op, sliver=sliver, n=n, tries=tries, error=e.message)
                if between is not None:
                    await between(e)
                if self.settings.retry_delay:
                    await task.deferLater(self._reactor, self.settings.retry_delay,
                                          lambda: None)

    @staticmethod
    def _stat(result, name, what):
        if name not in result.stats:
            raise base.DriverError(
                f"{what}: playbook {result.playbook} finished but set no {name} (it must "
                f"call ansible.builtin.set_stats with data: {{{name}: ...}}, per_host: false)")
        return result.stats[name]

    # -- operations -----------------------------------------------------

    async def create(self, plan, stitching):
        sliver = plan.sliver_urn
        ident = sliver_id(sliver)
        limit = self._hosts_for("create", plan=plan)
        gam_vars = {"gam_id": ident, "gam_sliver_urn": sliver, "gam_plan": asdict(plan),
                    "gam_stitching": dict(stitching or {})}
        if self.kind == "node":
            gam_vars["gam_plan"]["users"] = _users(plan.users)
        kept = {"id": ident}
        kept.update({"host": plan.host} if self.kind == "node" else {"hosts": limit})

        async def attempt():
            try:
                result = await self._run("create", sliver, limit, gam_vars)
                data = self._stat(result, "gam_outcome", f"create of {sliver}")
                if not isinstance(data, dict):
                    raise base.DriverError(f"create of {sliver}: gam_outcome must be a "
                                           "mapping; fix the playbook")
                if self.kind == "node":
                    missing = [k for k in ("logins", "interfaces") if k not in data]
                    if missing:
                        raise base.DriverError(
                            f"create of {sliver}: the playbook's gam_outcome lacks "
                            f"{', '.join(missing)}; fix the playbook")
                return base.Outcome(sliver_urn=sliver, state=base.READY,
                                    data={**data, **kept})
            except base.DriverError as e:
                # Nothing is left half-done: remove what this attempt made.
                note = await self._cleanup(sliver, kept)
                raise type(e)(f"{e.message}; {note}", reason=e.reason,
                              geni_code=e.geni_code) from e

        return await self._retrying("create", sliver, attempt)

    async def _cleanup(self, sliver, data):
        try:
            await self._run("delete", sliver, self._hosts_for("delete", data=data),
                            {"gam_id": data["id"], "gam_sliver_urn": sliver, "gam_data": data})
        except base.DriverError as e:
            log.error("cleanup after a failed create of {sliver} failed: {error}",
                      sliver=sliver, error=e.message)
            return (f"cleaning up also failed ({e.message}); objects named gam-*{data['id']}* "
                    "may be left on the host")
        return "what it had made was removed"

    async def delete(self, sliver_urn, data):
        data = dict(data or {})
        data.setdefault("id", sliver_id(sliver_urn))
        limit = self._hosts_for("delete", data=data)
        gam_vars = {"gam_id": data["id"], "gam_sliver_urn": sliver_urn, "gam_data": data}
        await self._retrying("delete", sliver_urn,
                             lambda: self._run("delete", sliver_urn, limit, gam_vars))

    async def poll(self, sliver_urn, data):
        data = dict(data or {})
        data.setdefault("id", sliver_id(sliver_urn))
        limit = self._hosts_for("poll", data=data)
        gam_vars = {"gam_id": data["id"], "gam_sliver_urn": sliver_urn, "gam_data": data}
        result = await self._retrying("poll", sliver_urn,
                                      lambda: self._run("poll", sliver_urn, limit, gam_vars))
        return self._state(result, f"poll of {sliver_urn}")

    def _state(self, result, what):
        state = self._stat(result, "gam_state", what)
        if state not in STATES:
            raise base.DriverError(f"{what}: the playbook reported state {state!r}, which "
                                   f"is none of {', '.join(STATES)}; fix the playbook")
        return state

    async def perform(self, sliver_urn, data, action, users=()):
        if action not in self.settings.actions:
            raise base.DriverError(
                f"{self.name} does not support {action} (it supports "
                f"{', '.join(self.settings.actions) or 'no action'})",
                geni_code=GeniCode.UNSUPPORTED)
        data = dict(data or {})
        data.setdefault("id", sliver_id(sliver_urn))
        limit = self._hosts_for("perform", data=data)
        gam_vars = {"gam_id": data["id"], "gam_sliver_urn": sliver_urn, "gam_data": data,
                    "gam_action": action, "gam_users": _users(users)}
        result = await self._retrying(
            "perform", sliver_urn, lambda: self._run("perform", sliver_urn, limit, gam_vars))
        return self._state(result, f"{action} on {sliver_urn}")

    async def clean_restart(self, live):
        keep = []
        for urn, data in (live or {}).items():
            data = data or {}
            keep.append({"urn": urn, "id": data.get("id") or sliver_id(urn),
                         "host": data.get("host")})
        limit = self._hosts_for("clean_restart")
        result = await self._retrying(
            "clean_restart", "the substrate",
            lambda: self._run("clean_restart", "the substrate", limit, {"gam_live": keep}))
        found = self._stat(result, "gam_found", f"clean restart of {self.name}")
        if not isinstance(found, list):
            raise base.DriverError(f"clean restart of {self.name}: gam_found must be a list "
                                   "of ids; fix the playbook")
        found = set(map(str, found))
        return [k["urn"] for k in keep if k["id"] not in found]
