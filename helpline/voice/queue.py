"""Webhooks of a caller waiting for a counsellor, and of the room they talk in.

- `/voice/wait`: the Enqueue waitUrl, re-requested after every round. Hold music inside a
  one-key Gather, with the position and expected wait in the caller's language when they
  changed. At the policy's maximum wait, or with routing unreachable, the caller leaves
  the queue (to voicemail and a callback, or the duty line).
- `/voice/hold`: a key pressed while waiting (1: a callback, keeping one's place; the
  emergency key: the duty line).
- `/voice/connect`: a counsellor accepted; the routing job moved the caller here, into
  the call's conference room.
- `/voice/requeue`: the counsellor left the room before the caller reached it; the
  caller waits again, keeping their place.
- `/voice/room`: the room's status callbacks, for the timeline: each stored once, at the
  time the provider gives (calls.record_room_event).
- `/voice/held`: the HoldUrl of a caller put on hold in the room (routing/conference.py):
  the hold music, looped. A TwiML document, since the sandbox (like a conference
  waitUrl) runs only TwiML there.

All are signed, thin and always TwiML; decisions are the engine's and the router's.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from helpline.calls import log as calls
from helpline.calls.params import VoiceParams
from helpline.extensions import csrf, db, get_redis
from helpline.ivr import engine
from helpline.ivr.model import Flow
from helpline.models import Call
from helpline.models.enums import CallEventKind
from helpline.routing import announce, live, offers, waiting
from helpline.routing.legs import room_name
from helpline.tasks.dispatch import enqueue_dispatch, enqueue_widening
from helpline.voice import steps
from helpline.voice.common import EMPTY, callback_token, registry, renderer, twiml
from helpline.voice.webhook import caller_webhook
from helpline.web import now, settings

bp = Blueprint("voice_queue", __name__, url_prefix="/voice")
csrf.exempt(bp)
log = logging.getLogger(__name__)
HOLD_MUSIC = "hold.mp3"  # ivr_flows/audio/shared/
HOLD_MUSIC_SECONDS = 24
ROOM_EVENTS = "start end join leave"


def _waiting_call() -> tuple[steps.IvrCall, engine.State, Flow] | None:
    """The call this request is about, with its flow, if it is still in the flow (read
    with Core, in one round trip: the hold loop is the line's most frequent webhook)."""
    params = VoiceParams.parse(request.form)
    call = steps.load(db.session, params.call_sid) if params.call_sid else None
    if call is None or call.ivr_state is None:
        return None
    state = engine.State.from_json(call.ivr_state)
    flow = registry().find(db.session, state.flow, state.version)
    if flow is None:
        return None
    return call, state, flow


def _hold_round(prompts: tuple[engine.PromptRef, ...]) -> str:
    """One round of waiting: news (if any), then music, listening for one key."""
    base = settings().public_base_url
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=max(1, live.policy().announce_seconds - HOLD_MUSIC_SECONDS),
        finish_on_key="",
        action=f"{base}/voice/hold",
        method="POST",
    )
    for prompt in prompts:
        renderer().speak(gather, prompt)
    gather.play(f"{base}/voice/audio/shared/{HOLD_MUSIC}")
    response.append(gather)
    response.redirect(f"{base}/voice/wait", method="POST")
    return str(response)


def _may_leave(call_id: int) -> bool:
    """Atomically end any offer for the caller; False if a counsellor already accepted."""
    try:
        return live.reservations().withdraw(call_id) is not None
    except redis.RedisError:
        return True  # routing is gone: nobody can be connecting them


def _leave(ivr: steps.IvrCall, flow: Flow, state: engine.State, reason: str) -> Response:
    step = engine.leave_queue(flow, state, reason, steps.facts_for(ivr, now()))
    if step is None or not _may_leave(ivr.id):
        return twiml(_hold_round(()))
    steps.apply_step(db.session, ivr, step, flow.id)
    db.session.commit()
    return twiml(renderer().render(step))


@caller_webhook(bp, "/wait")
def wait() -> Response:
    """One round of the wait: announcements when something changed, and hold music."""
    found = _waiting_call()
    if found is None:
        return twiml(_hold_round(()))
    call, state, flow = found
    if waiting.waited(call) >= live.policy().max_wait:
        return _leave(call, flow, state, "max_wait")
    try:
        connection = get_redis()
        standing = offers.standing_of(connection, call.id)
        last = connection.get(offers.ANNOUNCED_KEY.format(call.id))
    except redis.RedisError:
        log.warning("call %s leaves the queue: routing unreachable", call.id)
        return _leave(call, flow, state, "unavailable")
    prompts: tuple[engine.PromptRef, ...] = ()
    if standing is not None:
        estimate = announce.estimate(standing.position, standing.serving, standing.handle_seconds)
        told = last.decode() if isinstance(last, bytes) else None
        prompts = announce.announcement(
            estimate, told, standing.offer_callback, call.language or state.language
        )
        if estimate.token() != told:
            connection.set(
                offers.ANNOUNCED_KEY.format(call.id), estimate.token(), ex=offers.WAIT_TTL_SECONDS
            )
            offers.event(
                db.session,
                call.id,
                CallEventKind.ANNOUNCEMENT,
                data={"position": estimate.position, "wait_seconds": estimate.wait_seconds},
            )
            db.session.commit()
    enqueue_widening()  # the stages widen with the wait: decide again (at most once a second)
    return twiml(_hold_round(prompts))


