"""The duty supervisor's alerts on every supervisor page (blueprint `alerts`, /console).

Alerts (helpline/alerts/) show in a live region at the top of every page a supervisor
opens; `static/live.js` polls `GET /console/alerts.json` (fingerprint, count and the
alerts: kind, language, topic, wait; never a number) and fetches `GET /console/alerts`
(the region as HTML) when the fingerprint changed, so a new alert appears without a
reload. `POST /console/alerts/<event>/acknowledge` acknowledges one: audited, once; of
two supervisors at once one wins and the other is told who did.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from helpline.alerts import repository, rules
from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.console.records import local_time
from helpline.extensions import db
from helpline.models import Staff, utcnow
from helpline.models.enums import Role
from helpline.web import actor, request_info

bp = Blueprint("alerts", __name__, url_prefix="/console")


@dataclasses.dataclass(frozen=True)
class Region:
    alerts: list[rules.Alert]

    @property
    def fingerprint(self) -> str:
        return rules.fingerprint(self.alerts)


def _region() -> Region:
    found: Region | None = g.get("duty_alerts")
    if found is None:
        found = Region(repository.list_open(db.session, utcnow()))
        g.duty_alerts = found
    return found


@bp.app_context_processor
def duty_alerts() -> dict[str, object]:
    """Every page a supervisor sees carries the alerts region (base.html)."""
    if not (current_user.is_authenticated and Role.SUPERVISOR in current_user.staff.roles):
        return {}
    try:
        return {"duty_alerts": _region()}
    except sa.exc.SQLAlchemyError:  # the page (perhaps the error page) shows without them
        db.session.rollback()
        return {}


@bp.get("/alerts.json")
@allow(Role.SUPERVISOR)
def poll() -> Response:
    """The open alerts, polled every few seconds (nothing personal, nothing audited)."""
    region = _region()
    return jsonify(
        {
            "fingerprint": region.fingerprint,
            "count": len(region.alerts),
            "alerts": [alert.summary() for alert in region.alerts],
        }
    )


@bp.get("/alerts")
@allow(Role.SUPERVISOR)
def region() -> str:
    """The alerts region as HTML, for the page to swap in when the fingerprint changed."""
    return render_template("console/_alerts.html")


def _back() -> Response:
    """To the page the supervisor acknowledged from (`next`: a path on this site), else
    their home. (The app sends no Referer: Referrer-Policy no-referrer.)"""
    wanted = request.form.get("next", "")
    parts = urlsplit(wanted)
    if wanted.startswith("/") and not parts.netloc and not parts.scheme and "\\" not in wanted:
        return redirect(wanted)
    return redirect(url_for("supervisor.home"))


@bp.post("/alerts/<int:event_id>/acknowledge")
@allow(Role.SUPERVISOR)
def acknowledge(event_id: int) -> Response:
    """Acknowledge an alert: once, audited; if someone did already, say who and when."""
    if not PostForm().validate_on_submit():
        abort(400, description=_("The form expired; reload the page and try again."))
    event = repository.find_event(db.session, event_id)
    if event is None:
        abort(404)
    staff = current_staff()
    done = repository.acknowledge(db.session, event.id, staff.id, utcnow())
    if done.is_new:
        audit.record(
            db.session,
            "alert_acknowledged",
            actor(staff),
            target_type="call_event",
            target_id=event.id,
            details={"call_id": event.call_id, "kind": event.kind},
            request=request_info(),
        )
        db.session.commit()
        flash(_("Alert acknowledged."), "info")
        return _back()
    db.session.rollback()
    by = db.session.get(Staff, done.by_id) if done.by_id is not None else None
    flash(
        _(
            "%(name)s had already acknowledged this alert, at %(time)s.",
            name=by.display_name if by is not None else "?",
            time=local_time(done.at, "%H:%M:%S"),
        ),
        "info",
    )
    return _back()
