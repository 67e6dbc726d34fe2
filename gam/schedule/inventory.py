"""The schedule's inventory: define, read and lock resource rows."""
from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa

from gam.db.model import reservations, resources
from gam.db.types import as_utc
from gam.errors import ConfigError, SearchFailed
from gam.schedule.claims import BOUNDED, KINDS, POOL, VLAN, Resource, SyncResult
from gam.schedule.intervals import count_tags, normalise_ranges


def to_resource(row):
    return Resource(name=row.name, kind=row.kind, capacity=row.capacity,
                    unit=row.unit, ranges=tuple(tuple(r) for r in row.ranges or ()),
                    retired=bool(row.retired))


def _normalise(spec):
    """``(kind, capacity, unit, ranges-as-JSON)`` of a spec; ConfigError if bad."""
    name = spec.name
    if not isinstance(name, str) or not name:
        raise ConfigError(f"resource name {name!r} must be a non-empty string",
                          key="resources")
    if spec.kind not in KINDS:
        raise ConfigError(f"kind {spec.kind!r} is not one of {', '.join(KINDS)}",
                          key=name)
    if spec.kind == BOUNDED:
        if spec.capacity not in (None, 1):
            raise ConfigError(f"a bounded resource has capacity 1, not {spec.capacity}; "
                              "use kind 'pool' for a shared capacity", key=name)
        return BOUNDED, 1, spec.unit, None
    if spec.kind == POOL:
        cap = spec.capacity
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            raise ConfigError(f"a pool needs a whole, non-negative capacity, not {cap!r}",
                              key=name)
        return POOL, cap, spec.unit, None
    try:
        ranges = normalise_ranges(spec.ranges, name)
    except ValueError as err:
        raise ConfigError(str(err), key=name) from None
    if not ranges:
        raise ConfigError("a vlan pool needs at least one tag range, e.g. [[100, 199]]",
                          key=name)
    if spec.capacity not in (None, count_tags(ranges)):
        raise ConfigError(f"capacity {spec.capacity} differs from the "
                          f"{count_tags(ranges)} tags of the ranges; leave it out",
                          key=name)
    return VLAN, count_tags(ranges), spec.unit, [list(r) for r in ranges]


def thd_define_resources(conn, specs, now=None):
    """Make the resource table match ``specs`` (idempotent).

    New names are added, changed ones updated (a new capacity or range
    applies to bookings made from now on; existing reservations stay),
    names no longer listed are retired (kept for their reservations, no
    new bookings) and listed retired ones come back. A kind may change
    only while the resource has no reservations. ``now`` (default: the
    wall clock) stamps ``updated``. Raises ConfigError.
    """
    now = as_utc(now, "now") if now is not None else datetime.now(timezone.utc)
    wanted = {}
    for spec in specs:
        if spec.name in wanted:
            raise ConfigError("resource listed twice", key=spec.name)
        wanted[spec.name] = _normalise(spec)
    existing = {row.name: row for row in conn.execute(
        sa.select(resources).order_by(resources.c.name).with_for_update())}
    added, changed, retired = [], [], []
    for name, (kind, capacity, unit, ranges) in wanted.items():
        row = existing.get(name)
        values = dict(kind=kind, capacity=capacity, unit=unit, ranges=ranges,
                      retired=False)
        if row is None:
            conn.execute(sa.insert(resources).values(name=name, updated=now, **values))
            added.append(name)
            continue
        current = dict(kind=row.kind, capacity=row.capacity, unit=row.unit,
                       ranges=row.ranges, retired=bool(row.retired))
        if current == values:
            continue
        if row.kind != kind and conn.execute(
                sa.select(reservations.c.id)
                .where(reservations.c.resource_id == row.id).limit(1)).first():
            raise ConfigError(
                f"cannot change the kind from {row.kind} to {kind} while the "
                "resource has reservations; give it a new name or wait until "
                "they end", key=name)
        conn.execute(sa.update(resources).where(resources.c.id == row.id)
                     .values(updated=now, **values))
        changed.append(name)
    for name, row in existing.items():
        if name not in wanted and not row.retired:
            conn.execute(sa.update(resources).where(resources.c.id == row.id)
                         .values(retired=True, updated=now))
            retired.append(name)
    return SyncResult(tuple(sorted(added)), tuple(sorted(changed)),
                      tuple(sorted(retired)))


