"""Producing and downloading the report, each audited in the caller's transaction.

The audit details name the period, the scope, the threshold and the format: never a
figure of the report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpline.audit import chain as audit
from helpline.models.base import DbSession
from helpline.records.catalog import Catalog
from helpline.reporting.programme.build import build_report
from helpline.reporting.programme.model import Period, Report, Scope

PRODUCED = "programme_report_produced"
DOWNLOADED = "programme_report_downloaded"
TARGET = "programme_report"
FORMATS = ("csv", "xlsx")


def details_of(report: Report) -> dict[str, Any]:
    """What the audit says of a report: never a figure."""
    return {
        "from": report.period.first_day.isoformat(),
        "to": report.period.last_day.isoformat(),
        "scope": report.scope.kind,
        "scope_code": report.scope.code,
        "threshold": report.threshold,
        "suppressed": report.is_suppressed,
    }


def produce(
    session: DbSession,
    period: Period,
    scope: Scope,
    catalog: Catalog,
    actor: audit.Actor,
    now: dt.datetime,
    threshold: int,
    request: audit.RequestInfo | None = None,
) -> Report:
    """Build the report and audit that it was produced; the caller commits."""
    report = build_report(session, period, scope, catalog, now, threshold)
    audit.record(
        session, PRODUCED, actor, target_type=TARGET, details=details_of(report), request=request
    )
    return report


def record_download(
    session: DbSession,
    report: Report,
    file_format: str,
    actor: audit.Actor,
    request: audit.RequestInfo | None = None,
) -> None:
    """Audit a download of the report in a format; the caller commits before sending it."""
    record_kept_download(session, details_of(report), None, file_format, actor, request)


def record_kept_download(
    session: DbSession,
    details: dict[str, Any],
    kept_id: int | None,
    file_format: str,
    actor: audit.Actor,
    request: audit.RequestInfo | None = None,
) -> None:
    """Audit a download in a format, of a report (its `details_of`), kept (its id) or
    made now (None); the caller commits before sending it."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}")
    audit.record(
        session,
        DOWNLOADED,
        actor,
        target_type=TARGET,
        target_id=kept_id,
        details={**details, "format": file_format},
        request=request,
    )
