"""Twilio webhooks. Each is signature-checked, thin, one transaction, and always TwiML.

Flow: check the signature (403, nothing recorded) -> parse the form -> load the call ->
the pure engine decides -> store the step and commit once -> render TwiML. Anything
unexpected becomes the safe fallback TwiML, never a 500.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.security import safe_join

from helpline.auth.access import PUBLIC, allow
from helpline.blocklist import mirror
from helpline.callbacks import service as callback_service
from helpline.calls import log as calls
from helpline.calls.params import VoiceParams
from helpline.extensions import csrf, db, get_redis
from helpline.ivr import engine
from helpline.models import utcnow
from helpline.models.calls import append_timeline, timeline_entry
from helpline.models.enums import CallEventKind, CallOutcome, EventSource
from helpline.routing import live, waiting
from helpline.staff import accounts as staffing
from helpline.tasks.callbacks import enqueue_callbacks_of
from helpline.tasks.dispatch import enqueue_reconcile_calls
from helpline.voice import blocked, routing, staffline, steps
from helpline.voice.common import EMPTY, callback_token, registry, renderer, twiml
from helpline.voice.webhook import caller_webhook
from helpline.voicemail import service as voicemail
from helpline.web import now, settings

bp = Blueprint("voice", __name__, url_prefix="/voice")
csrf.exempt(bp)
log = logging.getLogger(__name__)
AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}
SHARED_AUDIO = "shared"  # ivr_flows/audio/shared/: sounds in no language (hold music)


def _flow_for(call: steps.IvrCall) -> tuple[Any, engine.State | None]:
    state = engine.State.from_json(call.ivr_state) if call.ivr_state else None
    if state is None:
        return registry().current(settings().ivr_flow), None
    flow = registry().find(db.session, state.flow, state.version)
    return flow, state


def _facts(call: steps.IvrCall) -> engine.Facts:
    # `helpline flows test` and `simulate` play the IVR alone and stand in for routing.
    stand_in = current_app.extensions.get("helpline.queue_status")
    if stand_in is not None:
        return steps.facts_for(call, now(), stand_in, lambda language: stand_in(language, None))
    rebuilt = enqueue_reconcile_calls
    status = waiting.queue_status(db.session, get_redis(), live.policy(), rebuilt)
    anyone = waiting.emergency_status(db.session, get_redis(), live.policy(), rebuilt)
    return steps.facts_for(call, now(), status, anyone)


def _store(call: steps.IvrCall, step: engine.Step, flow_id: str) -> Response:
    """Store the step, commit once, then start what routing must do (after the commit)."""
    steps.apply_step(db.session, call, step, flow_id)
    db.session.commit()
    routing.after_step(call.id, step)
    return twiml(renderer().render(step))


def _begin(call: steps.IvrCall) -> Response:
    flow = registry().current(settings().ivr_flow)
    registry().pin(db.session, flow)
    step = engine.start(flow, registry().catalog.schedules, _facts(call))
    return _store(call, step, flow.id)


@caller_webhook(bp, "/incoming")
def incoming() -> Response:
    """A new call: log it, find the caller by blind index, start the flow."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is None:
        return twiml(renderer().fallback(None))
    if request.args.get("as") != "caller":
        staff = staffline.routed_staff(staffing.find_by_phone(db.session, params.caller))
        if staff is not None:  # a counsellor or interpreter calling to set their presence
            return staffline.menu(staff)
    if mirror.check(db.session, get_redis(), params.caller, now()).is_blocked:
        return blocked.answer(params, params.call_sid)
    call = steps.IvrCall.of(calls.start_call(db.session, params, params.call_sid))
    flow, state = _flow_for(call)
    if state is not None and flow is not None:  # Twilio redelivered the first webhook
        step = engine.replay(flow, registry().catalog.schedules, state, _facts(call))
        return _store(call, step, flow.id)
    return _begin(call)


