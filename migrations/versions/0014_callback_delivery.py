"""Provider callbacks are stored once by their delivery, room callbacks included.

`call_event.delivery` names the callback an entry was written for, the same on every
redelivery: a status callback's SequenceNumber (`status:<n>`), a conference room's
(`<ConferenceSid>:<n>`: numbered per room, and a call may have several rooms), or the
idempotency token. It replaces the unique (call, source, sequence_number), which could
not tell two rooms of one call apart; existing status callbacks get their key.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_event") as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=80), nullable=True))
    op.execute(
        "UPDATE call_event SET delivery = 'status:' || CAST(sequence_number AS VARCHAR(12))"
        " WHERE kind = 'status_callback' AND sequence_number IS NOT NULL"
    )
    with op.batch_alter_table("call_event") as batch_op:
        batch_op.drop_constraint("uq_call_event_call_source_sequence", type_="unique")
        batch_op.create_unique_constraint("uq_call_event_call_delivery", ["call_id", "delivery"])


def downgrade() -> None:
    # Room callbacks' SequenceNumbers would collide with the status callbacks' (and with
    # another room's) under the old constraint: only status callbacks keep theirs.
    op.execute(
        "UPDATE call_event SET sequence_number = NULL"
        " WHERE kind <> 'status_callback' AND sequence_number IS NOT NULL"
    )
    with op.batch_alter_table("call_event") as batch_op:
        batch_op.drop_constraint("uq_call_event_call_delivery", type_="unique")
        batch_op.create_unique_constraint(
            "uq_call_event_call_source_sequence", ["call_id", "source", "sequence_number"]
        )
        batch_op.drop_column("delivery")
