"""The supervisors' console: today's figures, the live queue and the audit trail."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, render_template

from helpline import audit
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.extensions import db
from helpline.models import AuditEntry, Call, Staff, utcnow
from helpline.models.enums import Role
from helpline.web import actor, request_info, settings

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


def _start_of_today() -> dt.datetime:
    zone = ZoneInfo(settings().timezone)
    local = utcnow().astimezone(zone)
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
