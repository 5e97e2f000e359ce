"""The supervisors' console: today's figures, the call log, KPIs and the audit trail.

Views are glue: the searches live in `calllog`, `auditlog` and `reports`, the figures
in `helpline.reporting.kpis`, and the forms are read by `filters`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.calls import timeline
from helpline.extensions import db
from helpline.models import AuditEntry, Call, Staff, utcnow
from helpline.models.enums import Role
from helpline.privacy.crypto import mask_number
from helpline.reporting import kpis
from helpline.supervisor import (
    access,
    auditlog,
    calllog,
    charts,
    common,
    detail,
    export,
    filters,
    keyset,
    reports,
)
from helpline.supervisor.blueprint import bp
from helpline.web import actor, request_info, settings

bp.add_app_template_filter(common.local_time, "local_time")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


@bp.app_template_filter("duration")
def duration(value: float | None) -> str:
    """Seconds as "42 s" or "3 min 5 s"."""
    if value is None:
        return "-"
    whole = round(value)
    if whole < 60:
        return f"{value:.1f} s" if value < 10 else f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s"


def _start_of_today() -> dt.datetime:
    local = utcnow().astimezone(common.zone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


@bp.get("/")
@allow(Role.SUPERVISOR)
def home() -> str:
    """Today's calls by outcome, callers waiting now, and the latest audit entries."""
    since = _start_of_today()
    rows = db.session.execute(
        sa.select(Call.outcome, sa.func.count())
        .where(Call.started_at >= since)
        .group_by(Call.outcome)
        .order_by(Call.outcome)
    ).all()
    by_outcome: dict[str, int] = dict(rows)
    waiting = db.session.scalar(
        sa.select(sa.func.count()).where(
            Call.queued_at.is_not(None), Call.answered_at.is_(None), Call.ended_at.is_(None)
        )
    )
    active_staff = db.session.scalar(sa.select(sa.func.count()).where(Staff.is_active.is_(True)))
    recent = db.session.scalars(
        sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(20)
    ).all()
    return render_template(
        "supervisor/home.html",
        since=since,
        by_outcome=by_outcome,
        total=sum(by_outcome.values()),
        waiting=waiting or 0,
        active_staff=active_staff or 0,
        recent=recent,
        form=PostForm(),
        report=None,
    )


@bp.post("/audit/verify")
@allow(Role.SUPERVISOR)
def verify_audit() -> str:
    """Check the audit hash chain from the console; the check itself is audited."""
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    report = audit.verify(db.session)
    audit.record(
        db.session,
        "audit_verified",
        actor(current_staff()),
        details={"checked": report.checked, "problems": len(report.problems)},
        request=request_info(),
    )
    db.session.commit()
    return render_template("supervisor/audit_verify.html", report=report)


def _cursor(name: str, column: str, problems: list[str]) -> keyset.Bound | None:
    raw = request.args.get(name)
    if not raw:
        return None
    bound = filters.decode_cursor(raw, column)
    if bound is None:
        problems.append("That page link is damaged or out of date: here is the first page.")
    return bound


def _call_filter(choices: filters.Choices) -> tuple[filters.CallFilter, list[str]]:
    """The search from the query string, within the calls the rules let this supervisor
    open (`call.view`)."""
    found, problems = filters.parse_call_filter(request.args, choices, common.zone())
    return dataclasses.replace(found, scope=access.call_scope(current_staff())), problems


def _page_links(endpoint: str, values: dict[str, Any], page: keyset.Page) -> dict[str, str | None]:
    def link(name: str, bound: keyset.Bound | None) -> str | None:
        if bound is None:
            return None
        return url_for(endpoint, **{**values, name: filters.encode_cursor(*bound)})

    return {
        "next": link("after", page.next_after),
        "previous": link("before", page.previous_before),
    }


def _keyset_page(
    endpoint: str,
    values: dict[str, Any],
    column: str,
    fetch: Callable[[keyset.Bound | None, keyset.Bound | None], keyset.Page],
) -> tuple[keyset.Page, dict[str, Any]]:
    """The page the query string's cursor names (the first page, with a notice, when the
    cursor is damaged), and what a search template shows of it: no problems, the
    notices, the page and its links."""
    notices: list[str] = []
    after = _cursor("after", column, notices)
    before = None if after is not None else _cursor("before", column, notices)
    page = fetch(after, before)
    links = _page_links(endpoint, values, page)
    return page, {"problems": [], "notices": notices, "page": page, "links": links}


