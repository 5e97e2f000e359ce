"""IVR state on each call, and pinned flow versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:58:03.936448
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_version")),
        sa.UniqueConstraint("flow_id", "version", name="uq_flow_version_flow_version"),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ivr_state", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("ivr_state")

    op.drop_table("flow_version")
