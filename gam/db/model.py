"""The tables of gam, as SQLAlchemy Core ``MetaData``.

This is the shape the Alembic migrations must produce (a test compares
them). Change a table here *and* add a migration under
``gam/db/migrations/versions``. The registry's tables will join this
``metadata`` later; names here are the AM's.
"""
import sqlalchemy as sa

from gam.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

URN = sa.String(512)

#: One row per slice known to this AM.
slices = sa.Table(
    "slices", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("urn", URN, nullable=False, unique=True),
    sa.Column("expires", UTCDateTime, nullable=False),
    sa.Column("shutdown", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("shutdown_at", UTCDateTime, nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
)

#: One row per sliver ever made. Rows are never removed: ``deleted_at``
#: marks a deleted sliver, and the unique URN keeps it from being reused.
slivers = sa.Table(
    "slivers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("urn", URN, nullable=False, unique=True),
    sa.Column("slice_id", sa.Integer, sa.ForeignKey("slices.id"), nullable=False,
              index=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("resource_type", sa.String(64), nullable=False),
    sa.Column("sliver_type", sa.String(128), nullable=True),
    sa.Column("component_id", URN, nullable=True),
    sa.Column("allocation_state", sa.String(32), nullable=False),
    sa.Column("operational_state", sa.String(32), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("expires", UTCDateTime, nullable=False, index=True),
    sa.Column("start_time", UTCDateTime, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    sa.Column("request_xml", sa.Text, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.CheckConstraint("kind IN ('node', 'link')", name="kind"),
)

#: The schedule's inventory: what can be booked.
#: ``capacity`` is 1 for a bounded resource, the total for a pool and the
#: number of tags for a VLAN pool (whose ``ranges`` is a JSON list of
#: inclusive ``[low, high]`` pairs). ``max_span_s`` is the longest
#: reservation ever booked on the resource, in whole seconds: it bounds
#: the index range that overlap queries scan.
resources = sa.Table(
    "resources", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", URN, nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("capacity", sa.BigInteger, nullable=False),
    sa.Column("unit", sa.String(32), nullable=True),
    sa.Column("ranges", sa.JSON, nullable=True),
    sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("max_span_s", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.CheckConstraint("kind IN ('bounded', 'pool', 'vlan')", name="kind"),
    sa.CheckConstraint("capacity >= 0", name="capacity"),
)

#: Bookings over half-open intervals ``[start_at, end_at)``, stored in UTC.
#: ``amount`` is 1 for bounded resources and VLAN tags; ``tag`` is set for
#: VLAN pools. Rows are removed when cancelled or expired.
reservations = sa.Table(
    "reservations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("resource_id", sa.Integer, sa.ForeignKey("resources.id"),
              nullable=False),
    sa.Column("holder", URN, nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("tag", sa.Integer, nullable=True),
    sa.Column("start_at", UTCDateTime, nullable=False),
    sa.Column("end_at", UTCDateTime, nullable=False, index=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.CheckConstraint("end_at > start_at", name="interval"),
    sa.CheckConstraint("amount > 0", name="amount"),
    # Overlap queries seek (resource_id, start_at) within a window bounded
    # by max_span_s; the other columns make the index covering.
    sa.Index("ix_reservations_resource_start", "resource_id", "start_at",
             "end_at", "amount", "tag"),
)


# ---------------------------------------------------------------- registry
# The SFA-style registry (gam.registry): its records and who holds which
# role in them. Migration 0002 creates these tables.

#: One row per registry record: an authority, user, slice or node.
#: ``key`` is the lookup key (gam.registry.hrn.record_key: the URN with its
#: authority folded to lower case); ``parent`` the namespace the record lives
#: in ('' for the root authority). ``gid`` is the PEM certificate chain the
#: registry issued. A removed record stays as a tombstone (``removed_at``)
#: whose name cannot be registered again before ``reserved_until``, when
#: every credential issued for it has expired.
reg_records = sa.Table(
    "reg_records", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", URN, nullable=False, unique=True),
    sa.Column("urn", URN, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("parent", URN, nullable=False, index=True),
    sa.Column("gid", sa.Text, nullable=False),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("ssh_keys", sa.JSON, nullable=False),
    sa.Column("expires", UTCDateTime, nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("removed_at", UTCDateTime, nullable=True),
    sa.Column("reserved_until", UTCDateTime, nullable=True),
    sa.CheckConstraint("type IN ('authority', 'user', 'slice', 'node')", name="type"),
)

#: Roles: a user is a ``researcher`` of a slice or a ``pi`` of an authority.
reg_members = sa.Table(
    "reg_members", metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("reg_records.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("reg_records.id", ondelete="CASCADE"),
              primary_key=True, index=True),
    sa.Column("role", sa.String(16), primary_key=True),
    sa.CheckConstraint("role IN ('researcher', 'pi')", name="role"),
)
