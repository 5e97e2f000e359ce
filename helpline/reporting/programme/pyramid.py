"""People reached by age group and gender, crossed: the page's AGD pyramid.

The report's tables cross one dimension at a time; the pyramid crosses two, so it is
suppressed as a table of its own (each age group's row adds up over the genders, each
gender's column over the age groups). Only people identified by a single profile are in
it: the others have neither an age nor a gender (Reach counts them, "not identified").
"""

from __future__ import annotations

import sqlalchemy as sa

from helpline.models import Call
from helpline.models.base import DbSession
from helpline.reporting.programme import dimensions as dims
from helpline.reporting.programme import labels
from helpline.reporting.programme.model import Column, Period, Scope, Table
from helpline.reporting.programme.sql import in_period
from helpline.reporting.programme.suppression import RawRow, RawTable, suppress

AGE_GROUPS = ("0_11", "12_17", "18_25", "26_59", "60_plus", dims.UNKNOWN, dims.DECLINED)
GENDERS = ("female", "male", "other", dims.UNKNOWN, dims.DECLINED)
# The chart's rows, top down: the oldest on top, the non-answers under the youngest.
DRAWN = (*AGE_GROUPS[4::-1], dims.UNKNOWN, dims.DECLINED)


def people_by_age_and_gender(
    session: DbSession, period: Period, scope: Scope, threshold: int
) -> Table:
    """Distinct identified callers with an answered call in the period, by age group (rows)
    and gender (columns), with a total column and row; suppressed at `threshold`."""
    found = dims.caller_dimensions(period.last_day.year)
    callers = (
        sa.select(Call.caller_id)
        .where(*in_period(Call.started_at, period), Call.answered_at.is_not(None))
        .distinct()
    )
    if scope.site_ids is not None:
        callers = callers.where(Call.site_id.in_(scope.site_ids))
    reached = callers.subquery("reached_callers")
    statement = (
        sa.select(found.c.age_group, found.c.gender, sa.func.count().label("people"))
        .select_from(reached)
        .join(found, found.c.caller_id == reached.c.caller_id)
        .group_by(found.c.age_group, found.c.gender)
    )
    counts = {(r.age_group, r.gender): int(r.people) for r in session.execute(statement)}
    ages = [*AGE_GROUPS, *sorted({a for a, _ in counts} - set(AGE_GROUPS))]
    genders = [*GENDERS, *sorted({g for _, g in counts} - set(GENDERS))]

    def row(key: str, label: str, cells: list[int], is_total: bool = False) -> RawRow:
        return RawRow(key, label, (*cells, sum(cells)), is_total=is_total)

    body = [row(a, labels.value(a), [counts.get((a, g), 0) for g in genders]) for a in ages]
    total = row("", "Total", [sum(counts.get((a, g), 0) for a in ages) for g in genders], True)
    columns = (*(Column(g, labels.value(g)) for g in genders), Column("people", "People reached"))
    raw = RawTable(
        "people_by_age_and_gender",
        "People reached by age group and gender",
        labels.DIMENSIONS["age_group"],
        columns,
        (*body, total),
        row_total="people",
        row_parts=tuple(genders),
    )
    return suppress(raw, threshold)
