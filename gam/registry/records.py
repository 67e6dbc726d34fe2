"""Registry records in the database: thread-side functions and plain dataclasses.

Every ``thd_`` function takes a live connection (inside the transaction of
``DBConnector.run``/``read``) and returns :class:`Record` objects, never
rows. Roles (researchers of a slice, PIs of an authority) are loaded with
each record. Removed records stay as tombstones (see gam.db.model).
"""
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from gam.auth.urn import URN
from gam.db.model import reg_members, reg_records
from gam.db.types import as_utc
from gam.errors import AlreadyExists, SearchFailed
from gam.registry.hrn import hrn_of, namespace_hrn, parent_namespace, record_key


class RecordNotFound(SearchFailed):
    """SFA's "Record not found" (omni looks for these words)."""

    default_reason = "not-found"

    def __init__(self, what, hint=""):
        message = f"Record not found: {what}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class ExistingRecord(AlreadyExists):
    def __init__(self, what, hint):
        super().__init__(f"Existing record: {what}; {hint}")


@dataclass(frozen=True)
class Record:
    """One registry record with its roles, as the manager and API see it."""

    id: int
    urn: URN
    type: str
    parent: str
    gid: str                 # PEM chain: the record's certificate, then its issuers
    uuid: str
    email: str | None
    ssh_keys: tuple
    expires: datetime | None
    created: datetime
    updated: datetime
    removed_at: datetime | None = None
    reserved_until: datetime | None = None
    researchers: tuple = ()          # slice: user URNs
    pis: tuple = ()                  # authority: user URNs
    slices: tuple = ()               # user: slice URNs where researcher
    pi_of: tuple = ()                # user: authority URNs where PI
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def hrn(self):
        return hrn_of(self.urn)

    @property
    def namespace(self):
        """For an authority, the namespace it governs (lower case)."""
        return self.urn.authority.lower() if self.type == "authority" else None

    @property
    def parent_hrn(self):
        return namespace_hrn(self.parent)

    @property
    def removed(self):
        return self.removed_at is not None


def _urns(conn, record_id, role, column_from, column_to):
    rows = conn.execute(
        sa.select(reg_records.c.urn)
        .select_from(reg_members.join(reg_records, reg_records.c.id == column_to))
        .where(column_from == record_id, reg_members.c.role == role,
               reg_records.c.removed_at.is_(None))
        .order_by(reg_records.c.urn)).scalars()
    return tuple(URN.parse(u) for u in rows)


def _to_record(conn, row):
    rtype = row.type
    members = {}
    if rtype == "slice":
        members["researchers"] = _urns(conn, row.id, "researcher", reg_members.c.record_id,
                                       reg_members.c.user_id)
    elif rtype == "authority":
        members["pis"] = _urns(conn, row.id, "pi", reg_members.c.record_id,
                               reg_members.c.user_id)
    elif rtype == "user":
        members["slices"] = _urns(conn, row.id, "researcher", reg_members.c.user_id,
                                  reg_members.c.record_id)
        members["pi_of"] = _urns(conn, row.id, "pi", reg_members.c.user_id,
                                 reg_members.c.record_id)
    return Record(id=row.id, urn=URN.parse(row.urn), type=rtype, parent=row.parent,
                  gid=row.gid, uuid=row.uuid, email=row.email,
                  ssh_keys=tuple(row.ssh_keys or ()), expires=row.expires,
                  created=row.created, updated=row.updated, removed_at=row.removed_at,
                  reserved_until=row.reserved_until, **members)


def _row(conn, key, *, lock=False, include_removed=False):
    query = sa.select(reg_records).where(reg_records.c.key == key)
    if not include_removed:
        query = query.where(reg_records.c.removed_at.is_(None))
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def thd_get(conn, urn, *, include_removed=False):
    """The record of ``urn``, or None."""
    row = _row(conn, record_key(urn), include_removed=include_removed)
    return _to_record(conn, row) if row else None


def thd_require(conn, urn, *, lock=False):
    """The live record of ``urn``; RecordNotFound (saying why) otherwise."""
    row = _row(conn, record_key(urn), lock=lock, include_removed=True)
    if row is None:
        raise RecordNotFound(f"{hrn_of(urn)} ({URN.parse(urn).type})")
    if row.removed_at is not None:
        raise RecordNotFound(f"{hrn_of(urn)} ({row.type})",
                             f"it was removed at {row.removed_at:%Y-%m-%dT%H:%M:%SZ}")
    return _to_record(conn, row)


def thd_find(conn, urns):
    """The live records among ``urns`` (URN objects), in the order given."""
    keys = []
    for urn in urns:
        key = record_key(urn)
        if key not in keys:
            keys.append(key)
    if not keys:
        return []
    rows = conn.execute(sa.select(reg_records).where(
        reg_records.c.key.in_(keys), reg_records.c.removed_at.is_(None))).all()
    by_key = {row.key: row for row in rows}
    return [_to_record(conn, by_key[k]) for k in keys if k in by_key]


