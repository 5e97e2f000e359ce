"""Webhooks of the caller's leg when the helpline calls them back (tasks/callbacks.py).

What the answers mean is `callbacks.leg`; this module parses, settles and renders.

- `/voice/callback/answer`: the phone was answered. A machine (answering-machine
  detection: `AnsweredBy`) hears only a neutral message, never who calls or why, and the
  attempt is retried later. A person hears the discreet question: 1 if they can talk
  now, 2 to be called later.
- `/voice/callback/safe`: the key. 1 joins the counsellor in the call's room; 2, or no
  key, is "not safe now": a goodbye, and the callback is rescheduled.
- `/voice/callback/status`: the leg's status callback. `initiated` names the leg (its
  CallSid); the end of a leg that never reached the room is no answer, busy or not safe
  now, and the counsellor waiting in the room is let go.

Each URL names the call (`c`), signed by Twilio with the rest of the request. Outcomes
are CallEvents (`callback_outcome`), recorded once however often Twilio retries.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from helpline.callbacks import leg, service
from helpline.callbacks.configured import limits
from helpline.calls import log as calls
from helpline.calls.params import TERMINAL_STATUSES, VoiceParams
from helpline.extensions import csrf, db
from helpline.ivr import engine
from helpline.models import Call, utcnow
from helpline.models.enums import CallbackOutcome, CallEventKind, EventSource
from helpline.tasks.callbacks import enqueue_dial_callback, enqueue_end_callback_room
from helpline.voice.common import EMPTY, callback_token, renderer, twiml
from helpline.voice.queue import into_room
from helpline.voice.webhook import caller_webhook
from helpline.web import settings

bp = Blueprint("voice_callbacks", __name__, url_prefix="/voice/callback")
csrf.exempt(bp)
SAFE_TIMEOUT = 8  # seconds to press 1 or 2 after the question


def _call() -> Call | None:
    raw = request.args.get("c", "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    call = db.session.get(Call, int(raw))
    if call is None or call.callback_request_id is None:
        return None
    return call


def _hang_up() -> Response:
    response = VoiceResponse()
    response.hangup()
    return twiml(str(response))


def _goodbye(language: str, prompt: str) -> Response:
    response = VoiceResponse()
    renderer().speak(response, engine.PromptRef(prompt, language))
    response.hangup()
    return twiml(str(response))


def _settle(call: Call, outcome: str) -> None:
    """Record the attempt's outcome once, and queue what follows it (after the commit)."""
    settled = service.settle(db.session, call, outcome, limits(), utcnow())
    db.session.commit()
    if settled is None:
        return
    if outcome != CallbackOutcome.CONNECTED:
        enqueue_end_callback_room(call.id)
    if settled.retry_at is not None:
        enqueue_dial_callback(settled.callback.id, settled.retry_at)


@caller_webhook(bp, "/answer")
def answer() -> Response:
    """Answered: a machine gets a neutral message; a person, the discreet question."""
    call = _call()
    params = VoiceParams.parse(request.form)
    if call is None:
        return _hang_up()
    service.adopt_sid(call, params.call_sid)
    language = call.language or "tr"
    if leg.is_machine(request.form.get("AnsweredBy", "")):
        _settle(call, CallbackOutcome.MACHINE)
        return _goodbye(language, "callback_machine")
    db.session.commit()
    action = f"{settings().public_base_url}/voice/callback/safe?c={call.id}"
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=SAFE_TIMEOUT,
        finish_on_key="",
        action=action,
        method="POST",
    )
    renderer().speak(gather, engine.PromptRef("callback_greeting", language))
    response.append(gather)
    response.redirect(f"{action}&e=timeout", method="POST")
    return twiml(str(response))


@caller_webhook(bp, "/safe")
def safe_to_talk() -> Response:
    """1: into the room with the counsellor. Anything else: called again later."""
    call = _call()
    params = VoiceParams.parse(request.form)
    if call is None:
        return _hang_up()
    language = call.language or "tr"
    timed_out = request.args.get("e") == "timeout"
    if not leg.wants_to_talk(params.digits, timed_out=timed_out):
        _settle(call, CallbackOutcome.NOT_SAFE_NOW)
        return _goodbye(language, "callback_later")
    settled = service.settle(db.session, call, CallbackOutcome.CONNECTED, limits(), utcnow())
    if settled is None:  # too late: the attempt was settled (the counsellor left)
        db.session.commit()
        return _goodbye(language, "callback_later")
    service.event(
        db.session, call.id, CallEventKind.CONNECTED, {"callback": True}, source=EventSource.ROUTER
    )
    db.session.commit()
    return twiml(into_room(call.id, engine.PromptRef("connected", language)))


@caller_webhook(bp, "/status")
def status() -> Response:
    """The caller's leg: named when it starts; at its end, the attempt's outcome."""
    call = _call()
    params = VoiceParams.parse(request.form)
    if call is None:
        return twiml(EMPTY)
    service.adopt_sid(call, params.call_sid)
    if params.call_status not in TERMINAL_STATUSES:
        db.session.commit()
        return twiml(EMPTY)
    if params.call_sid and params.call_sid == call.call_sid:
        calls.apply_status(db.session, call, params, callback_token())
    db.session.commit()
    _settle(call, leg.outcome_of_status(params.call_status, CallbackOutcome.NO_ANSWER))
    return twiml(EMPTY)
