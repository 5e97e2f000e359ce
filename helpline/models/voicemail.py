"""Voicemail messages: a caller's recorded message, and the counsellor's work it becomes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.models.base import Base, UTCDateTime, partial_index, utcnow
from helpline.models.calls import BigId, Call, Recording

# Unhandled messages, the inbox's and the supervisor's list.
UNHANDLED = "handled_at IS NULL"


class Voicemail(Base):
    """One message a caller left: who it is for (its language), whether it is urgent, the
    caller's consent to its being heard, and who handled it when.

    The consent is the message's own: the voicemail prompt tells the caller that the
    line's staff will listen to what they leave, so leaving it is consenting to that,
    whether or not the number is known. It is kept apart from the call's consent to
    recording (`Call.is_recording_consented`).
    """

    __tablename__ = "voicemail"
    __table_args__ = (
        partial_index("ix_voicemail_unhandled", "is_urgent", "created_at", where=UNHANDLED),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        sa.ForeignKey("recording.id", ondelete="CASCADE"), unique=True
    )
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(sa.String(8))
    is_urgent: Mapped[bool] = mapped_column(default=False)
    # When the caller consented to the line's staff hearing this message (None: never).
    consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    callback_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("callback_request.id", ondelete="SET NULL")
    )

    recording: Mapped[Recording] = relationship(lazy="joined")
    call: Mapped[Call] = relationship()

    @property
    def is_consented(self) -> bool:
        return self.consented_at is not None

    @property
    def is_destroyed(self) -> bool:
        """Its audio was destroyed under the retention policy."""
        return self.recording.purged_at is not None or not self.recording.url
