"""Reach: calls offered, answered and abandoned, demand out of hours, people reached and
contacts by call type, each by site, by every person dimension and by language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from helpline.models import Call, CallEvent, ContactRecord, Site, Staff
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
    total_of,
)
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

DIMENSIONS = ("site", *dims.PERSON_DIMENSIONS, "language")
CALL_TYPES = tuple(t.value for t in ContactType)
# The IVR's opening-hours check comes within moments of a call's start; a call that
# started just before the period ends is still found.
CHECK_GRACE_HOURS = 1

SUMMED = (
    "offered",
    "answered",
    "abandoned",
    "out_of_hours",
    "interpreted",
    "interpreter_seconds",
)
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


def _call_facts(session: DbSession, period: Period, scope: Scope) -> sa.Subquery:
    """The period's calls summed per (site, language, caller): a million calls become a
    few hundred thousand narrow rows before the person dimensions join them."""
    closed = sa.select(CallEvent.call_id).where(
        CallEvent.kind == CallEventKind.HOURS_CHECKED,
        CallEvent.occurred_at >= period.since,
        CallEvent.occurred_at < period.until + dt.timedelta(hours=CHECK_GRACE_HOURS),
        CallEvent.data["open"].as_boolean().is_(False),
    )
    inbound = Call.direction == CallDirection.INBOUND
    answered = Call.answered_at.is_not(None)
    interpreted = sa.and_(answered, Call.interpreter_id.is_not(None))
    statement = (
        sa.select(
            Call.site_id,
            Call.language,
            Call.caller_id,
            count_if(sa.and_(inbound, Call.queued_at.is_not(None))).label("offered"),
            count_if(sa.and_(inbound, answered)).label("answered"),
            count_if(
                sa.and_(
                    inbound,
                    Call.queued_at.is_not(None),
                    Call.answered_at.is_(None),
                    Call.ended_at.is_not(None),
                    Call.outcome.not_in(sorted(LEFT_FOR_ANOTHER_SERVICE)),
                )
            ).label("abandoned"),
            count_if(sa.and_(inbound, Call.id.in_(closed))).label("out_of_hours"),
            count_if(answered).label("reached"),
            count_if(interpreted).label("interpreted"),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case(
                        (
                            sa.and_(interpreted, Call.ended_at.is_not(None)),
                            seconds_between(session, Call.answered_at, Call.ended_at),
                        ),
                        else_=0,
                    )
                ),
                0,
            ).label("interpreter_seconds"),
        )
        .where(*in_period(Call.started_at, period))
        .group_by(Call.site_id, Call.language, Call.caller_id)
    )
    if scope.site_ids is not None:
        statement = statement.where(Call.site_id.in_(scope.site_ids))
    return statement.subquery("call_facts")


def _calls(session: DbSession, period: Period, scope: Scope, year: int) -> sa.Subquery:
    """Per (site, language, caller): the sums, the dimensions, and the caller when one of
    its calls was answered (withheld numbers have none)."""
    facts = _call_facts(session, period, scope)
    found = dims.caller_dimensions(year)
    return (
        sa.select(
            sa.func.coalesce(Site.code, dims.NONE).label("site"),
            *dims.person_columns(found),
            sa.func.coalesce(facts.c.language, dims.NONE).label("language"),
            *[facts.c[name] for name in SUMMED],
            sa.case((facts.c.reached > 0, facts.c.caller_id)).label("reached_caller"),
        )
        .select_from(facts)
        .outerjoin(Site, Site.id == facts.c.site_id)
        .outerjoin(found, found.c.caller_id == facts.c.caller_id)
        .subquery("reach_calls")
    )


def _contacts(period: Period, scope: Scope, year: int) -> sa.Subquery:
    found = dims.caller_dimensions(year)
    counsellor = aliased(Staff, name="counsellor")
    statement = (
        sa.select(
            sa.func.coalesce(Site.code, dims.NONE).label("site"),
            *dims.person_columns(found),
            # One lookup by the call's key per record (a join would read every call).
            sa.func.coalesce(
                sa.select(Call.language).where(Call.id == ContactRecord.call_id).scalar_subquery(),
                dims.NONE,
            ).label("language"),
            ContactRecord.call_type.label("call_type"),
        )
        .select_from(ContactRecord)
        .join(counsellor, counsellor.id == ContactRecord.counsellor_id)
        .outerjoin(Site, Site.id == counsellor.site_id)
        .outerjoin(found, found.c.caller_id == ContactRecord.caller_id)
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
            **{name: total_of(name) for name in SUMMED},
            "people": lambda b: sa.func.count(sa.distinct(b.c.reached_caller)),
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
