"""The programme report's indexes: the opening-hours checks that found the line closed.

Reach counts a call out of hours when an opening-hours check of its (`call_event`,
kind `hours_checked`, `data.open` false) falls in the period. Without an index
PostgreSQL read every event of the year, parsing each one's JSON, once per parallel
worker: about 1.3 s of a year's report on a line with a million calls a year
(docs/programme-report.md, Speed). `ix_call_event_closed_hours` holds only those checks,
by time, with the call: the report reads them from the index alone.

PostgreSQL's condition is the report's, word for word (the planner uses a partial index
only when the query implies its condition); SQLite's is the same condition as SQLite
reads the JSON.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSED_PG = "kind = 'hours_checked' AND ((data ->> 'open')::boolean) IS FALSE"
CLOSED_SQLITE = "kind = 'hours_checked' AND json_extract(data, '$.open') IS 0"


def upgrade() -> None:
    op.create_index(
        "ix_call_event_closed_hours",
        "call_event",
        ["occurred_at", "call_id"],
        unique=False,
        postgresql_where=sa.text(CLOSED_PG),
        sqlite_where=sa.text(CLOSED_SQLITE),
    )


def downgrade() -> None:
    op.drop_index("ix_call_event_closed_hours", table_name="call_event")
