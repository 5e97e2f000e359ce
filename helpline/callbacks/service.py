"""Callback requests through their life: claimed, an attempt, dialled, settled. No HTTP.

The database is the truth. Each step is a conditional UPDATE on `status`, so two workers
(or a job RQ runs twice) can never both take the same step:

    pending --claim--> claimed --begin_dial--> dialling --settle--> completed | pending
                                                                    | failed | expired

- `claim`: a due callback is taken by one job, which `start_attempt`s: an outbound
  `Call` that waits for a counsellor in the callback's place (the caller's original
  `queue_entered_at`, else when it became due), so the router offers it to staff among
  the waiting callers, by priority and then that time.
- `begin_dial`: the counsellor accepted; the attempt is counted before the caller is
  dialled, so a caller is dialled at most once per attempt whatever dies when.
- `settle`: the attempt's outcome, a CallEvent, and what comes next (limits.py).

The functions a console page calls (`call_now`, `reschedule`, `record_outcome`) take the
member of staff acting and are audited; the view commits, then enqueues the job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from helpline.audit import chain as audit
from helpline.callbacks.limits import Limits, after_attempt
from helpline.models import Call, CallbackRequest, CallerConsent, ContactRecord, Staff
from helpline.models.base import DbSession
from helpline.models.calls import whole_seconds
from helpline.models.enums import (
    CallbackOutcome,
    CallbackReason,
    CallbackStatus,
    CallDirection,
    CallEventKind,
    CallOutcome,
    ConsentKind,
    EventSource,
    Role,
)
from helpline.routing import offers

PLACEHOLDER = "callback:"  # a call_sid until the provider gives the real one
CALL_OUTCOMES = {
    CallbackOutcome.CONNECTED: CallOutcome.ANSWERED,
    CallbackOutcome.NO_ANSWER: CallOutcome.NO_ANSWER,
    CallbackOutcome.BUSY: CallOutcome.BUSY,
    CallbackOutcome.MACHINE: CallOutcome.NO_ANSWER,
    CallbackOutcome.NOT_SAFE_NOW: CallOutcome.CALLBACK_REQUESTED,
    CallbackOutcome.CANCELLED: CallOutcome.ABANDONED_QUEUE,
    CallbackOutcome.EXPIRED: CallOutcome.ABANDONED_QUEUE,
    "waited": CallOutcome.ABANDONED_QUEUE,
    "lost": CallOutcome.FAILED,
}
OPEN = (CallbackStatus.CLAIMED.value, CallbackStatus.DIALLING.value)
FAILED = (CallbackStatus.FAILED.value, CallbackStatus.EXPIRED.value)


class CallbackError(ValueError):
    """A console action that cannot be done; the message is safe to show."""


def is_placeholder(call_sid: str) -> bool:
    return call_sid.startswith(PLACEHOLDER)


def event(
    session: DbSession,
    call_id: int,
    kind: str,
    data: dict[str, Any],
    staff_id: int | None = None,
    source: str = EventSource.WORKER,
) -> None:
    offers.event(session, call_id, kind, staff_id, data, source)


def list_expired(session: DbSession, now: dt.datetime) -> list[int]:
    """Pending callbacks whose time is over (to be marked expired)."""
    return list(
        session.scalars(
            sa.select(CallbackRequest.id).where(
                CallbackRequest.status == CallbackStatus.PENDING,
                CallbackRequest.expires_at <= now,
            )
        )
    )


def list_open(session: DbSession) -> list[CallbackRequest]:
    """Callbacks with an attempt under way (claimed or dialling)."""
    return list(session.scalars(sa.select(CallbackRequest).where(CallbackRequest.status.in_(OPEN))))


def list_due(session: DbSession, now: dt.datetime, limit: int = 500) -> list[int]:
    """Pending callbacks whose next attempt is due, oldest first."""
    return list(
        session.scalars(
            sa.select(CallbackRequest.id)
            .where(
                CallbackRequest.status == CallbackStatus.PENDING,
                CallbackRequest.next_attempt_at <= now,
            )
            .order_by(CallbackRequest.next_attempt_at, CallbackRequest.id)
            .limit(limit)
        )
    )


def claim(
    session: DbSession, callback_id: int, worker: str, now: dt.datetime
) -> CallbackRequest | None:
    """Take a due pending callback for this job; None if another took it or it is not due."""
    claimed = {"status": CallbackStatus.CLAIMED.value, "claimed_by": worker, "claimed_at": now}
    if not _take_pending(session, callback_id, CallbackRequest.next_attempt_at, now, claimed):
        return None
    return session.get(CallbackRequest, callback_id, populate_existing=True)


def _take_pending(
    session: DbSession,
    callback_id: int,
    due: InstrumentedAttribute[dt.datetime],
    now: dt.datetime,
    values: dict[str, Any],
) -> bool:
    """Set `values` (and updated_at) on a pending callback whose `due` time has come, in
    one conditional UPDATE; False if another took it first, it is not pending or not due."""
    taken = session.execute(
        sa.update(CallbackRequest)
        .where(
            CallbackRequest.id == callback_id,
            CallbackRequest.status == CallbackStatus.PENDING,
            due <= now,
        )
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def start_attempt(session: DbSession, callback: CallbackRequest, now: dt.datetime) -> Call:
    """The attempt's outbound call, waiting for a counsellor in the callback's place.

    A caller who said they are under 18 on the call that asked for the callback is routed
    as one again (the age group comes from that call)."""
    asked_on = session.get(Call, callback.call_id) if callback.call_id is not None else None
    call = Call(
        call_sid=f"{PLACEHOLDER}{callback.id}:{secrets.token_hex(8)}",
        direction=CallDirection.OUTBOUND.value,
        caller_id=callback.caller_id,
        started_at=now,
        language=callback.language,
        topic=callback.topic,
        age_group=asked_on.age_group if asked_on is not None else None,
        priority=callback.priority,
        queued_at=callback.queue_entered_at or callback.due_from,
        callback_request_id=callback.id,
    )
    session.add(call)
    session.flush()
    event(
        session,
        call.id,
        CallEventKind.CALLBACK_ATTEMPT,
        {
            "callback_id": callback.id,
            "attempt": callback.attempts + 1,
            "reason": callback.reason,
            "preferred_staff_id": callback.preferred_staff_id,
        },
    )
    return call


def current_call(session: DbSession, callback_id: int) -> Call | None:
    """The call of the callback's latest attempt."""
    return session.scalars(
        sa.select(Call)
        .where(Call.callback_request_id == callback_id)
        .order_by(Call.id.desc())
        .limit(1)
    ).first()


