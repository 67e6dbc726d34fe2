"""The aggregate: gam's :class:`gam.rpc.delegate.AMDelegate`.

It translates each GENI call into transactions (:mod:`.allocation`,
:mod:`.lifecycle`) and driver work (:mod:`.driving`):

- Allocate parses the request off the reactor, checks it against the
  inventory, then books everything and writes the slivers in one
  transaction: all or nothing. Allocated slivers lapse after
  ``limits.allocated_lifetime`` (counted from their start for future
  reservations) unless provisioned.
- Provision moves slivers to ``geni_provisioned``/``geni_notready`` with a
  lease (at most ``limits.max_lease``) and hands them to the drivers, whose
  reports move them to ``geni_configuring`` and ``geni_ready`` or
  ``geni_failed``.
- Renew, PerformOperationalAction, Delete and Shutdown change the same rows
  the same way; Delete and expiry free the drivers' resources before the
  bookings are cancelled.
- A sliver past its expiry that the sweep has not freed yet can still be
  looked at and deleted, not changed; calls that book first hold its
  booking (:mod:`.holds`), so nobody else is given its resources meanwhile.

Nothing outlives the granting credential (``auth.expires``). Calls that
change a slice run one at a time per slice.
"""
from datetime import datetime, timedelta, timezone

from twisted.internet import defer, threads
from twisted.logger import Logger

from gam.aggregate import holds, lifecycle
from gam.aggregate.advertise import Advertiser
from gam.aggregate.allocation import AllocationJob, thd_allocate
from gam.aggregate.driving import DriverGateway
from gam.aggregate.locks import KeyedLock
from gam.aggregate.manifest import (
    CONFIGURING, FAILED, PROVISIONED, READY, STOPPING, manifest, sliver_info)
from gam.aggregate.options import flag, time_option, users, users_to_data
from gam.aggregate.resources import resource_specs
from gam.aggregate.version import version_value
from gam.aggregate.wants import check_request
from gam.auth.urn import URN
from gam.config import Limits
from gam.db.slivers import thd_get_slivers, thd_update_sliver
from gam.errors import BadArgs, GeniError, OutOfRange
from gam.rfc3339 import format_time
from gam.rspec import parse_request
from gam.schedule import thd_define_resources

UTC = timezone.utc
log = Logger(namespace="gam.aggregate")


def thd_describe(conn, slice_urn, sliver_urns, inventory, now):
    """``(slivers, manifest)``; a slice unknown here is an empty manifest."""
    try:
        _, slivers = lifecycle.thd_target(conn, slice_urn, sliver_urns)
    except GeniError as e:
        if sliver_urns is not None or e.reason != "unknown-slice":
            raise
        slivers = ()
    return slivers, manifest(slivers, inventory, now)


def thd_slivers(conn, slice_urn, sliver_urns):
    """The live slivers a call names (see lifecycle.thd_target)."""
    return lifecycle.thd_target(conn, slice_urn, sliver_urns)[1]


def thd_stop_for_shutdown(conn, urns, now):
    """Mark the running node slivers among ``urns`` geni_stopping; return them."""
    out = []
    for sliver in thd_get_slivers(conn, urns):
        if (sliver.kind == "node" and sliver.allocation_state == PROVISIONED
                and sliver.operational_state in (READY, FAILED, CONFIGURING)):
            out.append(thd_update_sliver(conn, sliver.urn, now, operational_state=STOPPING,
                                         error="stopped: the slice was shut down"))
    return out


