"""The append-only access audit log, chained by hashes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, UTCDateTime, utcnow
from helpline.models.calls import BigId


class AuditEntry(Base):
    """Who did what to which target, when and from where.

    `entry_hash` covers every other field and the previous entry's hash, so changing or
    deleting any entry breaks the chain. `seq` has no gaps; `AuditHead` holds the last
    one, so even removing the newest entries is detected.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_occurred", "occurred_at"),
        sa.Index("ix_audit_entry_actor_occurred", "actor_id", "occurred_at"),
        sa.Index("ix_audit_entry_target", "target_type", "target_id"),
        sa.Index("ix_audit_entry_action_occurred", "action", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(48))
    target_type: Mapped[str | None] = mapped_column(sa.String(32))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    request_id: Mapped[str | None] = mapped_column(sa.String(32))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The single row naming the newest audit entry; locking it serialises appends.

    `purged_through` and `purged_through_hash` name the last entry destroyed by retention
    (0 and the genesis hash while none was): the chain is checked from the entry after it.
    """

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64))
    purged_through: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    purged_through_hash: Mapped[str] = mapped_column(
        sa.String(64), default="0" * 64, server_default="0" * 64
    )
