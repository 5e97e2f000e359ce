"""Outcomes: people whose WHO-5 wellbeing improved by 10 points or more (0-100 scale).

Counted over the people whose latest measure (by time taken) falls in the period and
who have an earlier one: the change is from their first measure to that latest one.
A person's site is that of the case their latest measure was taken for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from helpline.models import Case, Site, WellbeingMeasure
from helpline.models.base import DbSession
from helpline.reporting.programme import dimensions as dims
from helpline.reporting.programme import tables
from helpline.reporting.programme.model import Column, Period, Scope, Unit
from helpline.reporting.programme.sql import TOTAL, count_if, grouped
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

IMPROVED_POINTS = 10
COLUMNS = (
    Column("people", "People with two measures or more"),
    Column("improved", f"Improved by {IMPROVED_POINTS} points or more"),
    Column(
        "improved_share",
        "Share improved",
        is_measure=True,
        derived_from=("people", "improved"),
    ),
)


def outcomes_table(session: DbSession, period: Period, scope: Scope) -> RawTable:
    measure = WellbeingMeasure
    ranked = (
        sa.select(
            measure.person_id,
            measure.case_id,
            measure.percentage,
            measure.taken_at,
            sa.func.row_number()
            .over(partition_by=measure.person_id, order_by=(measure.taken_at, measure.id))
            .label("from_first"),
            sa.func.row_number()
            .over(
                partition_by=measure.person_id,
                order_by=(measure.taken_at.desc(), measure.id.desc()),
            )
            .label("from_last"),
            sa.func.count().over(partition_by=measure.person_id).label("measures"),
        )
        .where(measure.taken_at < period.until)
        .subquery("ranked")
    )
    first, last = ranked.alias("first"), ranked.alias("last")
    statement = (
        sa.select(
            sa.func.coalesce(Site.code, dims.NONE).label("site"),
            (last.c.percentage - first.c.percentage >= IMPROVED_POINTS).label("is_improved"),
        )
        .select_from(last)
        .join(first, sa.and_(first.c.person_id == last.c.person_id, first.c.from_first == 1))
        .outerjoin(Case, Case.id == last.c.case_id)
        .outerjoin(Site, Site.id == Case.site_id)
        .where(
            last.c.from_last == 1,
            last.c.measures >= 2,
            last.c.taken_at >= period.since,
        )
    )
    if scope.site_ids is not None:
        statement = statement.where(Case.site_id.in_(scope.site_ids))
    found = grouped(
        session,
        statement.subquery("outcomes"),
        ["site"],
        {"people": lambda b: sa.func.count(), "improved": lambda b: count_if(b.c.is_improved)},
    )
    return tables.table(
        "wellbeing_by_site",
        "Wellbeing (WHO-5) improved",
        "site",
        COLUMNS,
        tables.rows({**found["site"], **found[TOTAL]}, _values),
    )


def _values(numbers: Mapping[str, float]) -> Sequence[RawValue]:
    people, improved = tables.count(numbers, "people"), tables.count(numbers, "improved")
    return [people, improved, RawMeasure(improved / people if people else None, Unit.SHARE, people)]
