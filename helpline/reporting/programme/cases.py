"""Cases: opened and closed in the period, closure reasons, median duration, caseload.

- Opened: `case.opened_at` in the period. Closed: each move to `closed` in the period
  (`case_status_change`), with its reason; a case closed twice counts twice.
- Duration: from opening to that closure, in days; the median over the period's closures.
- Caseload: the cases worked in the period (opened before its end, and not closed before
  its start, by the case's current closing time) per case worker who has one.
A case's site is `case.site_id` (its worker's centre).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from helpline.models import Case, CaseStatusChange, Site
from helpline.models.base import DbSession
from helpline.models.enums import CaseStatus, ClosureReason
from helpline.reporting.programme import dimensions as dims
from helpline.reporting.programme import tables
from helpline.reporting.programme.model import Column, Period, Scope, Unit
from helpline.reporting.programme.sql import (
    TOTAL,
    Groups,
    count_if,
    grouped,
    grouped_median,
    in_period,
    median,
    seconds_between,
)
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

SITE_COLUMNS = (
    Column("opened", "Opened"),
    Column("closed", "Closed"),
    Column("worked", "Cases worked"),
    Column("workers", "Case workers", is_additive=False),
    Column(
        "caseload",
        "Cases per case worker",
        is_measure=True,
        derived_from=("worked", "workers"),
    ),
    Column("median_days", "Median duration of closed cases (days)", is_measure=True),
)
REASONS = tuple(r.value for r in ClosureReason)


def _in_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    return [] if scope.site_ids is None else [Case.site_id.in_(scope.site_ids)]


def _site() -> sa.ColumnElement[str]:
    return sa.func.coalesce(Site.code, dims.NONE)


def _closures(session: DbSession, period: Period, scope: Scope) -> sa.Subquery:
    statement = (
        sa.select(
            _site().label("site"),
            sa.func.coalesce(CaseStatusChange.closure_reason, ClosureReason.OTHER.value).label(
                "reason"
            ),
            (seconds_between(session, Case.opened_at, CaseStatusChange.changed_at) / 86400.0).label(
                "days"
            ),
        )
        .select_from(CaseStatusChange)
        .join(Case, Case.id == CaseStatusChange.case_id)
        .outerjoin(Site, Site.id == Case.site_id)
        .where(
            CaseStatusChange.to_status == CaseStatus.CLOSED,
            *in_period(CaseStatusChange.changed_at, period),
        )
    )
    return statement.where(*_in_scope(scope)).subquery("closures")


def _cases(period: Period, scope: Scope) -> sa.Subquery:
    worked = sa.or_(Case.closed_at.is_(None), Case.closed_at >= period.since)
    statement = (
        sa.select(
            _site().label("site"),
            sa.and_(*in_period(Case.opened_at, period)).label("is_opened"),
            sa.case((worked, Case.worker_id)).label("worker_id"),
            worked.label("is_worked"),
        )
        .select_from(Case)
        .outerjoin(Site, Site.id == Case.site_id)
        .where(Case.opened_at < period.until)
    )
    return statement.where(*_in_scope(scope)).subquery("cases_worked")


def case_tables(session: DbSession, period: Period, scope: Scope) -> list[RawTable]:
    closures = _closures(session, period, scope)
    cases = _cases(period, scope)
    by_site = grouped(
        session,
        cases,
        ["site"],
        {
            "opened": lambda b: count_if(b.c.is_opened),
            "worked": lambda b: count_if(b.c.is_worked),
            "workers": lambda b: sa.func.count(sa.distinct(b.c.worker_id)),
        },
    )
    closed = grouped(session, closures, ["site", "reason"], {"closed": lambda b: sa.func.count()})
    medians = grouped_median(session, closures, "site", "days")
    overall = median(session, sa.select(closures.c.days))
    if overall is not None:
        medians[TOTAL] = overall
    site_groups: Groups = {}
    for key in {*by_site["site"], *closed["site"], TOTAL}:
        numbers = {**by_site["site"].get(key, {}), **closed["site"].get(key, {})}
        if key == TOTAL:
            numbers = {**by_site[TOTAL][TOTAL], **closed[TOTAL].get(TOTAL, {})}
        if key in medians:
            numbers["median_days"] = medians[key]
        site_groups[key] = numbers
    reasons: Groups = {**closed["reason"], **closed[TOTAL]}
    return [
        tables.table(
            "cases_by_site",
            "Cases by site",
            "site",
            SITE_COLUMNS,
            tables.rows(site_groups, _site_values),
        ),
        tables.table(
            "closure_reasons",
            "Cases closed by reason",
            "closure_reason",
            (Column("closed", "Closed"),),
            tables.rows(
                reasons,
                lambda numbers: [tables.count(numbers, "closed")],
                keys=[r for r in REASONS if r in reasons],
            ),
        ),
    ]


def _site_values(numbers: Mapping[str, float]) -> Sequence[RawValue]:
    opened, closed, worked, workers = (
        tables.count(numbers, key) for key in ("opened", "closed", "worked", "workers")
    )
    caseload = worked / workers if workers else None
    return [
        opened,
        closed,
        worked,
        workers,
        RawMeasure(caseload, Unit.PER_WORKER, worked),
        RawMeasure(numbers.get("median_days"), Unit.DAYS, closed),
    ]
