"""Indexes for the supervisor's call log, and for callbacks by call and by due time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:23:09.121005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index("ix_call_started_id", ["started_at", "id"], unique=False)

    with op.batch_alter_table("callback_request", schema=None) as batch_op:
        batch_op.create_index("ix_callback_request_call", ["call_id"], unique=False)
        batch_op.create_index("ix_callback_request_due", ["due_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback_request", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_request_due")
        batch_op.drop_index("ix_callback_request_call")

    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index("ix_call_started_id")
