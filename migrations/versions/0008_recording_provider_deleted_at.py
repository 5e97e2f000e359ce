"""Retention deletes recordings at the provider too: when the provider confirmed it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recording") as batch_op:
        batch_op.add_column(
            sa.Column("provider_deleted_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("recording") as batch_op:
        batch_op.drop_column("provider_deleted_at")
