"""Supervisors see the callbacks that failed: every attempt used, or expired unmade.

A page of its own under /supervisor/callbacks, glue only: the query is
`callbacks.service.list_failed`; each opening is audited (the page shows masked numbers
and links to the calls).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.callbacks import service
from helpline.extensions import db
from helpline.models import utcnow
from helpline.models.enums import Role
from helpline.privacy.crypto import mask_number
from helpline.web import actor, request_info, settings

bp = Blueprint("supervisor_callbacks", __name__, url_prefix="/supervisor/callbacks")
PERIODS = (1, 7, 30)


@bp.get("/failed")
@allow(Role.SUPERVISOR)
def failed() -> tuple[str, int]:
    """Failed and expired callbacks of the last 1, 7 or 30 days, newest first."""
    raw = request.args.get("days", "7")
    days = int(raw) if raw.isdigit() and int(raw) in PERIODS else None
    if days is None:
        message = "Choose 1, 7 or 30 days."
        html = render_template("supervisor/callbacks.html", rows=[], days=7, problem=message)
        return html, 400
    rows = service.list_failed(db.session, utcnow() - dt.timedelta(days=days))
    html = render_template(
        "supervisor/callbacks.html",
        rows=[(row, mask_number(row.caller.number_encrypted)) for row in rows],
        days=days,
        periods=PERIODS,
        problem=None,
        timezone=settings().timezone,
    )
    audit.record(
        db.session,
        "failed_callbacks_viewed",
        actor(current_staff()),
        details={"days": days, "rows": len(rows)},
        request=request_info(),
    )
    db.session.commit()  # the page goes out only once its access is on the record
    return html, 200
