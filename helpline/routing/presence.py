"""Staff presence: Redis holds the live truth, the database keeps every change.

States: available, busy, wrap_up, break, offline (and `reserved`, set only by a
reservation). A change is written to Redis for routing and to `presence_change` for the
audit and KPIs, in the caller's transaction.

Beside the state, the live hash carries what routing needs without the database: the
member's roles, languages and topics (`roles`, `languages`, `topics`, comma-separated),
and `misses`, the offers in a row they let ring out. `helpline:staff:online` is the set
of everyone not offline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import redis

from helpline.models import PresenceChange, Staff
from helpline.models.base import DbSession
from helpline.models.enums import PresenceState, Role
from helpline.routing.reservation import KEY
from helpline.routing.router import StaffMember

SETTABLE = frozenset(state.value for state in PresenceState)
ONLINE_KEY = "helpline:staff:online"
ROUTED_ROLES = frozenset({Role.COUNSELLOR, Role.INTERPRETER})
MISSED_OFFERS = "missed_offers"  # the reason a member of staff was made not ready


ENGAGED = frozenset({"reserved", "busy"})  # ringing for a call, or in one
# Set the fields unless the member is engaged and this is not the system's own change.
_SET = """
local state = redis.call('HGET', KEYS[1], 'state')
if ARGV[1] == '0' and (state == 'reserved' or state == 'busy') then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


class PresenceError(ValueError):
    """A state that cannot be set; the message is safe to show."""


def skills(staff: Staff) -> dict[str, str]:
    """What routing needs to know of a member of staff, as live-hash fields."""
    return {
        "roles": ",".join(sorted(r.value for r in staff.roles & ROUTED_ROLES)),
        "languages": ",".join(staff.languages),
        "topics": ",".join(staff.topics),
    }


def set_state(
    connection: redis.Redis,
    session: DbSession,
    staff_id: int,
    state: str,
    reason: str | None = None,
    now: float | None = None,
    *,
    system: bool = False,
) -> None:
    """Record a new state for a member of staff, live and durably.

    Someone ringing for a call or in one can only go offline; the routing layer itself
    (`system`) moves them on after the call.
    """
    if state not in SETTABLE:
        raise PresenceError(f"unknown state {state!r}")
    if state == PresenceState.OFFLINE:
        system = True
    moment = time.time() if now is None else now
    key = KEY.format(staff_id)
    fields: dict[str, str | float] = {"state": state, "since": moment, "reason": reason or ""}
    if state == PresenceState.AVAILABLE:
        fields.update(idle_since=moment, call="", offer="")
        if reason != "after_call":
            fields["misses"] = 0
    staff = session.get(Staff, staff_id)
    if staff is not None:
        fields.update(skills(staff))
    flat = [str(v) for pair in fields.items() for v in pair]
    if not connection.eval(_SET, 1, key, "1" if system else "0", *flat):
        raise PresenceError("You are in a call or being offered one; finish it first.")
    if state == PresenceState.OFFLINE:
        connection.srem(ONLINE_KEY, staff_id)
    else:
        connection.sadd(ONLINE_KEY, staff_id)
    session.add(PresenceChange(staff_id=staff_id, state=state, reason=reason))


def live_state(connection: redis.Redis, staff_id: int) -> dict[str, str]:
    raw = connection.hgetall(KEY.format(staff_id))
    return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]


def _split(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(",") if part)


def _member(staff_id: int, live: dict[str, str], now: float) -> StaffMember | None:
    roles = _split(live.get("roles", ""))
    if not roles or live.get("state") in (None, PresenceState.OFFLINE):
        return None
    state = live.get("state")
    lapsed = state == "reserved" and float(live.get("reserved_until") or 0) <= now
    idle = float(live.get("idle_since") or live.get("since") or 0)
    return StaffMember(
        staff_id=staff_id,
        is_counsellor=Role.COUNSELLOR in roles,
        is_interpreter=Role.INTERPRETER in roles,
        languages=_split(live.get("languages", "")),
        topics=_split(live.get("topics", "")),
        is_available=state == PresenceState.AVAILABLE or lapsed,
        idle_since=dt.datetime.fromtimestamp(idle, dt.UTC),
    )


@dataclasses.dataclass(frozen=True)
class OnDuty:
    """Everyone logged in for routing, as Redis had them at one instant."""

    members: tuple[StaffMember, ...]
    states: dict[int, dict[str, str]]


def online_states(connection: redis.Redis) -> dict[int, dict[str, str]]:
    """The live state of every member of staff not offline, by id (two round trips)."""
    ids = sorted(int(raw) for raw in connection.smembers(ONLINE_KEY))
    pipe = connection.pipeline(transaction=False)
    for staff_id in ids:
        pipe.hgetall(KEY.format(staff_id))
    return {
        staff_id: {k.decode(): v.decode() for k, v in raw.items()}
        for staff_id, raw in zip(ids, pipe.execute(), strict=True)
    }


def on_duty(connection: redis.Redis, now: float | None = None) -> OnDuty:
    """The routed staff who are not offline, with their live state (two round trips)."""
    moment = time.time() if now is None else now
    states = online_states(connection)
    members = [
        member
        for staff_id, live in states.items()
        if (member := _member(staff_id, live, moment)) is not None
    ]
    return OnDuty(tuple(members), states)


def note_miss(connection: redis.Redis, staff_id: int) -> int:
    """One more offer rang out unanswered; returns the misses in a row."""
    return int(connection.hincrby(KEY.format(staff_id), "misses", 1))
