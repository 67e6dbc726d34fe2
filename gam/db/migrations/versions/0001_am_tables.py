"""The AM's tables: slices, slivers, resources, reservations.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the types at this revision (do not import gam.db.model).
URN = sa.String(512)
TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "slices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("urn", URN, nullable=False),
        sa.Column("expires", TIME, nullable=False),
        sa.Column("shutdown", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("shutdown_at", TIME, nullable=True),
        sa.Column("created", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slices")),
        sa.UniqueConstraint("urn", name=op.f("uq_slices_urn")),
    )
    op.create_table(
        "slivers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("urn", URN, nullable=False),
        sa.Column("slice_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("sliver_type", sa.String(128), nullable=True),
        sa.Column("component_id", URN, nullable=True),
        sa.Column("allocation_state", sa.String(32), nullable=False),
        sa.Column("operational_state", sa.String(32), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("expires", TIME, nullable=False),
        sa.Column("start_time", TIME, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.Column("deleted_at", TIME, nullable=True),
        sa.Column("request_xml", sa.Text, nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slivers")),
        sa.UniqueConstraint("urn", name=op.f("uq_slivers_urn")),
        sa.ForeignKeyConstraint(["slice_id"], ["slices.id"],
                                name=op.f("fk_slivers_slice_id_slices")),
        sa.CheckConstraint("kind IN ('node', 'link')", name=op.f("ck_slivers_kind")),
    )
    op.create_index(op.f("ix_slivers_slice_id"), "slivers", ["slice_id"])
    op.create_index(op.f("ix_slivers_expires"), "slivers", ["expires"])

    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", URN, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("capacity", sa.BigInteger, nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("ranges", sa.JSON, nullable=True),
        sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("max_span_s", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint("name", name=op.f("uq_resources_name")),
        sa.CheckConstraint("kind IN ('bounded', 'pool', 'vlan')",
                           name=op.f("ck_resources_kind")),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_resources_capacity")),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_id", sa.Integer, nullable=False),
        sa.Column("holder", URN, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("tag", sa.Integer, nullable=True),
        sa.Column("start_at", TIME, nullable=False),
        sa.Column("end_at", TIME, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_reservations_resource_id_resources")),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_reservations_interval")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_reservations_amount")),
    )
    op.create_index(op.f("ix_reservations_holder"), "reservations", ["holder"])
    op.create_index(op.f("ix_reservations_end_at"), "reservations", ["end_at"])
    op.create_index(op.f("ix_reservations_resource_start"), "reservations",
                    ["resource_id", "start_at", "end_at", "amount", "tag"])


def downgrade():
    op.drop_table("reservations")
    op.drop_table("resources")
    op.drop_table("slivers")
    op.drop_table("slices")
