"""Staffing: counsellors and interpreters active, by site, and the hours they were available.

Hours available: the time a member of staff's presence was `available`, `busy` or
`wrap_up` inside the period (the presence history, `presence_change`, clipped to the
period and to now). Active: such time in the period, or a call of the period
answered as its counsellor or interpreter. Someone with both roles counts in both. The site is the
member of staff's own. The line's staff are not the people it serves: these counts are
not suppressed (docs/programme-report.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from helpline.models import Call, PresenceChange, Site, Staff, StaffRole
from helpline.models.base import DbSession, UTCDateTime
from helpline.models.enums import PresenceState, Role
from helpline.reporting.programme import dimensions as dims
from helpline.reporting.programme import tables
from helpline.reporting.programme.model import Column, Period, Scope, Unit
from helpline.reporting.programme.sql import TOTAL, count_if, epoch, grouped, in_period
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

WORKING = (PresenceState.AVAILABLE.value, PresenceState.BUSY.value, PresenceState.WRAP_UP.value)
COLUMNS = (
    Column("counsellors", "Counsellors active", is_additive=False),
    Column("interpreters", "Interpreters active", is_additive=False),
    Column("counsellor_hours", "Counsellor hours available", is_measure=True),
    Column("interpreter_hours", "Interpreter hours available", is_measure=True),
)


def _working_seconds(session: DbSession, period: Period, now: dt.datetime) -> sa.Subquery:
    change = PresenceChange
    earlier = aliased(PresenceChange, name="earlier")
    start_state = (
        sa.select(sa.func.max(earlier.changed_at))
        .where(earlier.staff_id == change.staff_id, earlier.changed_at < period.since)
        .scalar_subquery()
    )
    end = min(period.until, max(now, period.since))
    changes = (
        sa.select(
            change.staff_id,
            change.state,
            change.changed_at,
            sa.func.lead(change.changed_at)
            .over(partition_by=change.staff_id, order_by=(change.changed_at, change.id))
            .label("next_at"),
        )
        .where(
            change.changed_at < end,
            sa.or_(change.changed_at >= period.since, change.changed_at == start_state),
        )
        .subquery("changes")
    )
    since = sa.literal(period.since, UTCDateTime)
    until = sa.literal(end, UTCDateTime)
    start = sa.case((changes.c.changed_at < since, since), else_=changes.c.changed_at)
    finish = sa.func.coalesce(changes.c.next_at, until)
    return (
        sa.select(
            changes.c.staff_id,
            sa.func.sum(epoch(session, finish) - epoch(session, start)).label("seconds"),
        )
        .where(changes.c.state.in_(WORKING))
        .group_by(changes.c.staff_id)
        .subquery("working")
    )


def _answered(period: Period) -> sa.ColumnElement[bool]:
    """Whether the member of staff took a call of the period, as counsellor or interpreter:
    one pass over the period's calls (by the call log's index), kept as a CTE."""
    took = (
        sa.select(Call.counsellor_id, Call.interpreter_id)
        .where(*in_period(Call.started_at, period), Call.answered_at.is_not(None))
        .group_by(Call.counsellor_id, Call.interpreter_id)
        .cte("took")
    )
    return sa.or_(
        Staff.id.in_(sa.select(took.c.counsellor_id)),
        Staff.id.in_(sa.select(took.c.interpreter_id)),
    )


def _has(role: Role) -> sa.ColumnElement[bool]:
    return Staff.id.in_(sa.select(StaffRole.staff_id).where(StaffRole.role == role))


def staffing_table(session: DbSession, period: Period, scope: Scope, now: dt.datetime) -> RawTable:
    working = _working_seconds(session, period, now)
    seconds = sa.func.coalesce(working.c.seconds, 0)
    active = sa.or_(seconds > 0, _answered(period))
    counsellor, interpreter = _has(Role.COUNSELLOR), _has(Role.INTERPRETER)
    statement = (
        sa.select(
            sa.func.coalesce(Site.code, dims.NONE).label("site"),
            sa.and_(counsellor, active).label("is_counsellor"),
            sa.and_(interpreter, active).label("is_interpreter"),
            sa.case((counsellor, seconds), else_=0).label("counsellor_seconds"),
            sa.case((interpreter, seconds), else_=0).label("interpreter_seconds"),
        )
        .select_from(Staff)
        .outerjoin(Site, Site.id == Staff.site_id)
        .outerjoin(working, working.c.staff_id == Staff.id)
        .where(sa.or_(counsellor, interpreter))
    )
    if scope.site_ids is not None:
        statement = statement.where(Staff.site_id.in_(scope.site_ids))
    found = grouped(
        session,
        statement.subquery("staffing"),
        ["site"],
        {
            "counsellors": lambda b: count_if(b.c.is_counsellor),
            "interpreters": lambda b: count_if(b.c.is_interpreter),
            "counsellor_seconds": lambda b: sa.func.coalesce(
                sa.func.sum(b.c.counsellor_seconds), 0
            ),
            "interpreter_seconds": lambda b: sa.func.coalesce(
                sa.func.sum(b.c.interpreter_seconds), 0
            ),
        },
    )
    groups = {k: v for k, v in found["site"].items() if v["counsellors"] or v["interpreters"]}
    return tables.table(
        "staffing_by_site",
        "Staffing by site",
        "site",
        COLUMNS,
        tables.rows({**groups, **found[TOTAL]}, _values),
        is_protected=False,
    )


def _values(numbers: Mapping[str, float]) -> Sequence[RawValue]:
    counsellors = tables.count(numbers, "counsellors")
    interpreters = tables.count(numbers, "interpreters")
    return [
        counsellors,
        interpreters,
        RawMeasure(numbers.get("counsellor_seconds", 0.0) / 3600.0, Unit.HOURS, counsellors),
        RawMeasure(numbers.get("interpreter_seconds", 0.0) / 3600.0, Unit.HOURS, interpreters),
    ]
