"""Playing a call's recording from the supervisor console: consent, permission, audit.

The audio stays at the telephony provider; the console fetches it for each play and
streams it through (`telephony.playback`), so no copy is kept here. A play needs the
caller's consent to recording (always, whatever the rules say) and the `recording.play`
permission; each fetch of the audio is recorded as `recording_played` before a byte is
sent. A voicemail message has its own consent and rules (`voicemail`).
"""

from __future__ import annotations

from flask import Response, abort

from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.extensions import db
from helpline.models import Call, Recording
from helpline.models.enums import Role
from helpline.supervisor import access
from helpline.supervisor.blueprint import bp
from helpline.telephony import playback
from helpline.web import actor, request_info, settings


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
    playback.check_fetchable(recording.url, config)
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
    return playback.stream_recording(recording.url, config)
