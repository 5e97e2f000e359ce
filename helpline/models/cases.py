"""Cases: a person's needs worked on over time, with a plan, notes and a history.

Every change is a row of its own (status, risk, assignment, plan change, note), so the
case's timeline is read from them, newest first. Free text (notes, goals, actions) is
encrypted like a record's summary.

Indexes serve the bench's queries (docs/cases.md): "My cases" by (worker, status, next
due action), the supervisor's search by site, worker or status and opening time, and a
case's timeline by (case, time) in each history table.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, EncryptedText, UTCDateTime, partial_index, utcnow
from helpline.models.calls import BigId
from helpline.models.enums import ActionStatus, CaseStatus, GoalStatus, RiskLevel

CURRENT = "unlinked_at IS NULL"
# The cases being worked (`cases.cases.WORKED`): what "My cases" lists.
WORKED = "status IN ('open', 'active', 'on_hold', 'reopened')"


def _staff() -> sa.ForeignKey:
    """Who did something: kept as a name while they are, forgotten if they are deleted."""
    return sa.ForeignKey("staff.id", ondelete="SET NULL")


class Case(Base):
    """One person's case, worked by one case worker at one site.

    `next_due_at` is the earliest due date of the plan's open actions (None without
    any), kept by the plan functions, so "My cases" reads overdue work first from
    `ix_case_worker_worked_due`, which holds only the cases being worked, as
    `ix_case_site_worked` does for the caseload (every column it counts).
    """

    __tablename__ = "case"
    __table_args__ = (
        partial_index(
            "ix_case_worker_worked_due",
            "worker_id",
            "next_due_at",
            "opened_at",
            "id",
            where=WORKED,
        ),
        partial_index(
            "ix_case_site_worked",
            "site_id",
            "worker_id",
            "status",
            "next_due_at",
            "opened_at",
            where=WORKED,
        ),
        sa.Index("ix_case_site_status_opened", "site_id", "status", "opened_at", "id"),
        sa.Index("ix_case_worker_opened", "worker_id", "opened_at", "id"),
        sa.Index("ix_case_status_opened", "status", "opened_at", "id"),
        sa.Index("ix_case_opened", "opened_at", "id"),
        sa.Index("ix_case_person", "person_id"),
        sa.Index("ix_case_closed", "closed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    status: Mapped[str] = mapped_column(sa.String(12), default=CaseStatus.OPEN.value)
    closure_reason: Mapped[str | None] = mapped_column(sa.String(24))
    needs: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    risk_level: Mapped[str] = mapped_column(sa.String(12), default=RiskLevel.NONE.value)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_from_record_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact_record.id", ondelete="SET NULL", use_alter=True)
    )
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseStatusChange(Base):
    """A move of a case's status; a closure names its reason."""

    __tablename__ = "case_status_change"
    __table_args__ = (sa.Index("ix_case_status_change_case_at", "case_id", "changed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    closure_reason: Mapped[str | None] = mapped_column(sa.String(24))
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseAssignment(Base):
    """Who worked the case from when: the first worker, then every transfer."""

    __tablename__ = "case_assignment"
    __table_args__ = (sa.Index("ix_case_assignment_case_at", "case_id", "assigned_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseRisk(Base):
    """One assessment of the case's risk level; the newest is the case's `risk_level`."""

    __tablename__ = "case_risk"
    __table_args__ = (sa.Index("ix_case_risk_case_at", "case_id", "assessed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    risk_level: Mapped[str] = mapped_column(sa.String(12))
    assessed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CasePerson(Base):
    """Another person the case concerns (a child, spouse, parent), with how they stand
    to the case's person; unlinking keeps the row, ended."""

    __tablename__ = "case_person"
    __table_args__ = (
        sa.Index(
            "uq_case_person_linked",
            "case_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text(CURRENT),
            sqlite_where=sa.text(CURRENT),
        ),
        sa.Index("ix_case_person_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    relationship: Mapped[str] = mapped_column(sa.String(16))
    linked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    unlinked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CaseGoal(Base):
    """A goal of the case plan."""

    __tablename__ = "case_goal"
    __table_args__ = (sa.Index("ix_case_goal_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    description_encrypted: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(sa.String(12), default=GoalStatus.OPEN.value)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseAction(Base):
    """An action of the plan: who does it by when. An action that is a call to the person
    has the follow-up `CallbackRequest` it made, due at the action's due time."""

    __tablename__ = "case_action"
    __table_args__ = (
        sa.Index("ix_case_action_case_due", "case_id", "status", "due_at"),
        sa.Index("ix_case_action_owner_due", "owner_id", "status", "due_at"),
        sa.Index("ix_case_action_callback", "callback_request_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    goal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_goal.id", ondelete="SET NULL"))
    description_encrypted: Mapped[str] = mapped_column(EncryptedText)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(12), default=ActionStatus.OPEN.value)
    is_call: Mapped[bool] = mapped_column(default=False)
    callback_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("callback_request.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CasePlanChange(Base):
    """One change of the plan (a goal or action added, done, dropped, rescheduled), for
    the timeline; `details` names ids and dates, never the text."""

    __tablename__ = "case_plan_change"
    __table_args__ = (sa.Index("ix_case_plan_change_case_at", "case_id", "changed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(24))
    goal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_goal.id", ondelete="SET NULL"))
    action_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("case_action.id", ondelete="SET NULL")
    )
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseNote(Base):
    """A case worker's note on the case (encrypted)."""

    __tablename__ = "case_note"
    __table_args__ = (sa.Index("ix_case_note_case_at", "case_id", "written_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    text_encrypted: Mapped[str] = mapped_column(EncryptedText)
    written_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL")
    )
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WellbeingMeasure(Base):
    """One WHO-5 taken with a person: five answers 0-5, the raw score 0-25 and its
    percentage 0-100 (raw x 4)."""

    __tablename__ = "wellbeing_measure"
    __table_args__ = (
        sa.Index("ix_wellbeing_measure_person_at", "person_id", "taken_at", "id"),
        sa.Index("ix_wellbeing_measure_case_at", "case_id", "taken_at", "id"),
        sa.CheckConstraint("raw_score BETWEEN 0 AND 25", name="raw_score"),
        sa.CheckConstraint("percentage BETWEEN 0 AND 100", name="percentage"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    occasion: Mapped[str] = mapped_column(sa.String(12))
    language: Mapped[str] = mapped_column(sa.String(8))
    answers: Mapped[list[int]] = mapped_column(sa.JSON)
    raw_score: Mapped[int]
    percentage: Mapped[int]
    taken_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
