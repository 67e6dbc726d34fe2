"""Sliver state changes after Allocate, each in ONE transaction.

Thread-side functions for ``DBConnector.run``: find the slivers a call
names, provision them, renew them, start operational actions, record what
the drivers report, delete them and shut slices down. The drivers are
called by :mod:`gam.aggregate.driving` between these transactions, never
inside one, so a crash leaves rows that say what was last decided: the
recovery at start-up (:func:`thd_interrupted`) finishes the story.

Every function that takes ``best_effort`` returns ``[(sliver, error)]``:
an error text for each sliver this call could not handle (when
``best_effort``), else it raises and the transaction rolls back.
"""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from gam.aggregate.manifest import (
    ALLOCATED, CONFIGURING, FAILED, NOTREADY, PROVISIONED, READY, STOPPING, TRANSITIONAL,
    UPDATING_USERS)
from gam.db.model import slices as slices_table
from gam.db.model import slivers as sliver_table
from gam.db.slices import thd_get_slice, thd_set_slice_expires, thd_shutdown_slice
from gam.db.slivers import (
    thd_get_slivers, thd_list_slivers, thd_mark_deleted, thd_update_sliver)
from gam.errors import BadArgs, GeniError, Refused, SearchFailed, Unavailable, Unsupported
from gam.rfc3339 import format_time
from gam.schedule import (
    thd_cancel, thd_extend, thd_holder_reservations, thd_lock_all, thd_resources_of)

# Operational actions and what each does from each state: "run" (with
# the state the sliver shows while the driver works), "noop" (already
# there), or absent (not allowed in that state).
START, STOP, RESTART, UPDATE_USERS = "geni_start", "geni_stop", "geni_restart", \
    "geni_update_users"
CANCEL_UPDATE = "geni_updating_users_cancel"
ACTIONS = {
    START: {NOTREADY: ("run", CONFIGURING), CONFIGURING: ("noop", None),
            READY: ("noop", None)},
    STOP: {READY: ("run", STOPPING), FAILED: ("run", STOPPING), NOTREADY: ("noop", None),
           STOPPING: ("noop", None)},
    RESTART: {READY: ("run", CONFIGURING), FAILED: ("run", CONFIGURING)},
    UPDATE_USERS: {READY: ("run", UPDATING_USERS)},
}
KNOWN_ACTIONS = tuple(ACTIONS) + (CANCEL_UPDATE,)


def _shut(slice_urn):
    return Unavailable(f"slice {slice_urn} was shut down by an operator at this aggregate; "
                       "it can only be looked at (Status, Describe) until it expires. "
                       "Contact the operator", reason="shutdown")


def thd_target(conn, slice_urn, sliver_urns, *, for_change=False, now=None):
    """``(slice, slivers)`` a call names: the whole slice (``sliver_urns`` None)
    or those slivers. SearchFailed when the slice or a sliver is unknown,
    expired or deleted; Unavailable with ``for_change`` on a shut-down slice.

    With ``now`` (calls that change slivers), slivers whose expiry has
    passed but that the expiry sweep has not freed yet are out of reach:
    a named one is SearchFailed, and a whole-slice call gets only the
    others (SearchFailed if none is left). Without it (Status, Describe,
    Delete) they are found like any other."""
    found = thd_get_slice(conn, slice_urn)
    if found is None:
        raise SearchFailed(f"slice {slice_urn} has no slivers at this aggregate; "
                           "allocate resources first", reason="unknown-slice")
    if for_change and found.shutdown:
        raise _shut(slice_urn)
    if sliver_urns is None:
        slivers = thd_list_slivers(conn, slice_urn)
        if not slivers:
            raise SearchFailed(f"slice {slice_urn} has no slivers at this aggregate (any it "
                               "had expired or were deleted)", reason="unknown-slice")
        if now is not None:
            current = tuple(s for s in slivers if s.expires > now)
            if not current:
                last = max(s.expires for s in slivers)
                raise SearchFailed(
                    f"every sliver of slice {slice_urn} at this aggregate has expired (the "
                    f"last at {format_time(last)}) and is being freed; allocate resources "
                    "again", reason="expired")
            slivers = current
        return found, slivers
    slivers = _thd_known_slivers(conn, sliver_urns)
    other = [s.urn for s in slivers if s.slice_urn != slice_urn]
    if other:
        raise BadArgs(f"sliver {', '.join(other)} does not belong to slice {slice_urn}; "
                      "name slivers of one slice")
    if now is not None:
        lapsed = [s for s in slivers if s.expires <= now]
        if len(lapsed) == 1:
            raise SearchFailed(
                f"sliver {lapsed[0].urn} expired at {format_time(lapsed[0].expires)} and "
                "is being freed: it can no longer be changed; allocate resources again",
                reason="expired")
        if lapsed:
            raise SearchFailed(
                "slivers " + ", ".join(f"{s.urn} (expired at {format_time(s.expires)})"
                                       for s in lapsed)
                + " have expired and are being freed: they can no longer be changed; "
                "allocate resources again", reason="expired")
    return found, slivers


