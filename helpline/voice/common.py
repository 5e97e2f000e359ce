"""What every Twilio webhook shares: the flows, the TwiML renderer, and the safe wrapper."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, current_app, request
from twilio.twiml.voice_response import Gather, VoiceResponse
from werkzeug.exceptions import HTTPException

from helpline.extensions import db
from helpline.ivr.registry import FlowRegistry
from helpline.ivr.twiml import Renderer, Urls
from helpline.routing.whisper import StaffVoice
from helpline.web import settings

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


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


def _discard_session() -> None:
    """Roll back; when the connection itself is gone, drop it without a word to it."""
    try:
        db.session.rollback()
    except sa.exc.DBAPIError:
        db.session().invalidate()


def safe(view: F) -> F:
    """Turn any failure inside a webhook into the fallback TwiML (logged, rolled back).

    A database connection lost mid-request (the server restarted, or dropped it) is
    tried once more on a fresh connection: nothing was committed, and webhooks are
    idempotent because Twilio redelivers them anyway. A view that only read leaves its
    transaction open; it is ended here, so a connection dropped after the last query is
    let go quietly instead of failing the request in Flask's teardown (an HTTP 500).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                answer = view(*args, **kwargs)
                _discard_session()  # what a view commits is committed; reads end here
                return answer
            except HTTPException:
                raise
            except sa.exc.OperationalError:
                _discard_session()
                if attempt == 1:
                    log.warning(
                        "voice webhook %s lost its database connection; again", request.path
                    )
                    continue
                log.exception("voice webhook %s failed; answering with the fallback", request.path)
            except Exception:
                log.exception("voice webhook %s failed; answering with the fallback", request.path)
                _discard_session()
            break
        return twiml(renderer().fallback(None))

    return wrapper  # type: ignore[return-value]


def say_to_staff(voice: StaffVoice, text: str, *, hang_up: bool = True) -> VoiceResponse:
    """Words to a member of staff in their console language (then, by default, goodbye)."""
    response = VoiceResponse()
    response.say(text, voice=voice.voice, language=voice.language)
    if hang_up:
        response.hangup()
    return response


def ask_staff(voice: StaffVoice, text: str, action: str, timeout: int) -> VoiceResponse:
    """A one-key question to a member of staff; the key goes to `action`."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf", num_digits=1, timeout=timeout, finish_on_key="", action=action, method="POST"
    )
    gather.say(text, voice=voice.voice, language=voice.language)
    response.append(gather)
    return response
