"""Callback requests: the database is the truth, RQ only moves the work."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.models.base import Base, UTCDateTime, utcnow
from helpline.models.calls import BigId, Caller
from helpline.models.enums import CallbackStatus


class CallbackRequest(Base):
    """A promise to call someone back, within a due window, a bounded number of times.

    Work is claimed by a conditional UPDATE on `status`, so redelivered jobs are harmless.
    `queue_entered_at` keeps a caller's place when they asked for a callback while waiting.
    """

    __tablename__ = "callback_request"
    __table_args__ = (
        sa.Index("ix_callback_request_status_next", "status", "next_attempt_at"),
        sa.Index("ix_callback_request_caller", "caller_id"),
        sa.Index("ix_callback_request_assigned_status", "assigned_staff_id", "status"),
        # A call's callbacks (call detail, the call log's callback filter) and the KPIs'
        # callbacks due in a period.
        sa.Index("ix_callback_request_call", "call_id"),
        sa.Index("ix_callback_request_due", "due_from"),
        # A record's follow-ups (records.service.open_follow_up, a case's timeline).
        sa.Index("ix_callback_request_contact_record", "contact_record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    caller_id: Mapped[int] = mapped_column(sa.ForeignKey("caller.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call.id", ondelete="SET NULL"))
    contact_record_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact_record.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[str] = mapped_column(sa.String(8))
    topic: Mapped[str | None] = mapped_column(sa.String(32))
    priority: Mapped[int] = mapped_column(default=0)
    queue_entered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    due_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    status: Mapped[str] = mapped_column(sa.String(12), default=CallbackStatus.PENDING.value)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    preferred_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    assigned_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    caller: Mapped[Caller] = relationship()