def thd_status_infos(conn, slice_urn, sliver_urns):
    """Status's sliver_info structs, read lean (the columns Status shows).

    SearchFailed as :func:`thd_target` when the slice has no live slivers
    or a named one is gone."""
    t = sliver_table
    query = (sa.select(t.c.urn, t.c.expires, t.c.allocation_state, t.c.operational_state,
                       t.c.error, slices_table.c.urn.label("slice_urn"))
             .join_from(t, slices_table, t.c.slice_id == slices_table.c.id)
             .where(t.c.deleted_at.is_(None)).order_by(t.c.id))
    if sliver_urns is None:
        rows = conn.execute(query.where(slices_table.c.urn == slice_urn)).all()
        if not rows:
            thd_target(conn, slice_urn, None)       # raises the right SearchFailed
    else:
        rows = conn.execute(query.where(t.c.urn.in_(list(sliver_urns)))).all()
        if len(rows) != len(set(sliver_urns)) or any(r.slice_urn != slice_urn for r in rows):
            thd_target(conn, slice_urn, sliver_urns)   # raises SearchFailed / BadArgs
    return [{"geni_sliver_urn": r.urn, "geni_expires": r.expires,
             "geni_allocation_status": r.allocation_state,
             "geni_operational_status": r.operational_state, "geni_error": r.error}
            for r in rows]


def _thd_known_slivers(conn, sliver_urns):
    """The live slivers named, in order; SearchFailed naming any that is not."""
    slivers = thd_get_slivers(conn, sliver_urns)
    known = {s.urn for s in slivers}
    missing = [u for u in sliver_urns if u not in known]
    if missing:
        raise SearchFailed(f"no sliver {', '.join(missing)} at this aggregate (unknown, "
                           "expired or deleted)", reason="unknown-sliver")
    return slivers


def thd_resolve(conn, sliver_urns):
    """The slice URN (text) holding every one of ``sliver_urns``."""
    slivers = _thd_known_slivers(conn, sliver_urns)
    slices = sorted({s.slice_urn for s in slivers})
    if len(slices) > 1:
        raise BadArgs(f"the slivers named belong to several slices ({', '.join(slices)}); "
                      "a call acts on one slice")
    return slices[0]


def lease_end(conn, sliver):
    """The end of the sliver's booking (its expiry when it has none)."""
    ends = [r.end for r in thd_holder_reservations(conn, sliver.urn)]
    return max(ends) if ends else sliver.expires


def _wrap(err, sliver):
    what = f"{sliver.kind} {sliver.client_id!r} ({sliver.urn})"
    again = type(err)(f"{what}: {err.message}", reason=err.reason, geni_code=err.geni_code)
    return again


# ------------------------------------------------------------------ provision

@dataclass(frozen=True)
class ProvisionJob:
    slice_urn: str
    sliver_urns: tuple | None
    now: datetime
    limit: datetime              # no lease ends later (max lease, credential)
    requested_end: datetime | None
    users: list                  # JSON form of geni_users
    best_effort: bool
    slice_expires: datetime


