"""The destruction log: what retention destroyed, when, and up to which date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, UTCDateTime, utcnow
from helpline.models.calls import BigId


class DestructionLog(Base):
    """One kind of data destroyed by one purge run (KVKK: kept three years).

    `cutoff` is the instant before which data of that kind was past its retention;
    `count` how many items were destroyed (recordings, contact records, callers, cases,
    persons, audit entries or older destruction-log rows); `details` names ranges, never content.
    """

    __tablename__ = "destruction_log"
    __table_args__ = (sa.Index("ix_destruction_log_performed", "performed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(24))
    performed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cutoff: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    count: Mapped[int]
    actor_label: Mapped[str] = mapped_column(sa.String(120))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
