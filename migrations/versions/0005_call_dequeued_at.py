"""When a caller stopped waiting: the waiting calls are those queued and not yet dequeued.

The router reads the waiting calls on every decision, so they have an index of their own
(queued, not dequeued, not ended), ordered by when they began to wait.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 02:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("queued_at IS NOT NULL AND dequeued_at IS NULL AND ended_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("call") as batch_op:
        batch_op.add_column(sa.Column("dequeued_at", sa.DateTime(timezone=True), nullable=True))
    # Calls that ended or were answered before this revision are not waiting any more.
    op.execute(
        'UPDATE "call" SET dequeued_at = COALESCE(answered_at, ended_at) '
        "WHERE queued_at IS NOT NULL"
    )
    op.create_index(
        "ix_call_waiting",
        "call",
        ["queued_at", "id"],
        unique=False,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_call_waiting", table_name="call")
    with op.batch_alter_table("call") as batch_op:
        batch_op.drop_column("dequeued_at")
