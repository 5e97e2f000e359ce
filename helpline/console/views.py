"""The counsellors' and interpreters' console: their start pages."""

from __future__ import annotations

import logging
from typing import Any

import redis
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from helpline import i18n
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.callbacks import service as callback_service
from helpline.cases import labels as case_labels
from helpline.cases import queries as case_queries
from helpline.console import calls, forms
from helpline.extensions import db, get_redis
from helpline.models import Call, Staff
from helpline.models.enums import Role
from helpline.records import service as records
from helpline.routing import presence
from helpline.tasks.dispatch import enqueue_dispatch
from helpline.voicemail import service as voicemails
from helpline.web import now, request_info

bp = Blueprint("console", __name__, url_prefix="/console")
log = logging.getLogger(__name__)

# States staff set by hand; busy and wrap-up follow from calls.
CHOOSABLE = ("available", "break", "offline")
STATE_LABELS = {
    "available": lazy_gettext("Available"),
    "reserved": lazy_gettext("Being offered a call"),
    "busy": lazy_gettext("In a call"),
    "wrap_up": lazy_gettext("Wrap-up"),
    "break": lazy_gettext("On a break"),
    "offline": lazy_gettext("Offline"),
}


def _live() -> dict[str, Any]:
    """The live panel (presence and the current call), rendered into the page."""
    found = calls.panel(with_history=True)
    db.session.commit()  # the audit entry of a caller history shown
    return calls.panel_context(found)


@bp.get("/")
@allow(Role.COUNSELLOR)
def home() -> str:
    """A counsellor's start page: skills, open callbacks and voicemail messages, calls to
    write up, their contacts."""
    staff = current_staff()
    # The same callbacks as the "My callbacks" page, which has their actions.
    callbacks = callback_service.list_mine(db.session, staff, now(), limit=50)
    mine = case_queries.my_cases(db.session, by=staff, now=now(), limit=50, request=request_info())
    return render_template(
        "console/home.html",
        staff=staff,
        callbacks=callbacks,
        contacts=records.list_my_records(db.session, staff, limit=20),
        awaiting=records.list_calls_awaiting_record(db.session, staff),
        call_types=dict(forms.CALL_TYPES),
        risk_levels=dict(forms.RISK_LEVELS),
        voicemail_rows=voicemails.inbox_rows(db.session, staff),
        voicemail_back="console.home",
        voicemail_now=now(),
        my_cases=mine,
        case_labels=case_labels,
        **_live(),
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
        **_live(),
    )


def _own_form() -> tuple[Staff, str]:
    """The member of staff posting a form about themselves (400 without the CSRF token),
    and their start page to go back to."""
    if not PostForm().validate_on_submit():
        abort(400)
    staff = current_staff()
    return staff, url_for(
        "console.home" if Role.COUNSELLOR in staff.roles else "console.interpreter"
    )


@bp.post("/presence")
@allow(Role.COUNSELLOR, Role.INTERPRETER)
def set_presence() -> Response:
    """Set one's own state: available, on a break, or offline."""
    staff, back = _own_form()
    state = request.form.get("state", "")
    if state not in CHOOSABLE:
        flash(_("Choose available, on a break or offline."), "error")
        return redirect(back)
    try:
        presence.set_state(get_redis(), db.session, staff.id, state, reason="console")
    except redis.RedisError:
        db.session.rollback()
        log.warning("presence change for staff %s failed: Redis unreachable", staff.id)
        flash(
            _("Your state could not be changed: live presence is unreachable. Try again."), "error"
        )
        return redirect(back)
    except presence.PresenceError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return redirect(back)
    db.session.commit()
    if state == "available":
        enqueue_dispatch()
    flash(_("You are now: %(state)s.", state=STATE_LABELS[state]), "info")
    return redirect(back)


@bp.post("/language")
@allow(Role.COUNSELLOR, Role.INTERPRETER)
def set_language() -> Response:
    """Choose the console's language (Turkish, English or Arabic); also the phone's."""
    staff, back = _own_form()
    language = request.form.get("language", "")
    if language not in i18n.LANGUAGES:
        flash(_("Choose Turkish, English or Arabic."), "error")
        return redirect(back)
    staff.ui_language = language
    db.session.commit()
    return redirect(back)
