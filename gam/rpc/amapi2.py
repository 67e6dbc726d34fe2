"""The GENI AM API v2 endpoint, served by the same delegate as v3.

geni-lib's high-level wrappers (and older omni scripts) speak v2: one
sliver per slice and aggregate, made and removed whole. Each v2 method is
translated into calls of the v3 delegate (:class:`gam.rpc.delegate.AMDelegate`):

=============  ===============================================================
v2             v3 delegate
=============  ===============================================================
GetVersion     ``get_version``; ``geni_api: 2``
ListResources  ``list_resources``; with ``geni_slice_urn``: ``describe`` (manifest)
CreateSliver   ``allocate`` + ``provision`` (+ ``geni_start`` if configured);
               ``delete`` of the allocation when a later step fails
SliverStatus   ``status``, operational states mapped (:data:`V2_STATUS`)
RenewSliver    ``renew`` of the whole slice, all or nothing
DeleteSliver   ``delete`` of the whole slice, all or nothing
Shutdown       ``shutdown`` (as v3)
=============  ===============================================================

Arguments are checked and callers authorized with the v3 endpoint's helpers
(this class extends :class:`gam.rpc.amapi3.AMAPIv3` for them), under the v2
method names of :data:`gam.auth.privileges.METHOD_OPERATIONS`.
"""
import contextlib
import urllib.parse

from twisted.internet import defer
from twisted.logger import Logger

from gam.auth.urn import URN
from gam.errors import AlreadyExists, BadArgs, GeniError, SearchFailed
from gam.rfc3339 import format_time
from gam.rfc3339 import parse_time as parse_rfc3339
from gam.rpc.amapi3 import (
    DEFAULT_RSPEC_VERSIONS, AMAPIv3, _flag, compress, decode_options, decode_rspec,
    decode_slice_urn)
from gam.rpc.envelope import Result
from gam.rpc.wire import parse_time

API_VERSION = 2
V2_PATH = "/am/2.0"
START = "geni_start"

# v3 operational status -> v2 geni_status of one resource.
V2_STATUS = {
    "geni_ready": "ready",
    "geni_ready_busy": "ready",          # usable; an action is running on it
    "geni_configuring": "configuring",
    "geni_notready": "configuring",      # provisioned, the drivers have not started yet
    "geni_stopping": "changing",
    "geni_updating_users": "changing",
    "geni_failed": "failed",
    "geni_pending_allocation": "unknown",  # allocated through v3, never provisioned
}
# The slice's geni_status is the first of these that a resource has
# (all "ready": ready; anything else: unknown).
_SLICE_STATUS_ORDER = ("failed", "configuring", "changing", "unknown")

log = Logger(namespace="gam.rpc")


def resource_status(sliver_info):
    """The v2 ``geni_status`` of one v3 sliver_info."""
    if sliver_info.get("geni_allocation_status") == "geni_unallocated":
        return "unknown"
    return V2_STATUS.get(sliver_info.get("geni_operational_status"), "unknown")


def slice_status(statuses):
    """The v2 ``geni_status`` of a slice whose resources have ``statuses``."""
    statuses = list(statuses)
    if not statuses:
        return "unknown"
    for status in _SLICE_STATUS_ORDER:
        if status in statuses:
            return status
    return "ready"


def api_versions(v3_url, v2_path=V2_PATH):
    """``geni_api_versions`` for an AM serving v3 at ``v3_url`` (absolute) and v2
    at ``v2_path`` of the same host and port: ``{'2': ..., '3': v3_url}``."""
    parts = urllib.parse.urlsplit(v3_url)
    return {"2": parts._replace(path=v2_path, query="", fragment="").geturl(), "3": v3_url}


def _live(slivers):
    """The sliver_infos of ``slivers`` that are not deleted."""
    return [s for s in slivers or () if isinstance(s, dict)
            and s.get("geni_allocation_status") != "geni_unallocated"]


def _errors(slivers):
    return [f"{s.get('geni_sliver_urn', '?')}: {s['geni_error']}"
            for s in slivers or () if isinstance(s, dict) and s.get("geni_error")]


def _expiry(value):
    """An aware datetime of a geni_expires value (datetime or text), or None."""
    if isinstance(value, str):
        try:
            return parse_rfc3339(value)
        except ValueError:
            return None
    try:
        return parse_time(value)
    except GeniError:
        return None


def _earliest(slivers):
    times = [t for t in (_expiry(s.get("geni_expires")) for s in slivers) if t is not None]
    return min(times) if times else None


def decode_users(users):
    """The v2 ``users`` argument as ``geni_users`` (``[{urn, keys: [str]}]``).

    Keys given as one multi-line string (an authorized_keys file) are split
    into lines. The aggregate checks the URNs and keys themselves.
    """
    if users is None:
        return []
    if not isinstance(users, (list, tuple)):
        raise BadArgs(f"users must be a list of {{urn, keys}} structs, not "
                      f"{type(users).__name__}")
    out = []
    for i, entry in enumerate(users, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("urn"), str):
            raise BadArgs(f"users entry {i} must be a struct {{urn: user URN, keys: "
                          "[SSH public keys]}")
        keys = entry.get("keys", [])
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
            raise BadArgs(f"users entry {i} ({entry['urn']}): keys must be a list of SSH "
                          "public key strings")
        lines = [line.strip() for key in keys for line in key.splitlines() if line.strip()]
        out.append(dict(entry, keys=lines))
    return out


