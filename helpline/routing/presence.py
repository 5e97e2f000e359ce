"""Staff presence: Redis holds the live truth, the database keeps every change.

States: available, busy, wrap_up, break, offline (and `reserved`, set only by a
reservation). A change is written to Redis for routing and to `presence_change` for the
audit and KPIs, in the caller's transaction.
"""

from __future__ import annotations

import time

import redis

from helpline.models import PresenceChange
from helpline.models.base import DbSession
from helpline.models.enums import PresenceState
from helpline.routing.reservation import KEY

SETTABLE = frozenset(state.value for state in PresenceState)


class PresenceError(ValueError):
    """A state that cannot be set; the message is safe to show."""


def set_state(
    connection: redis.Redis,
    session: DbSession,
    staff_id: int,
    state: str,
    reason: str | None = None,
    now: float | None = None,
) -> None:
    """Record a new state for a member of staff, live and durably."""
    if state not in SETTABLE:
        raise PresenceError(f"unknown state {state!r}")
    moment = time.time() if now is None else now
    key = KEY.format(staff_id)
    if state == PresenceState.AVAILABLE:
        connection.hset(
            key, mapping={"state": state, "since": moment, "idle_since": moment, "call": ""}
        )
    else:
        connection.hset(key, mapping={"state": state, "since": moment})
    session.add(PresenceChange(staff_id=staff_id, state=state, reason=reason))


def live_state(connection: redis.Redis, staff_id: int) -> dict[str, str]:
    raw = connection.hgetall(KEY.format(staff_id))
    return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
