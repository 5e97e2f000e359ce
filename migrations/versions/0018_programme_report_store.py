"""Programme reports kept for download: the monthly job's files (docs/programme-report.md),
and `staff_role.role` widened from 16 to 24 characters for the role `programme_officer`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("staff_role") as batch_op:
        batch_op.alter_column(
            "role", existing_type=sa.String(length=16), type_=sa.String(length=24)
        )
    op.create_table(
        "programme_report",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("scope_key", sa.String(length=140), nullable=False),
        sa.Column("scope_label", sa.String(length=200), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("csv_text", sa.Text(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_report")),
        sa.UniqueConstraint(
            "first_day",
            "last_day",
            "scope_key",
            name=op.f("uq_programme_report_first_day"),
        ),
    )


def downgrade() -> None:
    op.drop_table("programme_report")
    op.execute("DELETE FROM staff_role WHERE role = 'programme_officer'")
    with op.batch_alter_table("staff_role") as batch_op:
        batch_op.alter_column(
            "role", existing_type=sa.String(length=24), type_=sa.String(length=16)
        )