@caller_webhook(bp, "/step")
def step() -> Response:
    """The caller pressed a key, stayed silent, recorded, or a transfer ended."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is None:
        return twiml(renderer().fallback(None))
    call = steps.load(db.session, params.call_sid)
    if call is None or call.ivr_state is None:
        # We have no record of this call: start it properly rather than lose the caller.
        started = calls.start_call(db.session, params, params.call_sid)
        calls.add_event(
            db.session,
            started,
            CallEventKind.OUT_OF_SEQUENCE,
            EventSource.TWILIO,
            {"reason": "unknown call on the step URL"},
        )
        return _begin(steps.IvrCall.of(started))
    flow, state = _flow_for(call)
    if flow is None or state is None:
        reason = {"reason": "pinned flow version not found"}
        entry = timeline_entry(CallEventKind.FALLBACK, EventSource.IVR, reason)
        append_timeline(db.session, call.id, [entry])
        db.session.commit()
        return twiml(renderer().fallback(call.language))
    facts = _facts(call)
    schedules = registry().catalog.schedules
    kind = request.args.get("e", "")
    turn = request.args.get("t", "")
    if kind not in engine.INPUT_KINDS or turn != str(state.turn):
        result = engine.replay(flow, schedules, state, facts)
    else:
        event = engine.Input(
            kind, params.digits or "", params.dial_status or "failed", params.queue_result or ""
        )
        result = engine.advance(flow, schedules, state, event, facts)
    return _store(call, result, flow.id)


def _commit_then_call_back(call_id: int, asked: object | None) -> None:
    """Commit once; then, if a callback was asked for (`asked`), start it after the commit."""
    db.session.commit()
    if asked is not None:
        enqueue_callbacks_of(call_id)


@caller_webhook(bp, "/status")
def status() -> Response:
    """Call progress: ordered by SequenceNumber, stored once, never un-ending a call."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is not None:
        call = calls.find_call(db.session, params.call_sid)
        if call is None and staffing.find_by_phone(db.session, params.caller) is not None:
            return twiml(EMPTY)  # staff setting their presence by phone: not a helpline call
        if call is None:  # a status for a call we never saw start: keep it anyway
            call = calls.start_call(db.session, params, params.call_sid)
        calls.apply_status(db.session, call, params, callback_token())
        routing.after_status(call)
        wait = settings().callback_abandoned_seconds
        asked = callback_service.request_after_abandon(db.session, call, wait, utcnow())
        _commit_then_call_back(call.id, asked)
    return twiml(EMPTY)


@caller_webhook(bp, "/recording")
def recording() -> Response:
    """A recording is ready: keep its reference (never the audio itself), once.

    A voicemail's callback URL says it is one (`?for=voicemail`, signed), so the message
    is filed the same whether this arrives before or after the IVR step that saves the
    voicemail outcome; a call already settled as a voicemail counts too (a `<Record>`
    rendered before the URL said so)."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is not None:
        call = calls.find_call(db.session, params.call_sid)
        if call is None:
            return twiml(EMPTY)
        is_voicemail = (
            request.args.get("for") == "voicemail" or call.outcome == CallOutcome.VOICEMAIL
        )
        saved = calls.save_recording(
            db.session, call, params, kind="voicemail" if is_voicemail else "call"
        )
        if saved is not None:
            asked = None
            if is_voicemail:
                urgent = voicemail.is_urgent(request.args.get("urgent", ""))
                _, asked = voicemail.file(db.session, call, saved, urgent=urgent, now=utcnow())
            _commit_then_call_back(call.id, asked)
    return twiml(EMPTY)


@caller_webhook(bp, "/fallback")
def fallback() -> Response:
    """Twilio could not use our answer: apologise, then the duty line."""
    params = VoiceParams.parse(request.form)
    language = None
    if params.call_sid is not None:
        call = calls.find_call(db.session, params.call_sid)
        if call is not None:
            language = call.language
            calls.add_event(
                db.session,
                call,
                CallEventKind.FALLBACK,
                EventSource.TWILIO,
                {"error_code": params.error_code},
            )
            db.session.commit()
    return twiml(renderer().fallback(language))


@bp.get("/audio/<language>/<path:name>")
@allow(PUBLIC)
def audio(language: str, name: str) -> Response:
    """A prompt recording, by GET so Twilio caches it; public, as callers hear it anyway."""
    suffix = Path(name).suffix.lower()
    known = language in registry().catalog.languages or language == SHARED_AUDIO
    if suffix not in AUDIO_TYPES or not known:
        abort(404)
    folder = Path(registry().catalog.root) / "audio" / language
    found = safe_join(str(folder), name)
    if found is None or not Path(found).is_file():
        abort(404)
    # Prompts are small: read them whole, so no file stays open when a player hangs up
    # mid-download; ranges and ETags still work for players that seek.
    data = Path(found).read_bytes()
    response = Response(data, mimetype=AUDIO_TYPES[suffix])
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.make_conditional(request, accept_ranges=True, complete_length=len(data))
    return response


@bp.errorhandler(413)
def too_large(_error: HTTPException) -> Response:
    """A request too large to read cannot be verified: answer with safe TwiML only."""
    return twiml(renderer().fallback(None))
