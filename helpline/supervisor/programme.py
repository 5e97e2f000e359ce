"""The programme report in the console: the page, its downloads and the kept reports.

For supervisors and programme officers (`report.programme` in data/permissions.yaml; the
role mark below lets both in, the rule decides). Producing the report for the page is
audited, and so is every download, committed before the first byte is sent.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext
from markupsafe import Markup

from helpline.auth import permissions
from helpline.auth.access import allow, current_staff
from helpline.extensions import db
from helpline.models import ProgrammeReport, Site, utcnow
from helpline.models.enums import Role
from helpline.reporting.programme import pyramid, service, store, trend
from helpline.reporting.programme.cells import SUPPRESSED_MARK, number
from helpline.reporting.programme.csv_file import write_csv
from helpline.reporting.programme.model import Cell, Empty, Measure, Report, Suppressed, Unit, Why
from helpline.reporting.programme.workbook import write_xlsx
from helpline.supervisor import (
    access,
    common,
    programme_charts,
    programme_form,
    programme_texts,
)
from helpline.supervisor.blueprint import bp
from helpline.web import actor, request_info, settings

ACTION = "report.programme"
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FUNNEL = (
    ("made", "Made"),
    ("consented", "Consented"),
    ("sent", "Sent"),
    ("accepted", "Accepted"),
    ("service_provided", "Service provided"),
)


def _may() -> None:
    if not access.may(ACTION, current_staff(), permissions.What()):
        abort(403)


def _choices() -> dict[str, Any]:
    sites = db.session.execute(sa.select(Site.code, Site.name).order_by(Site.code)).all()
    provinces = db.session.execute(
        sa.select(Site.province).distinct().order_by(Site.province)
    ).scalars()
    return {
        "sites": {code: f"{name} ({code})" for code, name in sites},
        "provinces": {p: p for p in provinces},
    }


def _produce(chosen: programme_form.Chosen) -> Report:
    return service.produce(
        db.session,
        chosen.period,
        chosen.scope,
        current_app.extensions["helpline.catalog"],
        actor(current_staff()),
        utcnow(),
        settings().programme_report_threshold,
        request_info(),
    )


def _chosen() -> tuple[programme_form.Chosen | None, list[str], dict[str, str]]:
    today = utcnow().astimezone(common.zone()).date()
    return programme_form.parse(db.session, request.args, settings().timezone, today)


def _charts(report: Report) -> dict[str, Any]:
    scope, threshold = report.scope, report.threshold
    months = trend.months_before(report.period.last_day, report.period.zone)
    by_month = trend.monthly_calls(db.session, months, scope, threshold)
    ages = pyramid.people_by_age_and_gender(db.session, report.period, scope, threshold)
    referrals = report.section("referrals").tables[0]
    return {
        "trend_table": by_month,
        "trend": programme_charts.trend(
            gettext("Calls offered and answered, and people reached, by month"),
            by_month,
            ("offered", "answered", "people"),
            (gettext("Offered"), gettext("Answered"), gettext("People reached")),
        ),
        "pyramid_table": ages,
        "pyramid": programme_charts.pyramid(
            gettext("People reached by age group and gender"),
            ages,
            "female",
            "male",
            (gettext("Women"), gettext("Men")),
            pyramid.DRAWN,
        ),
        "funnel": programme_charts.funnel(
            gettext("Referral funnel"),
            referrals,
            [(key, gettext(label)) for key, label in FUNNEL],
        ),
    }


@bp.get("/programme")
@allow(Role.SUPERVISOR, Role.PROGRAMME_OFFICER)
def programme_report() -> tuple[str, int]:
    """The report for a month or range and a scope: every section's tables, suppressed,
    with charts; the downloads; the reports the monthly job kept."""
    _may()
    chosen, problems, values = _chosen()
    context: dict[str, Any] = {
        "values": values,
        "threshold": settings().programme_report_threshold,
        "timezone": settings().timezone,
        "kept": store.list_kept(db.session),
        **_choices(),
    }
    if chosen is None:
        return render_template("supervisor/programme.html", problems=problems, **context), 400
    report = _produce(chosen)
    charts = _charts(report)
    db.session.commit()
    return render_template(
        "supervisor/programme.html", problems=[], report=report, **charts, **context
    ), 200


def _filename(first: str, last: str, scope_key: str, file_format: str) -> str:
    scope = re.sub(r"[^A-Za-z0-9-]+", "-", scope_key.replace(":", "-")).strip("-") or "scope"
    return f"programme-report-{first}-{last}-{scope}.{file_format}"


def _send(body: bytes, filename: str, file_format: str) -> Response:
    return Response(
        body,
        mimetype=MIME[file_format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/programme/report.<any(csv, xlsx):file_format>")
@allow(Role.SUPERVISOR, Role.PROGRAMME_OFFICER)
def programme_download(file_format: str) -> Response | tuple[str, int]:
    """The report for the form's period and scope as a file, audited before it is sent."""
    _may()
    chosen, problems, values = _chosen()
    if chosen is None:
        context = {
            "values": values,
            "threshold": settings().programme_report_threshold,
            **_choices(),
        }
        return render_template(
            "supervisor/programme.html", problems=problems, kept=[], **context
        ), 400
    report = _produce(chosen)
    service.record_download(db.session, report, file_format, actor(current_staff()), request_info())
    db.session.commit()
    body = write_xlsx(report) if file_format == "xlsx" else write_csv(report).encode("utf-8")
    name = _filename(
        report.period.first_day.isoformat(),
        report.period.last_day.isoformat(),
        store.scope_key(report.scope),
        file_format,
    )
    return _send(body, name, file_format)


@bp.get("/programme/kept/<int:kept_id>.<any(csv, xlsx):file_format>")
@allow(Role.SUPERVISOR, Role.PROGRAMME_OFFICER)
def programme_kept(kept_id: int, file_format: str) -> Response:
    """A report the monthly job kept, as it was produced; the download is audited."""
    _may()
    kept = db.session.get(ProgrammeReport, kept_id)
    if kept is None:
        abort(404)
    service.record_kept_download(
        db.session, kept.details, kept.id, file_format, actor(current_staff()), request_info()
    )
    db.session.commit()
    body = kept.xlsx if file_format == "xlsx" else kept.csv_text.encode("utf-8")
    name = _filename(
        kept.first_day.isoformat(), kept.last_day.isoformat(), kept.scope_key, file_format
    )
    return _send(body, name, file_format)


@bp.app_template_filter("report_text")
def report_text(text: str) -> str:
    """A label of the report (English, its message id) in the reader's language."""
    return programme_texts.translate(text)


@bp.app_template_filter("report_cell")
def report_cell(cell: Cell) -> Markup:
    """A cell as the page shows it: numbers left to right, a suppressed cell as the mark
    the legend explains, a measure with nothing to measure as a dash."""
    if isinstance(cell, Suppressed):
        why = (
            gettext("suppressed (secondary)")
            if cell.why == Why.SECONDARY
            else gettext("suppressed")
        )
        return Markup('<abbr class="suppressed" title="{}">{}</abbr>').format(why, SUPPRESSED_MARK)
    if isinstance(cell, Empty):
        return Markup("-")
    value = number(cell)
    shown = f"{value:.1%}" if isinstance(cell, Measure) and cell.unit == Unit.SHARE else value
    return Markup('<span dir="ltr">{}</span>').format(shown)
