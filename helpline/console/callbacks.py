"""My callbacks and follow-ups (blueprint `my_callbacks`, under /console/callbacks).

A counsellor's list of the callbacks they may act on (`callbacks.service.list_mine`:
assigned to or preferring them, and the follow-ups of their own records), with the
caller's masked number and never a note. Each row's actions are POSTs with a CSRF token
to the service's audited functions: call now (then the dial job is queued after the
commit), reschedule to a local date and time of the line (`CALLING_HOURS_TZ`), record
the outcome. The voicemail messages in the counsellor's languages are listed too
(console/voicemails.py has their actions). Another counsellor's callback is 403, an
unknown one 404, bad input a 400 page that says what is wrong. Opening the page is
audited: it shows masked numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.callbacks import service
from helpline.callbacks.service import CallbackError
from helpline.console.records import local_time
from helpline.extensions import db
from helpline.models import CallbackRequest, Staff
from helpline.models.enums import CallbackOutcome, CallbackStatus, Role
from helpline.privacy.crypto import mask_number
from helpline.records.service import follow_up_due
from helpline.tasks.callbacks import enqueue_dial_callback
from helpline.voicemail import service as voicemails
from helpline.web import actor, now, request_info, settings

bp = Blueprint("my_callbacks", __name__, url_prefix="/console/callbacks")

REASONS = {
    "queue_key": lazy_gettext("Asked while waiting"),
    "out_of_hours": lazy_gettext("Called out of hours"),
    "voicemail": lazy_gettext("Left a voicemail"),
    "abandoned": lazy_gettext("Hung up while waiting"),
    "follow_up": lazy_gettext("Follow-up"),
    "not_safe_now": lazy_gettext("Not safe to talk then"),
}
STATUSES = {
    CallbackStatus.PENDING.value: lazy_gettext("Waiting"),
    CallbackStatus.CLAIMED.value: lazy_gettext("Being offered"),
    CallbackStatus.DIALLING.value: lazy_gettext("Being made now"),
    CallbackStatus.FAILED.value: lazy_gettext("Failed"),
    CallbackStatus.EXPIRED.value: lazy_gettext("Expired"),
}
OUTCOMES = {
    CallbackOutcome.CONNECTED.value: lazy_gettext("Reached the caller another way"),
    CallbackOutcome.CANCELLED.value: lazy_gettext("Cancelled: no call is needed"),
}


def _page(problem: str | None = None, status: int = 200) -> tuple[str, int]:
    """The list, with a problem to show (400) or none; the opening is audited."""
    staff = current_staff()
    rows = service.list_mine(db.session, staff, now())
    html = render_template(
        "console/callbacks.html",
        rows=[(row, mask_number(row.caller.number_encrypted)) for row in rows],
        problem=problem,
        form=PostForm(),
        local=local_time,
        timezone=settings().timezone,
        reasons=REASONS,
        statuses=STATUSES,
        outcomes=OUTCOMES,
        pending=CallbackStatus.PENDING.value,
        voicemail_rows=voicemails.inbox_rows(db.session, staff),
        voicemail_back="my_callbacks.page",
        voicemail_now=now(),
    )
    audit.record(
        db.session,
        "my_callbacks_viewed",
        actor(staff),
        details={"rows": len(rows)},
        request=request_info(),
    )
    db.session.commit()  # the page goes out only once its access is on the record
    return html, status


@bp.get("/")
@allow(Role.COUNSELLOR)
def page() -> tuple[str, int]:
    """The callbacks and follow-ups this counsellor may act on, by next attempt."""
    return _page()


class _Refused(Exception):
    """Bad input to an action: the 400 page shows the (already translated) message."""


# An action's step: given the callback and who acts, does the service call (raising
# CallbackError or _Refused) and returns the message to flash and what to do after the
# commit.
Step = Callable[[CallbackRequest, Staff], tuple[str, Callable[[], object] | None]]


def _act(callback_id: int, step: Step) -> Response | tuple[str, int]:
    """Check the CSRF token (400 page), the callback (404 unknown, 403 someone else's),
    run the step, commit once, then do its after-commit work."""
    if not PostForm().validate_on_submit():
        return _page(_("The form expired; reload the page and try again."), 400)
    callback = db.session.get(CallbackRequest, callback_id)
    if callback is None:
        abort(404)
    staff = current_staff()
    if not service.is_mine(db.session, callback.id, staff):
        abort(403)
    try:
        message, after = step(callback, staff)
    except (CallbackError, _Refused) as error:
        db.session.rollback()
        problem = _(str(error)) if isinstance(error, CallbackError) else str(error)
        return _page(problem, 400)
    db.session.commit()
    if after is not None:
        after()
    flash(message, "info")
    return redirect(url_for(".page"))


@bp.post("/<int:callback_id>/call-now")
@allow(Role.COUNSELLOR)
def call_now(callback_id: int) -> Response | tuple[str, int]:
    """Make the callback due now, offered to this counsellor first; queue its dial job."""

    def step(callback: CallbackRequest, staff: Staff) -> tuple[str, Callable[[], object]]:
        service.call_now(db.session, callback.id, by=staff, now=now(), request=request_info())
        message = _("The callback is being made: you are offered it first.")
        return message, lambda: enqueue_dial_callback(callback.id)

    return _act(callback_id, step)


def _local_at() -> dt.datetime | None:
    """The form's date and time, a wall-clock time of the line; None if unusable."""
    try:
        date = dt.date.fromisoformat(request.form.get("date", "").strip())
        time = dt.time.fromisoformat(request.form.get("time", "").strip())
    except ValueError:
        return None
    return dt.datetime.combine(date, time.replace(second=0, microsecond=0, tzinfo=None))


@bp.post("/<int:callback_id>/reschedule")
@allow(Role.COUNSELLOR)
def reschedule(callback_id: int) -> Response | tuple[str, int]:
    """Move the callback to a date and time of the line's time zone."""

    def step(callback: CallbackRequest, staff: Staff) -> tuple[str, Callable[[], object]]:
        local_at = _local_at()
        if local_at is None:
            raise _Refused(_("Give a date and a time for the new call."))
        at = follow_up_due(local_at, settings().timezone)
        service.reschedule(db.session, callback.id, at, by=staff, now=now(), request=request_info())
        message = _("The callback is now due at %(at)s.", at=local_time(at))
        return message, lambda: enqueue_dial_callback(callback.id, at)

    return _act(callback_id, step)


@bp.post("/<int:callback_id>/outcome")
@allow(Role.COUNSELLOR)
def record_outcome(callback_id: int) -> Response | tuple[str, int]:
    """Close the callback by hand: the caller was reached another way, or it is cancelled."""

    def step(callback: CallbackRequest, staff: Staff) -> tuple[str, None]:
        outcome = request.form.get("outcome", "")
        if outcome not in OUTCOMES:
            raise _Refused(_("Choose an outcome from the list."))
        service.record_outcome(
            db.session, callback.id, outcome, by=staff, now=now(), request=request_info()
        )
        return _("Outcome recorded: %(outcome)s.", outcome=OUTCOMES[outcome]), None

    return _act(callback_id, step)
