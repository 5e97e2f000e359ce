"""When a callback may be dialled, and what happens after an attempt. Pure: no I/O.

- Calling hours: a local window (`CALLBACK_HOURS`, in `CALLING_HOURS_TZ`), and the line's
  own opening hours (`CALLBACK_SCHEDULE`, a schedule of ivr_flows/schedules.yaml), so a
  callback is dialled only when someone may take it and it is a decent hour to ring.
- Before an attempt: a callback not due yet waits; past `expires_at` it expires; outside
  calling hours it moves to the next opening (or to its expiry when none comes first).
- After an attempt: connected is done; not safe now is tried again later (it does not
  use up an attempt's right to a retry); no answer, busy, a machine or a lost attempt
  retry with growing delays until `max_attempts`; nothing is dialled after `expires_at`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from helpline.config import Settings
from helpline.ivr.model import Schedule
from helpline.models.enums import CallbackOutcome, CallbackStatus

STEP = dt.timedelta(minutes=5)  # how finely the next opening is looked for
HORIZON = dt.timedelta(days=15)  # beyond any holiday run: no opening means never


@dataclasses.dataclass(frozen=True)
class Limits:
    start: dt.time
    end: dt.time | None  # None: until midnight
    timezone: str
    schedule: Schedule | None
    retry_seconds: tuple[int, ...]
    later_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings, schedules: dict[str, Schedule]) -> Limits:
        first, last = settings.callback_hours.split("-")
        end = None if last == "24:00" else dt.time.fromisoformat(last)
        return cls(
            start=dt.time.fromisoformat(first),
            end=end,
            timezone=settings.timezone,
            schedule=schedules.get(settings.callback_schedule),
            retry_seconds=settings.callback_retry_seconds,
            later_seconds=settings.callback_later_seconds,
        )

    def is_open(self, at: dt.datetime) -> bool:
        """May a callback be dialled at this instant?"""
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        in_hours = self.start <= local and (self.end is None or local < self.end)
        return in_hours and (self.schedule is None or self.schedule.is_open(at))

    def next_open(self, at: dt.datetime) -> dt.datetime | None:
        """The first instant from `at` when a callback may be dialled (None: not soon)."""
        if self.is_open(at):
            return at
        probe = at.replace(second=0, microsecond=0)
        probe -= dt.timedelta(minutes=probe.minute % 5)
        limit = at + HORIZON
        while probe < limit:
            probe += STEP
            if self.is_open(probe):
                return probe
        return None

    def retry_delay(self, attempts: int) -> dt.timedelta:
        """The wait after the attempt-th unanswered attempt: growing, then the last one."""
        index = min(max(attempts, 1), len(self.retry_seconds)) - 1
        return dt.timedelta(seconds=self.retry_seconds[index])


@dataclasses.dataclass(frozen=True)
class Next:
    """What becomes of a callback after an attempt."""

    status: str  # pending (with `at`), completed, failed or expired
    at: dt.datetime | None = None


RETRIED = frozenset(
    {CallbackOutcome.NO_ANSWER, CallbackOutcome.BUSY, CallbackOutcome.MACHINE, "lost"}
)


def after_attempt(
    limits: Limits,
    outcome: str,
    attempts: int,
    max_attempts: int,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> Next:
    """Decide the callback's next state once an attempt ended with `outcome`.

    `lost` is an attempt that may have dialled but whose result was never seen (a worker
    died); `waited` is one that never dialled (no counsellor took it in time).
    """
    if outcome == CallbackOutcome.CONNECTED:
        return Next(CallbackStatus.COMPLETED)
    if outcome == CallbackOutcome.CANCELLED:
        return Next(CallbackStatus.CANCELLED)
    if outcome == CallbackOutcome.NOT_SAFE_NOW:
        wanted = now + dt.timedelta(seconds=limits.later_seconds)
    elif outcome == "waited":
        wanted = now
    elif outcome in RETRIED:
        if attempts >= max_attempts:
            return Next(CallbackStatus.FAILED)
        wanted = now + limits.retry_delay(attempts)
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    at = limits.next_open(wanted)
    if at is None or at >= expires_at:
        return Next(CallbackStatus.EXPIRED)
    return Next(CallbackStatus.PENDING, at)


@dataclasses.dataclass(frozen=True)
class Before:
    """What a due callback's job does (`tasks.callbacks.dial_callback`)."""

    action: str  # "gone", "later", "expire" or "claim"
    at: dt.datetime | None = None  # later: when its job runs again
    moved: bool = False  # later: the callback's next attempt moves to `at`


def before_attempt(
    limits: Limits,
    status: str,
    next_attempt_at: dt.datetime,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> Before:
    """Decide whether a callback is dialled now, waits, expires or is no longer pending."""
    if status != CallbackStatus.PENDING:
        return Before("gone")
    if next_attempt_at > now:
        return Before("later", next_attempt_at)
    if expires_at <= now:
        return Before("expire")
    if limits.is_open(now):
        return Before("claim")
    opening = limits.next_open(now)
    if opening is None or opening >= expires_at:
        return Before("later", expires_at, moved=True)
    return Before("later", opening, moved=True)