class _SliceLocks:
    """One CreateSliver at a time per slice (check, allocate, provision)."""

    def __init__(self):
        self._locks = {}

    @contextlib.asynccontextmanager
    async def hold(self, key):
        lock = self._locks.setdefault(key, defer.DeferredLock())
        await lock.acquire()
        try:
            yield
        finally:
            lock.release()
            if not lock.locked and not lock.waiting:
                self._locks.pop(key, None)


class AMAPIv2(AMAPIv3):
    """The AM API v2 methods, for :class:`gam.rpc.xmlrpc.XMLRPCResource`.

    ``path``: where this endpoint is served (to name it in GetVersion when
    the delegate lists only v3). ``start_after_provision``: CreateSliver
    also performs ``geni_start`` after Provision, for aggregates whose
    provisioned slivers wait in ``geni_notready`` until started. gam's
    aggregate starts them itself: leave it False there.
    """

    def __init__(self, delegate, authorizer, *, rspec_versions=DEFAULT_RSPEC_VERSIONS,
                 path=V2_PATH, start_after_provision=False):
        super().__init__(delegate, authorizer, rspec_versions=rspec_versions)
        self.path = path
        self.start_after_provision = start_after_provision
        self._creating = _SliceLocks()
        self._procedures = {name: getattr(self, name) for name in (
            "GetVersion", "ListResources", "CreateSliver", "SliverStatus", "RenewSliver",
            "DeleteSliver", "Shutdown")}

    # ------------------------------------------------------------ methods

    async def GetVersion(self, call, options=None):
        decode_options(options)
        value = await self.delegate.get_version()
        if not isinstance(value, dict):
            raise TypeError(f"get_version returned {type(value).__name__}, not a dict")
        value = dict(value, geni_api=API_VERSION)
        versions = value.get("geni_api_versions")
        if isinstance(versions, dict) and "2" not in versions \
                and isinstance(versions.get("3"), str):
            value["geni_api_versions"] = dict(versions, **api_versions(versions["3"],
                                                                       self.path))
        return Result(value, extra={"geni_api": API_VERSION})

    async def ListResources(self, call, credentials, options=None):
        options = decode_options(options)
        self._check_rspec_version(options, "ListResources", required=True)
        compressed = _flag(options, "geni_compressed")
        if "geni_slice_urn" not in options:
            auth = await self._authorize(call, credentials, None, "ListResources", options)
            rspec = await self.delegate.list_resources(auth, options)
        else:
            slice_urn = decode_slice_urn(options["geni_slice_urn"], "option geni_slice_urn")
            call.slice = str(slice_urn)
            auth = await self._authorize(call, credentials, slice_urn, "Describe", options)
            described = await self.delegate.describe(auth, slice_urn, None, options)
            if not isinstance(described, dict):
                raise TypeError(f"describe returned {type(described).__name__}, not a dict")
            if not _live(described.get("geni_slivers")):
                raise self._no_sliver(slice_urn)
            rspec = described.get("geni_rspec")
        if not isinstance(rspec, str):
            raise TypeError(f"the delegate returned a {type(rspec).__name__} RSpec, "
                            "not a string")
        return compress(rspec) if compressed else rspec

    async def CreateSliver(self, call, slice_urn, credentials, rspec, users, options=None):
        slice_urn = decode_slice_urn(slice_urn)
        call.slice = str(slice_urn)
        rspec = decode_rspec(rspec)
        users = decode_users(users)
        options = decode_options(options)
        if users:
            options["geni_users"] = users
        options["geni_best_effort"] = False
        auth = await self._authorize(call, credentials, slice_urn, "CreateSliver", options)
        async with self._creating.hold(str(slice_urn)):
            if await self._slivers_of(auth, slice_urn):
                raise AlreadyExists(
                    f"slice {slice_urn} already has a sliver at this aggregate; in AM API v2 "
                    "a slice has one sliver per aggregate: DeleteSliver it first, or add "
                    "resources with AM API v3 (Allocate, Provision)")
            allocated = await self.delegate.allocate(auth, slice_urn, rspec, options)
            urns = [URN.parse(str(s["geni_sliver_urn"])) for s in _live(
                allocated.get("geni_slivers") if isinstance(allocated, dict) else None)]
            if not urns:
                raise TypeError("allocate returned no geni_slivers")
            try:
                provisioned = await self.delegate.provision(auth, slice_urn, urns, options)
                problems = _errors(provisioned.get("geni_slivers"))
                if problems:
                    raise GeniError("provisioning failed: " + "; ".join(problems))
                if self.start_after_provision:
                    started = await self.delegate.perform_operational_action(
                        auth, slice_urn, urns, START, {"geni_best_effort": False})
                    problems = _errors(started)
                    if problems:
                        raise GeniError("starting failed: " + "; ".join(problems))
            except Exception as e:
                cleanup = await self._release(auth, slice_urn, urns)
                if not isinstance(e, GeniError):
                    raise
                raise GeniError(f"{e.message}; {cleanup}", reason=e.reason,
                                geni_code=e.geni_code) from None
        manifest = provisioned.get("geni_rspec")
        if not isinstance(manifest, str):
            raise TypeError(f"provision returned a {type(manifest).__name__} geni_rspec, "
                            "not a string")
        return manifest

    async def SliverStatus(self, call, slice_urn, credentials, options=None):
        slice_urn = decode_slice_urn(slice_urn)
        call.slice = str(slice_urn)
        options = decode_options(options)
        auth = await self._authorize(call, credentials, slice_urn, "SliverStatus", options)
        async with self._v2_words(slice_urn):
            status = await self.delegate.status(auth, slice_urn, None, options)
        slivers = _live(status.get("geni_slivers") if isinstance(status, dict) else None)
        if not slivers:
            raise self._no_sliver(slice_urn)
        resources = []
        for info in slivers:
            resource = {"geni_urn": info.get("geni_sliver_urn"),
                        "geni_status": resource_status(info),
                        "geni_error": info.get("geni_error") or ""}
            if info.get("geni_expires") is not None:
                resource["geni_expires"] = info["geni_expires"]
            resources.append(resource)
        value = {"geni_urn": str(slice_urn),
                 "geni_status": slice_status(r["geni_status"] for r in resources),
                 "geni_resources": resources}
        earliest = _earliest(slivers)
        if earliest is not None:
            value["geni_expires"] = earliest
        return value

    async def RenewSliver(self, call, slice_urn, credentials, expiration_time, options=None):
        slice_urn = decode_slice_urn(slice_urn)
        call.slice = str(slice_urn)
        expiration_time = parse_time(expiration_time, "expiration_time")
        options = decode_options(options)
        options["geni_best_effort"] = False
        auth = await self._authorize(call, credentials, slice_urn, "RenewSliver", options)
        async with self._v2_words(slice_urn):
            renewed = await self.delegate.renew(auth, slice_urn, None, expiration_time,
                                                options)
        problems = _errors(renewed)
        if problems:
            raise GeniError("renewing failed: " + "; ".join(problems))
        earliest = _earliest(_live(renewed))
        output = f"the sliver now expires at {format_time(earliest)}" if earliest else ""
        return Result(True, output=output)

    async def DeleteSliver(self, call, slice_urn, credentials, options=None):
        slice_urn = decode_slice_urn(slice_urn)
        call.slice = str(slice_urn)
        options = decode_options(options)
        options["geni_best_effort"] = False
        auth = await self._authorize(call, credentials, slice_urn, "DeleteSliver", options)
        async with self._v2_words(slice_urn):
            deleted = await self.delegate.delete(auth, slice_urn, None, options)
        problems = _errors(deleted)
        if problems:
            raise GeniError("deleting failed: " + "; ".join(problems) + "; call DeleteSliver "
                            "again")
        return True

    # Shutdown(slice_urn, credentials, options) is the same in v2 and v3.

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _no_sliver(slice_urn):
        return SearchFailed(f"slice {slice_urn} has no sliver at this aggregate (never "
                            "created, deleted or expired); create one with CreateSliver",
                            reason="unknown-slice")

    @contextlib.asynccontextmanager
    async def _v2_words(self, slice_urn):
        """The delegate's SearchFailed for the slice, said in v2 terms (its
        advice names v3 methods)."""
        try:
            yield
        except SearchFailed as e:
            log.debug("{slice}: {message}", slice=str(slice_urn), message=e.message)
            raise self._no_sliver(slice_urn) from None

    async def _slivers_of(self, auth, slice_urn):
        """The live sliver_infos of the slice here ([] when it has none)."""
        try:
            status = await self.delegate.status(auth, slice_urn, None, {})
        except SearchFailed:
            return []
        return _live(status.get("geni_slivers") if isinstance(status, dict) else None)

    async def _release(self, auth, slice_urn, urns):
        """Delete what a failed CreateSliver made; say how it went (for the message)."""
        try:
            deleted = await self.delegate.delete(auth, slice_urn, urns,
                                                 {"geni_best_effort": True})
            problems = _errors(deleted)
        except Exception as e:
            log.failure("releasing the allocation of a failed CreateSliver on {slice} failed",
                        slice=str(slice_urn))
            problems = [getattr(e, "message", None) or type(e).__name__]
        if problems:
            return (f"releasing what was allocated also failed ({'; '.join(problems)}): "
                    f"call DeleteSliver on {slice_urn} before trying again")
        return ("nothing of the request was kept (the allocation was released); fix the "
                "problem and call CreateSliver again")


__all__ = ["AMAPIv2", "API_VERSION", "V2_PATH", "V2_STATUS", "api_versions", "decode_rspec",
           "decode_users", "resource_status", "slice_status"]
