"""The block list: numbers that may not reach the line until their entry expires.

Entries are found by the number's blind index (the number itself is kept only
encrypted), with an index on (number_index, expires_at) for the check on every incoming
call when Redis cannot answer it, and one on expires_at for the console's list.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blocked_number",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number_index", sa.String(length=64), nullable=False),
        sa.Column("number_encrypted", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call.id"],
            name=op.f("fk_blocked_number_call_id_call"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_blocked_number_created_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"], ["staff.id"], name=op.f("fk_blocked_number_removed_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_number")),
    )
    op.create_index(
        "ix_blocked_number_index_expires",
        "blocked_number",
        ["number_index", "expires_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_blocked_number_expires_at"), "blocked_number", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_blocked_number_expires_at"), table_name="blocked_number")
    op.drop_index("ix_blocked_number_index_expires", table_name="blocked_number")
    op.drop_table("blocked_number")