def thd_provision(conn, job):
    """Make the allocated slivers provisioned (geni_notready) for their lease.

    Returns ``(results, started)``: ``[(sliver, error)]`` for every sliver
    named, and the slivers provisioned now (for the drivers). Slivers
    already provisioned are reported unchanged. The resources of the
    allocated ones are locked in one call first (``thd_lock_all``): their
    leases are extended one by one.
    """
    found, slivers = thd_target(conn, job.slice_urn, job.sliver_urns, for_change=True,
                                now=job.now)
    if job.slice_expires > found.expires:
        thd_set_slice_expires(conn, job.slice_urn, job.slice_expires)
    allocated = [s.urn for s in slivers if s.allocation_state == ALLOCATED]
    with thd_lock_all(conn, thd_resources_of(conn, allocated)):
        return _provision(conn, job, slivers)


def _provision(conn, job, slivers):
    results, started = [], []
    for sliver in slivers:
        if sliver.allocation_state != ALLOCATED:
            results.append((sliver, None))
            continue
        try:
            if sliver.start_time > job.now:
                raise Refused(f"its reservation starts at {format_time(sliver.start_time)}; "
                              "provision it from then on", reason="not-started")
            current = lease_end(conn, sliver)
            end = min(job.requested_end or current, job.limit)
            if end <= job.now:
                raise BadArgs(f"the lease would end at {format_time(end)}, which is not in "
                              "the future; ask for a later geni_end_time")
            if end != current:
                thd_extend(conn, sliver.urn, end)
        except GeniError as e:
            if not job.best_effort:
                raise _wrap(e, sliver) from None
            results.append((sliver, e.message))
            continue
        updated = thd_update_sliver(conn, sliver.urn, job.now, allocation_state=PROVISIONED,
                                    operational_state=NOTREADY, expires=end, error="",
                                    merge_data={"users": job.users})
        results.append((updated, None))
        started.append(updated)
    return results, started


# ------------------------------------------------------------------ renew

@dataclass(frozen=True)
class RenewJob:
    slice_urn: str
    sliver_urns: tuple | None
    now: datetime
    end: datetime
    extend_alap: bool
    best_effort: bool
    slice_expires: datetime


#: With geni_extend_alap, how many times a renewal stopped by a booking is
#: retried up to the start of that booking.
ALAP_TRIES = 8


def _extend(conn, sliver, end, alap):
    """Move the sliver's booking end to ``end`` (or as far as it goes with
    ``alap``); return the end reached."""
    for _ in range(ALAP_TRIES):
        try:
            thd_extend(conn, sliver.urn, end)
            return end
        except GeniError as e:
            clash = getattr(e, "conflict", None)
            if not alap or clash is None or clash[0] is None or clash[0] <= sliver.expires \
                    or clash[0] >= end:
                raise
            end = clash[0]
    thd_extend(conn, sliver.urn, end)
    return end


def thd_renew(conn, job):
    """Set the slivers' expiry (and their bookings' end) to ``job.end``.

    The resources of all of them are locked in one call first
    (``thd_lock_all``): their bookings are extended one by one."""
    found, slivers = thd_target(conn, job.slice_urn, job.sliver_urns, for_change=True,
                                now=job.now)
    if job.slice_expires > found.expires:
        thd_set_slice_expires(conn, job.slice_urn, job.slice_expires)
    with thd_lock_all(conn, thd_resources_of(conn, [s.urn for s in slivers])):
        return _renew(conn, job, slivers)


def _renew(conn, job, slivers):
    results = []
    for sliver in slivers:
        try:
            if sliver.start_time >= job.end:
                raise BadArgs(f"its reservation starts at {format_time(sliver.start_time)}, "
                              f"after {format_time(job.end)}; renew it to a later time")
            end = _extend(conn, sliver, job.end, job.extend_alap)
        except GeniError as e:
            if not job.best_effort:
                raise _wrap(e, sliver) from None
            results.append((sliver, e.message))
            continue
        results.append((thd_update_sliver(conn, sliver.urn, job.now, expires=end), None))
    return results


