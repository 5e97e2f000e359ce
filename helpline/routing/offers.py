"""The life of an offer: plan it, accept or refuse it, end it. Database and Redis, no HTTP.

1. `plan` (the dispatch job): the waiting callers and the staff on duty go through the
   pure router; each proposed match is reserved atomically (reservation.py), logged as
   `reserved`, and handed back for the job to ring.
2. The counsellor's phone answers the whisper: `accept` (pressed 1) confirms the
   reservation and sets the call's counsellor and answer time; `refuse` (pressed 2, or
   nothing) gives the reservation back. A counsellor who lets `no_answer_limit` offers in
   a row ring out is put on a break (`missed_offers`) and told so in the console.
3. `leg_ended` (the staff leg's status callback): an offer still reserved rang out; a
   member of staff who was in the call goes to wrap-up.
4. `abandon`: the caller hung up while waiting; any open offer is given back.

Every step is a CallEvent with the staff member's id. The caller keeps their place
throughout: their `queued_at` never changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence

import redis
import sqlalchemy as sa

from helpline.models import Call, CallEvent, Staff, utcnow
from helpline.models.base import DbSession
from helpline.models.calls import TIMELINE_ORDER, append_timeline, timeline_entry
from helpline.models.enums import CallEventKind, EventSource, PresenceState
from helpline.routing import announce, handling, presence, rebuild
from helpline.routing.legs import COUNSELLOR, INTERPRETER, Leg
from helpline.routing.policy import Policy
from helpline.routing.reservation import (
    CALL_KEY,
    CALL_TTL_SECONDS,
    LEGS_KEY,
    LINGER_SECONDS,
    Reservations,
)
from helpline.routing.router import Match, decide, needs_interpreter, stage_name
from helpline.routing.waiting import list_waiting

DECLINED_KEY = "helpline:call:{}:declined"  # who declined this call lately
WAIT_KEY = "helpline:call:{}:wait"  # where a waiting caller stands (position, serving)
ANNOUNCED_KEY = "helpline:call:{}:announced"  # what they were last told
WAIT_TTL_SECONDS = 3600
DECLINED_TTL_SECONDS = 300


@dataclasses.dataclass(frozen=True)
class Planned:
    """A reservation made: ring `first` now. The interpreter (if any) is rung once the
    counsellor accepts, from the call's live offer (`accept`)."""

    match: Match
    offer: str

    @property
    def first(self) -> Leg:
        return Leg(self.match.call_id, self.match.counsellor_id, COUNSELLOR, self.offer)


def hold_seconds(policy: Policy, with_interpreter: bool) -> int:
    """How long a reservation holds unconfirmed: ringing and whisper, twice with an interpreter."""
    one = policy.offer_leg_seconds
    return one * 2 if with_interpreter else one


def event(
    session: DbSession,
    call_id: int,
    kind: str,
    staff_id: int | None = None,
    data: dict[str, object] | None = None,
    source: str = EventSource.ROUTER,
) -> None:
    entry = timeline_entry(kind, source, dict(data or {}), staff_id=staff_id)
    append_timeline(session, call_id, [entry])


