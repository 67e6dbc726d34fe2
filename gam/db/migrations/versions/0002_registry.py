"""The registry's tables: records (authorities, users, slices, nodes) and roles.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the types at this revision (do not import gam.db.model).
URN = sa.String(512)
TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "reg_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", URN, nullable=False),
        sa.Column("urn", URN, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("parent", URN, nullable=False),
        sa.Column("gid", sa.Text, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("ssh_keys", sa.JSON, nullable=False),
        sa.Column("expires", TIME, nullable=True),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.Column("removed_at", TIME, nullable=True),
        sa.Column("reserved_until", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_records")),
        sa.UniqueConstraint("key", name=op.f("uq_reg_records_key")),
        sa.CheckConstraint("type IN ('authority', 'user', 'slice', 'node')",
                           name=op.f("ck_reg_records_type")),
    )
    op.create_index(op.f("ix_reg_records_parent"), "reg_records", ["parent"])
    op.create_table(
        "reg_members",
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "user_id", "role", name=op.f("pk_reg_members")),
        sa.ForeignKeyConstraint(["record_id"], ["reg_records.id"], ondelete="CASCADE",
                                name=op.f("fk_reg_members_record_id_reg_records")),
        sa.ForeignKeyConstraint(["user_id"], ["reg_records.id"], ondelete="CASCADE",
                                name=op.f("fk_reg_members_user_id_reg_records")),
        sa.CheckConstraint("role IN ('researcher', 'pi')", name=op.f("ck_reg_members_role")),
    )
    op.create_index(op.f("ix_reg_members_user_id"), "reg_members", ["user_id"])


def downgrade():
    op.drop_table("reg_members")
    op.drop_table("reg_records")
