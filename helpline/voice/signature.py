"""Check `X-Twilio-Signature` on every webhook, against the URL Twilio was given."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, request
from twilio.request_validator import RequestValidator

from helpline.web import settings

F = TypeVar("F", bound=Callable[..., Any])


def public_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL plus the path and the exact query string."""
    query = request.query_string.decode("latin-1")
    return settings().public_base_url + request.path + (f"?{query}" if query else "")


def is_signed() -> bool:
    token = settings().twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    params = request.form if request.method == "POST" else {}
    return bool(RequestValidator(token).validate(public_url(), params, signature))


def twilio_signed(view: F) -> F:
    """Refuse with 403, touching nothing, unless Twilio's signature is valid."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_signed():
            return Response("invalid signature", status=403, mimetype="text/plain")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
