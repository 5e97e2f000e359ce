"""Reach: calls offered, answered and abandoned, demand out of hours, people reached and
contacts by call type, each by site, by every person dimension and by language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from helpline.models import Call, CallEvent, ContactRecord, Person, Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import (
    CallDirection,
    CallEventKind,
    ContactStatus,
    ContactType,
)
from helpline.reporting.kpis import LEFT_FOR_ANOTHER_SERVICE
from helpline.reporting.programme import dimensions as dims
from helpline.reporting.programme import labels, tables
from helpline.reporting.programme.model import Column, Period, Scope, Unit
from helpline.reporting.programme.sql import (
    TOTAL,
    Expr,
    Groups,
    Measures,
    count_if,
    grouped,
    in_period,
    seconds_between,
)
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

DIMENSIONS = ("site", *dims.PERSON_DIMENSIONS, "language")
CALL_TYPES = tuple(t.value for t in ContactType)
# The IVR's opening-hours check comes within moments of a call's start; a call that
# started just before the period ends is still found.
CHECK_GRACE_HOURS = 1

CALL_COLUMNS = (
    Column("offered", "Calls offered"),
    Column("answered", "Calls answered"),
    Column("abandoned", "Calls abandoned"),
    Column("out_of_hours", "Calls out of hours"),
)
INTERPRETER_COLUMNS = (
    Column("interpreted", "Answered with an interpreter"),
    Column("interpreter_minutes", "Interpreter minutes", is_measure=True),
)
CONTACT_COLUMNS = (
    Column("contacts", "Contacts"),
    *(Column(f"contacts_{t}", f"Contacts: {labels.value(t)}") for t in CALL_TYPES),
)


def _calls(session: DbSession, period: Period, scope: Scope, year: int) -> sa.Subquery:
    link = dims.caller_person()
    person = aliased(Person, name="reached")
    closed = sa.select(CallEvent.call_id).where(
        CallEvent.kind == CallEventKind.HOURS_CHECKED,
        CallEvent.occurred_at >= period.since,
        CallEvent.occurred_at < period.until + dt.timedelta(hours=CHECK_GRACE_HOURS),
        CallEvent.data["open"].as_boolean().is_(False),
    )
    inbound = Call.direction == CallDirection.INBOUND
    answered = Call.answered_at.is_not(None)
    statement = (
        sa.select(
            sa.func.coalesce(Site.code, dims.NONE).label("site"),
            *dims.person_columns(link, person, year),
            sa.func.coalesce(Call.language, dims.NONE).label("language"),
            sa.and_(inbound, Call.queued_at.is_not(None)).label("is_offered"),
            sa.and_(inbound, answered).label("is_answered"),
            sa.and_(
                inbound,
                Call.queued_at.is_not(None),
                Call.answered_at.is_(None),
                Call.ended_at.is_not(None),
                Call.outcome.not_in(sorted(LEFT_FOR_ANOTHER_SERVICE)),
            ).label("is_abandoned"),
            sa.and_(inbound, Call.id.in_(closed)).label("is_out_of_hours"),
            sa.case((answered, Call.caller_id)).label("reached_caller"),
            sa.and_(answered, Call.interpreter_id.is_not(None)).label("is_interpreted"),
            sa.case(
                (
                    sa.and_(answered, Call.interpreter_id.is_not(None), Call.ended_at.is_not(None)),
                    seconds_between(session, Call.answered_at, Call.ended_at),
                ),
                else_=0,
            ).label("interpreter_seconds"),
        )
        .select_from(Call)
        .outerjoin(Site, Site.id == Call.site_id)
        .outerjoin(link, link.c.caller_id == Call.caller_id)
        .outerjoin(person, person.id == link.c.person_id)
        .where(*in_period(Call.started_at, period))
    )
    if scope.site_ids is not None:
        statement = statement.where(Call.site_id.in_(scope.site_ids))
    return statement.subquery("reach_calls")


def _contacts(period: Period, scope: Scope, year: int) -> sa.Subquery:
    link = dims.caller_person()
    person = aliased(Person, name="reached")
    counsellor = aliased(Staff, name="counsellor")
    statement = (
        sa.select(
            sa.func.coalesce(Site.code, dims.NONE).label("site"),
            *dims.person_columns(link, person, year),
            sa.func.coalesce(Call.language, dims.NONE).label("language"),
            ContactRecord.call_type.label("call_type"),
        )
        .select_from(ContactRecord)
        .join(counsellor, counsellor.id == ContactRecord.counsellor_id)
        .outerjoin(Site, Site.id == counsellor.site_id)
        .outerjoin(Call, Call.id == ContactRecord.call_id)
        .outerjoin(link, link.c.caller_id == ContactRecord.caller_id)
        .outerjoin(person, person.id == link.c.person_id)
        .where(
            ContactRecord.status == ContactStatus.FINAL,
            *in_period(ContactRecord.created_at, period),
        )
    )
    if scope.site_ids is not None:
        statement = statement.where(counsellor.site_id.in_(scope.site_ids))
    return statement.subquery("reach_contacts")


def _call_groups(session: DbSession, period: Period, scope: Scope, year: int) -> dict[str, Groups]:
    base = _calls(session, period, scope, year)
    return grouped(
        session,
        base,
        DIMENSIONS,
        {
            "offered": lambda b: count_if(b.c.is_offered),
            "answered": lambda b: count_if(b.c.is_answered),
            "abandoned": lambda b: count_if(b.c.is_abandoned),
            "out_of_hours": lambda b: count_if(b.c.is_out_of_hours),
            "people": lambda b: sa.func.count(sa.distinct(b.c.reached_caller)),
            "interpreted": lambda b: count_if(b.c.is_interpreted),
            "interpreter_seconds": lambda b: sa.func.coalesce(
                sa.func.sum(b.c.interpreter_seconds), 0
            ),
        },
    )


def _of_type(kind: str) -> Callable[[sa.Subquery], Expr]:
    return lambda base: count_if(base.c.call_type == kind)


def _contact_groups(
    session: DbSession, period: Period, scope: Scope, year: int
) -> dict[str, Groups]:
    base = _contacts(period, scope, year)
    measures: Measures = {"contacts": lambda b: sa.func.count()}
    for kind in CALL_TYPES:
        measures[f"contacts_{kind}"] = _of_type(kind)
    return grouped(session, base, DIMENSIONS, measures)


def _merge(calls: Groups, contacts: Groups) -> Groups:
    return {key: {**calls.get(key, {}), **contacts.get(key, {})} for key in {*calls, *contacts}}


def _values(dimension: str) -> Callable[[Mapping[str, float]], Sequence[RawValue]]:
    def values(numbers: Mapping[str, float]) -> Sequence[RawValue]:
        found: list[RawValue] = [tables.count(numbers, c.key) for c in CALL_COLUMNS]
        found.append(tables.count(numbers, "people"))
        if dimension == "language":
            interpreted = tables.count(numbers, "interpreted")
            minutes = numbers.get("interpreter_seconds", 0.0) / 60.0
            found += [interpreted, RawMeasure(minutes, Unit.MINUTES, interpreted)]
        found += [tables.count(numbers, c.key) for c in CONTACT_COLUMNS]
        return found

    return values


def reach_tables(session: DbSession, period: Period, scope: Scope) -> list[RawTable]:
    """One table per dimension: calls, people reached and contacts by its values."""
    year = period.last_day.year
    calls = _call_groups(session, period, scope, year)
    contacts = _contact_groups(session, period, scope, year)
    found = []
    for dimension in DIMENSIONS:
        # A person has one value of each person dimension, so people add up over them;
        # one person may call in two languages, or be answered by two sites.
        people = Column("people", "People reached", is_additive=dimension in dims.PERSON_DIMENSIONS)
        extra = INTERPRETER_COLUMNS if dimension == "language" else ()
        found.append(
            tables.table(
                f"reach_by_{dimension}",
                f"Reach by {labels.DIMENSIONS[dimension].lower()}",
                dimension,
                (*CALL_COLUMNS, people, *extra, *CONTACT_COLUMNS),
                tables.rows(
                    _merge(
                        {**calls[dimension], **calls[TOTAL]},
                        {**contacts[dimension], **contacts[TOTAL]},
                    ),
                    _values(dimension),
                ),
                row_total="contacts",
                row_parts=[f"contacts_{t}" for t in CALL_TYPES],
            )
        )
    return found
