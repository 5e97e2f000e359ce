"""Emergency calls: a caller whose duty line did not answer waits at the front of the
queue for any counsellor (`call.is_emergency`), and the dispatcher finds the connected
ones that still need an interpreter through a partial index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMERGENCY_OPEN = "is_emergency AND ended_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("call") as batch_op:
        batch_op.add_column(
            sa.Column("is_emergency", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_call_emergency_open",
        "call",
        ["answered_at", "id"],
        postgresql_where=sa.text(EMERGENCY_OPEN),
        sqlite_where=sa.text(EMERGENCY_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_call_emergency_open", table_name="call")
    with op.batch_alter_table("call") as batch_op:
        batch_op.drop_column("is_emergency")
