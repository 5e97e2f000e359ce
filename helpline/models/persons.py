"""Person profiles: who a case is about, their numbers and their consent to a profile.

Nothing identifying is stored in clear: the name is encrypted like a record's summary,
and numbers stay on `caller` behind the blind index; a person reaches them through
`PersonNumber` links, which are made and ended only by explicit, audited actions.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, EncryptedText, UTCDateTime, utcnow
from helpline.models.calls import BigId

# The Washington Group short set: six questions, one column each (`wg_<domain>`).
WG_DOMAINS = ("seeing", "hearing", "walking", "remembering", "self_care", "communicating")
# A link still in force (not unlinked).
LINKED = "unlinked_at IS NULL"


class Person(Base):
    """What a person chose to tell about themselves; every field is optional.

    A field is None while unanswered; one the person prefers not to answer is named in
    `declined` (and stays None), so "not asked" and "prefers not to say" stay apart.
    """

    __tablename__ = "person"
    __table_args__ = (sa.Index("ix_person_updated", "updated_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name_encrypted: Mapped[str | None] = mapped_column(EncryptedText)
    gender: Mapped[str | None] = mapped_column(sa.String(16))
    birth_year: Mapped[int | None]
    age_group: Mapped[str | None] = mapped_column(sa.String(8))
    nationality: Mapped[str | None] = mapped_column(sa.String(16))  # ISO 3166 alpha-2, or stateless
    legal_status: Mapped[str | None] = mapped_column(sa.String(32))
    province: Mapped[str | None] = mapped_column(sa.String(64))
    registered_site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    wg_seeing: Mapped[str | None] = mapped_column(sa.String(24))
    wg_hearing: Mapped[str | None] = mapped_column(sa.String(24))
    wg_walking: Mapped[str | None] = mapped_column(sa.String(24))
    wg_remembering: Mapped[str | None] = mapped_column(sa.String(24))
    wg_self_care: Mapped[str | None] = mapped_column(sa.String(24))
    wg_communicating: Mapped[str | None] = mapped_column(sa.String(24))
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    household_size: Mapped[int | None]
    declined: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change to the profile, its links and its cases: retention counts
    # a profile's period from here.
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonNumber(Base):
    """A person reached on a caller's number. One person may have several numbers, and
    one number may be a family's (several people); unlinking keeps the row, ended."""

    __tablename__ = "person_number"
    __table_args__ = (
        sa.Index(
            "uq_person_number_linked",
            "person_id",
            "caller_id",
            unique=True,
            postgresql_where=sa.text(LINKED),
            sqlite_where=sa.text(LINKED),
        ),
        sa.Index("ix_person_number_caller", "caller_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    caller_id: Mapped[int] = mapped_column(sa.ForeignKey("caller.id", ondelete="CASCADE"))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    linked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    unlinked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unlinked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )


class PersonConsent(Base):
    """One answer a person gave to a consent question (a profile being kept); the latest
    answer wins, as for `CallerConsent`."""

    __tablename__ = "person_consent"
    __table_args__ = (sa.Index("ix_person_consent_person_kind", "person_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    is_granted: Mapped[bool]
    source: Mapped[str] = mapped_column(sa.String(16), default="console")
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
