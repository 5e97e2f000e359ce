"""The counsellor's record of a psychosocial-support contact, its versions and referrals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.models.base import Base, EncryptedText, UTCDateTime, utcnow
from helpline.models.calls import BigId
from helpline.models.enums import ContactStatus, ContactType, ReferralStatus, RiskLevel


class ContactRecord(Base):
    """The current state of a contact record. Every saved edit also becomes a version."""

    __tablename__ = "contact_record"
    __table_args__ = (
        sa.Index("ix_contact_record_caller_created", "caller_id", "created_at"),
        sa.Index("ix_contact_record_counsellor_created", "counsellor_id", "created_at"),
        sa.Index("ix_contact_record_risk_created", "risk_level", "created_at"),
        # A case's contacts, newest first (its timeline).
        sa.Index("ix_contact_record_case_created", "case_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("call.id", ondelete="SET NULL"), unique=True
    )
    caller_id: Mapped[int | None] = mapped_column(sa.ForeignKey("caller.id", ondelete="SET NULL"))
    counsellor_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    # The case this contact belongs to (helpline/cases), if any.
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(8), default=ContactStatus.DRAFT.value)
    call_type: Mapped[str] = mapped_column(sa.String(24), default=ContactType.DATA.value)
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    summary_encrypted: Mapped[str | None] = mapped_column(EncryptedText)
    risk_level: Mapped[str] = mapped_column(sa.String(12), default=RiskLevel.NONE.value)
    is_safety_plan_made: Mapped[bool] = mapped_column(default=False)
    follow_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    referrals: Mapped[list[Referral]] = relationship(
        back_populates="contact_record", cascade="all, delete-orphan", order_by="Referral.id"
    )
    versions: Mapped[list[ContactRecordVersion]] = relationship(
        back_populates="contact_record", order_by="ContactRecordVersion.version"
    )


class ContactRecordVersion(Base):
    """An immutable snapshot of a contact record as saved by one edit."""

    __tablename__ = "contact_record_version"
    __table_args__ = (
        sa.UniqueConstraint("contact_record_id", "version", name="uq_contact_record_version"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact_record.id", ondelete="CASCADE")
    )
    version: Mapped[int]
    edited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    edited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(8))
    call_type: Mapped[str] = mapped_column(sa.String(24))
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    summary_encrypted: Mapped[str | None] = mapped_column(EncryptedText)
    risk_level: Mapped[str] = mapped_column(sa.String(12))
    is_safety_plan_made: Mapped[bool]
    follow_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    referrals: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    contact_record: Mapped[ContactRecord] = relationship(back_populates="versions")


class Referral(Base):
    """A referral made during a contact: an SSC by province, or another service."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact_record.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    province: Mapped[str | None] = mapped_column(sa.String(64))
    destination: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(12), default=ReferralStatus.SUGGESTED.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact_record: Mapped[ContactRecord] = relationship(back_populates="referrals")
