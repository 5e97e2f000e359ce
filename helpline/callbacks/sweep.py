"""The callback sweeper's rules: its clock, and what an open attempt needs. Pure: no I/O.

The sweeper (tasks/callbacks.py) re-enqueues what the queue lost and settles attempts
whose worker died; the database still knows what is due and what is open. Its times come
from CALLBACK_SWEEP_SECONDS (docs/callbacks.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from helpline.callbacks.limits import Limits
from helpline.callbacks.service import is_placeholder
from helpline.models import Call, CallbackRequest
from helpline.models.enums import CallbackStatus

RECONCILE_SECONDS = 900  # a dialled attempt still open this long: ask the provider


@dataclasses.dataclass(frozen=True)
class SweepClock:
    """The sweeper's times, from CALLBACK_SWEEP_SECONDS (20 s by default)."""

    every: int  # how often the workers queue a sweep

    @property
    def grace(self) -> int:
        """A due callback's own job may still be about to run (10 s by default)."""
        return self.every // 2

    @property
    def dial_stall(self) -> int:
        """Accepted this long ago and not dialled: the dial job was lost (60 s)."""
        return 3 * self.every

    @property
    def dial_lease(self) -> int:
        """A dial that never told its CallSid by then was lost (60 s)."""
        return 3 * self.every


class Verdict(enum.Enum):
    """What the sweeper does with one open attempt."""

    LEAVE = "leave"  # nothing yet: it is going as it should
    REDIAL = "redial"  # the counsellor waits and the caller was never dialled: dial again
    LEFT = "left"  # the counsellor left before the caller was dialled: forget, then release
    WAITING = "waiting"  # no counsellor yet, within hours: the routing decision may offer it
    UNTAKEN = "untaken"  # no counsellor, and hours or time are over: withdraw, then release
    LOST = "lost"  # the dial never told its CallSid: settle it as lost
    RECONCILE = "reconcile"  # dialled long ago, no final status: ask the provider


def verdict(
    callback: CallbackRequest,
    call: Call,
    *,
    counsellor_waits: bool,
    limits: Limits,
    clock: SweepClock,
    now: dt.datetime,
) -> Verdict:
    """Decide for an open (claimed or dialling) attempt whose current call is `call`.

    `counsellor_waits`: the counsellor who accepted the call is still in it (presence).
    """
    if callback.status == CallbackStatus.CLAIMED:
        if call.counsellor_id is not None:
            if not counsellor_waits:
                return Verdict.LEFT
            accepted = call.answered_at or now
            stalled = (now - accepted).total_seconds() > clock.dial_stall
            return Verdict.REDIAL if stalled else Verdict.LEAVE
        if limits.is_open(now) and callback.expires_at > now:
            return Verdict.WAITING
        return Verdict.UNTAKEN
    age = (now - (callback.claimed_at or now)).total_seconds()
    if is_placeholder(call.call_sid):
        return Verdict.LEAVE if age < clock.dial_lease else Verdict.LOST
    return Verdict.RECONCILE if age > RECONCILE_SECONDS else Verdict.LEAVE
