"""Rebuild routing's live state in Redis from the database, after Redis lost it.

Redis holds the live truth, but it may restart empty (the line's Redis keeps nothing on
disk). The database has everything needed to start again:

- each member of staff's last presence change (state, when, why), with their skills;
- who is in a call: calls answered and not ended name their counsellor and interpreter,
  who are busy, and whose calls are connected;
- whose phone may still be ringing or on the line for an offer that never ended (the
  offer's answer or end came while Redis was down): they stay reserved, unconfirmable,
  until that leg reports its end or could not possibly last any longer;
- the waiting callers need nothing in Redis: they are read from the database anyway.

`helpline:live:built` marks a Redis that has live state. `ensure` rebuilds once when the
mark is missing (one process at a time, under a short lock); the IVR asks before it
decides whether a caller can queue, and the dispatcher before each decision. What the
database cannot know, the telephony provider can: `reconcile` asks the REST API about
calls the database still thinks are live, and ends those that are over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import redis
import sqlalchemy as sa
from redis.typing import EncodableT

from helpline.models import Call, CallEvent, PresenceChange, Staff, utcnow
from helpline.models.base import DbSession
from helpline.models.enums import CallEventKind, PresenceState
from helpline.routing import presence
from helpline.routing.policy import Policy
from helpline.routing.reservation import CALL_KEY, CALL_TTL_SECONDS, KEY, LINGER_SECONDS

BUILT_KEY = "helpline:live:built"
LOCK_KEY = "helpline:live:rebuilding"
LOCK_SECONDS = 30
LIVE_WINDOW = dt.timedelta(hours=6)  # calls older than this are not live, whatever they say


@dataclasses.dataclass(frozen=True)
class Rebuilt:
    staff: int  # live hashes written (staff not offline)
    busy: int  # of them, in a call
    connected_calls: int
    ringing: int = 0  # of them, kept from calls while an offer's leg may be on the line


def _epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


def _live_calls(session: DbSession) -> list[Call]:
    return list(
        session.scalars(
            sa.select(Call).where(
                Call.answered_at.is_not(None),
                Call.ended_at.is_(None),
                Call.started_at > utcnow() - LIVE_WINDOW,
            )
        )
    )


@dataclasses.dataclass(frozen=True)
class Ringing:
    """An offer whose staff leg may still be on the line: nobody may ring that phone."""

    staff_id: int
    call_id: int
    offer: str
    until: float  # epoch seconds: by then the leg has surely ended


def rebuild(session: DbSession, connection: redis.Redis, policy: Policy) -> Rebuilt:
    """Write the live state the database implies, leaving alone what Redis already has."""
    latest = (
        sa.select(PresenceChange.staff_id, sa.func.max(PresenceChange.id).label("last"))
        .group_by(PresenceChange.staff_id)
        .subquery()
    )
    changes = session.scalars(
        sa.select(PresenceChange).join(latest, PresenceChange.id == latest.c.last)
    ).all()
    # Staff whose leg may still be on the line after their call ended (its end could not
    # be passed on while Redis was down) stay busy until their leg reports its end, or
    # reconcile_calls ends it with the provider.
    in_call: dict[int, int] = dict(legs_maybe_live(session))
    calls = _live_calls(session)
    for call in calls:
        for staff_id in (call.counsellor_id, call.interpreter_id):
            if staff_id is not None:
                in_call[staff_id] = call.id
    ringing = {offer.staff_id: offer for offer in offers_maybe_ringing(session, policy)}
    staff_by_id = {
        s.id: s
        for s in session.scalars(
            sa.select(Staff).where(Staff.id.in_([c.staff_id for c in changes]))
        )
    }
    written = busy = reserved = 0
    pipe = connection.pipeline(transaction=False)
    for change in changes:
        staff = staff_by_id.get(change.staff_id)
        if staff is None or not staff.is_active or change.state == PresenceState.OFFLINE:
            continue
        key = KEY.format(change.staff_id)
        if connection.exists(key):
            continue  # set since the restart: newer than anything here
        since = _epoch(change.changed_at)
        fields: dict[EncodableT, EncodableT] = {
            "state": change.state,
            "since": since,
            "idle_since": since,
            "reason": change.reason or "",
            "call": "",
            "offer": "",
        }
        fields.update(presence.skills(staff).items())
        if change.staff_id in in_call:
            fields.update(state=PresenceState.BUSY, call=in_call[change.staff_id])
            busy += 1
        elif change.state == PresenceState.AVAILABLE and change.staff_id in ringing:
            offer = ringing[change.staff_id]
            reserved += 1
            fields.update(
                state="reserved",
                call=offer.call_id,
                offer=offer.offer,
                reserved_until=offer.until,
                lingering="1",  # the offer itself is gone: it cannot be accepted any more
            )
        pipe.hset(key, mapping=fields)
        pipe.sadd(presence.ONLINE_KEY, change.staff_id)
        written += 1
    for call in calls:
        key = CALL_KEY.format(call.id)
        pipe.hsetnx(key, "state", "connected")
        pipe.hsetnx(key, "counsellor", str(call.counsellor_id or ""))
        pipe.hsetnx(key, "interpreter", str(call.interpreter_id or ""))
        pipe.expire(key, CALL_TTL_SECONDS)
    pipe.set(BUILT_KEY, str(time.time()))
    pipe.execute()
    return Rebuilt(written, busy, len(calls), reserved)


def legs_maybe_live(session: DbSession) -> list[tuple[int, int]]:
    """(staff id, call id) of accepted offers whose staff leg never reported its end: the
    latest acceptance of each member of staff with no `participant_left` after it."""
    recent = utcnow() - LIVE_WINDOW
    latest = (
        sa.select(CallEvent.staff_id, sa.func.max(CallEvent.id).label("last"))
        .where(CallEvent.kind == CallEventKind.OFFER_ACCEPTED, CallEvent.occurred_at > recent)
        .group_by(CallEvent.staff_id)
        .subquery()
    )
    accepted = session.execute(
        sa.select(CallEvent.id, CallEvent.staff_id, CallEvent.call_id).join(
            latest, CallEvent.id == latest.c.last
        )
    ).all()
    found = []
    for event_id, staff_id, call_id in accepted:
        left = session.scalar(
            sa.select(CallEvent.id)
            .where(
                CallEvent.call_id == call_id,
                CallEvent.staff_id == staff_id,
                CallEvent.kind == CallEventKind.PARTICIPANT_LEFT,
                CallEvent.id > event_id,
            )
            .limit(1)
        )
        if left is None and staff_id is not None:
            found.append((staff_id, call_id))
    return found


OFFER_ENDS = (
    CallEventKind.OFFER_ACCEPTED,
    CallEventKind.OFFER_DECLINED,
    CallEventKind.OFFER_TIMEOUT,
    CallEventKind.OFFER_FAILED,
    CallEventKind.PARTICIPANT_LEFT,
)


def offers_maybe_ringing(
    session: DbSession, policy: Policy, now: dt.datetime | None = None
) -> list[Ringing]:
    """Offers rung lately that never ended: each member of staff whose latest offer event
    is `offered`, recent enough that the leg may still ring, whisper or apologise (an
    unanswered leg lasts `offer_leg_seconds` at most, and then some seconds more)."""
    moment = now or utcnow()
    longest = policy.offer_leg_seconds + LINGER_SECONDS
    latest = (
        sa.select(CallEvent.staff_id, sa.func.max(CallEvent.id).label("last"))
        .where(
            CallEvent.kind.in_([CallEventKind.OFFERED, *OFFER_ENDS]),
            CallEvent.occurred_at > moment - dt.timedelta(seconds=longest),
        )
        .group_by(CallEvent.staff_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(CallEvent.staff_id, CallEvent.call_id, CallEvent.data, CallEvent.occurred_at)
        .join(latest, CallEvent.id == latest.c.last)
        .where(CallEvent.kind == CallEventKind.OFFERED)
    ).all()
    found = []
    for staff_id, call_id, data, occurred_at in rows:
        offer = data.get("offer") if isinstance(data, dict) else None
        if staff_id is not None:
            until = _epoch(occurred_at) + longest
            found.append(Ringing(staff_id, call_id, offer if isinstance(offer, str) else "", until))
    return found


def leg_sid(session: DbSession, call_id: int, staff_id: int) -> str | None:
    """The CallSid of the latest leg that rang this member of staff for this call."""
    data = session.scalar(
        sa.select(CallEvent.data)
        .where(
            CallEvent.call_id == call_id,
            CallEvent.staff_id == staff_id,
            CallEvent.kind == CallEventKind.OFFERED,
        )
        .order_by(CallEvent.id.desc())
        .limit(1)
    )
    sid = data.get("leg") if isinstance(data, dict) else None
    return sid if isinstance(sid, str) else None


def ensure(session: DbSession, connection: redis.Redis, policy: Policy) -> Rebuilt | None:
    """Rebuild if Redis has no live state; None when there was nothing to do (or another
    process is rebuilding right now)."""
    if connection.exists(BUILT_KEY):
        return None
    if not connection.set(LOCK_KEY, "1", nx=True, ex=LOCK_SECONDS):
        return None
    try:
        return rebuild(session, connection, policy)
    finally:
        connection.delete(LOCK_KEY)


def live_call_sids(session: DbSession) -> list[tuple[int, str]]:
    """Calls the database thinks are still going on: (id, CallSid)."""
    rows = session.execute(
        sa.select(Call.id, Call.call_sid).where(
            Call.ended_at.is_(None), Call.started_at > utcnow() - LIVE_WINDOW
        )
    ).all()
    return [(row.id, row.call_sid) for row in rows]


def lingering_offers(connection: redis.Redis) -> list[tuple[int, int, str]]:
    """(staff id, call id, offer) of staff kept from calls while an offer's leg may still be
    on their phone: rebuilt so, or refused at the whisper and not yet hung up."""
    found = []
    for staff_id, live in presence.online_states(connection).items():
        call = live.get("call", "")
        if live.get("state") == "reserved" and live.get("lingering") == "1" and call.isdigit():
            found.append((staff_id, int(call), live.get("offer", "")))
    return found


def busy_in_ended_calls(session: DbSession, connection: redis.Redis) -> list[tuple[int, int]]:
    """Staff whose live state says they are in a call the database has ended (its end
    came while Redis was down, or before a rebuild that knew no better)."""
    busy: dict[int, int] = {}
    for staff_id, live in presence.online_states(connection).items():
        call = live.get("call", "")
        if live.get("state") == PresenceState.BUSY and call.isdigit():
            busy[staff_id] = int(call)
    if not busy:
        return []
    ended = set(
        session.scalars(
            sa.select(Call.id).where(Call.id.in_(set(busy.values())), Call.ended_at.is_not(None))
        )
    )
    return sorted((staff_id, call_id) for staff_id, call_id in busy.items() if call_id in ended)
