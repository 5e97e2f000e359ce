"""The counsellors' and interpreters' console: their start pages."""

from __future__ import annotations

import logging

import redis
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.extensions import db, get_redis
from helpline.models import Call, CallbackRequest
from helpline.models.enums import CallbackStatus, Role
from helpline.records import service as records
from helpline.routing import presence
from helpline.tasks.dispatch import enqueue_dispatch

bp = Blueprint("console", __name__, url_prefix="/console")
log = logging.getLogger(__name__)

# States staff set by hand; busy and wrap-up follow from calls.
CHOOSABLE = ("available", "break", "offline")
STATE_LABELS = {
    "available": "Available",
    "reserved": "Being offered a call",
    "busy": "In a call",
    "wrap_up": "Wrap-up",
    "break": "On a break",
    "offline": "Offline",
}


def _presence(staff_id: int) -> dict[str, str]:
    """The live state for the page; None-like when Redis cannot be reached."""
    try:
        live = presence.live_state(get_redis(), staff_id)
    except redis.RedisError:
        return {"state": "unknown", "label": "Unknown (live presence is unreachable)"}
    state = live.get("state", "offline")
    shown = {"state": state, "label": STATE_LABELS.get(state, state)}
    if state == "break" and live.get("reason") == presence.MISSED_OFFERS:
        shown["notice"] = (
            "Calls offered to your phone went unanswered several times in a row, so you "
            "were taken off the queue. Check your phone, then choose Available."
        )
    return shown


OPEN_CALLBACK = (
    CallbackStatus.PENDING.value,
    CallbackStatus.CLAIMED.value,
    CallbackStatus.DIALLING.value,
)


@bp.get("/")
@allow(Role.COUNSELLOR)
def home() -> str:
    """A counsellor's start page: skills, open callbacks, calls to write up, their contacts."""
    staff = current_staff()
    callbacks = db.session.scalars(
        sa.select(CallbackRequest)
        .where(
            sa.or_(
                CallbackRequest.assigned_staff_id == staff.id,
                CallbackRequest.preferred_staff_id == staff.id,
            ),
            CallbackRequest.status.in_(OPEN_CALLBACK),
        )
        .order_by(CallbackRequest.next_attempt_at)
        .limit(50)
    ).all()
    return render_template(
        "console/home.html",
        staff=staff,
        callbacks=callbacks,
        contacts=records.list_my_records(db.session, staff, limit=20),
        awaiting=records.list_calls_awaiting_record(db.session, staff),
        presence=_presence(staff.id),
        presence_form=PostForm(),
        choosable=CHOOSABLE,
        labels=STATE_LABELS,
    )


@bp.get("/interpreter")
@allow(Role.INTERPRETER)
def interpreter() -> str:
    """An interpreter's start page: live assignments and languages, and no notes."""
    staff = current_staff()
    assignments = db.session.scalars(
        sa.select(Call)
        .where(Call.interpreter_id == staff.id, Call.ended_at.is_(None))
        .order_by(Call.started_at)
    ).all()
    return render_template(
        "console/interpreter.html",
        staff=staff,
        assignments=assignments,
        presence=_presence(staff.id),
        presence_form=PostForm(),
        choosable=CHOOSABLE,
        labels=STATE_LABELS,
    )


@bp.post("/presence")
@allow(Role.COUNSELLOR, Role.INTERPRETER)
def set_presence() -> Response:
    """Set one's own state: available, on a break, or offline."""
    if not PostForm().validate_on_submit():
        abort(400)
    staff = current_staff()
    state = request.form.get("state", "")
    back = url_for("console.home" if Role.COUNSELLOR in staff.roles else "console.interpreter")
    if state not in CHOOSABLE:
        flash("Choose available, on a break or offline.", "error")
        return redirect(back)
    try:
        presence.set_state(get_redis(), db.session, staff.id, state, reason="console")
    except redis.RedisError:
        db.session.rollback()
        log.warning("presence change for staff %s failed: Redis unreachable", staff.id)
        flash("Your state could not be changed: live presence is unreachable. Try again.", "error")
        return redirect(back)
    except presence.PresenceError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back)
    db.session.commit()
    if state == "available":
        enqueue_dispatch()
    flash(f"You are now: {STATE_LABELS[state]}.", "info")
    return redirect(back)