def thd_get_resource(conn, name):
    """The resource ``name`` (retired ones too), or None."""
    row = conn.execute(sa.select(resources).where(resources.c.name == name)).first()
    return to_resource(row) if row else None


def thd_list_resources(conn, kind=None, include_retired=False):
    query = sa.select(resources).order_by(resources.c.name)
    if kind is not None:
        query = query.where(resources.c.kind == kind)
    if not include_retired:
        query = query.where(resources.c.retired == sa.false())
    return tuple(to_resource(row) for row in conn.execute(query))


def unknown_resource(name, retired=False):
    if retired:
        err = SearchFailed(f"resource {name} is no longer offered by this aggregate; "
                           "list resources again and choose another",
                           reason="unknown-resource")
    else:
        err = SearchFailed(f"resource {name} does not exist at this aggregate; "
                           "list resources and choose one it advertises",
                           reason="unknown-resource")
    err.resource = name
    return err


#: ``conn.info`` key: the resource names locked up front (``thd_lock_all``)
#: by the transaction running on this connection.
_LOCKED_UP_FRONT = "gam.schedule.locked_up_front"


def _read_rows(conn, names, lock=False):
    """{name: row} of the resources ``names`` (sorted); with ``lock``, locked
    in name order.

    The only place resource rows are locked for a booking. PostgreSQL takes
    ``SELECT ... FOR UPDATE`` row locks, held to the end of the transaction
    (or to the rollback of a savepoint taken before); SQLite already holds
    the database write lock (``BEGIN IMMEDIATE``) and ignores FOR UPDATE.
    """
    rows = {}
    for i in range(0, len(names), 500):
        query = sa.select(resources).where(resources.c.name.in_(names[i:i + 500]))
        if lock:
            query = query.order_by(resources.c.name).with_for_update()
        rows.update((row.name, row) for row in conn.execute(query))
    return rows


def _lock_rows(conn, names):
    """Lock the rows of the resources ``names`` (sorted), in name order; {name: row}."""
    return _read_rows(conn, names, lock=True)


def lock_resources(conn, names):
    """Lock the rows of live resources ``names``, in name order; return {name: row}.

    Inside :func:`thd_lock_all` the rows are already locked: they are read
    again (fresh), and a name that was not locked up front is a bug (it
    would break the one order all transactions lock in): RuntimeError.
    Raises SearchFailed for an unknown or retired name.
    """
    names = sorted(set(names))
    up_front = conn.info.get(_LOCKED_UP_FRONT)
    if up_front is None:
        rows = _lock_rows(conn, names)
    else:
        outside = [n for n in names if n not in up_front]
        if outside:
            raise RuntimeError(f"resources {', '.join(outside)} were not locked up front "
                               "with the rest of this transaction's")
        rows = _read_rows(conn, names)
    for name in names:
        row = rows.get(name)
        if row is None or row.retired:
            raise unknown_resource(name, retired=row is not None)
    return rows


@contextmanager
def thd_lock_all(conn, names):
    """Lock every resource of ``names`` in ONE call, in name order, for the block.

    A transaction that books or extends several times (one Allocate books
    each node and link; a Renew extends each sliver) would otherwise lock
    rows call by call, and two such transactions could lock the same rows
    in opposite orders and deadlock on PostgreSQL. Inside the block every
    booking must stay within ``names`` (see :func:`lock_resources`), so all
    transactions lock in one global order: by name. Unknown or retired
    names are left for the booking to refuse. Blocks do not nest.
    """
    if _LOCKED_UP_FRONT in conn.info:
        raise RuntimeError("resources are already locked up front in this transaction")
    names = sorted(set(names))
    _lock_rows(conn, names)
    conn.info[_LOCKED_UP_FRONT] = frozenset(names)
    try:
        yield
    finally:
        conn.info.pop(_LOCKED_UP_FRONT, None)
