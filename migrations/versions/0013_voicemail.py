"""Voicemail messages: each one a counsellor's work, with the caller's consent to its
being heard, its urgency, and who handled it when.

A partial index on (is_urgent, created_at) of the unhandled messages serves the inbox and
the supervisor's list (urgent first, then oldest first).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNHANDLED = "handled_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "voicemail",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("recording_id", BIG_ID, nullable=False),
        sa.Column("call_id", BIG_ID, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("is_urgent", sa.Boolean(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("callback_request_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recording.id"],
            name=op.f("fk_voicemail_recording_id_recording"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_voicemail_call_id_call"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["staff.id"], name=op.f("fk_voicemail_handled_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["callback_request_id"],
            ["callback_request.id"],
            name=op.f("fk_voicemail_callback_request_id_callback_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_voicemail_recording_id")),
    )
    op.create_index(op.f("ix_voicemail_call_id"), "voicemail", ["call_id"], unique=False)
    op.create_index(
        "ix_voicemail_unhandled",
        "voicemail",
        ["is_urgent", "created_at"],
        unique=False,
        postgresql_where=sa.text(UNHANDLED),
        sqlite_where=sa.text(UNHANDLED),
    )


def downgrade() -> None:
    op.drop_index("ix_voicemail_unhandled", table_name="voicemail")
    op.drop_index(op.f("ix_voicemail_call_id"), table_name="voicemail")
    op.drop_table("voicemail")
