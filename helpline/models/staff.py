"""Sites (Social Service Centres), staff with their skills, login sessions and presence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.models.base import Base, EncryptedText, UTCDateTime, utcnow
from helpline.models.enums import PresenceState, Role


class Site(Base):
    """A Social Service Centre (SSC), the unit staff belong to."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    province: Mapped[str] = mapped_column(sa.String(64), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[list[Staff]] = relationship(back_populates="site")


class StaffRole(Base):
    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(24), primary_key=True)


class StaffLanguage(Base):
    """A language a member of staff counsels or interprets in (ISO 639 code)."""

    __tablename__ = "staff_language"
    __table_args__ = (sa.Index("ix_staff_language_language", "language"),)

    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(sa.String(8), primary_key=True)


class StaffTopic(Base):
    """A topic skill, such as psychosocial support or child protection."""

    __tablename__ = "staff_topic"

    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class Staff(Base):
    """A counsellor, interpreter, supervisor or administrator."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"), index=True)
    phone_encrypted: Mapped[str | None] = mapped_column(EncryptedText)
    phone_index: Mapped[str | None] = mapped_column(
        sa.String(64), unique=True, info={"blind_index_of": "phone_encrypted"}
    )
    ui_language: Mapped[str] = mapped_column(sa.String(8), default="tr")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site | None] = relationship(back_populates="staff", lazy="joined")
    role_rows: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=StaffRole.role
    )
    language_rows: Mapped[list[StaffLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=StaffLanguage.language
    )
    topic_rows: Mapped[list[StaffTopic]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=StaffTopic.topic
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    @property
    def languages(self) -> list[str]:
        return [row.language for row in self.language_rows]

    @property
    def topics(self) -> list[str]:
        return [row.topic for row in self.topic_rows]

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def set_roles(self, roles: Iterable[Role]) -> None:
        wanted = sorted({Role(r) for r in roles})
        self.role_rows = [StaffRole(role=r.value) for r in wanted]

    def set_languages(self, languages: Iterable[str]) -> None:
        self.language_rows = [StaffLanguage(language=code) for code in sorted(set(languages))]

    def set_topics(self, topics: Iterable[str]) -> None:
        self.topic_rows = [StaffTopic(topic=code) for code in sorted(set(topics))]


class LoginSession(Base):
    """A console session. The cookie holds only a random token; its hash is stored here.

    Logging out revokes the row, so a replayed cookie no longer authenticates.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    staff: Mapped[Staff] = relationship(lazy="joined")


class PresenceChange(Base):
    """Every change of a staff member's presence state, for audit and KPIs.

    Redis holds the live state; this table is its durable history.
    """

    __tablename__ = "presence_change"
    __table_args__ = (sa.Index("ix_presence_change_staff_at", "staff_id", "changed_at"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16), default=PresenceState.OFFLINE.value)
    reason: Mapped[str | None] = mapped_column(sa.String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
