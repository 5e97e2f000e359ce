"""Playing a call's recording from the supervisor console: consent, permission, audit.

The audio stays at the telephony provider; the console fetches it for each play and
streams it through, so no copy is kept here. A play needs the caller's consent to
recording (always, whatever the rules say) and the `recording.play` permission; each
fetch of the audio is recorded as `recording_played` before a byte is sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
from flask import Response, abort, stream_with_context

from helpline import audit
from helpline.auth.access import allow, current_staff
from helpline.config import Settings
from helpline.extensions import db
from helpline.models import Call, Recording
from helpline.models.enums import Role
from helpline.supervisor import access
from helpline.supervisor.views import bp
from helpline.web import actor, request_info, settings

TWILIO_API = "https://api.twilio.com/"
CHUNK = 64 * 1024


def is_provider_url(url: str, config: Settings) -> bool:
    """Only the provider's own API is fetched (the URL came from a signed callback, but a
    stored URL must never make the server fetch anything else)."""
    bases = [TWILIO_API]
    if config.twilio_api_base_url:
        bases.append(config.twilio_api_base_url.rstrip("/") + "/")
    return any(url.startswith(base) for base in bases)


def _stream(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.iter_content(CHUNK)
    finally:
        upstream.close()


@bp.get("/recordings/<int:recording_id>/audio")
@allow(Role.SUPERVISOR)
def play_recording(recording_id: int) -> Response:
    """The recording's audio, where the caller consented and the rules allow; audited."""
    recording = db.session.get(Recording, recording_id)
    if recording is None:
        abort(404)
    call = db.session.get(Call, recording.call_id)
    if call is None:
        abort(404)
    if recording.purged_at is not None or not recording.url:
        abort(410, "This recording was destroyed under the retention policy.")
    if not call.is_recording_consented:
        abort(403, "The caller did not consent to recording.")
    staff = current_staff()
    if not access.may("recording.play", staff, access.call_subject(db.session, call)):
        abort(403, "Your role may not play this recording.")
    config = settings()
    if not is_provider_url(recording.url, config):
        abort(502, "The recording is not held where the helpline can fetch it.")
    audit.record(
        db.session,
        "recording_played",
        actor(staff),
        target_type="recording",
        target_id=recording.id,
        details={"call_id": call.id},
        request=request_info(),
    )
    db.session.commit()  # the play is on the record before any audio goes out
    auth = (
        (config.twilio_account_sid, config.twilio_auth_token)
        if config.twilio_account_sid and config.twilio_auth_token
        else None
    )
    try:
        upstream = requests.get(recording.url, auth=auth, stream=True, timeout=(3, 30))
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
