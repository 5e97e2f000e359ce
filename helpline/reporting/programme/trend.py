"""The last months' calls for the page's trend chart: offered, answered, people reached.

A simpler figure than Reach (which needs the person dimensions): one grouped query over
the twelve months, a sum per month, the same definitions as Reach's total row; suppressed
like every table about the people the line serves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from helpline.models import Call
from helpline.models.base import DbSession
from helpline.models.enums import CallDirection
from helpline.reporting.programme.build import month_of, period_of
from helpline.reporting.programme.model import Column, Period, Scope, Table
from helpline.reporting.programme.sql import count_if, in_period
from helpline.reporting.programme.suppression import RawRow, RawTable, suppress

MONTHS = 12
COLUMNS = (
    Column("offered", "Calls offered"),
    Column("answered", "Calls answered"),
    Column("people", "People reached", is_additive=False),
)


def months_before(last_day: dt.date, zone: str, count: int = MONTHS) -> list[Period]:
    """The `count` calendar months up to the one `last_day` is in, oldest first."""
    found: list[Period] = []
    day = last_day
    for _ in range(count):
        first, last = month_of(day)
        found.append(period_of(first, last, zone))
        day = first - dt.timedelta(days=1)
    return found[::-1]


def monthly_calls(session: DbSession, months: list[Period], scope: Scope, threshold: int) -> Table:
    """A row per month (key YYYY-MM) and the total: calls offered and answered, and
    distinct callers with an answered call (withheld numbers left out)."""
    inbound = Call.direction == CallDirection.INBOUND
    answered = Call.answered_at.is_not(None)
    columns: list[sa.Label[Any]] = []
    for index, month in enumerate(months):
        inside = sa.and_(*in_period(Call.started_at, month))
        columns += [
            count_if(sa.and_(inside, inbound, Call.queued_at.is_not(None))).label(f"o{index}"),
            count_if(sa.and_(inside, inbound, answered)).label(f"a{index}"),
            sa.func.count(sa.distinct(sa.case((sa.and_(inside, answered), Call.caller_id)))).label(
                f"p{index}"
            ),
        ]
    span = (Call.started_at >= months[0].since, Call.started_at < months[-1].until)
    whole = sa.and_(answered, *span)
    columns.append(sa.func.count(sa.distinct(sa.case((whole, Call.caller_id)))).label("people"))
    statement = sa.select(*columns).where(*span)
    if scope.site_ids is not None:
        statement = statement.where(Call.site_id.in_(scope.site_ids))
    found = session.execute(statement).one()._mapping
    rows = [
        RawRow(
            m.first_day.strftime("%Y-%m"),
            m.first_day.strftime("%Y-%m"),
            (int(found[f"o{i}"]), int(found[f"a{i}"]), int(found[f"p{i}"])),
        )
        for i, m in enumerate(months)
    ]
    total = RawRow(
        "",
        "Total",
        (
            sum(int(found[f"o{i}"]) for i in range(len(months))),
            sum(int(found[f"a{i}"]) for i in range(len(months))),
            int(found["people"]),
        ),
        is_total=True,
    )
    raw = RawTable("trend", "Calls by month", "Month", COLUMNS, (*rows, total))
    return suppress(raw, threshold)
