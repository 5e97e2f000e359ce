"""Playing a recording in the console: the audio stays at the telephony provider, is
fetched for each play and streamed through, so no copy is kept here.

The callers (a supervisor's recording, a counsellor's voicemail) check consent and
permission and audit the play before they call `stream_recording`.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
from flask import Response, abort, stream_with_context

from helpline.config import Settings

TWILIO_API = "https://api.twilio.com/"
CHUNK = 64 * 1024


def is_provider_url(url: str, config: Settings) -> bool:
    """Only the provider's own API is fetched (the URL came from a signed callback, but a
    stored URL must never make the server fetch anything else)."""
    bases = [TWILIO_API]
    if config.twilio_api_base_url:
        bases.append(config.twilio_api_base_url.rstrip("/") + "/")
    return any(url.startswith(base) for base in bases)


def check_fetchable(url: str, config: Settings) -> None:
    """Refuse (502) a stored URL that is not the provider's, before anything is audited."""
    if not is_provider_url(url, config):
        abort(502, "The recording is not held where the helpline can fetch it.")


def _stream(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.iter_content(CHUNK)
    finally:
        upstream.close()


def stream_recording(url: str, config: Settings) -> Response:
    """The recording's audio from the provider, streamed through (502 if unavailable)."""
    check_fetchable(url, config)
    auth = (
        (config.twilio_account_sid, config.twilio_auth_token)
        if config.twilio_account_sid and config.twilio_auth_token
        else None
    )
    try:
        upstream = requests.get(url, auth=auth, stream=True, timeout=(3, 30))
    except requests.RequestException:
        abort(502, "The telephony provider could not be reached; try again.")
    if upstream.status_code != 200:
        upstream.close()
        abort(502, "The telephony provider did not return the recording.")
    kind = upstream.headers.get("Content-Type", "")
    mimetype = kind if kind.startswith("audio/") else "audio/wav"
    return Response(
        stream_with_context(_stream(upstream)),
        mimetype=mimetype,
        headers={"Cache-Control": "no-store"},
    )
