"""The call log: calls, callers and their timelines, written by webhooks, jobs and replay.

Everything here takes a session and leaves the commit to the caller, so one webhook is one
transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from helpline.calls.params import TERMINAL_STATUSES, VoiceParams
from helpline.models import (
    Call,
    Caller,
    Recording,
    utcnow,
)
from helpline.models.base import DbSession
from helpline.models.calls import append_once, append_timeline, timeline_entry
from helpline.models.enums import (
    CallDirection,
    CallEventKind,
    CallOutcome,
    EventSource,
)
from helpline.privacy import crypto as privacy


def find_call(session: DbSession, call_sid: str) -> Call | None:
    """The call with its caller and their consents, in one round trip (a webhook's hot path)."""
    query = (
        sa.select(Call)
        .where(Call.call_sid == call_sid)
        .options(joinedload(Call.caller).joinedload(Caller.consents))
    )
    return session.scalars(query).unique().one_or_none()


def find_or_create_caller(session: DbSession, raw_number: str | None) -> Caller | None:
    """The caller behind a number, by blind index; None for a withheld number."""
    e164 = privacy.try_normalise_number(raw_number)
    if e164 is None:
        return None
    index = privacy.keyring().blind_index(e164)
    # With their consents: the IVR reads them next.
    query = (
        sa.select(Caller).where(Caller.number_index == index).options(joinedload(Caller.consents))
    )
    caller = session.scalars(query).unique().one_or_none()
    now = utcnow()
    if caller is None:
        try:
            with session.begin_nested():
                caller = Caller(
                    number_index=index,
                    number_encrypted=e164,
                    first_seen_at=now,
                    last_seen_at=now,
                    consents=[],
                )
                session.add(caller)
        except sa.exc.IntegrityError:  # the same number calling twice at once
            caller = session.scalars(sa.select(Caller).where(Caller.number_index == index)).one()
    caller.last_seen_at = now
    return caller


def start_call(session: DbSession, params: VoiceParams, call_sid: str) -> Call:
    """Record a new inbound call (or return it, when Twilio redelivers the webhook)."""
    call = find_call(session, call_sid)
    if call is not None:
        return call
    caller = find_or_create_caller(session, params.caller)
    call = Call(
        call_sid=call_sid,
        direction=CallDirection.INBOUND,
        caller=caller,
        is_number_withheld=caller is None,
        twilio_status=params.call_status or "ringing",
        started_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(call)
    except sa.exc.IntegrityError:  # a redelivered webhook racing the first
        return find_call(session, call_sid) or call
    add_event(
        session,
        call,
        CallEventKind.CALL_STARTED,
        EventSource.TWILIO,
        {"direction": params.direction or "inbound", "withheld": caller is None},
    )
    return call


def add_event(
    session: DbSession,
    call: Call,
    kind: str,
    source: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the call's timeline (flushing first, so the call has its id)."""
    session.flush()
    append_timeline(session, call.id, [timeline_entry(kind, source, data)])


def delivery_key(stream: str | None, sequence: int | None, token: str | None) -> str | None:
    """Which callback this is, the same on every redelivery: its SequenceNumber within its
    stream (`status` for a call's progress, the ConferenceSid for a room's events), else
    its idempotency token; None when it has neither (it cannot be recognised again)."""
    if stream is not None and sequence is not None:
        return f"{stream}:{sequence}"
    if token is not None:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()
    return None


def add_callback_event(
    session: DbSession,
    call: Call,
    kind: str,
    data: dict[str, Any],
    params: VoiceParams,
    delivery: str | None,
) -> bool:
    """Append a provider callback's entry once, at the time the provider gives; False for
    a duplicate."""
    session.flush()
    entry = timeline_entry(
        kind,
        EventSource.TWILIO,
        data,
        sequence_number=params.sequence_number,
        delivery=delivery,
        occurred_at=params.timestamp,
    )
    return append_once(session, call.id, entry)


def apply_status(
    session: DbSession, call: Call, params: VoiceParams, token: str | None = None
) -> bool:
    """Record a status callback once; False for a duplicate.

    Callbacks may arrive twice or out of order. Each (call, SequenceNumber) is stored
    once (each idempotency token, for a callback without one); the call takes the status
    of the highest SequenceNumber seen, and a terminal status is never replaced by an
    earlier one arriving late.
    """
    status = params.call_status
    seq = params.sequence_number
    data = {"status": status, "duration": params.call_duration}
    delivery = delivery_key("status", seq, token)
    if not add_callback_event(session, call, CallEventKind.STATUS_CALLBACK, data, params, delivery):
        return False
    if status is None:
        return True
    is_newer = seq is None or call.last_sequence_number is None or seq > call.last_sequence_number
    if is_newer and not (
        call.twilio_status in TERMINAL_STATUSES and status not in TERMINAL_STATUSES
    ):
        call.twilio_status = status
        if seq is not None:
            call.last_sequence_number = seq
    if status in TERMINAL_STATUSES:
        end_call(session, call, params.timestamp or utcnow())
    return True


def record_room_event(
    session: DbSession, call: Call, params: VoiceParams, token: str | None = None
) -> bool:
    """Put a conference room's status callback on the call's timeline once (by room and
    SequenceNumber, or idempotency token); False for a duplicate or no event."""
    if params.conference_event is None:
        return False
    data: dict[str, Any] = {"event": params.conference_event}
    if params.call_sid:
        data["participant"] = "caller" if params.call_sid == call.call_sid else "staff"
    delivery = delivery_key(params.conference_sid, params.sequence_number, token)
    return add_callback_event(session, call, CallEventKind.ROOM_EVENT, data, params, delivery)


def end_call(session: DbSession, call: Call, at: dt.datetime) -> None:
    """The call is over: settle when, and how, if nothing settled it before."""
    if call.ended_at is not None:
        return
    call.ended_at = at
    if call.queued_at is not None and call.dequeued_at is None:
        call.dequeued_at = at
    if call.outcome == CallOutcome.IN_PROGRESS:
        if call.answered_at is not None:
            call.outcome = CallOutcome.ANSWERED
        elif call.queued_at is not None:
            call.outcome = CallOutcome.ABANDONED_QUEUE
        else:
            call.outcome = CallOutcome.ABANDONED_IVR
    add_event(session, call, CallEventKind.ENDED, EventSource.TWILIO, {"outcome": call.outcome})


def save_recording(
    session: DbSession, call: Call, params: VoiceParams, *, kind: str
) -> Recording | None:
    """Keep a reference to a finished recording (`call` or `voicemail`), once; None for a
    duplicate or no recording."""
    if params.recording_sid is None or params.recording_url is None:
        return None
    if params.recording_status not in (None, "completed"):
        return None
    exists = session.scalar(
        sa.select(Recording.id).where(Recording.recording_sid == params.recording_sid)
    )
    if exists is not None:
        return None
    session.flush()
    recording = Recording(
        call_id=call.id,
        recording_sid=params.recording_sid,
        url=params.recording_url,
        kind=kind,
        duration_seconds=params.recording_duration,
    )
    try:
        with session.begin_nested():  # the same callback delivered twice at once
            session.add(recording)
    except sa.exc.IntegrityError:
        return None
    add_event(
        session,
        call,
        CallEventKind.RECORDING_READY,
        EventSource.TWILIO,
        {"recording_sid": params.recording_sid, "kind": kind},
    )
    return recording
