"""SQL that works the same on PostgreSQL and SQLite: periods, durations, medians, and
counts grouped by several dimensions at once.

Everything is aggregated in the database; Python sees one row per group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from helpline.models.base import DbSession
from helpline.reporting.programme.model import Period

Expr = sa.ColumnElement[Any]
# How to aggregate each measure over a base subquery, by name.
Measures = dict[str, Callable[[sa.Subquery], Expr]]
# A dimension value, then the measures by name; one per group.
Groups = dict[str, dict[str, float]]
TOTAL = ""


def in_period(column: Any, period: Period) -> list[Expr]:
    return [column >= period.since, column < period.until]


def epoch(session: DbSession, value: Any) -> Expr:
    """Seconds since 1970 of a stored time (UTCDateTime), on either database."""
    if _dialect(session) == "postgresql":
        return sa.extract("epoch", value)
    return (sa.func.julianday(value) - 2440587.5) * 86400.0


def seconds_between(session: DbSession, start: Any, end: Any) -> Expr:
    return epoch(session, end) - epoch(session, start)


def _dialect(session: DbSession) -> str:
    return session.get_bind().dialect.name


def median(session: DbSession, values: sa.Select[Any]) -> float | None:
    """The median of a one-column SELECT (NULLs left out): a count, then at most two
    values read at the middle offset, sorted by the database."""
    inner = values.subquery()
    column = inner.c[0]
    present = sa.select(column).where(column.is_not(None))
    count = session.execute(sa.select(sa.func.count()).select_from(present.subquery())).scalar_one()
    if not count:
        return None
    middle = present.order_by(column).offset((count - 1) // 2).limit(2 - count % 2)
    found = [float(v) for v in session.execute(middle).scalars()]
    return sum(found) / len(found)


def grouped(
    session: DbSession,
    base: sa.Subquery,
    dimensions: Sequence[str],
    measures: Mapping[str, Callable[[sa.Subquery], Expr]],
) -> dict[str, Groups]:
    """Each measure grouped by each dimension column of `base` in turn, and over all of
    it (dimension `TOTAL`): {dimension: {value: {measure: number}}}.

    PostgreSQL computes every grouping in one pass (GROUPING SETS); SQLite, which has
    none, runs one grouped query per dimension.
    """
    picked = [measure(base).label(name) for name, measure in measures.items()]
    found: dict[str, Groups] = {name: {} for name in [*dimensions, TOTAL]}
    if _dialect(session) == "postgresql" and dimensions:
        columns = [base.c[name] for name in dimensions]
        flags = [sa.func.grouping(column).label(f"g_{i}") for i, column in enumerate(columns)]
        sets = sa.func.grouping_sets(*[sa.tuple_(column) for column in columns], sa.text("()"))
        statement = sa.select(*columns, *flags, *picked).select_from(base).group_by(sets)
        for row in session.execute(statement).mappings():
            grouped_by = [name for i, name in enumerate(dimensions) if row[f"g_{i}"] == 0]
            name = grouped_by[0] if grouped_by else TOTAL
            value = str(row[name]) if grouped_by else TOTAL
            found[name][value] = _numbers(row, measures)
        return found
    for name in [*dimensions, TOTAL]:
        if name == TOTAL:
            statement = sa.select(*picked).select_from(base)
        else:
            statement = sa.select(base.c[name], *picked).group_by(base.c[name])
        for row in session.execute(statement).mappings():
            found[name][TOTAL if name == TOTAL else str(row[name])] = _numbers(row, measures)
    return found


def _numbers(row: Mapping[Any, Any], measures: Mapping[str, object]) -> dict[str, float]:
    return {name: float(row[name] or 0) for name in measures}


def count_if(condition: Expr) -> Expr:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def count_of(column: str) -> Callable[[sa.Subquery], Expr]:
    """A measure: the rows where the base's boolean `column` holds."""
    return lambda base: count_if(base.c[column])


def total_of(column: str) -> Callable[[sa.Subquery], Expr]:
    """A measure: the sum of the base's `column` (0 over no rows)."""
    return lambda base: sa.func.coalesce(sa.func.sum(base.c[column]), 0)


def local_midnight(day: dt.date, zone: Any) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def grouped_median(
    session: DbSession, base: sa.Subquery, group: str, value: str
) -> dict[str, float]:
    """The median of `value` per `group` value of `base` (PostgreSQL: percentile_cont in
    one query; SQLite: `median` per group)."""
    column, key = base.c[value], base.c[group]
    if _dialect(session) == "postgresql":
        statement = (
            sa.select(key, sa.func.percentile_cont(0.5).within_group(column))
            .where(column.is_not(None))
            .group_by(key)
        )
        return {str(k): float(v) for k, v in session.execute(statement)}
    found = {}
    for name in session.execute(sa.select(key).distinct()).scalars():
        middle = median(session, sa.select(column).where(key == name))
        if middle is not None:
            found[str(name)] = middle
    return found
