"""Reports kept for download (`programme_report`): keep one per period and scope, list
them, find one. The monthly job keeps last month's; the page lists and serves them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from helpline.models import ProgrammeReport
from helpline.models.base import DbSession
from helpline.reporting.programme.csv_file import write_csv
from helpline.reporting.programme.model import Period, Report, Scope
from helpline.reporting.programme.service import details_of
from helpline.reporting.programme.workbook import write_xlsx

KEPT_LISTED = 24


def scope_key(scope: Scope) -> str:
    return scope.kind if scope.code is None else f"{scope.kind}:{scope.code}"


def find_kept(session: DbSession, period: Period, scope: Scope) -> ProgrammeReport | None:
    return session.execute(
        sa.select(ProgrammeReport).where(
            ProgrammeReport.first_day == period.first_day,
            ProgrammeReport.last_day == period.last_day,
            ProgrammeReport.scope_key == scope_key(scope),
        )
    ).scalar_one_or_none()


def keep(session: DbSession, report: Report) -> ProgrammeReport:
    """Keep the report's two files; the caller commits (the unique key refuses a second
    copy of the same period and scope)."""
    kept = ProgrammeReport(
        first_day=report.period.first_day,
        last_day=report.period.last_day,
        scope_key=scope_key(report.scope),
        scope_label=report.scope.label,
        threshold=report.threshold,
        generated_at=report.generated_at,
        details=details_of(report),
        csv_text=write_csv(report),
        xlsx=write_xlsx(report),
    )
    session.add(kept)
    session.flush()
    return kept


def list_kept(session: DbSession, limit: int = KEPT_LISTED) -> list[Any]:
    """The newest kept reports, without their files."""
    return list(
        session.execute(
            sa.select(
                ProgrammeReport.id,
                ProgrammeReport.first_day,
                ProgrammeReport.last_day,
                ProgrammeReport.scope_label,
                ProgrammeReport.threshold,
                ProgrammeReport.generated_at,
            )
            .order_by(ProgrammeReport.first_day.desc(), ProgrammeReport.id.desc())
            .limit(limit)
        ).all()
    )
