"""Webhooks of a staff phone the helpline rings for a call (routing/legs.py starts it).

- `/voice/offer`: they answered. The whisper, in their console language, says the
  caller's language, topic and wait; they press 1 to accept (so a voicemail cannot
  "answer"), 2 to decline.
- `/voice/offer/answer`: the key, or none. Accepted: into the call's room, and the caller
  is brought in (and the interpreter rung) by the dispatch jobs; a counsellor taking
  over in a warm transfer (role `transfer`) is handed the call (what follows an answer is
  `routing/followups.py`). Declined or silent: the
  reservation is given back and the caller, who kept their place, goes to the next one.
- `/voice/offer/status`: the leg's status callback. An offer that rang out is a miss; a
  member of staff whose call ended goes to wrap-up.

Each URL names the call, the member of staff, the role and the offer id (signed by
Twilio with the rest of the request).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from helpline.calls.params import TERMINAL_STATUSES, VoiceParams
from helpline.extensions import csrf, db, get_redis
from helpline.models import Call, Staff
from helpline.routing import live, offers, operations, presence, waiting
from helpline.routing.followups import FollowUp, after_accept, after_refusal
from helpline.routing.legs import COUNSELLOR, ROLES, TRANSFER, Leg, room_name
from helpline.routing.staff_twiml import ask_staff, say_to_staff
from helpline.routing.whisper import StaffVoice
from helpline.tasks.callbacks import enqueue_dial_caller
from helpline.tasks.calls import enqueue_hand_over_call
from helpline.tasks.dispatch import (
    enqueue_add_interpreter,
    enqueue_connect_caller,
    enqueue_dispatch,
    enqueue_finish_wrap_up,
    enqueue_requeue_caller,
    enqueue_ring_leg,
)
from helpline.voice.common import (
    EMPTY,
    HANG_UP,
    twiml,
)
from helpline.voice.webhook import staff_webhook
from helpline.web import settings

bp = Blueprint("voice_offers", __name__, url_prefix="/voice")
csrf.exempt(bp)
OFFER_ID = re.compile(r"^[0-9a-f]{1,32}$")
WHISPER_TIMEOUT = 8  # seconds to press a key after the whisper


def _leg() -> Leg | None:
    args = request.args
    call_id, staff_id = args.get("c", ""), args.get("s", "")
    role, offer = args.get("r", ""), args.get("o", "")
    if not (call_id.isdigit() and staff_id.isdigit() and len(call_id) < 19 and len(staff_id) < 19):
        return None
    if role not in ROLES or not OFFER_ID.match(offer):
        return None
    return Leg(int(call_id), int(staff_id), role, offer)


def _voice(leg: Leg) -> StaffVoice:
    staff = db.session.get(Staff, leg.staff_id)
    return live.whispers().for_language(staff.ui_language if staff else None)


@staff_webhook(bp, "/offer")
def offer() -> Response:
    """Their phone was answered: the whisper, then one key."""
    leg = _leg()
    if leg is None:
        return twiml(HANG_UP)
    voice = _voice(leg)
    call = db.session.get(Call, leg.call_id)
    if call is None or call.ended_at is not None or not offers.still_offered(get_redis(), leg):
        return twiml(str(say_to_staff(voice, voice.texts["gone"])))
    language = call.language or live.policy().bridge_language
    if leg.role == TRANSFER:  # a transfer to a language: the one the caller speaks
        language = operations.transfer_language(db.session, call.id, leg.staff_id) or language
    text = voice.offer(
        role=leg.role,
        language=language,
        topic=call.topic,
        waited_seconds=waiting.waited(call),
        age_group=call.age_group,
        callback=call.callback_request_id is not None,
    )
    answer = f"{settings().public_base_url}/voice/offer/answer?{leg.query()}"
    response = ask_staff(voice, text, answer, WHISPER_TIMEOUT)
    response.redirect(f"{answer}&e=timeout", method="POST")
    return twiml(str(response))


def _join(voice: StaffVoice, leg: Leg) -> VoiceResponse:
    base = settings().public_base_url
    response = say_to_staff(voice, voice.texts["accepted"], hang_up=False)
    response.dial().conference(
        room_name(leg.call_id),
        start_conference_on_enter=True,
        end_conference_on_exit=leg.role in (COUNSELLOR, TRANSFER),
        beep=False,
        wait_url="",
        status_callback=f"{base}/voice/room?c={leg.call_id}",
        status_callback_event="join leave",
        status_callback_method="POST",
    )
    return response


def _start(follow_up: FollowUp, leg: Leg, interpreter: Leg | None = None) -> None:
    """Queue one follow-up of an answer (after its commit)."""
    if follow_up == FollowUp.DIAL_CALLBACK:
        enqueue_dial_caller(leg.call_id)
    elif follow_up == FollowUp.CONNECT_CALLER:
        enqueue_connect_caller(leg.call_id)
    elif follow_up == FollowUp.HAND_OVER:
        enqueue_hand_over_call(leg.call_id, leg.staff_id)
    elif follow_up == FollowUp.RING_INTERPRETER and interpreter is not None:
        enqueue_ring_leg(interpreter)
    elif follow_up == FollowUp.ADD_INTERPRETER:
        enqueue_add_interpreter(leg.call_id)
    elif follow_up == FollowUp.DISPATCH:
        enqueue_dispatch()


def _next_candidate(leg: Leg) -> None:
    """After a refusal: whatever routing does next (`followups.after_refusal`)."""
    follow_up = after_refusal(leg.role)
    if follow_up is not None:
        _start(follow_up, leg)


@staff_webhook(bp, "/offer/answer")
def answer() -> Response:
    """1 accepts; any other key declines; no key is a miss."""
    leg = _leg()
    if leg is None:
        return twiml(HANG_UP)
    voice = _voice(leg)
    params = VoiceParams.parse(request.form)
    timed_out = request.args.get("e") == "timeout" or not params.digits
    if not timed_out and params.digits == "1":
        accepted = offers.accept(db.session, live.reservations(), leg)
        db.session.commit()
        if accepted is None:
            return twiml(str(say_to_staff(voice, voice.texts["gone"])))
        if accepted.repeated:
            return twiml(str(_join(voice, leg)))
        follow_ups = after_accept(
            leg.role,
            is_callback=accepted.call.callback_request_id is not None,
            interpreter_reserved=accepted.interpreter is not None,
            is_emergency=accepted.call.is_emergency,
        )
        for follow_up in follow_ups:
            _start(follow_up, leg, accepted.interpreter)
        return twiml(str(_join(voice, leg)))
    refused = offers.refuse(
        db.session,
        get_redis(),
        live.reservations(),
        live.policy(),
        leg,
        answered=not timed_out,
        on_the_line=True,
    )
    db.session.commit()
    if refused:
        _next_candidate(leg)
    text = voice.texts["declined" if refused and not timed_out else "gone"]
    return twiml(str(say_to_staff(voice, text)))


@staff_webhook(bp, "/offer/status")
def status() -> Response:
    """The staff leg ended: a miss if it was still only offered; else wrap-up after the call."""
    leg = _leg()
    params = VoiceParams.parse(request.form)
    if leg is None or params.call_status not in TERMINAL_STATUSES:
        return twiml(EMPTY)
    connection = get_redis()
    policy = live.policy()
    what = offers.leg_ended(
        db.session, connection, live.reservations(), policy, leg, params.call_status
    )
    db.session.commit()
    if what in ("missed", "free"):
        _next_candidate(leg)
    elif what in ("wrap_up", "requeue"):
        since = presence.live_state(connection, leg.staff_id).get("since", "")
        enqueue_finish_wrap_up(leg.staff_id, since, policy.wrap_up_seconds)
        if what == "requeue":
            enqueue_requeue_caller(leg.call_id)
    return twiml(EMPTY)
