"""Voicemail messages in the console (blueprint `voicemails`, under /voicemails).

Each message is work for the counsellors who speak its language (and for supervisors):
the lists are on the counsellor's home and "My callbacks" pages and the supervisor's
voicemail page, drawn by `console/_voicemails.html` from `voicemail.service.inbox_rows`.
The actions:

- PLAY: the audio, fetched from the provider and streamed through, after the rules
  (`voicemail.play`: the caller's consent and, by default, the message's language) and
  an audit entry for this play, committed before a byte is sent;
- MARK HANDLED: who and when, audited;
- CALL BACK: the message's pending callback made now, offered first to this counsellor
  (the callbacks' own `call_now`), its dial job queued after the commit.

An unknown message is 404, one the rules keep from this person 403, a destroyed one 410.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.callbacks import service as callbacks
from helpline.extensions import db
from helpline.models import Staff, Voicemail
from helpline.models.enums import Role
from helpline.tasks.callbacks import enqueue_dial_callback
from helpline.telephony import playback
from helpline.voicemail import service
from helpline.web import now, request_info, settings

bp = Blueprint("voicemails", __name__, url_prefix="/voicemails")

# The pages an action may go back to (a form's `back`), by endpoint.
BACK = ("console.home", "my_callbacks.page", "supervisor.voicemails")


def _find(voicemail_id: int, action: str) -> tuple[Voicemail, Staff]:
    """The message and who acts: 404 unknown, 403 when the rules refuse this action."""
    voicemail = db.session.get(Voicemail, voicemail_id)
    if voicemail is None:
        abort(404)
    staff = current_staff()
    if not service.may(action, staff, voicemail):
        abort(403, "This message is for counsellors who speak its language.")
    return voicemail, staff


def _back(staff: Staff) -> BaseResponse:
    wanted = request.form.get("back", "")
    if wanted not in BACK:
        wanted = "supervisor.voicemails" if staff.has_role(Role.SUPERVISOR) else "console.home"
    return redirect(url_for(wanted))


@bp.get("/<int:voicemail_id>/audio")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def play(voicemail_id: int) -> Response:
    """The message's audio, where the caller consented and the rules allow; audited."""
    voicemail, staff = _find(voicemail_id, "voicemail.handle")
    if voicemail.is_destroyed:
        abort(410, "This message was destroyed under the retention policy.")
    if not service.may("voicemail.play", staff, voicemail):
        abort(403, "This message may not be played.")
    config = settings()
    playback.check_fetchable(voicemail.recording.url, config)
    service.record_play(db.session, voicemail, by=staff, request=request_info())
    db.session.commit()  # the play is on the record before any audio goes out
    return playback.stream_recording(voicemail.recording.url, config)


@bp.post("/<int:voicemail_id>/handled")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def mark_handled(voicemail_id: int) -> BaseResponse:
    """The message is dealt with: it leaves every list; who and when are kept, audited."""
    if not PostForm().validate_on_submit():
        abort(400)
    voicemail, staff = _find(voicemail_id, "voicemail.handle")
    try:
        service.mark_handled(db.session, voicemail, by=staff, now=now(), request=request_info())
    except service.VoicemailError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return _back(staff)
    db.session.commit()
    flash(_("Message %(id)s is marked handled.", id=voicemail.id), "info")
    return _back(staff)


@bp.post("/<int:voicemail_id>/call-back")
@allow(Role.COUNSELLOR)
def call_back(voicemail_id: int) -> BaseResponse:
    """Call the caller back now through the message's callback, offered to this counsellor
    first; its dial job is queued after the commit."""
    if not PostForm().validate_on_submit():
        abort(400)
    voicemail, staff = _find(voicemail_id, "voicemail.handle")
    callback = service.callback_of(db.session, voicemail)
    if callback is None:
        flash(_("This message has no callback waiting to be made."), "error")
        return _back(staff)
    try:
        callbacks.call_now(db.session, callback.id, by=staff, now=now(), request=request_info())
    except callbacks.CallbackError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return _back(staff)
    db.session.commit()
    enqueue_dial_callback(callback.id)
    flash(_("The callback is being made: you are offered it first."), "info")
    return _back(staff)
