""" "My cases" by one partial index: a worker's cases being worked, by next due action.

`ix_case_worker_status_due` (worker, status, next due) found a worker's cases being
worked, but for four statuses it cannot give them in next-due order: PostgreSQL read all
of them and sorted (21 ms for 3,470 cases in the cases benchmark, docs/BENCHMARKS.md).
`ix_case_worker_worked_due` holds only the cases being worked (open, active, on hold,
reopened), in the page's order (next due, opened, id), so the first 200 are read from
the index (under 1 ms). Nothing else used the old index; it goes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 04:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORKED = "status IN ('open', 'active', 'on_hold', 'reopened')"


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_worker_worked_due",
            ["worker_id", "next_due_at", "opened_at", "id"],
            unique=False,
            postgresql_where=sa.text(WORKED),
            sqlite_where=sa.text(WORKED),
        )
        batch_op.drop_index("ix_case_worker_status_due")


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_worker_status_due", ["worker_id", "status", "next_due_at"], unique=False
        )
        batch_op.drop_index("ix_case_worker_worked_due")
