"""Voicemail messages through their life: filed, listed, played, handled. No HTTP.

- `file`: the recording callback of a voicemail's `<Record>` files the message once,
  whatever order it and the IVR step arrive in: its language, the caller's consent to
  its being heard (the prompt said the line's staff would listen), a callback for a
  known number, and, if the IVR marked the caller urgent, an `urgent_voicemail` entry on
  the call's timeline.
- Who may see, play and handle a message is the deployment's rules
  (`voicemail.handle`, `voicemail.play` in permissions.yaml): by default the counsellors
  who speak its language, and supervisors.
- `record_play` and `mark_handled` are audited; the view commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.callbacks import service as callbacks
from helpline.models import Call, CallbackRequest, Recording, Staff, Voicemail, utcnow
from helpline.models.base import DbSession
from helpline.models.calls import append_timeline, timeline_entry
from helpline.models.enums import CallbackStatus, CallEventKind, EventSource, Role

# A message left before the caller chose a language is for the line's first language
# (as its callback is: callbacks.service).
DEFAULT_LANGUAGE = "tr"


class VoicemailError(ValueError):
    """A console action that cannot be done; the message is safe to show."""


def is_urgent(value: Any) -> bool:
    """The IVR's `urgent` variable, as the recording callback's URL carries it."""
    return str(value).strip().lower() in {"1", "true", "yes"}


def file(
    session: DbSession, call: Call, recording: Recording, *, urgent: bool, now: dt.datetime
) -> tuple[Voicemail, CallbackRequest | None]:
    """File a new voicemail recording as a message; the callback asked for it (None if
    the number is withheld or the call had asked already). Enqueue the callback's job
    after the commit."""
    asked = callbacks.request_after_voicemail(session, call, now)
    pending = asked or next(iter(callbacks.list_pending_for_call(session, call.id)), None)
    voicemail = Voicemail(
        recording=recording,
        call_id=call.id,
        language=call.language or DEFAULT_LANGUAGE,
        is_urgent=urgent,
        consented_at=now,
        created_at=now,
        callback_request_id=pending.id if pending is not None else None,
    )
    session.add(voicemail)
    session.flush()
    if urgent:
        entry = timeline_entry(
            CallEventKind.URGENT_VOICEMAIL, EventSource.TWILIO, {"recording_id": recording.id}
        )
        append_timeline(session, call.id, [entry])
    return voicemail, asked


def subject(voicemail: Voicemail) -> permissions.What:
    """A message as the rules see it: its language, and whether its caller consented."""
    return permissions.What(
        language=voicemail.language,
        consent=voicemail.is_consented,
        since=voicemail.created_at,
    )


def may(action: str, staff: Staff, voicemail: Voicemail) -> bool:
    """The deployment's rules allow `staff` this action on the message, now."""
    return permissions.allows(
        permissions.rules(), action, permissions.who(staff), subject(voicemail), utcnow()
    )


def _unhandled(limit: int) -> sa.Select[Voicemail]:
    return (
        sa.select(Voicemail)
        .where(Voicemail.handled_at.is_(None))
        .order_by(Voicemail.is_urgent.desc(), Voicemail.created_at, Voicemail.id)
        .limit(limit)
    )


def list_unhandled(session: DbSession, limit: int = 200) -> list[Voicemail]:
    """Messages nobody has handled: urgent ones first, then the oldest first."""
    return list(session.scalars(_unhandled(limit)))


def list_for(session: DbSession, staff: Staff, limit: int = 100) -> list[Voicemail]:
    """The unhandled messages this member of staff may act on, in the same order."""
    mine = [v for v in session.scalars(_unhandled(1000)) if may("voicemail.handle", staff, v)]
    return mine[:limit]


def callback_of(session: DbSession, voicemail: Voicemail) -> CallbackRequest | None:
    """The message's callback while it is still waiting to be made (None otherwise)."""
    if voicemail.callback_request_id is None:
        return None
    callback = session.get(CallbackRequest, voicemail.callback_request_id)
    if callback is None or callback.status != CallbackStatus.PENDING:
        return None
    return callback


def inbox_rows(session: DbSession, staff: Staff, limit: int = 100) -> list[dict[str, Any]]:
    """The messages this person may act on, with what their row may offer (the console's
    and the supervisor's lists, drawn by `console/_voicemails.html`)."""
    rows = []
    for voicemail in list_for(session, staff, limit):
        rows.append(
            {
                "voicemail": voicemail,
                "playable": not voicemail.is_destroyed and may("voicemail.play", staff, voicemail),
                "can_call_back": staff.has_role(Role.COUNSELLOR)
                and callback_of(session, voicemail) is not None,
            }
        )
    return rows


def _audit(
    session: DbSession,
    action: str,
    by: Staff,
    voicemail: Voicemail,
    request: audit.RequestInfo | None,
) -> None:
    """One audit entry about the message, naming its call and recording (never its audio)."""
    about = {"call_id": voicemail.call_id, "recording_id": voicemail.recording_id}
    who = audit.Actor(label=by.username, staff_id=by.id)
    audit.record(
        session,
        action,
        who,
        target_type="voicemail",
        target_id=voicemail.id,
        details=about,
        request=request,
    )


def record_play(
    session: DbSession, voicemail: Voicemail, *, by: Staff, request: audit.RequestInfo | None
) -> None:
    """Put this play on the record (commit before any audio goes out)."""
    _audit(session, "voicemail_played", by, voicemail, request)


def mark_handled(
    session: DbSession,
    voicemail: Voicemail,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """The message is dealt with: who and when, once (a second mark is refused)."""
    taken = session.execute(
        sa.update(Voicemail)
        .where(Voicemail.id == voicemail.id, Voicemail.handled_at.is_(None))
        .values(handled_at=now, handled_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise VoicemailError("This message was already marked handled.")
    session.refresh(voicemail)
    _audit(session, "voicemail_handled", by, voicemail, request)
