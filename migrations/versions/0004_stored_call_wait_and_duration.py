"""Stored wait and duration on each call, filled for existing calls, with their indexes.

The call log filters and sorts by them; an index on a stored integer serves both, and
keyset pagination over integers is exact. The app keeps them up to date on every flush
(`helpline.models.calls._settle_seconds`); here they are computed once for existing rows
with the same rounding, `trunc(seconds + 0.5)`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:23:46.212175
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seconds(start: str, end: str, dialect: str) -> str:
    """SQL for whole seconds from start to end (NULL if either is), rounded half up."""
    if dialect == "postgresql":
        return f"TRUNC(EXTRACT(EPOCH FROM ({end} - {start})) + 0.5)::integer"
    # SQLite: julianday keeps milliseconds; CAST truncates towards zero, as TRUNC does.
    return f"CAST((julianday({end}) - julianday({start})) * 86400.0 + 0.5 AS INTEGER)"


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wait_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("duration_seconds", sa.Integer(), nullable=True))

    dialect = op.get_bind().dialect.name
    wait = _seconds("queued_at", "COALESCE(answered_at, ended_at)", dialect)
    duration = _seconds("started_at", "ended_at", dialect)
    op.execute(f'UPDATE "call" SET wait_seconds = {wait}, duration_seconds = {duration}')

    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index("ix_call_duration_id", ["duration_seconds", "id"], unique=False)
        batch_op.create_index("ix_call_wait_id", ["wait_seconds", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index("ix_call_wait_id")
        batch_op.drop_index("ix_call_duration_id")
        batch_op.drop_column("duration_seconds")
        batch_op.drop_column("wait_seconds")
