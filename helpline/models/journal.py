"""The outage journal's replay guard (helpline/journal)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, UTCDateTime, utcnow


class JournalReplay(Base):
    """One journal entry replayed into the call log, by its key.

    Written in the replay's own transaction: a second replayer of the same entry (another
    process, or the same file replayed twice) fails on the primary key and writes nothing.
    """

    __tablename__ = "journal_replay"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    replayed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
