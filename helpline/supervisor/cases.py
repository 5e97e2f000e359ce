"""Supervisors' case pages: the centre's cases by worker, status and age (newest first, a
keyset page at a time), and each worker's caseload. The case itself opens on the
console's case page, read-only for a supervisor but for the transfer.

Glue only: helpline/cases/queries checks the supervisor's scope and audits each search.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _

from helpline.auth.access import allow, current_staff
from helpline.cases import labels, queries
from helpline.cases.access import CaseForbidden, CaseInvalid, Problem
from helpline.cases.cases import WORKED
from helpline.extensions import db
from helpline.models import Site, Staff
from helpline.models.enums import CaseStatus, Role
from helpline.web import now, request_info, settings

bp = Blueprint("supervisor_cases", __name__, url_prefix="/supervisor/cases")
Page = tuple[str, int]
FIELDS = ("site", "worker", "status", "min_age", "max_age")


def _number(field: str) -> int | None:
    raw = (request.args.get(field) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise CaseInvalid([Problem(field, "A whole number, please.")])
    return int(raw)


def read_search() -> queries.CaseSearch:
    """The search form (a GET query string) as the domain's search; CaseInvalid names the
    field, never what was typed."""
    status = (request.args.get("status") or "").strip() or None
    if status is not None and status not in {s.value for s in CaseStatus}:
        raise CaseInvalid([Problem("status", "Choose one of the listed statuses.")])
    return queries.CaseSearch(
        site_id=_number("site"),
        worker_id=_number("worker"),
        status=status,
        min_age_days=_number("min_age"),
        max_age_days=_number("max_age"),
    )


def read_key(raw: str | None) -> tuple[dt.datetime, int] | None:
    """The next page's key from the URL (`after=<iso time>_<id>`); None if unreadable."""
    at, _sep, ident = (raw or "").rpartition("_")
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        return None
    return (when, int(ident)) if ident.isdigit() and when.tzinfo is not None else None


def _choices() -> tuple[dict[int, str], dict[int, str]]:
    sites = {s.id: s.name for s in db.session.scalars(sa.select(Site).order_by(Site.name))}
    workers = {
        s.id: s.display_name
        for s in db.session.scalars(sa.select(Staff).order_by(Staff.display_name))
        if s.has_role(Role.COUNSELLOR)
    }
    return sites, workers


@bp.get("/")
@allow(Role.SUPERVISOR)
def search() -> Page:
    """The cases of the supervisor's centre (or the one chosen, where the rules allow)."""
    staff, moment = current_staff(), now()
    sites, workers = _choices()
    values = {field: request.args.get(field, "") for field in FIELDS}
    problems: dict[str, str] = {}
    found: queries.CasePage | None = None
    status = 200
    try:
        wanted = read_search()
        found = queries.search_cases(
            db.session,
            wanted,
            by=staff,
            now=moment,
            after=read_key(request.args.get("after")),
            request=request_info(),
        )
    except CaseInvalid as error:
        problems = {p.field: _(p.message) for p in error.problems}
        status = 400
    except CaseForbidden:
        abort(403)
    db.session.commit()  # the search is on the audit record before the page goes out
    next_url = None
    if found is not None and found.next_after is not None:
        key = f"{found.next_after[0].isoformat()}_{found.next_after[1]}"
        kept: dict[str, Any] = {k: v for k, v in values.items() if v}
        next_url = url_for(".search", **kept, after=key)
    html = render_template(
        "supervisor/cases/search.html",
        page=found,
        values=values,
        problems=problems,
        sites=sites,
        workers=workers,
        labels=labels,
        now=moment,
        next_url=next_url,
        timezone=settings().timezone,
    )
    return html, status


@bp.get("/caseload")
@allow(Role.SUPERVISOR)
def caseload() -> Page:
    """Each worker's cases being worked, by status, with the overdue ones and the oldest."""
    staff, moment = current_staff(), now()
    sites, _workers = _choices()
    try:
        site_id = _number("site")
        loads = queries.caseload(
            db.session, by=staff, now=moment, site_id=site_id, request=request_info()
        )
    except CaseInvalid:
        abort(404)
    except CaseForbidden:
        abort(403)
    db.session.commit()
    html = render_template(
        "supervisor/cases/caseload.html",
        loads=loads,
        sites=sites,
        site_id=site_id,
        worked=[s for s in CaseStatus if s in WORKED],
        labels=labels,
        now=moment,
    )
    return html, 200