@bp.get("/calls")
@allow(Role.SUPERVISOR)
def calls() -> tuple[str, int]:
    """The call log: filters from the query string, keyset pages, masked data only."""
    choices = calllog.load_choices(db.session, common.catalog())
    found, problems = _call_filter(choices)
    size = filters.page_size(request.args)
    if size is None:
        problems.append("Rows per page: choose one from the list.")
    values: dict[str, Any] = filters.form_values(request.args, (*filters.CALL_FIELDS, "size"))
    context: dict[str, Any] = {
        "values": values,
        "choices": choices,
        "sorts": filters.SORTS,
        "outcomes": filters.OUTCOMES,
        "risks": filters.RISKS,
        "callbacks": filters.CALLBACKS,
        "sizes": filters.PAGE_SIZES,
        "timezone": settings().timezone,
    }
    if problems:
        return render_template("supervisor/calls.html", problems=problems, **context), 400
    page, shown = _keyset_page(
        "supervisor.calls",
        values,
        filters.SORTS[found.sort].column,
        lambda after, before: calllog.page(
            db.session, found, size or filters.DEFAULT_PAGE_SIZE, after, before
        ),
    )
    return render_template(
        "supervisor/calls.html",
        **shown,
        callback_statuses=calllog.callback_statuses(db.session, (r.id for r in page.rows)),
        staff=calllog.staff_names(db.session),
        sites=calllog.site_names(db.session),
        export_url=url_for("supervisor.export_calls", **values),
        **context,
    ), 200


@bp.get("/calls/<int:call_id>")
@allow(Role.SUPERVISOR)
def call_detail(call_id: int) -> str:
    """One call in full. Viewing it, and its contact record, is audited."""
    found = detail.find_call_detail(db.session, call_id)
    if found is None:
        abort(404)
    staff = current_staff()
    subject = access.call_subject(db.session, found.call)
    if not access.may("call.view", staff, subject):
        abort(403)
    caller = found.call.caller
    show_number = caller is not None and access.may("call.number", staff, subject)
    html = render_template(
        "supervisor/call_detail.html",
        d=found,
        call=found.call,
        masked_number=mask_number(caller.number_encrypted) if show_number and caller else None,
        number_hidden=caller is not None and not show_number,
        may_play=access.may("recording.play", staff, subject),
        path=timeline.ivr_path((e.kind, e.data) for e in found.events),
        label=timeline.label,
        event_details=timeline.details,
        staff=calllog.staff_names(db.session),
        sites=calllog.site_names(db.session),
        timezone=settings().timezone,
    )
    who, info = actor(staff), request_info()
    audit.record(
        db.session, "call_viewed", who, target_type="call", target_id=call_id, request=info
    )
    if found.record is not None:
        audit.record(
            db.session,
            "contact_record_viewed",
            who,
            target_type="contact_record",
            target_id=found.record.id,
            details={"call_id": call_id, "versions": len(found.versions)},
            request=info,
        )
    # The page goes out only once its access is on the record.
    db.session.commit()
    return html


def _export_page(
    found: filters.CallFilter, form: export.ExportForm, problems: list[str], code: int
) -> tuple[str, int]:
    values: dict[str, Any] = filters.form_values(request.args, filters.CALL_FIELDS)
    return render_template(
        "supervisor/export.html",
        problems=problems,
        count=calllog.count(db.session, found),
        form=form,
        columns=export.COLUMNS,
        personal_columns=export.PERSONAL_COLUMNS,
        may_export_personal=access.may(
            "calls.export_personal", current_staff(), permissions.What()
        ),
        action=url_for("supervisor.export_calls", **values),
        back=url_for("supervisor.calls", **values),
    ), code


def _bad_search(problems: list[str]) -> tuple[str, int]:
    values: dict[str, Any] = filters.form_values(request.args, filters.CALL_FIELDS)
    back = url_for("supervisor.calls", **values)
    return render_template("supervisor/export.html", problems=problems, back=back), 400


@bp.get("/calls/export")
@allow(Role.SUPERVISOR)
def export_calls() -> tuple[str, int]:
    """Before an export: how many calls the search gives, the columns, and the form."""
    choices = calllog.load_choices(db.session, common.catalog())
    found, problems = _call_filter(choices)
    if problems:
        return _bad_search(problems)
    return _export_page(found, export.ExportForm(), [], 200)


