"""What a caller said of their age in the IVR: routing's age rules read it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call") as batch_op:
        batch_op.add_column(sa.Column("age_group", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call") as batch_op:
        batch_op.drop_column("age_group")
