"""What a blocked number hears: one short message, then the line hangs up.

The call is still logged (outcome `blocked`, with a timeline event), so the supervisor
sees that the caller tried. The message is in the caller's remembered language when they
asked the line to remember it, else in the flow's default language.
"""

from __future__ import annotations

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

from helpline.calls import log as calls
from helpline.calls.params import VoiceParams
from helpline.extensions import db
from helpline.ivr import engine
from helpline.models.enums import CallEventKind, CallOutcome, EventSource
from helpline.voice import steps
from helpline.voice.common import registry, renderer, twiml
from helpline.web import now, settings

PROMPT = "line_blocked"


def answer(params: VoiceParams, call_sid: str) -> Response:
    """Log the call as blocked and tell the caller, in one transaction."""
    call = calls.start_call(db.session, params, call_sid)
    flow = registry().current(settings().ivr_flow)
    remembered = steps.facts_for(steps.IvrCall.of(call), now()).remembered_language
    language = remembered if remembered in registry().catalog.languages else None
    language = language or flow.default_language
    if call.outcome != CallOutcome.BLOCKED:  # Twilio may redeliver the first webhook
        call.outcome = CallOutcome.BLOCKED
        call.language = call.language or language
        calls.add_event(db.session, call, CallEventKind.BLOCKED, EventSource.IVR, {})
    db.session.commit()
    response = VoiceResponse()
    renderer().speak(response, engine.PromptRef(PROMPT, language))
    response.hangup()
    return twiml(str(response))
