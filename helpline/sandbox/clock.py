"""The clocks a call leg runs on: instant simulated time, or real time at a chosen speed.

Rules:
- A leg's clock reads seconds since the leg started.
- `sleep_until(moment)` returns True once `moment` is reached, or False when the leg is
  woken (a key, a hangup, a change elsewhere; even right at the moment, so that no news is
  lost) or its alarm rings: the leg then looks at why and may sleep again.
- `InstantClock` jumps to the moment at once; nothing sleeps (`helpline simulate`).
- `Timebase` runs `speed` times faster than real time (1.0 is real time); every `LegClock`
  of one exchange reads the same timebase, so legs agree on what happens when.
- A sleeping leg is woken by whatever concerns it; it also looks again after `poll`
  real seconds (MAX_REAL_WAIT by default), a safety net. A load generator holding
  thousands of legs polls less often, so that idle legs do not queue for the interpreter.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol

MAX_SPEED = 1000.0
MAX_REAL_WAIT = 1.0  # seconds of real time a sleep lasts before it looks again


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep_until(self, moment: float) -> bool: ...


class InstantClock:
    """Simulated time that jumps: a sleep reaches its moment at once."""

    def __init__(self) -> None:
        self._now = 0.0

    def now(self) -> float:
        return self._now

    def sleep_until(self, moment: float) -> bool:
        self._now = max(self._now, moment)
        return True


class Timebase:
    """Seconds since the exchange started, `speed` times real time; and their wall-clock date."""

    def __init__(
        self, speed: float = 1.0, epoch: dt.datetime | None = None, poll: float = MAX_REAL_WAIT
    ) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be more than 0 and at most {MAX_SPEED:g}")
        if poll <= 0:
            raise ValueError("poll must be positive")
        if epoch is not None and epoch.tzinfo is None:
            raise ValueError("epoch must be timezone-aware")
        self.speed = speed
        self.poll = poll
        self.epoch = epoch or dt.datetime.now(dt.UTC)
        self._start = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.speed

    def date(self, seconds: float) -> dt.datetime:
        """The wall-clock date of a moment on this timebase (simulated when speed is not 1)."""
        return self.epoch + dt.timedelta(seconds=seconds)


class LegClock:
    """One leg's view of a timebase. Thread-safe: any thread may `wake` it or set its alarm."""

    def __init__(self, base: Timebase) -> None:
        self.base = base
        self.offset = base.now()
        self._cond = threading.Condition()
        self._woken = False
        self._alarm: float | None = None

    def now(self) -> float:
        return self.base.now() - self.offset

    def wake(self) -> None:
        """Make the leg's current or next sleep return early."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def set_alarm(self, moment: float | None) -> None:
        """Wake the leg at `moment` (leg seconds) whatever it sleeps for; None clears it."""
        with self._cond:
            self._alarm = moment
            self._cond.notify_all()

    @property
    def alarm(self) -> float | None:
        with self._cond:
            return self._alarm

    def sleep_until(self, moment: float) -> bool:
        with self._cond:
            while True:
                now = self.now()
                if self._woken:  # even at the moment: the waker's news must not be lost
                    self._woken = False
                    return False
                if now >= moment:
                    return True
                if self._alarm is not None and now >= self._alarm:
                    return False
                until = moment if self._alarm is None else min(moment, self._alarm)
                self._cond.wait(min((until - now) / self.base.speed, self.base.poll))