def thd_children(conn, namespace, *, recursive=False):
    """Live records directly under ``namespace`` (or anywhere below it)."""
    namespace = namespace.lower()
    where = reg_records.c.parent == namespace
    if recursive:
        where = sa.or_(where, reg_records.c.parent.startswith(namespace + ":", autoescape=True))
    rows = conn.execute(sa.select(reg_records).where(where, reg_records.c.removed_at.is_(None))
                        .order_by(reg_records.c.type, reg_records.c.urn)).all()
    return [_to_record(conn, row) for row in rows]


def thd_insert(conn, *, urn, gid, uuid, now, email=None, ssh_keys=(), expires=None):
    """Insert a new record; ExistingRecord if its name is taken or reserved.

    A tombstone whose reservation is over, or a slice that has expired, is
    replaced. Returns the new Record.
    """
    urn = URN.parse(urn)
    key = record_key(urn)
    old = _row(conn, key, lock=True, include_removed=True)
    if old is not None:
        _refuse_or_clear(conn, old, urn, now)
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(reg_records).values(
                key=key, urn=str(urn), type=urn.type, parent=parent_namespace(urn), gid=gid,
                uuid=uuid, email=email, ssh_keys=list(ssh_keys),
                expires=as_utc(expires, "expiry") if expires is not None else None,
                created=as_utc(now, "now"), updated=as_utc(now, "now")))
    except sa.exc.IntegrityError:
        raise ExistingRecord(f"{urn.hrn} ({urn.type})", "another request registered it just "
                             "now; resolve it, or pick another name") from None
    return _to_record(conn, _row(conn, key))


def _refuse_or_clear(conn, old, urn, now):
    what = f"{urn.hrn} ({urn.type})"
    if old.removed_at is None:
        if old.type == "slice" and old.expires is not None and old.expires <= now:
            pass  # an expired slice's name may be used again
        else:
            raise ExistingRecord(what, "the name is taken; pick another name, or Update the "
                                 "existing record")
    elif old.reserved_until is not None and old.reserved_until > now:
        raise ExistingRecord(
            what, f"it was removed at {old.removed_at:%Y-%m-%dT%H:%M:%SZ} and its name stays "
            f"reserved until {old.reserved_until:%Y-%m-%dT%H:%M:%SZ}, when the credentials "
            "issued for it have expired; pick another name or register it after that")
    conn.execute(sa.delete(reg_members).where(sa.or_(reg_members.c.record_id == old.id,
                                                     reg_members.c.user_id == old.id)))
    conn.execute(sa.delete(reg_records).where(reg_records.c.id == old.id))


def thd_update(conn, record, now, **values):
    """Change columns of a live record (``expires``, ``email``, ``ssh_keys``, ``gid``)."""
    allowed = {"expires", "email", "ssh_keys", "gid"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if "ssh_keys" in values:
        values["ssh_keys"] = list(values["ssh_keys"])
    conn.execute(sa.update(reg_records).where(reg_records.c.id == record.id)
                 .values(updated=as_utc(now, "now"), **values))
    return _to_record(conn, conn.execute(
        sa.select(reg_records).where(reg_records.c.id == record.id)).first())


def thd_set_members(conn, record, role, user_records):
    """Make ``user_records`` exactly the holders of ``role`` in ``record``."""
    conn.execute(sa.delete(reg_members).where(reg_members.c.record_id == record.id,
                                              reg_members.c.role == role))
    seen = set()
    for user in user_records:
        if user.id in seen:
            continue
        seen.add(user.id)
        conn.execute(sa.insert(reg_members).values(record_id=record.id, user_id=user.id,
                                                   role=role))


def thd_add_member(conn, record, role, user):
    exists = conn.execute(sa.select(reg_members.c.role).where(
        reg_members.c.record_id == record.id, reg_members.c.user_id == user.id,
        reg_members.c.role == role)).first()
    if exists is None:
        conn.execute(sa.insert(reg_members).values(record_id=record.id, user_id=user.id,
                                                   role=role))


def thd_remove(conn, record, now, reserved_until):
    """Turn a live record into a tombstone and drop its roles."""
    conn.execute(sa.delete(reg_members).where(sa.or_(reg_members.c.record_id == record.id,
                                                     reg_members.c.user_id == record.id)))
    conn.execute(sa.update(reg_records).where(reg_records.c.id == record.id).values(
        removed_at=as_utc(now, "now"), updated=as_utc(now, "now"),
        reserved_until=as_utc(reserved_until, "reserved_until")))


def thd_reload(conn, record):
    row = conn.execute(sa.select(reg_records).where(reg_records.c.id == record.id)).first()
    return _to_record(conn, row)


__all__ = ["Record", "RecordNotFound", "ExistingRecord", "thd_get", "thd_require", "thd_find",
           "thd_children", "thd_insert", "thd_update", "thd_set_members", "thd_add_member",
           "thd_remove", "thd_reload"]
