"""Pinned flow versions: every version a call started on stays loadable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, UTCDateTime, utcnow


class FlowVersion(Base):
    """A flow exactly as a call started on it, so editing the file never breaks that call."""

    __tablename__ = "flow_version"
    __table_args__ = (
        sa.UniqueConstraint("flow_id", "version", name="uq_flow_version_flow_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[str] = mapped_column(sa.String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    first_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