def declined_lately(connection: redis.Redis, call_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    pipe = connection.pipeline(transaction=False)
    for call_id in call_ids:
        pipe.smembers(DECLINED_KEY.format(call_id))
    return {
        call_id: frozenset(int(raw) for raw in members)
        for call_id, members in zip(call_ids, pipe.execute(), strict=True)
    }


def _with_open_offers(connection: redis.Redis, call_ids: Sequence[int]) -> set[int]:
    pipe = connection.pipeline(transaction=False)
    for call_id in call_ids:
        pipe.hmget(CALL_KEY.format(call_id), ["state", "until"])
    now = time.time()
    busy: set[int] = set()
    for call_id, (state, until) in zip(call_ids, pipe.execute(), strict=True):
        if state == b"connected" or (state == b"offering" and float(until or 0) > now):
            busy.add(call_id)
    return busy


def publish_standings(connection: redis.Redis, found: dict[int, announce.Standing]) -> None:
    """Where each waiting caller stands, for their next hold announcement."""
    pipe = connection.pipeline(transaction=False)
    for call_id, standing in found.items():
        key = WAIT_KEY.format(call_id)
        pipe.hset(
            key,
            mapping={
                "position": standing.position,
                "serving": standing.serving,
                "offer_callback": int(standing.offer_callback),
                "handle_seconds": standing.handle_seconds,
            },
        )
        pipe.expire(key, WAIT_TTL_SECONDS)
    pipe.execute()


def standing_of(connection: redis.Redis, call_id: int) -> announce.Standing | None:
    raw = connection.hgetall(WAIT_KEY.format(call_id))
    if not raw:
        return None
    found = {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
    return announce.Standing(
        int(found.get("position", 1)),
        int(found.get("serving", 0)),
        found.get("offer_callback") == "1",
        int(found.get("handle_seconds", announce.DEFAULT_HANDLE_SECONDS)),
    )


def plan(
    session: DbSession,
    connection: redis.Redis,
    reservations: Reservations,
    policy: Policy,
    on_rebuilt: Callable[[], None],
    now: dt.datetime | None = None,
) -> list[Planned]:
    """Reserve staff for as many waiting callers as can be served now (call commit after).

    A Redis that restarted empty gets its live state back first (rebuild.py); then
    `on_rebuilt` runs (the dispatch job passes `enqueue_reconcile_calls`)."""
    moment = now or utcnow()  # before anything is read: the decision's instant
    if rebuild.ensure(session, connection, policy) is not None:
        on_rebuilt()
    waiting = list_waiting(session, policy)
    if not waiting:
        return []
    duty = presence.on_duty(connection, moment.timestamp())
    handle = handling.learned(session, connection, policy)
    publish_standings(connection, announce.standings(waiting, duty.members, moment, policy, handle))
    offered = _with_open_offers(connection, [call.call_id for call in waiting])
    waiting = [call for call in waiting if call.call_id not in offered]
    if not waiting or not duty.members:
        return []
    declined = declined_lately(connection, [call.call_id for call in waiting])
    planned: list[Planned] = []
    for match in decide(waiting, duty.members, moment, policy, declined):
        staff_ids = [match.counsellor_id] + (
            [match.interpreter_id] if match.interpreter_id is not None else []
        )
        offer = secrets.token_hex(8)
        hold = hold_seconds(policy, match.interpreter_id is not None)
        if not reservations.reserve(
            match.call_id, staff_ids, hold, moment.timestamp(), offer=offer
        ):
            continue  # someone else took them first: the next decision tries again
        stage = stage_name(match, policy)
        event(
            session,
            match.call_id,
            CallEventKind.RESERVED,
            match.counsellor_id,
            {
                "stage": stage,
                "interpreter_id": match.interpreter_id,
                "offer": offer,
                "decided_at": moment.isoformat(),  # when the waiting callers were read
            },
        )
        planned.append(Planned(match, offer))
    return planned


def leg_sids(connection: redis.Redis, call_id: int, staff_ids: Sequence[int]) -> list[str]:
    raw = connection.hmget(LEGS_KEY.format(call_id), [str(s) for s in staff_ids])
    return [sid.decode() for sid in raw if sid]  # type: ignore[union-attr]


def plan_interpreter(
    session: DbSession,
    connection: redis.Redis,
    reservations: Reservations,
    policy: Policy,
    call_id: int,
) -> Leg | None:
    """Reserve the longest-idle interpreter for the call's language, for a connected call.

    The "add an interpreter" operation: after an interpreter declined or missed, or when
    the counsellor asks for one. None if the call is not connected or nobody is free.
    """
    call = session.get(Call, call_id)
    if call is None or call.ended_at is not None or call.language is None:
        return None
    if call.language == policy.bridge_language:
        return None
    if reservations.offer_of(call_id).get("state") != "connected":
        return None
    declined = declined_lately(connection, [call_id])[call_id]
    duty = presence.on_duty(connection)
    # A language the interpreter shares with the counsellor: the bridge language, or (an
    # emergency caller may have any counsellor) one the counsellor speaks.
    shared = {policy.bridge_language} | _languages_of(duty.states.get(call.counsellor_id or 0))
    free = sorted(
        (
            m
            for m in duty.members
            if m.is_interpreter
            and m.is_available
            and call.language in m.languages
            and m.languages & shared
            and m.staff_id not in declined
            and m.staff_id != call.counsellor_id
        ),
        key=lambda m: (m.idle_since, m.staff_id),
    )
    for member in free:
        offer = secrets.token_hex(8)
        hold = hold_seconds(policy, False)
        if reservations.reserve(call_id, [member.staff_id], hold, offer=offer, joining=True):
            event(
                session,
                call_id,
                CallEventKind.RESERVED,
                member.staff_id,
                {"stage": "add_interpreter", "offer": offer},
            )
            return Leg(call_id, member.staff_id, INTERPRETER, offer)
    return None


def _languages_of(live: dict[str, str] | None) -> frozenset[str]:
    return frozenset(code for code in (live or {}).get("languages", "").split(",") if code)


def needing_interpreter(session: DbSession, connection: redis.Redis) -> list[int]:
    """Connected emergency calls whose counsellor does not speak the caller's language,
    with no interpreter yet and none being rung: an interpreter joins when one is free.

    One query on a partial index (open emergency calls), and Redis's live states.
    """
    rows = session.execute(
        sa.select(Call.id, Call.language, Call.counsellor_id)
        .where(
            Call.is_emergency,  # as the partial index says it (models.calls.EMERGENCY_OPEN)
            Call.ended_at.is_(None),
            Call.answered_at.is_not(None),
            Call.interpreter_id.is_(None),
            Call.counsellor_id.is_not(None),
        )
        .order_by(Call.answered_at, Call.id)
    ).all()
    if not rows:
        return []
    states = presence.online_states(connection)
    ringing = {live.get("call") for live in states.values() if live.get("state") == "reserved"}
    return [
        row.id
        for row in rows
        if str(row.id) not in ringing
        and needs_interpreter(row.language, _languages_of(states.get(row.counsellor_id)))
    ]


def still_offered(connection: redis.Redis, leg: Leg) -> bool:
    """Is this member of staff still held for this offer (and not just finishing one)?"""
    live = presence.live_state(connection, leg.staff_id)
    return (
        live.get("state") == "reserved"
        and live.get("call") == str(leg.call_id)
        and live.get("offer") == leg.offer
        and live.get("lingering") != "1"
    )


def offered(session: DbSession, connection: redis.Redis, leg: Leg, call_sid: str) -> None:
    """The staff phone is ringing (REST accepted the call)."""
    key = LEGS_KEY.format(leg.call_id)
    connection.hset(key, str(leg.staff_id), call_sid)
    connection.expire(key, CALL_TTL_SECONDS)
    call = session.get(Call, leg.call_id)
    if call is not None and leg.role == COUNSELLOR and call.offered_at is None:
        call.offered_at = utcnow()
    # The staff leg's CallSid and the offer, so that after Redis lost them the leg can
    # still be found, and its end still frees the phone (rebuild.offers_maybe_ringing).
    event(
        session,
        leg.call_id,
        CallEventKind.OFFERED,
        leg.staff_id,
        {"role": leg.role, "leg": call_sid, "offer": leg.offer},
    )


@dataclasses.dataclass(frozen=True)
class Accepted:
    call: Call
    interpreter: Leg | None  # to ring next (the counsellor accepted)
    repeated: bool = False  # accepted before, and recorded: nothing more to start


def accept(session: DbSession, reservations: Reservations, leg: Leg) -> Accepted | None:
    """They pressed 1. None when the offer is gone (the caller left, or it lapsed).

    Idempotent: the same acceptance again (the webhook tried once more after its database
    write failed, which Redis's half survived) is written if the database lacks it, and
    is `repeated` if the database has it already.
    """
    call = session.get(Call, leg.call_id)
    if call is None or call.ended_at is not None:
        _release(reservations, leg)
        return None
    connects = leg.role == COUNSELLOR
    if not reservations.confirm(leg.call_id, [leg.staff_id], offer=leg.offer, connects=connects):
        if not reservations.confirmed(
            leg.call_id, leg.staff_id, offer=leg.offer, connects=connects
        ):
            return None
        recorded = call.counsellor_id if connects else call.interpreter_id
        if recorded == leg.staff_id:
            return Accepted(call, None, repeated=True)
    now = utcnow()
    interpreter: Leg | None = None
    if connects:
        call.counsellor_id = leg.staff_id
        call.answered_at = call.answered_at or now
        call.dequeued_at = call.dequeued_at or now
        live = reservations.offer_of(leg.call_id)
        if live.get("interpreter") and live.get("offer") == leg.offer:
            interpreter = Leg(leg.call_id, int(live["interpreter"]), INTERPRETER, leg.offer)
        staff = session.get(Staff, leg.staff_id)
        if staff is not None and staff.site_id is not None and call.site_id is None:
            call.site_id = staff.site_id
    elif leg.role == INTERPRETER:
        call.interpreter_id = leg.staff_id
    event(session, leg.call_id, CallEventKind.OFFER_ACCEPTED, leg.staff_id, {"role": leg.role})
    return Accepted(call, interpreter)


def _release(reservations: Reservations, leg: Leg, *, on_the_line: bool = False) -> int:
    """Give back what this leg holds: a counsellor's refusal frees the interpreter too.

    A member of staff still on the line (they refused at the whisper) is not rung again
    before their leg has ended.
    """
    linger = LINGER_SECONDS if on_the_line else 0
    released = reservations.release(leg.call_id, [leg.staff_id], offer=leg.offer, linger=linger)
    if leg.role == COUNSELLOR and released:
        live = reservations.offer_of(leg.call_id)
        interpreter = live.get("interpreter")
        if interpreter and live.get("offer") == leg.offer and live.get("state") == "offering":
            released += reservations.release(leg.call_id, [int(interpreter)], offer=leg.offer)
    return released


def refuse(
    session: DbSession,
    connection: redis.Redis,
    reservations: Reservations,
    policy: Policy,
    leg: Leg,
    *,
    answered: bool,
    on_the_line: bool = False,
) -> bool:
    """Declined (pressed another key) or not answered; False if nothing was held any more.

    A refusal keeps them from this call for a while; a miss counts towards not-ready.
    `on_the_line`: their phone is still connected (they refused at the whisper).
    """
    if not _release(reservations, leg, on_the_line=on_the_line):
        return False
    connection.sadd(DECLINED_KEY.format(leg.call_id), leg.staff_id)
    connection.expire(DECLINED_KEY.format(leg.call_id), DECLINED_TTL_SECONDS)
    kind = CallEventKind.OFFER_DECLINED if answered else CallEventKind.OFFER_TIMEOUT
    data: dict[str, object] = {"role": leg.role}
    if not answered:
        misses = presence.note_miss(connection, leg.staff_id)
        data["misses"] = misses
        if misses >= policy.no_answer_limit:
            presence.set_state(
                connection,
                session,
                leg.staff_id,
                PresenceState.BREAK,
                reason=presence.MISSED_OFFERS,
                system=True,
            )
            data["made_not_ready"] = True
    event(session, leg.call_id, kind, leg.staff_id, data)
    return True


def ring_failed(
    session: DbSession,
    connection: redis.Redis,
    reservations: Reservations,
    policy: Policy,
    leg: Leg,
    *,
    has_phone: bool,
) -> None:
    """Their phone could not be rung (no number, or the REST call failed): the offer is
    given back as a refusal, and the failure is on the call's timeline."""
    refuse(session, connection, reservations, policy, leg, answered=True)
    reason = "REST error" if has_phone else "no phone"
    event(
        session,
        leg.call_id,
        CallEventKind.OFFER_FAILED,
        leg.staff_id,
        {"role": leg.role, "reason": reason},
    )


def leg_ended(
    session: DbSession,
    connection: redis.Redis,
    reservations: Reservations,
    policy: Policy,
    leg: Leg,
    status: str | None,
) -> str:
    """A staff leg is over: `missed` (the offer rang out), `wrap_up` (after the call),
    `requeue` (a counsellor after the call: the caller waits again if they never met in
    the room), `free` (after a refusal at the whisper) or ``."""
    live = presence.live_state(connection, leg.staff_id)
    # A state rebuilt from the database after Redis restarted knows the call, not the offer.
    mine = live.get("call") == str(leg.call_id) and live.get("offer") in (leg.offer, "")
    if mine and live.get("lingering") == "1":
        reservations.hung_up(leg.call_id, leg.staff_id, offer=leg.offer)
        return "free"
    if mine and live.get("state") == "reserved":
        refuse(session, connection, reservations, policy, leg, answered=False)
        return "missed"
    if mine and live.get("state") == PresenceState.BUSY:
        requeue = leg.role == COUNSELLOR  # the job looks whether the caller was left alone
        presence.set_state(
            connection,
            session,
            leg.staff_id,
            PresenceState.WRAP_UP,
            reason="after_call",
            system=True,
        )
        event(
            session,
            leg.call_id,
            CallEventKind.PARTICIPANT_LEFT,
            leg.staff_id,
            {"role": leg.role, "status": status},
        )
        return "requeue" if requeue else "wrap_up"
    return ""


def talked(session: DbSession, call_id: int) -> bool:
    """Were the caller and their counsellor in the room together? Read from the room's
    events after the counsellor's last acceptance: the caller joined while staff were in
    the room. Without room events for the staff, the caller's join before the counsellor's
    leg ended counts.

    Our own steps (the acceptance, the leg's end) are taken in the order we wrote them,
    which is the order they happened; the room's events, which may arrive out of order,
    in the order the provider gives (TIMELINE_ORDER). Its times have whole seconds and
    its clock is not ours: they order its events among themselves, not against ours.
    """
    rows = session.execute(
        sa.select(CallEvent.id, CallEvent.kind, CallEvent.data)
        .where(
            CallEvent.call_id == call_id,
            CallEvent.kind.in_(
                [
                    CallEventKind.OFFER_ACCEPTED,
                    CallEventKind.ROOM_EVENT,
                    CallEventKind.PARTICIPANT_LEFT,
                ]
            ),
        )
        .order_by(*TIMELINE_ORDER)
    ).all()
    accepted = [
        event_id
        for event_id, kind, data in rows
        if kind == CallEventKind.OFFER_ACCEPTED and data.get("role") == COUNSELLOR
    ]
    since = max(accepted, default=0)
    left = max(
        (
            event_id
            for event_id, kind, data in rows
            if kind == CallEventKind.PARTICIPANT_LEFT
            and data.get("role") == COUNSELLOR
            and event_id > since
        ),
        default=None,
    )
    present, staff_seen = 0, False
    joined: int | None = None
    for event_id, kind, data in rows:
        if kind != CallEventKind.ROOM_EVENT or event_id < since:
            continue
        who, what = data.get("participant"), data.get("event")
        if who == "staff" and what == "participant-join":
            staff_seen, present = True, present + 1
        elif who == "staff" and what == "participant-leave":
            staff_seen, present = True, max(present - 1, 0)
        elif who == "caller" and what == "participant-join":
            if staff_seen and present > 0:
                return True
            joined = event_id if joined is None else joined
    return not staff_seen and joined is not None and (left is None or joined < left)


def requeue(session: DbSession, reservations: Reservations, call_id: int) -> Call | None:
    """The counsellor left before the caller reached the room: wait again, same place.

    None if the call is over or was never connected.
    """
    call = session.get(Call, call_id)
    if call is None or call.ended_at is not None or call.counsellor_id is None:
        return None
    if call.ivr_state is None or call.ivr_state.get("is_done") or talked(session, call_id):
        return None  # they did talk, or the call is over
    event(session, call_id, CallEventKind.REQUEUED, call.counsellor_id)
    call.counsellor_id = call.interpreter_id = None
    call.answered_at = call.dequeued_at = None
    reservations.forget(call_id)
    return call


def end_wrap_up(session: DbSession, connection: redis.Redis, staff_id: int, since: str) -> bool:
    """Wrap-up time is over: available again, unless they changed state meanwhile."""
    live = presence.live_state(connection, staff_id)
    if live.get("state") != PresenceState.WRAP_UP or live.get("since") != since:
        return False
    presence.set_state(
        connection, session, staff_id, PresenceState.AVAILABLE, reason="after_call", system=True
    )
    return True


def abandon(session: DbSession, reservations: Reservations, call_id: int) -> list[int]:
    """The caller stopped waiting (hung up, or left the queue): no offer stands for them.

    Gives back an offer still ringing; returns the staff ids released.
    """
    live = reservations.offer_of(call_id)
    if not reservations.withdraw(call_id):
        return []
    staff_ids = [int(live[k]) for k in ("counsellor", "interpreter") if live.get(k)]
    event(session, call_id, CallEventKind.OFFER_TIMEOUT, staff_ids[0], {"caller": "left"})
    return staff_ids
