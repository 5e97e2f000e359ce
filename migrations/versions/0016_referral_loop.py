"""Referrals, closed loop: statuses, dated steps, consent, service provided, due times.

A referral now moves proposed -> consented -> sent -> accepted or declined -> service
provided -> closed (helpline/referrals/states.py). Each step is a `referral_step` row
(status, when, by whom, an encrypted note such as a decline's reason). `referral` gains
`status_at`, `due_at` (when the next step is overdue), the person's contact preference and
language (given with their consent), and the service provided (date, what, an encrypted
note). `status` widens to 20 characters ("service_provided").

Existing referrals are mapped: suggested -> proposed, made -> sent, confirmed ->
accepted. Each gets one step in its new status, dated at its creation and taken by the
record's counsellor; a "sent" one has no consented step before it (consent was not
recorded then). Their `due_at` stays empty: the periods of data/referrals.yaml apply
from their next step.
Downgrading maps back (proposed, consented -> suggested; sent, declined, closed -> made;
accepted, service provided -> confirmed) and drops what the loop added.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07 03:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UP = {"suggested": "proposed", "made": "sent", "confirmed": "accepted"}
DOWN = {
    "proposed": "suggested",
    "consented": "suggested",
    "sent": "made",
    "declined": "made",
    "closed": "made",
    "accepted": "confirmed",
    "service_provided": "confirmed",
}


def _map(mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        op.execute(
            sa.text("UPDATE referral SET status = :new WHERE status = :old").bindparams(
                new=new, old=old
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=12), type_=sa.String(length=20)
        )
        batch_op.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("contact_preference", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("service_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("service_what", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("service_note_encrypted", sa.Text(), nullable=True))
        batch_op.create_index("ix_referral_site_status", ["site_id", "status"], unique=False)
        batch_op.create_index("ix_referral_due", ["due_at"], unique=False)
    op.create_table(
        "referral_step",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("referral_id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("note_encrypted", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
            name=op.f("fk_referral_step_referral_id_referral"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["by_id"], ["staff.id"], name=op.f("fk_referral_step_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_step")),
    )
    op.create_index(
        op.f("ix_referral_step_referral_id"), "referral_step", ["referral_id"], unique=False
    )
    _map(UP)
    op.execute("UPDATE referral SET status_at = created_at")
    # No note: notes are Fernet tokens under the app's keys, which a migration has not.
    op.execute(
        "INSERT INTO referral_step (referral_id, status, at, by_id, note_encrypted)"
        " SELECT referral.id, referral.status, referral.created_at,"
        " contact_record.counsellor_id, NULL"
        " FROM referral JOIN contact_record ON contact_record.id = referral.contact_record_id"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_referral_step_referral_id"), table_name="referral_step")
    op.drop_table("referral_step")
    _map(DOWN)
    with op.batch_alter_table("referral") as batch_op:
        batch_op.drop_index("ix_referral_due")
        batch_op.drop_index("ix_referral_site_status")
        batch_op.drop_column("service_note_encrypted")
        batch_op.drop_column("service_what")
        batch_op.drop_column("service_on")
        batch_op.drop_column("language")
        batch_op.drop_column("contact_preference")
        batch_op.drop_column("due_at")
        batch_op.drop_column("status_at")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=20), type_=sa.String(length=12)
        )
