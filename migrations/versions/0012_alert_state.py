"""The duty supervisor's alerts: who acknowledged each, and when it rang.

One row per alerting call event at most (unique call_event_id), written by the
acknowledgement or the ring sweep, whichever comes first. The sweep finds due alerts
through call_event's existing (kind, occurred_at) index and this unique index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "alert_state",
        sa.Column("id", big, nullable=False),
        sa.Column("call_event_id", big, nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("rung_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_event_id"],
            ["call_event.id"],
            name=op.f("fk_alert_state_call_event_id_call_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["staff.id"],
            name=op.f("fk_alert_state_acknowledged_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_state")),
        sa.UniqueConstraint("call_event_id", name=op.f("uq_alert_state_call_event_id")),
    )


def downgrade() -> None:
    op.drop_table("alert_state")
