"""Retention: the destruction log, and the audit chain's purge anchor.

`destruction_log` keeps one row per kind of data destroyed by a purge run. `audit_head`
gains `purged_through` and `purged_through_hash`: the last audit entry destroyed by
retention, from which `audit.verify` starts. The append-only guard now lets a DELETE
through only for entries at or before that anchor (and, on PostgreSQL, only in a
transaction that set `helpline.audit_purge`); UPDATE stays refused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

_PG_GUARD = """
    CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('helpline.audit_purge', true) = 'on'
           AND OLD.seq <= (SELECT purged_through FROM audit_head WHERE id = 1) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_entry is append-only';
    END;
    $$ LANGUAGE plpgsql
"""

_PG_GUARD_BEFORE = """
    CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('helpline.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_entry is append-only';
    END;
    $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "destruction_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("performed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("actor_label", sa.String(length=120), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_log")),
    )
    op.create_index(
        "ix_destruction_log_performed", "destruction_log", ["performed_at", "id"], unique=False
    )
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.add_column(
            sa.Column("purged_through", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "purged_through_hash", sa.String(length=64), server_default=GENESIS, nullable=False
            )
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        op.execute("""
            CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
            WHEN OLD.seq > (SELECT purged_through FROM audit_head WHERE id = 1)
            BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD_BEFORE)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        op.execute("""
            CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
            BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END
        """)
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.drop_column("purged_through_hash")
        batch_op.drop_column("purged_through")
    op.drop_index("ix_destruction_log_performed", table_name="destruction_log")
    op.drop_table("destruction_log")