@caller_webhook(bp, "/hold")
def hold() -> Response:
    """A key while waiting: the engine decides; the caller leaves or keeps waiting."""
    found = _waiting_call()
    if found is None:
        return twiml(_hold_round(()))
    ivr, state, flow = found
    params = VoiceParams.parse(request.form)
    step = engine.hold_key(flow, state, params.digits or "", steps.facts_for(ivr, now()))
    leaving = isinstance(step.action, engine.Leave)
    if leaving and not _may_leave(ivr.id):
        return twiml(_hold_round(()))  # a counsellor accepted: they are being connected
    steps.apply_step(db.session, ivr, step, flow.id)
    db.session.commit()
    if leaving:
        return twiml(renderer().render(step))
    said = step.action.prompts if isinstance(step.action, engine.Ack) else ()
    return twiml(_hold_round(said))


def _call_from_args() -> Call | None:
    raw = request.args.get("c", "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    return db.session.get(Call, int(raw))


def _moved_caller() -> tuple[Call, engine.State] | None:
    """The call named in the URL, if this request is its caller's leg (moved by REST)."""
    call = _call_from_args()
    params = VoiceParams.parse(request.form)
    if call is None or call.ivr_state is None or params.call_sid != call.call_sid:
        return None
    return call, engine.State.from_json(call.ivr_state)


@caller_webhook(bp, "/connect")
def connect() -> Response:
    """The caller, out of the queue, joins the call's room where the counsellor waits."""
    moved = _moved_caller()
    if moved is None:
        return twiml(renderer().fallback(None))
    call, state = moved
    language = call.language or state.language
    with_interpreter = bool(live.reservations().offer_of(call.id).get("interpreter"))
    offers.event(
        db.session,
        call.id,
        CallEventKind.CONNECTED,
        call.counsellor_id,
        {"interpreter": with_interpreter},
    )
    db.session.commit()
    greeting = "connected_interpreter" if with_interpreter else "connected"
    action = renderer().urls.step(state.node, state.turn, "room")
    return twiml(into_room(call.id, engine.PromptRef(greeting, language), action))


def into_room(call_id: int, greeting: engine.PromptRef, action: str | None = None) -> str:
    """The caller hears the greeting and joins the call's room (where the counsellor is);
    they leaving ends it. Without an `action`, the call ends when the room does."""
    response = VoiceResponse()
    renderer().speak(response, greeting)
    dial = response.dial(action=action, method="POST") if action else response.dial()
    dial.conference(
        room_name(call_id),
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
        wait_url="",
        status_callback=f"{settings().public_base_url}/voice/room?c={call_id}",
        status_callback_event=ROOM_EVENTS,
        status_callback_method="POST",
    )
    return str(response)


@caller_webhook(bp, "/requeue")
def requeue() -> Response:
    """The counsellor left before the caller arrived: back to waiting, in the same place."""
    moved = _moved_caller()
    if moved is None:
        return twiml(renderer().fallback(None))
    call, state = moved
    flow = registry().find(db.session, state.flow, state.version)
    if flow is None:
        return twiml(renderer().fallback(call.language))
    ivr = steps.IvrCall.of(call)
    step = engine.replay(flow, registry().catalog.schedules, state, steps.facts_for(ivr, now()))
    steps.apply_step(db.session, ivr, step, flow.id)
    db.session.commit()
    enqueue_dispatch()
    return twiml(renderer().render(step))


@caller_webhook(bp, "/room")
def room() -> Response:
    """The room's events (start, join, leave, end), on the call's timeline."""
    call = _call_from_args()
    params = VoiceParams.parse(request.form)
    if call is not None and params.conference_event:
        token = callback_token()
        if calls.record_room_event(db.session, call, params, token):
            db.session.commit()
    return twiml(EMPTY)


@caller_webhook(bp, "/held")
def held() -> Response:
    """The hold music, until the caller is taken off hold."""
    response = VoiceResponse()
    response.play(f"{settings().public_base_url}/voice/audio/shared/{HOLD_MUSIC}", loop=0)
    return twiml(str(response))
