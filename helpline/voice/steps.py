"""An IVR step's reads and writes: the IVR webhooks' hot path.

A step reads what the IVR needs of a call (`IvrCall`, one Core SELECT) and writes what
the engine decided (`apply_step`: one UPDATE of the call, one INSERT of its timeline
entries, and rarely a consent or callback request), all with Core statements. The ORM's
identity map and unit of work cost more than the rest of a step together
(docs/BENCHMARKS.md), and a step needs neither.

Webhooks that hold an ORM `Call` (the first webhook creates one) pass `IvrCall.of(call)`;
`apply_step` flushes the session first and expires it afterwards, so the ORM never
works from values the step replaced. The commit stays the view's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa

from helpline.ivr import engine
from helpline.models import Call, CallbackRequest, Caller, CallerConsent, utcnow
from helpline.models.base import DbSession
from helpline.models.calls import (
    append_timeline,
    latest_answer,
    timeline_entry,
    whole_seconds,
)
from helpline.models.enums import (
    CallbackReason,
    CallEventKind,
    CallOutcome,
    ConsentKind,
    EventSource,
)

CALLBACK_LIFETIME = dt.timedelta(days=3)
# Outcomes a later one may not replace (the first settled one stands).
_SETTLED = frozenset({CallOutcome.VOICEMAIL, CallOutcome.CALLBACK_REQUESTED})

_CALL = cast("sa.Table", Call.__table__)
_CALLER = cast("sa.Table", Caller.__table__)
_CONSENT = cast("sa.Table", CallerConsent.__table__)


@dataclasses.dataclass
class IvrCall:
    """What the IVR reads and writes of a call and its caller."""

    id: int
    caller_id: int | None
    ivr_state: dict[str, Any] | None
    language: str | None
    language_selected_at: dt.datetime | None
    queued_at: dt.datetime | None
    dequeued_at: dt.datetime | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    outcome: str
    preferred_language: str | None  # the caller's
    consents: list[tuple[str, bool]]  # the caller's answers (kind, granted), oldest first

    def consent(self, kind: str) -> bool:
        """The latest answer the caller gave for this kind of consent (False if never asked)."""
        return latest_answer(self.consents, kind)

    @classmethod
    def of(cls, call: Call) -> IvrCall:
        """The IVR's view of a call held by the ORM (its pending changes included)."""
        caller = call.caller
        return cls(
            id=call.id,
            caller_id=caller.id if caller is not None else None,
            ivr_state=call.ivr_state,
            language=call.language,
            language_selected_at=call.language_selected_at,
            queued_at=call.queued_at,
            dequeued_at=call.dequeued_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            outcome=call.outcome,
            preferred_language=caller.preferred_language if caller is not None else None,
            consents=[(c.kind, c.is_granted) for c in caller.consents] if caller else [],
        )


_LOAD = (
    sa.select(
        _CALL.c.id,
        _CALL.c.caller_id,
        _CALL.c.ivr_state,
        _CALL.c.language,
        _CALL.c.language_selected_at,
        _CALL.c.queued_at,
        _CALL.c.dequeued_at,
        _CALL.c.answered_at,
        _CALL.c.ended_at,
        _CALL.c.outcome,
        _CALLER.c.preferred_language,
        _CONSENT.c.kind,
        _CONSENT.c.is_granted,
    )
    .select_from(
        _CALL.outerjoin(_CALLER, _CALLER.c.id == _CALL.c.caller_id).outerjoin(
            _CONSENT, _CONSENT.c.caller_id == _CALLER.c.id
        )
    )
    .where(_CALL.c.call_sid == sa.bindparam("call_sid"))
    .order_by(_CONSENT.c.recorded_at, _CONSENT.c.id)
)


def load(session: DbSession, call_sid: str) -> IvrCall | None:
    """The call with this CallSid as the IVR sees it, in one round trip; None if unknown."""
    rows = session.execute(_LOAD, {"call_sid": call_sid}).all()
    if not rows:
        return None
    first = rows[0]
    return IvrCall(
        id=first.id,
        caller_id=first.caller_id,
        ivr_state=first.ivr_state,
        language=first.language,
        language_selected_at=first.language_selected_at,
        queued_at=first.queued_at,
        dequeued_at=first.dequeued_at,
        answered_at=first.answered_at,
        ended_at=first.ended_at,
        outcome=first.outcome,
        preferred_language=first.preferred_language,
        consents=[(row.kind, row.is_granted) for row in rows if row.kind is not None],
    )


def facts_for(
    call: IvrCall,
    now: dt.datetime,
    queue_status: Callable[[str, str | None], str] | None = None,
    emergency_status: Callable[[str], str] | None = None,
) -> engine.Facts:
    """What the engine may know of the caller: consents and a remembered language."""
    status = queue_status or engine.nobody_on_duty
    anyone = emergency_status or engine.nobody_logged_in
    if call.caller_id is None:
        return engine.Facts(
            now=now, caller_known=False, queue_status=status, emergency_status=anyone
        )
    given = frozenset(kind for kind in ConsentKind if call.consent(kind))
    remembered = call.preferred_language if ConsentKind.REMEMBER_LANGUAGE in given else None
    return engine.Facts(
        now=now,
        caller_known=True,
        remembered_language=remembered,
        consents_given=given,
        queue_status=status,
        emergency_status=anyone,
    )