# ------------------------------------------------------------------ actions

def check_action(action):
    """Unsupported (13) for an action this aggregate does not know."""
    if action == CANCEL_UPDATE:
        raise Unsupported("this aggregate cannot cancel a user update once started; wait "
                          "until the sliver is geni_ready again")
    if action not in ACTIONS:
        raise Unsupported(f"operational action {action!r} is not supported here; the "
                          f"actions are {', '.join(ACTIONS)} (see the advertisement's "
                          "rspec_opstate)", reason="unknown-action")


def decide(action, sliver):
    """``("run", state)``, ``("noop", None)`` or ``("refuse", why)`` for one sliver."""
    if sliver.kind == "link":
        if sliver.allocation_state != PROVISIONED:
            return "refuse", "it is allocated, not provisioned: call Provision first"
        return "noop", None
    if sliver.allocation_state != PROVISIONED:
        return "refuse", "it is allocated, not provisioned: call Provision first"
    rule = ACTIONS[action].get(sliver.operational_state)
    if rule is None:
        allowed = [s for s in ACTIONS[action]]
        return "refuse", (f"{action} is not possible while it is "
                          f"{sliver.operational_state}; it is possible in "
                          f"{', '.join(allowed)}")
    return rule


def thd_begin_action(conn, slice_urn, sliver_urns, action, *, now, best_effort,
                     users=None):
    """Check ``action`` on every sliver and mark the ones to act on.

    Returns ``(results, to_run)``: ``[(sliver, error)]`` and the slivers
    now in the action's transitional state (for the drivers). Without
    best effort a sliver in the wrong state fails the call with
    Unsupported (13) and nothing changes.
    """
    _, slivers = thd_target(conn, slice_urn, sliver_urns, for_change=True, now=now)
    plan = [(s, decide(action, s)) for s in slivers]
    refused = [(s, why) for s, (what, why) in plan if what == "refuse"]
    if refused and not best_effort:
        raise Unsupported("; ".join(f"{s.kind} {s.client_id!r} ({s.urn}): {why}"
                                    for s, why in refused), reason="wrong-state")
    results, to_run = [], []
    for sliver, (what, detail) in plan:
        if what == "refuse":
            results.append((sliver, detail))
            continue
        if what == "noop":
            results.append((sliver, None))
            continue
        changes = {"operational_state": detail, "error": ""}
        if users is not None:
            changes["merge_data"] = {"users": users}
        updated = thd_update_sliver(conn, sliver.urn, now, **changes)
        results.append((updated, None))
        to_run.append(updated)
    return results, to_run


# ------------------------------------------------------------------ driver reports

def thd_record_outcome(conn, urn, now, *, state, error="", data=None, expect=None):
    """Write what a driver reported for a live sliver; None if it is gone.

    ``expect``: the operational states in which the report still applies
    (a late report about an older operation is dropped).
    """
    current = thd_get_slivers(conn, [urn])
    if not current:
        return None
    sliver = current[0]
    if expect is not None and sliver.operational_state not in expect:
        return sliver
    changes = {"operational_state": state, "error": error or ""}
    if data:
        changes["merge_data"] = {"driver": {**(sliver.data.get("driver") or {}), **data}}
    return thd_update_sliver(conn, urn, now, **changes)


# ------------------------------------------------------------------ delete

def thd_begin_delete(conn, slice_urn, sliver_urns):
    """The slivers a Delete names (Unavailable on a shut-down slice); slivers
    past their expiry but not freed yet too (Delete frees them early)."""
    _, slivers = thd_target(conn, slice_urn, sliver_urns, for_change=True)
    return slivers


def thd_finish_delete(conn, urns, now):
    """Cancel the bookings of ``urns`` and mark them deleted; return them."""
    for urn in sorted(urns):        # in URN order, as holds extend them
        thd_cancel(conn, urn)
    return thd_mark_deleted(conn, urns, now)


