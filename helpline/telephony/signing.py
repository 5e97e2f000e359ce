"""Sign webhook requests as Twilio does; the official library computes the signature."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Return the X-Twilio-Signature of a request to `url` (query string included) with `params`.

    Sign exactly the absolute URL requested; for GET the parameters are in that URL and
    `params` is empty.
    """
    if not auth_token:
        raise ValueError("an auth token is needed to sign requests")
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
