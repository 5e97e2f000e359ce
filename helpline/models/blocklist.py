"""The block list: numbers that may not reach the line for a while, by blind index."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, EncryptedText, UTCDateTime, utcnow

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class BlockedNumber(Base):
    """One block of one number, from `created_at` until `expires_at` or its removal.

    The number is found by its blind index and kept only encrypted (the console shows it
    masked). Expired and removed entries stay, as the record of what was blocked when.
    """

    __tablename__ = "blocked_number"
    __table_args__ = (sa.Index("ix_blocked_number_index_expires", "number_index", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number_index: Mapped[str] = mapped_column(sa.String(64))
    number_encrypted: Mapped[str] = mapped_column(EncryptedText)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    def is_active(self, now: dt.datetime) -> bool:
        return self.removed_at is None and self.expires_at > now