def thd_delete_failed(conn, urns_errors, now):
    """Record that freeing these slivers failed: geni_failed with the reason."""
    out = []
    for urn, error in urns_errors:
        if thd_get_slivers(conn, [urn]):
            out.append(thd_update_sliver(conn, urn, now, operational_state=FAILED,
                                         error=error))
    return out


# ------------------------------------------------------------------ shutdown

def thd_shutdown(conn, slice_urn, now):
    """Flag the slice shut down; return its live slivers."""
    if thd_get_slice(conn, slice_urn) is None:
        raise SearchFailed(f"slice {slice_urn} has no slivers at this aggregate",
                           reason="unknown-slice")
    thd_shutdown_slice(conn, slice_urn, now)
    return thd_list_slivers(conn, slice_urn)


# ------------------------------------------------------------------ expiry, recovery

def thd_expired(conn, now, after=None, limit=500):
    """Live slivers whose expiry has come, in (expiry, URN) order, at most
    ``limit`` of them, starting after the ``(expires, urn)`` pair ``after``."""
    t = sliver_table
    query = sa.select(t.c.urn).where(t.c.deleted_at.is_(None), t.c.expires <= now)
    if after is not None:
        expires, urn = after
        query = query.where(sa.or_(t.c.expires > expires,
                                   sa.and_(t.c.expires == expires, t.c.urn > urn)))
    urns = conn.execute(query.order_by(t.c.expires, t.c.urn).limit(limit)).scalars().all()
    found = {s.urn: s for s in thd_get_slivers(conn, urns)}
    return [found[u] for u in urns if u in found]


def thd_interrupted(conn, now):
    """After a restart: slivers a driver was working on when the AM stopped
    are marked geni_failed (nobody will report on them any more). Returns
    ``(failed, live)``: those, and ``(urn, resource type, driver data)`` of
    every live provisioned sliver (read lean: there may be very many)."""
    t = sliver_table
    busy = conn.execute(sa.select(t.c.urn, t.c.operational_state).where(
        t.c.deleted_at.is_(None), t.c.operational_state.in_(sorted(TRANSITIONAL)))).all()
    failed = []
    for urn, state in busy:
        failed.append(thd_update_sliver(
            conn, urn, now, operational_state=FAILED,
            error=f"the aggregate restarted while this sliver was {state}; restart it "
                  "(geni_restart) or delete it"))
    live = [(row.urn, row.resource_type, dict((row.data or {}).get("driver") or {}))
            for row in conn.execute(sa.select(t.c.urn, t.c.resource_type, t.c.data).where(
                t.c.deleted_at.is_(None), t.c.allocation_state == PROVISIONED))]
    return tuple(failed), live


def thd_mark_gone(conn, urns, now):
    """Slivers whose resources were found gone after a restart: geni_failed,
    without the driver's data (its logins are dead; geni_restart makes such
    a sliver again, as one never made). Returns how many were marked."""
    t = sliver_table
    marked = 0
    urns = list(urns)
    for i in range(0, len(urns), 500):
        rows = conn.execute(sa.select(t.c.urn, t.c.data).where(
            t.c.urn.in_(urns[i:i + 500]), t.c.deleted_at.is_(None))).all()
        for urn, data in rows:
            marked += conn.execute(
                sa.update(t).where(t.c.urn == urn)
                .values(operational_state=FAILED, updated=now,
                        data={k: v for k, v in (data or {}).items() if k != "driver"},
                        error="its resources were gone when the aggregate restarted; "
                              "restart it (geni_restart) or delete it")).rowcount
    return marked


__all__ = ["thd_target", "thd_status_infos", "thd_resolve", "thd_provision", "thd_renew", "thd_begin_action",
           "thd_record_outcome", "thd_begin_delete", "thd_finish_delete",
           "thd_delete_failed", "thd_shutdown", "thd_expired",
           "thd_interrupted", "thd_mark_gone", "check_action", "decide", "ACTIONS",
           "KNOWN_ACTIONS", "ProvisionJob", "RenewJob", "lease_end", "READY"]
