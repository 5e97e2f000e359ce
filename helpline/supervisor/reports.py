"""Load what the KPIs need from the database, streamed, and read the KPI page's form."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from helpline.models import Call, CallbackRequest
from helpline.models.base import DbSession
from helpline.models.enums import CallDirection
from helpline.reporting.kpis import CallbackFacts, CallFacts, StaffingTarget, Thresholds
from helpline.supervisor import calllog
from helpline.supervisor.filters import Period, Problems, parse_period, whole_number

BATCH_ROWS = 5000
# The figures are computed in Python from every call of the period, streamed: about
# 35,000 calls a second on a 2-core machine, so a quarter of a line taking a million
# calls a year answers in under ten seconds. Longer periods need a daily roll-up.
MAX_DAYS = 93
DEFAULT_DAYS = 7
KPI_FIELDS = ("from", "to", "short_abandon", "answer_within", "target")


@dataclasses.dataclass(frozen=True)
class KpiQuery:
    since: dt.datetime
    until: dt.datetime
    thresholds: Thresholds
    target: StaffingTarget


def parse_kpi_query(
    args: Mapping[str, str], zone: ZoneInfo, today: dt.date
) -> tuple[KpiQuery | None, list[str], dict[str, str]]:
    """The period and thresholds, with defaults: the last seven days, 5 s, 20 s, 80 %.

    Returns the query (None if something must be corrected), the messages, and the
    form's values including the defaults that were filled in.
    """
    values = {name: (args.get(name) or "").strip() for name in KPI_FIELDS}
    if not values["from"] and not values["to"]:
        values["from"] = (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        values["to"] = today.isoformat()
    values["short_abandon"] = values["short_abandon"] or "5"
    values["answer_within"] = values["answer_within"] or "20"
    values["target"] = values["target"] or "80"
    problems = Problems()
    period = parse_period(values, zone, problems, required=True)
    short = whole_number(values, "short_abandon", "Short abandon", problems, limit=600)
    within = whole_number(values, "answer_within", "Answered within", problems, limit=3600)
    target = whole_number(values, "target", "Staffing target", problems, limit=99)
    if target == 0:
        problems.add("Staffing target: give a percentage from 1 to 99.")
    since, until = period.since, period.until
    if problems.messages or since is None or until is None:
        return None, problems.messages, values
    if short is None or within is None or target is None:  # the defaults above fill them
        return None, problems.messages, values
    if until - since > dt.timedelta(days=MAX_DAYS + 1):
        return None, [f"Choose a period of at most {MAX_DAYS} days."], values
    return (
        KpiQuery(
            since=since,
            until=until,
            thresholds=Thresholds(short_abandon_seconds=short, answer_seconds=within),
            target=StaffingTarget(level=target / 100, within=within),
        ),
        [],
        values,
    )


def call_facts(
    session: DbSession, since: dt.datetime, until: dt.datetime, sites: Mapping[int, str]
) -> Iterator[CallFacts]:
    """The inbound calls that started in [since, until), read a batch at a time (a
    callback's attempts are outbound calls: they have figures of their own)."""
    statement = sa.select(
        Call.started_at,
        Call.queued_at,
        Call.answered_at,
        Call.ended_at,
        Call.wrap_up_ended_at,
        Call.outcome,
        Call.language,
        Call.topic,
        Call.site_id,
    ).where(
        *calllog.in_period(Call.started_at, Period(since, until)),
        Call.direction == CallDirection.INBOUND,
    )
    for rows in calllog.stream(session, statement, BATCH_ROWS):
        for row in rows:
            yield CallFacts(
                started_at=row.started_at,
                queued_at=row.queued_at,
                answered_at=row.answered_at,
                ended_at=row.ended_at,
                wrap_up_ended_at=row.wrap_up_ended_at,
                outcome=row.outcome,
                language=row.language,
                topic=row.topic,
                site=None if row.site_id is None else sites.get(row.site_id),
            )


def callback_facts(
    session: DbSession, since: dt.datetime, until: dt.datetime
) -> Iterator[CallbackFacts]:
    """The callbacks due from a time inside [since, until)."""
    statement = sa.select(
        CallbackRequest.created_at, CallbackRequest.status, CallbackRequest.completed_at
    ).where(*calllog.in_period(CallbackRequest.due_from, Period(since, until)))
    for rows in calllog.stream(session, statement, BATCH_ROWS):
        for row in rows:
            yield CallbackFacts(row.created_at, row.status, row.completed_at)