class Aggregate:
    """The AM API v3 delegate over a database, an inventory and drivers.

    ``db``: a started :class:`gam.db.connector.DBConnector`; ``drivers``:
    the drivers manager (see :mod:`gam.aggregate.driving`); ``url``: the
    absolute URL GetVersion gives (settable once the port is known);
    ``clock``: the time source (``seconds()``); ``reactor``: for the thread
    pool that parses requests and builds manifests.
    """

    def __init__(self, db, drivers, inventory, *, am_urn, url, limits=Limits(),
                 clock=None, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.db = db
        self.inventory = inventory
        self.am_urn = str(URN.parse(am_urn, expect_type="authority"))
        self.authority = URN.parse(am_urn).authority
        self.url = url
        self.limits = limits
        self.clock = clock if clock is not None else reactor
        self.reactor = reactor
        self.gateway = DriverGateway(drivers, db, self.clock)
        self.advertiser = Advertiser(db, inventory, self.clock, limits.advertisement_ttl)
        self.locks = KeyedLock()
        self._background = set()

    # ------------------------------------------------------------ plumbing

    def now(self):
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    def _in_thread(self, fn, *args, **kwargs):
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), fn,
                                         *args, **kwargs)

    def _credential_end(self, auth, now):
        expires = getattr(auth, "expires", None)
        if expires is None:
            return now + self.limits.max_lease
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires.astimezone(UTC)

    def _spawn(self, coro, what):
        d = defer.Deferred.fromCoroutine(coro)
        self._background.add(d)

        def done(result):
            self._background.discard(d)
            return result
        d.addBoth(done)
        d.addErrback(lambda f: log.failure("{what} failed", f, what=what))
        return d

    async def settle(self):
        """Wait until background work (driver operations, shutdowns) is over."""
        while self._background or self.gateway.pending():
            for d in list(self._background):
                waiter = defer.Deferred()
                d.addBoth(lambda r, w=waiter: (w.callback(None), r)[1])
                await waiter
            await self.gateway.idle(self.gateway.pending())

    async def start(self):
        """Define the inventory's resources and recover from a restart."""
        now = self.now()
        handles = getattr(self.gateway.drivers, "handles", None)
        if handles is not None:
            for sliver_type in self.inventory.sliver_types:
                if not handles(sliver_type.name):
                    log.warn("the inventory offers sliver type {name} but no driver handles "
                             "it: Allocate refuses it until one does", name=sliver_type.name)
        await self.db.run(thd_define_resources, resource_specs(self.inventory), now)
        failed, live = await self.db.run(lifecycle.thd_interrupted, now)
        for sliver in failed:
            log.warn("{urn} was in the middle of a driver operation when the aggregate "
                     "stopped; marked failed", urn=sliver.urn)
        if live:
            try:
                gone = await self.gateway.clean_restart(live)
            except Exception:
                log.failure("the drivers' clean restart failed")
                gone = []
            if gone:
                await self.db.run(lifecycle.thd_mark_gone, gone, self.now())

    # ------------------------------------------------------------ AMDelegate

    async def get_version(self):
        return version_value(self.url, self.am_urn)

    async def resolve_slice(self, urns):
        slice_urn = await self.db.read(lifecycle.thd_resolve, [str(u) for u in urns])
        return URN.parse(slice_urn)

    async def list_resources(self, auth, options):
        return await self.advertiser.advertisement(flag(options, "geni_available"))

    async def describe(self, auth, slice_urn, sliver_urns, options):
        slivers, text = await self.db.read(thd_describe, str(slice_urn),
                                           _texts(sliver_urns), self.inventory, self.now())
        return {"geni_rspec": text, "geni_urn": str(slice_urn),
                "geni_slivers": [sliver_info(s) for s in slivers]}

    async def status(self, auth, slice_urn, sliver_urns, options):
        infos = await self.db.read(lifecycle.thd_status_infos, str(slice_urn),
                                   _texts(sliver_urns))
        return {"geni_urn": str(slice_urn), "geni_slivers": infos}

    async def allocate(self, auth, slice_urn, rspec, options):
        now = self.now()
        job_times = self._allocation_times(auth, options, now)
        request = await self._in_thread(
            parse_request, rspec, max_bytes=self.limits.max_request_bytes,
            component_manager_id=self.inventory.component_manager_id)
        nodes, links = check_request(request, self.inventory)
        self.gateway.check_types({w.sliver_type.name for w in nodes}
                                 | ({"link"} if links else set()))
        start, end, expires, slice_expires = job_times
        job = AllocationJob(
            slice_urn=str(slice_urn), nodes=nodes, links=links, start=start, end=end,
            expires=expires, slice_expires=slice_expires, now=now, authority=self.authority,
            lan_urn=str(URN(self.inventory.authority, "link", "lan")))
        async with self.locks.hold(str(slice_urn)):
            await self._hold_overdue(now)
            slivers = await self.db.run(thd_allocate, job)
        self.advertiser.invalidate()
        text = await self._in_thread(manifest, slivers, self.inventory, now)
        return {"geni_rspec": text, "geni_slivers": [sliver_info(s) for s in slivers]}

    def _allocation_times(self, auth, options, now):
        """``(start, booking end, allocated expiry, credential end)`` of an Allocate."""
        limits = self.limits
        credential_end = self._credential_end(auth, now)
        start = time_option(options, "geni_start_time")
        start = now if start is None or start < now else start
        if start >= credential_end:
            raise OutOfRange(f"geni_start_time {format_time(start)} is not before the end of "
                             f"your credential ({format_time(credential_end)}); renew the "
                             "slice or ask for an earlier start")
        requested = time_option(options, "geni_end_time")
        if requested is not None and requested <= start:
            raise BadArgs(f"geni_end_time {format_time(requested)} is not after the start "
                          f"({format_time(start)}); ask for a later end")
        end = min(requested or start + limits.max_lease, start + limits.max_lease,
                  credential_end)
        expires = min(start + limits.allocated_lifetime, end)
        return start, end, expires, credential_end

    async def provision(self, auth, slice_urn, sliver_urns, options):
        now = self.now()
        new_users = users(options)
        requested = time_option(options, "geni_end_time")
        if requested is not None and requested <= now:
            raise BadArgs(f"geni_end_time {format_time(requested)} is in the past; ask for a "
                          "later end")
        credential_end = self._credential_end(auth, now)
        job = lifecycle.ProvisionJob(
            slice_urn=str(slice_urn), sliver_urns=_texts(sliver_urns), now=now,
            limit=min(now + self.limits.max_lease, credential_end), requested_end=requested,
            users=users_to_data(new_users), best_effort=flag(options, "geni_best_effort"),
            slice_expires=credential_end)
        async with self.locks.hold(str(slice_urn)):
            await self._hold_overdue(now)
            results, started = await self.db.run(lifecycle.thd_provision, job)
            self.advertiser.invalidate()
            if started:
                self.gateway.provision(started)
        done = [s for s, error in results if error is None]
        text = await self._in_thread(manifest, done, self.inventory, now)
        return {"geni_rspec": text,
                "geni_slivers": [sliver_info(s, error) for s, error in results]}

    async def perform_operational_action(self, auth, slice_urn, sliver_urns, action, options):
        lifecycle.check_action(action)
        given = users(options, required=action == lifecycle.UPDATE_USERS)
        data = users_to_data(given) if action == lifecycle.UPDATE_USERS else None
        named = await self.db.read(thd_slivers, str(slice_urn), _texts(sliver_urns))
        self.gateway.check_action(named, action)
        async with self.locks.hold(str(slice_urn)):
            results, to_run = await self.db.run(
                lifecycle.thd_begin_action, str(slice_urn), _texts(sliver_urns), action,
                now=self.now(), best_effort=flag(options, "geni_best_effort"), users=data)
            if to_run:
                self.gateway.perform(to_run, action, given)
        return [sliver_info(s, error) for s, error in results]

    async def renew(self, auth, slice_urn, sliver_urns, expiration_time, options):
        now = self.now()
        if expiration_time.tzinfo is None:
            expiration_time = expiration_time.replace(tzinfo=UTC)
        if expiration_time <= now:
            raise OutOfRange(f"expiration_time {format_time(expiration_time)} is in the past "
                             f"(it is now {format_time(now)}); ask for a later time")
        credential_end = self._credential_end(auth, now)
        policy_end = now + self.limits.max_renew
        limit = min(credential_end, policy_end)
        end = expiration_time
        if expiration_time > limit:
            if not flag(options, "geni_extend_alap"):
                why = ("your credential ends then; renew the slice at its authority first"
                       if credential_end <= policy_end else
                       f"this aggregate renews at most {_days(self.limits.max_renew)} ahead")
                raise OutOfRange(f"expiration_time {format_time(expiration_time)} is too far: "
                                 f"slivers here can be renewed until {format_time(limit)} "
                                 f"at most ({why}); ask for that or less, or set "
                                 "geni_extend_alap to get as long as possible")
            end = limit
        job = lifecycle.RenewJob(
            slice_urn=str(slice_urn), sliver_urns=_texts(sliver_urns), now=now, end=end,
            extend_alap=flag(options, "geni_extend_alap"),
            best_effort=flag(options, "geni_best_effort"), slice_expires=credential_end)
        async with self.locks.hold(str(slice_urn)):
            await self._hold_overdue(now)
            results = await self.db.run(lifecycle.thd_renew, job)
        self.advertiser.invalidate()
        return [sliver_info(s, error) for s, error in results]

    async def delete(self, auth, slice_urn, sliver_urns, options):
        best_effort = flag(options, "geni_best_effort")
        async with self.locks.hold(str(slice_urn)):
            slivers = await self.db.read(lifecycle.thd_begin_delete, str(slice_urn),
                                         _texts(sliver_urns))
            deleted, failed = await self.free(slivers)
        if failed and not best_effort:
            gone = ", ".join(s.urn for s in deleted) or "none"
            raise GeniError("could not free " + "; ".join(
                f"{s.urn}: {s.error}" for s in failed) + f" (deleted: {gone}); call Delete "
                "again, or with geni_best_effort for a per-sliver answer")
        # A freed sliver's answer carries no error: an old one (say, of a
        # failed create) would tell the client this Delete failed.
        return ([sliver_info(s, "") for s in deleted]
                + [sliver_info(s, s.error) for s in failed])

    async def free(self, slivers, hold_until=None):
        """Free ``slivers`` through the drivers, then cancel their bookings and
        mark them deleted. Returns ``(deleted, failed)``; a failed sliver is
        left geni_failed with the reason (and, with ``hold_until``, its
        booking kept until then)."""
        errors = await self.gateway.delete(slivers)
        freed = [urn for urn, error in errors.items() if not error]
        broken = [(urn, error) for urn, error in errors.items() if error]
        now = self.now()
        deleted = failed = ()
        if freed:
            deleted = await self.db.run(lifecycle.thd_finish_delete, freed, now)
        if broken:
            failed = await self.db.run(lifecycle.thd_delete_failed, broken, now)
            if hold_until is not None:
                for urn, _ in broken:
                    unheld = await self.db.run(holds.thd_hold, urn, hold_until)
                    if unheld is not None:
                        log.warn("{problem}", problem=unheld.describe())
        self.advertiser.invalidate()
        return tuple(deleted), tuple(failed)

    async def _hold_overdue(self, now):
        """Before a call books: keep the bookings of slivers whose expiry has
        passed but that are not freed yet (see :mod:`gam.aggregate.holds`)."""
        until = now + holds.hold_margin(self.limits)
        if not await self.db.read(holds.thd_overdue, now, until):
            return
        for unheld in await self.db.run(holds.thd_hold_overdue, now, until):
            log.warn("{problem}", problem=unheld.describe())

    async def shutdown(self, auth, slice_urn, options):
        async with self.locks.hold(str(slice_urn)):
            slivers = await self.db.run(lifecycle.thd_shutdown, str(slice_urn), self.now())
        nodes = [s.urn for s in slivers if s.kind == "node"
                 and s.allocation_state == PROVISIONED]
        if nodes:
            self._spawn(self._stop(nodes), f"stopping the slivers of {slice_urn}")
        return True

    async def _stop(self, urns):
        await self.gateway.idle(urns)
        stopping = await self.db.run(thd_stop_for_shutdown, urns, self.now())
        if stopping:
            self.gateway.perform(stopping, lifecycle.STOP)


def _texts(urns):
    return None if urns is None else tuple(str(u) for u in urns)


def _days(delta):
    days = delta / timedelta(days=1)
    return f"{days:g} days" if days >= 1 else f"{delta.total_seconds():g} seconds"


__all__ = ["Aggregate", "thd_describe", "thd_slivers"]