@bp.post("/calls/export")
@allow(Role.SUPERVISOR)
def export_calls_csv() -> Response | tuple[str, int]:
    """Stream the search as CSV, once the export is on the audit record."""
    choices = calllog.load_choices(db.session, common.catalog())
    found, problems = _call_filter(choices)
    if problems:
        return _bad_search(problems)
    # CSRFProtect has already refused a POST without a valid token; what is left to
    # check is the form's own fields.
    form = export.ExportForm()
    if not form.validate_on_submit():
        return _export_page(found, form, ["Correct the form below."], 400)
    problem = form.reason_problem()
    if problem is not None:
        return _export_page(found, form, [problem], 400)
    include_number = bool(form.include_number.data)
    if include_number and not access.may(
        "calls.export_personal", current_staff(), permissions.What()
    ):
        return _export_page(found, form, ["Your role may not export personal data."], 403)
    reason = (form.reason.data or "").strip() or None
    count = calllog.count(db.session, found)
    audit.record(
        db.session,
        "calls_exported",
        actor(current_staff()),
        target_type="call",
        details={
            "filters": found.described(),
            "rows": count,
            "personal_data": include_number,
            "reason": reason,
        },
        request=request_info(),
    )
    db.session.commit()
    chunks = export.csv_chunks(db.session, found, include_number=include_number, zone=common.zone())
    stamp = utcnow().astimezone(common.zone()).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="calls-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Export-Rows": str(count),
        },
    )


@bp.get("/audit")
@allow(Role.SUPERVISOR)
def audit_search() -> tuple[str, int]:
    """Search the access audit log; the chain check is a button here too."""
    found, problems = auditlog.parse_audit_filter(request.args, db.session, common.zone())
    size = filters.page_size(request.args)
    if size is None:
        problems.append("Rows per page: choose one from the list.")
    values: dict[str, Any] = filters.form_values(request.args, (*auditlog.AUDIT_FIELDS, "size"))
    context: dict[str, Any] = {
        "values": values,
        "actions": auditlog.KNOWN_ACTIONS,
        "sizes": filters.PAGE_SIZES,
        "form": PostForm(),
        "timezone": settings().timezone,
        "event_details": timeline.details,
    }
    if problems:
        return render_template("supervisor/audit.html", problems=problems, **context), 400
    _page, shown = _keyset_page(
        "supervisor.audit_search",
        values,
        "seq",
        lambda after, before: auditlog.page(
            db.session, found, size or filters.DEFAULT_PAGE_SIZE, after, before
        ),
    )
    return render_template("supervisor/audit.html", **shown, **context), 200


def _charts(report: kpis.Report) -> dict[str, Any]:
    """A chart of offered and answered calls for each breakdown; every hour of the day."""
    drawn: dict[str, Any] = {}
    empty = kpis.summarise_calls([])
    for name, groups in report.by.items():
        keys = [f"{h:02d}:00" for h in range(24)] if name == "hour" else list(groups)
        found = [groups.get(key, empty) for key in keys]
        rows = [(key, (k.offered, k.answered)) for key, k in zip(keys, found, strict=True)]
        title = f"Offered and answered calls by {name}"
        drawn[name] = charts.bar_chart(title, rows, ("offered", "answered"))
    return drawn


@bp.get("/kpis")
@allow(Role.SUPERVISOR)
def kpi_report() -> tuple[str, int]:
    """The line's figures for a period, their breakdowns, and an Erlang C suggestion."""
    zone = common.zone()
    query, problems, values = reports.parse_kpi_query(
        request.args, zone, utcnow().astimezone(zone).date()
    )
    context: dict[str, Any] = {"values": values, "timezone": settings().timezone}
    if query is None:
        return render_template("supervisor/kpis.html", problems=problems, **context), 400
    sites = calllog.site_names(db.session)
    facts = reports.call_facts(db.session, query.since, query.until, sites)
    report = kpis.build_report(facts, zone, query.thresholds)
    callbacks = kpis.summarise_callbacks(
        reports.callback_facts(db.session, query.since, query.until)
    )
    return render_template(
        "supervisor/kpis.html",
        problems=[],
        query=query,
        report=report,
        callbacks=callbacks,
        staffing=kpis.suggest_staffing(report, query.since, query.until, query.target),
        definitions=kpis.definitions(query.thresholds),
        charts=_charts(report),
        **context,
    ), 200
