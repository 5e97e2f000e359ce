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
    """A referral made during a contact: an SSC by province, or another service.

    It moves through the closed loop of `ReferralStatus`; each step is a `ReferralStep`.
    `due_at` is when the next step is overdue (None once closed); `site_id` is the
    helpline's site for an SSC that the directory links to one, whose focal point acts.
    """

    __tablename__ = "referral"
    __table_args__ = (
        sa.Index("ix_referral_site_status", "site_id", "status"),
        sa.Index("ix_referral_due", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact_record.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    province: Mapped[str | None] = mapped_column(sa.String(64))
    destination: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default=ReferralStatus.PROPOSED.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Recorded with the person's consent: when the centre may call, in which language.
    contact_preference: Mapped[str | None] = mapped_column(sa.String(16))
    language: Mapped[str | None] = mapped_column(sa.String(8))
    service_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    service_what: Mapped[str | None] = mapped_column(sa.String(200))
    service_note_encrypted: Mapped[str | None] = mapped_column(EncryptedText)

    contact_record: Mapped[ContactRecord] = relationship(back_populates="referrals")
    steps: Mapped[list[ReferralStep]] = relationship(
        back_populates="referral",
        cascade="all, delete-orphan",
        order_by="ReferralStep.id",
        passive_deletes=True,
    )


class ReferralStep(Base):
    """One step of a referral's loop: the status it reached, when, by whom, and why.

    `note_encrypted` holds a decline's reason or a step's note; it is personal data."""

    __tablename__ = "referral_step"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referral.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    note_encrypted: Mapped[str | None] = mapped_column(EncryptedText)

    referral: Mapped[Referral] = relationship(back_populates="steps")
