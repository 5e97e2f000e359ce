"""Callbacks and follow-ups: due in the period, completed, and the time to callback.

A callback is due in the period when its `due_from` falls in it (as the KPI page counts
them); completed is its status now; the time to callback runs from the request to its
completion. Its site is that of the call it came from, else that of the member of staff
it was meant for (a follow-up's counsellor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from helpline.models import Call, CallbackRequest, Staff
from helpline.models.base import DbSession
from helpline.models.enums import CallbackReason, CallbackStatus
from helpline.reporting.programme import tables
from helpline.reporting.programme.model import Column, Period, Scope, Unit
from helpline.reporting.programme.sql import (
    TOTAL,
    count_if,
    grouped,
    grouped_median,
    in_period,
    median,
    seconds_between,
)
from helpline.reporting.programme.suppression import RawMeasure, RawTable, RawValue

REASONS = tuple(r.value for r in CallbackReason)
COLUMNS = (
    Column("due", "Due"),
    Column("completed", "Completed"),
    Column(
        "completed_share", "Share completed", is_measure=True, derived_from=("due", "completed")
    ),
    Column("median_hours", "Median time to callback (hours)", is_measure=True),
)


def callbacks_table(session: DbSession, period: Period, scope: Scope) -> RawTable:
    completed = CallbackRequest.status == CallbackStatus.COMPLETED
    statement = (
        sa.select(
            CallbackRequest.reason.label("reason"),
            completed.label("is_completed"),
            sa.case(
                (
                    sa.and_(completed, CallbackRequest.completed_at.is_not(None)),
                    seconds_between(
                        session, CallbackRequest.created_at, CallbackRequest.completed_at
                    )
                    / 3600.0,
                )
            ).label("hours"),
        )
        .select_from(CallbackRequest)
        .outerjoin(Call, Call.id == CallbackRequest.call_id)
        .outerjoin(Staff, Staff.id == CallbackRequest.preferred_staff_id)
        .where(*in_period(CallbackRequest.due_from, period))
    )
    if scope.site_ids is not None:
        site = sa.func.coalesce(Call.site_id, Staff.site_id)
        statement = statement.where(site.in_(scope.site_ids))
    base = statement.subquery("callback_facts")
    found = grouped(
        session,
        base,
        ["reason"],
        {"due": lambda b: sa.func.count(), "completed": lambda b: count_if(b.c.is_completed)},
    )
    groups = {**found["reason"], **found[TOTAL]}
    for key, value in grouped_median(session, base, "reason", "hours").items():
        groups[key]["median_hours"] = value
    overall = median(session, sa.select(base.c.hours))
    if overall is not None:
        groups[TOTAL]["median_hours"] = overall
    return tables.table(
        "callbacks_by_reason",
        "Callbacks and follow-ups",
        "reason",
        COLUMNS,
        tables.rows(groups, _values, keys=[r for r in REASONS if r in groups]),
    )


def _values(numbers: Mapping[str, float]) -> Sequence[RawValue]:
    due, completed = tables.count(numbers, "due"), tables.count(numbers, "completed")
    return [
        due,
        completed,
        RawMeasure(completed / due if due else None, Unit.SHARE, due),
        RawMeasure(numbers.get("median_hours"), Unit.HOURS, completed),
    ]