@dataclasses.dataclass
class _Write:
    """What a step changes, gathered before it is written."""

    call: dict[str, Any] = dataclasses.field(default_factory=dict)
    caller: dict[str, Any] = dataclasses.field(default_factory=dict)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    consents: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    callbacks: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def apply_step(session: DbSession, call: IvrCall, step: engine.Step, flow_id: str) -> None:
    """Store an engine step: state, call fields, timeline entries and effects."""
    state = step.state
    write = _Write()
    write.call.update(ivr_state=state.to_json(), flow_id=flow_id, flow_version=state.version)
    for name in ("topic", "age_group"):
        value = state.vars.get(name)
        if isinstance(value, str):
            write.call[name] = value
    priority = state.vars.get("priority")
    if isinstance(priority, int):
        write.call["priority"] = priority
    for event in step.events:
        write.events.append(timeline_entry(event.kind, EventSource.IVR, dict(event.data)))
        if event.kind == CallEventKind.LANGUAGE_SELECTED:
            _set(write.call, call, language=state.language)
            _set(write.call, call, language_selected_at=call.language_selected_at or utcnow())
            if call.caller_id is not None and call.consent(ConsentKind.REMEMBER_LANGUAGE):
                _set(write.caller, call, preferred_language=state.language)
    for effect in step.effects:
        _apply_effect(write, call, state, effect)
    _store(session, call, write)


def _set(values: dict[str, Any], call: IvrCall, **changes: Any) -> None:
    """Record changes to be written, and keep `call` as it will be once they are."""
    values.update(changes)
    for name, value in changes.items():
        setattr(call, name, value)


def _apply_effect(write: _Write, call: IvrCall, state: engine.State, effect: engine.Effect) -> None:
    now = utcnow()
    if isinstance(effect, engine.Consent):
        if call.caller_id is None:
            return
        write.consents.append(
            {
                "caller_id": call.caller_id,
                "call_id": call.id,
                "kind": effect.kind,
                "is_granted": effect.granted,
                "source": "ivr",
                "recorded_at": now,
            }
        )
        call.consents.append((effect.kind, effect.granted))
        if effect.kind == ConsentKind.REMEMBER_LANGUAGE:
            remembered = state.language if effect.granted else None
            _set(write.caller, call, preferred_language=remembered)
    elif isinstance(effect, engine.CallbackWanted):
        if call.caller_id is None:
            return
        reason = effect.reason if effect.reason in set(CallbackReason) else CallbackReason.QUEUE_KEY
        priority = state.vars.get("priority")
        topic = state.vars.get("topic")
        write.callbacks.append(
            {
                "caller_id": call.caller_id,
                "call_id": call.id,
                "reason": reason,
                "language": state.language,
                "topic": topic if isinstance(topic, str) else None,
                "priority": priority if isinstance(priority, int) else 0,
                "queue_entered_at": call.queued_at,
                "due_from": now,
                "next_attempt_at": now,
                "expires_at": now + CALLBACK_LIFETIME,
            }
        )
    elif isinstance(effect, engine.Queued):
        write.call["is_emergency"] = effect.emergency  # routing reads it (waiting.py)
        if call.queued_at is None or call.dequeued_at is not None:
            _set(write.call, call, queued_at=now, dequeued_at=None)
    elif isinstance(effect, engine.Dequeued):
        if call.queued_at is not None and call.dequeued_at is None:
            _set(write.call, call, dequeued_at=now)
    elif isinstance(effect, engine.Voicemail):
        _settle(write, call, CallOutcome.VOICEMAIL)
    elif isinstance(effect, engine.Outcome):
        _settle(write, call, effect.value)


def _settle(write: _Write, call: IvrCall, outcome: str) -> None:
    if call.outcome not in _SETTLED:
        _set(write.call, call, outcome=outcome)


def _store(session: DbSession, call: IvrCall, write: _Write) -> None:
    """Write the step with Core statements, after anything the ORM still holds."""
    session.flush()
    if "queued_at" in write.call:  # the stored wait follows the phase times (models.calls)
        write.call["wait_seconds"] = whole_seconds(
            call.queued_at, call.answered_at or call.ended_at
        )
    session.execute(sa.update(_CALL).where(_CALL.c.id == call.id).values(write.call))
    if write.caller and call.caller_id is not None:
        session.execute(
            sa.update(_CALLER).where(_CALLER.c.id == call.caller_id).values(write.caller)
        )
    if write.consents:
        session.execute(sa.insert(_CONSENT), write.consents)
    if write.callbacks:
        session.execute(sa.insert(cast("sa.Table", CallbackRequest.__table__)), write.callbacks)
    append_timeline(session, call.id, write.events)
    # Whatever the ORM loaded of this call or its caller is now out of date.
    session.expire_all()
