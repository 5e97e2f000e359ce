"""Send one webhook request exactly as Twilio signs it.

Rules (TWILIO.md §1, §3):
- The URL's fragment (connection overrides) never reaches the app and is not signed.
- GET puts the parameters in the query string, after the URL's own, and signs that URL
  with no parameters; POST form-encodes them and signs the URL plus the parameters.
- Every request carries an `I-Twilio-Idempotency-Token`; a redelivery repeats the token.
- A redirected hop is signed again for its new URL.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Mapping

from helpline.sandbox.transport import Transport, TransportResponse, with_query
from helpline.telephony.signing import SIGNATURE_HEADER, sign

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"


def new_token() -> str:
    return secrets.token_hex(16)


def prepare(method: str, url: str, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The URL to request and the form to send, by the method's rules."""
    url = urllib.parse.urldefrag(url).url
    if method == "GET":
        return with_query(url, params), {}
    return url, dict(params)


def send(
    transport: Transport,
    auth_token: str,
    method: str,
    url: str,
    params: Mapping[str, str],
    token: str | None = None,
) -> TransportResponse:
    """Sign and send; raise TransportError when no answer comes."""
    sent, form = prepare(method, url, params)

    def signature(hop: str, hop_form: Mapping[str, str]) -> dict[str, str]:
        return {SIGNATURE_HEADER: sign(auth_token, hop, hop_form)}

    headers = {**signature(sent, form), IDEMPOTENCY_HEADER: token or new_token()}
    return transport.request(method, sent, form, headers, resign=signature)
