"""What happened to a duty supervisor's alert: who acknowledged it, and when it rang.

An alert is a CallEvent of one of the alert kinds (helpline/alerts/rules.py); other parts
of the app only append those events. This table holds what the alert itself adds, one
row per alerting event at most, created by whichever comes first: an acknowledgement or
the ring. Both are claimed with a conditional INSERT ... ON CONFLICT DO UPDATE, so two
supervisors acknowledging at once, or two workers sweeping at once, act once.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, UTCDateTime
from helpline.models.calls import BigId


class AlertState(Base):
    __tablename__ = "alert_state"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_event_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("call_event.id", ondelete="CASCADE"), unique=True
    )
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    rung_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # claimed to ring
    rings: Mapped[int] = mapped_column(default=0)  # staff phones the provider accepted
