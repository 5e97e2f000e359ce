"""What every Twilio webhook shares: the flows, the TwiML renderer, and the safe wrapper."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from helpline.extensions import db
from helpline.ivr.registry import FlowRegistry
from helpline.ivr.twiml import Renderer, Urls
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
