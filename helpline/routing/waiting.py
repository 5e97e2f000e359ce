"""Who is waiting, and whether a new caller can wait at all: the database is the truth.

A waiting call is queued, not dequeued and not ended (`helpline.models.calls.WAITING`,
indexed). Redis says who is on duty; when Redis cannot be reached the queue is `down`
and the IVR sends callers to the duty line or a callback instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

import redis
import sqlalchemy as sa

from helpline.ivr.engine import QUEUE_BUSY, QUEUE_DOWN, QUEUE_OPEN
from helpline.models import Call, utcnow
from helpline.models.base import DbSession
from helpline.routing import presence, rebuild
from helpline.routing.policy import Policy
from helpline.routing.router import WaitingCall, stage_for


def list_waiting(session: DbSession, policy: Policy) -> list[WaitingCall]:
    """Every caller waiting now, with the priority the policy gives their topic and age."""
    rows = session.execute(
        sa.select(
            Call.id,
            Call.language,
            Call.topic,
            Call.age_group,
            Call.priority,
            Call.queued_at,
            Call.is_emergency,
        )
        .where(Call.queued_at.is_not(None), Call.dequeued_at.is_(None), Call.ended_at.is_(None))
        .order_by(Call.queued_at, Call.id)
    ).all()
    return [
        WaitingCall(
            call_id=row.id,
            language=row.language or policy.bridge_language,
            topic=row.topic,
            priority=max(
                row.priority or 0,
                policy.priority_of(
                    row.topic, is_emergency=bool(row.is_emergency), age_group=row.age_group
                ),
            ),
            queued_at=row.queued_at,
            age_group=row.age_group,
            is_emergency=bool(row.is_emergency),
        )
        for row in rows
    ]


def _verdict_for(
    session: DbSession,
    connection: redis.Redis,
    policy: Policy,
    probe: WaitingCall,
    on_rebuilt: Callable[[], None],
) -> str:
    """Open if anyone logged in could ever take the probe's call, busy if nobody, down if
    Redis cannot be reached. A Redis that restarted empty gets its live state back first
    (rebuild.py); then `on_rebuilt` runs (callers pass `enqueue_reconcile_calls`, so
    the provider is asked about the calls too)."""
    try:
        if rebuild.ensure(session, connection, policy) is not None:
            on_rebuilt()
        duty = presence.on_duty(connection)
    except redis.RedisError:
        return QUEUE_DOWN
    verdict = stage_for(probe, duty.members, probe.queued_at, policy)
    return QUEUE_OPEN if verdict.stage is not None else QUEUE_BUSY


def queue_status(
    session: DbSession, connection: redis.Redis, policy: Policy, on_rebuilt: Callable[[], None]
) -> Callable[[str, str | None], str]:
    """For the IVR, whether a caller can wait (`_verdict_for`). Asked only when a caller
    reaches the queue."""

    def status(language: str, topic: str | None) -> str:
        probe = WaitingCall(0, language, topic, policy.priority_of(topic), utcnow())
        return _verdict_for(session, connection, policy, probe, on_rebuilt)

    return status


def emergency_status(
    session: DbSession, connection: redis.Redis, policy: Policy, on_rebuilt: Callable[[], None]
) -> Callable[[str], str]:
    """For the IVR's emergency queue: open when any counsellor at all is logged in."""

    def status(language: str) -> str:
        priority = policy.priority_of(None, is_emergency=True)
        probe = WaitingCall(0, language, None, priority, utcnow(), is_emergency=True)
        return _verdict_for(session, connection, policy, probe, on_rebuilt)

    return status


class Queued(Protocol):
    """A call as the ORM or the IVR's Core reads hold it (`voice.steps.IvrCall`)."""

    @property
    def queued_at(self) -> dt.datetime | None: ...


def waited(call: Queued, now: dt.datetime | None = None) -> int:
    """Whole seconds this call has waited so far (0 before it queued)."""
    if call.queued_at is None:
        return 0
    return max(0, int(((now or utcnow()) - call.queued_at).total_seconds()))


def hung_up_waiting(call: Call) -> bool:
    """The caller hung up while waiting: queued, ended and never answered. Any offer that
    still rings for the call is released, and the staff phones it rang hung up."""
    return call.ended_at is not None and call.answered_at is None and call.queued_at is not None
