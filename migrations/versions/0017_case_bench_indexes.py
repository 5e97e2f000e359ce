"""My cases and the caseload by partial indexes of the cases being worked.

Both hold only the cases being worked (open, active, on hold, reopened):

- `ix_case_worker_worked_due` (worker, next due, opened, id), in the order of "My
  cases", so its first 200 are read from the index (under 1 ms). It replaces
  `ix_case_worker_status_due` (worker, status, next due), which cannot give four
  statuses in next-due order: PostgreSQL read all of the worker's cases and sorted them
  (21 ms for 3,470 in the cases benchmark, docs/BENCHMARKS.md). Nothing else used it.
- `ix_case_site_worked` (site, worker, status, next due, opened) holds every column the
  caseload counts, so a centre's caseload is an index-only scan (6 ms for 11,369 cases,
  against 50-70 ms visiting their rows).

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
        batch_op.create_index(
            "ix_case_site_worked",
            ["site_id", "worker_id", "status", "next_due_at", "opened_at"],
            unique=False,
            postgresql_where=sa.text(WORKED),
            sqlite_where=sa.text(WORKED),
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_site_worked")
        batch_op.create_index(
            "ix_case_worker_status_due", ["worker_id", "status", "next_due_at"], unique=False
        )
        batch_op.drop_index("ix_case_worker_worked_due")