def callback_of(session: DbSession, call: Call) -> CallbackRequest | None:
    """The callback this call is the current attempt of (None for any other call)."""
    if call.callback_request_id is None or call.direction != CallDirection.OUTBOUND:
        return None
    latest = current_call(session, call.callback_request_id)
    if latest is None or latest.id != call.id:
        return None
    return session.get(CallbackRequest, call.callback_request_id)


def begin_dial(session: DbSession, call: Call, now: dt.datetime) -> CallbackRequest | None:
    """The counsellor accepted: count the attempt, once; None if it was already dialled."""
    callback = callback_of(session, call)
    if callback is None or call.ended_at is not None:
        return None
    taken = session.execute(
        sa.update(CallbackRequest)
        .where(
            CallbackRequest.id == callback.id,
            CallbackRequest.status == CallbackStatus.CLAIMED,
        )
        .values(
            status=CallbackStatus.DIALLING.value,
            attempts=CallbackRequest.attempts + 1,
            assigned_staff_id=call.counsellor_id,
            claimed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(CallbackRequest, callback.id, populate_existing=True)


def adopt_sid(call: Call, call_sid: str | None) -> None:
    """The provider named the caller's leg: the call now answers to its CallSid."""
    if call_sid and is_placeholder(call.call_sid):
        call.call_sid = call_sid


@dataclasses.dataclass(frozen=True)
class Settled:
    callback: CallbackRequest
    status: str
    retry_at: dt.datetime | None


def settle(
    session: DbSession,
    call: Call,
    outcome: str,
    limits: Limits,
    now: dt.datetime,
    *,
    staff_id: int | None = None,
) -> Settled | None:
    """The attempt ended so: one CallEvent, the callback's next state; None if it was
    settled already (a redelivered webhook, a sweeper and a webhook at once)."""
    callback = callback_of(session, call)
    if callback is None or callback.status not in OPEN:
        return None
    decided = after_attempt(
        limits, outcome, callback.attempts, callback.max_attempts, callback.expires_at, now
    )
    values: dict[str, Any] = {"status": decided.status, "updated_at": now, "claimed_by": None}
    if outcome in set(CallbackOutcome):
        values["outcome"] = outcome
    if decided.at is not None:
        values["next_attempt_at"] = decided.at
    else:
        values["completed_at"] = now
    taken = session.execute(
        sa.update(CallbackRequest)
        .where(
            CallbackRequest.id == callback.id,
            CallbackRequest.status == callback.status,
            CallbackRequest.attempts == callback.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if call.queued_at is not None and call.dequeued_at is None:
        call.dequeued_at = now
    call.outcome = CALL_OUTCOMES.get(outcome, CallOutcome.FAILED)
    event(
        session,
        call.id,
        CallEventKind.CALLBACK_OUTCOME,
        {
            "callback_id": callback.id,
            "outcome": outcome,
            "attempt": callback.attempts,
            "next": decided.status,
            "retry_at": decided.at.isoformat() if decided.at else None,
        },
        staff_id=staff_id or call.counsellor_id,
    )
    session.refresh(callback)
    return Settled(callback, decided.status, decided.at)


def end_attempt_call(call: Call, now: dt.datetime) -> None:
    """The attempt's call never reached the caller: it is over in the call log too."""
    if call.ended_at is None:
        call.ended_at = now
        if call.queued_at is not None and call.dequeued_at is None:
            call.dequeued_at = now


def expire(session: DbSession, callback_id: int, now: dt.datetime) -> bool:
    """A pending callback whose time is over: expired, with a CallEvent; False if not."""
    callback = session.get(CallbackRequest, callback_id)
    if callback is None:
        return False
    expired = {
        "status": CallbackStatus.EXPIRED.value,
        "outcome": CallbackOutcome.EXPIRED.value,
        "completed_at": now,
    }
    if not _take_pending(session, callback_id, CallbackRequest.expires_at, now, expired):
        return False
    _note(session, callback, CallbackOutcome.EXPIRED, now)
    return True


def _note(
    session: DbSession,
    callback: CallbackRequest,
    outcome: str,
    now: dt.datetime,
    staff_id: int | None = None,
    source: str = EventSource.WORKER,
) -> None:
    """An outcome outside an attempt, on the callback's latest call (or the one it came from)."""
    latest = current_call(session, callback.id)
    call_id = latest.id if latest is not None else callback.call_id
    if call_id is None:
        return  # a follow-up from a record made outside a call, never attempted
    data = {"callback_id": callback.id, "outcome": outcome, "attempt": callback.attempts}
    event(session, call_id, CallEventKind.CALLBACK_OUTCOME, data, staff_id, source)


# Where callbacks come from, besides the IVR's callback question and a counsellor's
# follow-up (records/service.py).

LIFETIME = dt.timedelta(days=3)


def _has_callback(session: DbSession, call_id: int) -> bool:
    found = session.scalar(
        sa.select(CallbackRequest.id).where(CallbackRequest.call_id == call_id).limit(1)
    )
    return found is not None


def _request(session: DbSession, call: Call, reason: str, now: dt.datetime) -> CallbackRequest:
    callback = CallbackRequest(
        caller_id=call.caller_id,
        call_id=call.id,
        reason=reason,
        language=call.language or "tr",
        topic=call.topic,
        priority=call.priority,
        queue_entered_at=call.queued_at,
        due_from=now,
        next_attempt_at=now,
        expires_at=now + LIFETIME,
        created_at=now,
        updated_at=now,
    )
    session.add(callback)
    session.flush()
    event(session, call.id, CallEventKind.CALLBACK_REQUESTED, {"reason": reason}, source="ivr")
    return callback


# A follow-up call (a record's, a case plan's) expires this long after it is due.
FOLLOW_UP_VALID_FOR = dt.timedelta(days=3)


@dataclasses.dataclass(frozen=True)
class FollowUp:
    """A follow-up call a member of staff promised: to which caller, in which language,
    when, and from which call, record and topic it came (if any)."""

    caller_id: int
    language: str
    due: dt.datetime
    staff_id: int
    call_id: int | None = None
    contact_record_id: int | None = None
    topic: str | None = None


def request_follow_up(session: DbSession, wanted: FollowUp, now: dt.datetime) -> CallbackRequest:
    """A pending follow-up callback due at `wanted.due` (it expires FOLLOW_UP_VALID_FOR
    later), preferring the member of staff who promised it, with the caller's consent
    to it recorded as given in the console."""
    callback = CallbackRequest(
        caller_id=wanted.caller_id,
        call_id=wanted.call_id,
        contact_record_id=wanted.contact_record_id,
        reason=CallbackReason.FOLLOW_UP.value,
        language=wanted.language,
        topic=wanted.topic,
        due_from=wanted.due,
        next_attempt_at=wanted.due,
        expires_at=wanted.due + FOLLOW_UP_VALID_FOR,
        preferred_staff_id=wanted.staff_id,
        status=CallbackStatus.PENDING.value,
        created_at=now,
        updated_at=now,
    )
    session.add(callback)
    session.add(
        CallerConsent(
            caller_id=wanted.caller_id,
            call_id=wanted.call_id,
            kind=ConsentKind.FOLLOW_UP.value,
            is_granted=True,
            source="console",
            recorded_at=now,
        )
    )
    session.flush()
    return callback


def request_after_voicemail(
    session: DbSession, call: Call, now: dt.datetime
) -> CallbackRequest | None:
    """A caller who left a voicemail is called back (unless this call already asked)."""
    if call.caller_id is None or call.direction != CallDirection.INBOUND:
        return None
    if _has_callback(session, call.id):
        return None
    return _request(session, call, CallbackReason.VOICEMAIL, now)


def request_after_abandon(
    session: DbSession, call: Call, min_wait_seconds: int, now: dt.datetime
) -> CallbackRequest | None:
    """A caller who hung up after waiting longer than `min_wait_seconds` is called back,
    only if they agreed to be (their latest `callback` consent is yes)."""
    if call.caller is None or call.direction != CallDirection.INBOUND:
        return None
    if call.outcome != CallOutcome.ABANDONED_QUEUE or call.answered_at is not None:
        return None
    # From the phase times: the stored wait_seconds is settled only at the next flush.
    waited = whole_seconds(call.queued_at, call.answered_at or call.ended_at) or 0
    if waited <= min_wait_seconds:
        return None
    if not call.caller.consent(ConsentKind.CALLBACK) or _has_callback(session, call.id):
        return None
    return _request(session, call, CallbackReason.ABANDONED, now)


def list_pending_for_call(session: DbSession, call_id: int) -> list[CallbackRequest]:
    return list(
        session.scalars(
            sa.select(CallbackRequest).where(
                CallbackRequest.call_id == call_id,
                CallbackRequest.status == CallbackStatus.PENDING,
            )
        )
    )


# What a console page calls (the "My callbacks" page).


def _get(session: DbSession, callback_id: int, by: Staff) -> CallbackRequest:
    if not by.has_role(Role.COUNSELLOR, Role.SUPERVISOR):
        raise CallbackError("Only counsellors and supervisors handle callbacks.")
    callback = session.get(CallbackRequest, callback_id)
    if callback is None:
        raise CallbackError("There is no such callback.")
    return callback


def _pending(callback: CallbackRequest) -> None:
    if callback.status != CallbackStatus.PENDING:
        raise CallbackError("This callback is not waiting to be made any more.")


def _audit(
    session: DbSession,
    action: str,
    by: Staff,
    callback: CallbackRequest,
    details: dict[str, Any],
    request: audit.RequestInfo | None,
) -> None:
    audit.record(
        session,
        action,
        audit.Actor(label=by.username, staff_id=by.id),
        target_type="callback_request",
        target_id=callback.id,
        details=details,
        request=request,
    )


def call_now(
    session: DbSession,
    callback_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CallbackRequest:
    """Make the callback due at once, offered first to the counsellor who asks.

    Then enqueue `tasks.callbacks.enqueue_dial_callback` after the commit.
    """
    callback = _get(session, callback_id, by)
    _pending(callback)
    if now >= callback.expires_at:
        raise CallbackError("This callback has expired.")
    callback.next_attempt_at = now
    if by.has_role(Role.COUNSELLOR):
        callback.preferred_staff_id = by.id
    callback.updated_at = now
    _audit(session, "callback_call_now", by, callback, {}, request)
    return callback


def reschedule(
    session: DbSession,
    callback_id: int,
    at: dt.datetime,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CallbackRequest:
    """Move a pending, unexpired callback to a future time within 30 days (its expiry
    moves with it if needed)."""
    callback = _get(session, callback_id, by)
    _pending(callback)
    if now >= callback.expires_at:
        raise CallbackError("This callback has expired.")
    if at <= now:
        raise CallbackError("Choose a time in the future.")
    if at > now + dt.timedelta(days=30):
        raise CallbackError("Choose a time within the next 30 days.")
    callback.next_attempt_at = at
    callback.due_from = min(callback.due_from, at)
    callback.expires_at = max(callback.expires_at, at + dt.timedelta(days=1))
    callback.updated_at = now
    _audit(session, "callback_rescheduled", by, callback, {"at": at.isoformat()}, request)
    return callback


MANUAL_OUTCOMES = {
    CallbackOutcome.CONNECTED.value: CallbackStatus.COMPLETED.value,
    CallbackOutcome.CANCELLED.value: CallbackStatus.CANCELLED.value,
}


def record_outcome(
    session: DbSession,
    callback_id: int,
    outcome: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CallbackRequest:
    """Close a pending (or failed) callback by hand: reached another way, or cancelled."""
    callback = _get(session, callback_id, by)
    if outcome not in MANUAL_OUTCOMES:
        raise CallbackError("Choose connected or cancelled.")
    if callback.status not in (CallbackStatus.PENDING, *FAILED):
        raise CallbackError("This callback is being made now, or is already closed.")
    taken = session.execute(
        sa.update(CallbackRequest)
        .where(CallbackRequest.id == callback.id, CallbackRequest.status == callback.status)
        .values(status=MANUAL_OUTCOMES[outcome], outcome=outcome, completed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise CallbackError("This callback changed meanwhile; look again.")
    session.refresh(callback)
    _note(session, callback, outcome, now, by.id, EventSource.CONSOLE)
    _audit(session, "callback_outcome_recorded", by, callback, {"outcome": outcome}, request)
    return callback


# Callbacks a counsellor may act on: assigned to or preferring them, and the follow-ups of
# their own records. Closed ones that failed or expired stay for a week (an outcome can
# still be recorded); the others leave the list when closed.
SHOWN_OPEN = (CallbackStatus.PENDING.value, *OPEN)
FAILED_SHOWN_FOR = dt.timedelta(days=7)


def _theirs(staff_id: int) -> sa.ColumnElement[bool]:
    own_records = sa.select(ContactRecord.id).where(ContactRecord.counsellor_id == staff_id)
    return sa.or_(
        CallbackRequest.assigned_staff_id == staff_id,
        CallbackRequest.preferred_staff_id == staff_id,
        sa.and_(
            CallbackRequest.reason == CallbackReason.FOLLOW_UP,
            CallbackRequest.contact_record_id.in_(own_records),
        ),
    )


def list_mine(
    session: DbSession, staff: Staff, now: dt.datetime, limit: int = 200
) -> list[CallbackRequest]:
    """The callbacks and follow-ups this counsellor may act on, by next attempt."""
    return list(
        session.scalars(
            sa.select(CallbackRequest)
            .where(
                _theirs(staff.id),
                sa.or_(
                    CallbackRequest.status.in_(SHOWN_OPEN),
                    sa.and_(
                        CallbackRequest.status.in_(FAILED),
                        CallbackRequest.completed_at >= now - FAILED_SHOWN_FOR,
                    ),
                ),
            )
            .order_by(CallbackRequest.next_attempt_at, CallbackRequest.id)
            .limit(limit)
        )
    )


def is_mine(session: DbSession, callback_id: int, staff: Staff) -> bool:
    """Whether this counsellor may act on the callback (the rule of `list_mine`)."""
    found = session.scalar(
        sa.select(CallbackRequest.id).where(CallbackRequest.id == callback_id, _theirs(staff.id))
    )
    return found is not None


def list_failed(session: DbSession, since: dt.datetime, limit: int = 200) -> list[CallbackRequest]:
    """Callbacks that failed or expired since then, newest first (for supervisors)."""
    return list(
        session.scalars(
            sa.select(CallbackRequest)
            .where(
                CallbackRequest.status.in_(FAILED),
                CallbackRequest.completed_at >= since,
            )
            .order_by(CallbackRequest.completed_at.desc(), CallbackRequest.id.desc())
            .limit(limit)
        )
    )
