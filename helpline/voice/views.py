"""Twilio webhooks. Each is signature-checked, thin, one transaction, and always TwiML.

Flow: check the signature (403, nothing recorded) -> parse the form -> load the call ->
the pure engine decides -> store the step and commit once -> render TwiML. Anything
unexpected becomes the safe fallback TwiML, never a 500.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.security import safe_join

from helpline.auth.access import PUBLIC, allow
from helpline.extensions import csrf, db
from helpline.ivr import engine
from helpline.ivr.registry import FlowRegistry
from helpline.ivr.twiml import Renderer, Urls
from helpline.models import Call
from helpline.models.enums import CallEventKind, EventSource
from helpline.voice import calls
from helpline.voice.params import VoiceParams
from helpline.voice.signature import twilio_signed
from helpline.web import now, settings

bp = Blueprint("voice", __name__, url_prefix="/voice")
csrf.exempt(bp)
log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


def registry() -> FlowRegistry:
    flows: FlowRegistry = current_app.extensions["helpline.flows"]
    return flows


def renderer() -> Renderer:
    config = settings()
    numbers = {"duty_line": config.duty_line_number} if config.duty_line_number else {}
    return Renderer(
        registry().catalog, Urls(config.public_base_url), numbers, config.helpline_number
    )


def twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def safe(view: F) -> F:
    """Turn any failure inside a webhook into the fallback TwiML (logged, rolled back)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except HTTPException:
            raise
        except Exception:
            log.exception("voice webhook %s failed; answering with the fallback", request.path)
            db.session.rollback()
            return twiml(renderer().fallback(None))

    return wrapper  # type: ignore[return-value]


def _flow_for(call: Call) -> tuple[Any, engine.State | None]:
    state = engine.State.from_json(call.ivr_state) if call.ivr_state else None
    if state is None:
        return registry().current(settings().ivr_flow), None
    flow = registry().find(db.session, state.flow, state.version)
    return flow, state


def _begin(call: Call) -> Response:
    flow = registry().current(settings().ivr_flow)
    registry().pin(db.session, flow)
    step = engine.start(flow, registry().catalog.schedules, calls.facts_for(call, now()))
    calls.apply_step(db.session, call, step, flow.id)
    db.session.commit()
    return twiml(renderer().render(step))


@bp.post("/incoming")
@allow(PUBLIC)
@twilio_signed
@safe
def incoming() -> Response:
    """A new call: log it, find the caller by blind index, start the flow."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is None:
        return twiml(renderer().fallback(None))
    call = calls.start_call(db.session, params, params.call_sid)
    flow, state = _flow_for(call)
    if state is not None and flow is not None:  # Twilio redelivered the first webhook
        step = engine.replay(
            flow, registry().catalog.schedules, state, calls.facts_for(call, now())
        )
        calls.apply_step(db.session, call, step, flow.id)
        db.session.commit()
        return twiml(renderer().render(step))
    return _begin(call)


@bp.post("/step")
@allow(PUBLIC)
@twilio_signed
@safe
def step() -> Response:
    """The caller pressed a key, stayed silent, recorded, or a transfer ended."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is None:
        return twiml(renderer().fallback(None))
    call = calls.find_call(db.session, params.call_sid)
    if call is None or call.ivr_state is None:
        # We have no record of this call: start it properly rather than lose the caller.
        call = call or calls.start_call(db.session, params, params.call_sid)
        calls.add_event(
            db.session,
            call,
            CallEventKind.OUT_OF_SEQUENCE,
            EventSource.TWILIO,
            {"reason": "unknown call on the step URL"},
        )
        return _begin(call)
    flow, state = _flow_for(call)
    if flow is None or state is None:
        calls.add_event(
            db.session,
            call,
            CallEventKind.FALLBACK,
            EventSource.IVR,
            {"reason": "pinned flow version not found"},
        )
        db.session.commit()
        return twiml(renderer().fallback(call.language))
    facts = calls.facts_for(call, now())
    schedules = registry().catalog.schedules
    kind = request.args.get("e", "")
    turn = request.args.get("t", "")
    if kind not in engine.INPUT_KINDS or turn != str(state.turn):
        result = engine.replay(flow, schedules, state, facts)
    else:
        digits = params.digits or ""
        dial_status = params.dial_status or "failed"
        result = engine.advance(
            flow, schedules, state, engine.Input(kind, digits, dial_status), facts
        )
    calls.apply_step(db.session, call, result, flow.id)
    db.session.commit()
    return twiml(renderer().render(result))


@bp.post("/status")
@allow(PUBLIC)
@twilio_signed
@safe
def status() -> Response:
    """Call progress: ordered by SequenceNumber, stored once, never un-ending a call."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is not None:
        call = calls.find_call(db.session, params.call_sid)
        if call is None:  # a status for a call we never saw start: keep it anyway
            call = calls.start_call(db.session, params, params.call_sid)
        calls.apply_status(db.session, call, params)
        db.session.commit()
    return twiml('<?xml version="1.0" encoding="UTF-8"?><Response />')


@bp.post("/recording")
@allow(PUBLIC)
@twilio_signed
@safe
def recording() -> Response:
    """A recording is ready: keep its reference (never the audio itself)."""
    params = VoiceParams.parse(request.form)
    if params.call_sid is not None:
        call = calls.find_call(db.session, params.call_sid)
        if call is not None and calls.save_recording(db.session, call, params):
            db.session.commit()
    return twiml('<?xml version="1.0" encoding="UTF-8"?><Response />')


@bp.post("/fallback")
@allow(PUBLIC)
@twilio_signed
@safe
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
    if suffix not in AUDIO_TYPES or language not in registry().catalog.languages:
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
