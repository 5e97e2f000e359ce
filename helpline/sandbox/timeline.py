"""Time passing on one call leg: prompts that play, and sleeps that the world can cut short.

Rules:
- A `Player` plays sounds one after another. Each is logged when it begins, at its
  scheduled start; `stop(at)` cuts the sound playing at `at` (its event gains `cut_after`)
  and the rest never play.
- `Timeline.pass_to(moment, player)` lets time pass while the player plays. On entry and
  whenever the leg wakes, a pending interrupt raises (`End`, `Redirected`), then any guard
  whose condition holds raises `Stopped` (innermost first).
- With `early=True`, `pass_to` returns False as soon as the leg wakes before `moment`, so
  a listening verb can look at a key that just arrived.
- Simulated time past `max_seconds` ends the leg (TIME_LIMIT).
- A Timeline belongs to its leg's thread; only its clock is woken from other threads, and
  guard conditions must be safe to call from that thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from helpline.sandbox.clock import Clock
from helpline.sandbox.signals import End, Interrupt, Stopped
from helpline.sandbox.sounds import Sound
from helpline.sandbox.transcript import EndReason, Heard, Silence, Transcript


def no_interrupts() -> Interrupt | None:
    return None


class Player:
    """Sounds played in order from `start`, logged as they begin."""

    def __init__(self, sounds: Sequence[Sound], start: float, transcript: Transcript) -> None:
        self._sounds = list(sounds)
        self._transcript = transcript
        self._starts: list[float] = []
        moment = start
        for sound in self._sounds:
            self._starts.append(moment)
            moment += sound.seconds
        self.start = start
        self.end = moment
        self._logged: list[int] = []  # transcript index of each sound begun
        self._done = False

    @property
    def settled(self) -> float:
        """When a listener has heard each sound once through."""
        return self.start + sum(sound.once for sound in self._sounds)

    def next_start(self) -> float | None:
        """When the next sound not yet begun starts; None when all have begun or it stopped."""
        if self._done or len(self._logged) >= len(self._sounds):
            return None
        return self._starts[len(self._logged)]

    def reach(self, moment: float, inclusive: bool) -> None:
        """Log every sound that has begun by `moment` (one starting at `moment` if inclusive)."""
        while (start := self.next_start()) is not None and (
            start < moment or (inclusive and start == moment)
        ):
            self._begin(len(self._logged))

    def finish(self) -> None:
        """Everything played out: log what has not begun yet."""
        while self.next_start() is not None:
            self._begin(len(self._logged))
        self._done = True

    def stop(self, at: float) -> None:
        """Stop at `at`: cut the sound playing then; later sounds never play."""
        self.reach(at, inclusive=False)
        self._done = True
        if not self._logged:
            return
        index = len(self._logged) - 1
        start, sound = self._starts[index], self._sounds[index]
        if at < start + sound.seconds:
            self._transcript.replace(self._logged[index], _event(sound, start, at - start))

    def _begin(self, index: int) -> None:
        event = _event(self._sounds[index], self._starts[index], None)
        self._logged.append(self._transcript.add(event))


def _event(sound: Sound, start: float, cut_after: float | None) -> Heard | Silence:
    if sound.heard is None:
        seconds = sound.seconds if cut_after is None else cut_after
        return Silence(start, round(seconds, 1), sound.why)
    return replace(sound.heard, at=start, cut_after=cut_after)


class Timeline:
    """One leg's time: its clock, the interrupts from outside, and the guards of its verbs."""

    def __init__(
        self,
        clock: Clock,
        max_seconds: float,
        interrupts: Callable[[], Interrupt | None] = no_interrupts,
    ) -> None:
        self.clock = clock
        self.max_seconds = max_seconds
        self._interrupts = interrupts
        self._guards: list[Callable[[], bool]] = []

    def now(self) -> float:
        return self.clock.now()

    @contextmanager
    def guard(self, stop: Callable[[], bool]) -> Iterator[None]:
        """Raise `Stopped` in this block whenever the leg wakes and `stop()` holds."""
        self._guards.append(stop)
        try:
            yield
        finally:
            self._guards.pop()

    def check(self) -> None:
        """Raise what is pending: an interrupt, else a guard that holds."""
        interrupt = self._interrupts()
        if interrupt is not None:
            raise interrupt.signal()
        for stop in reversed(self._guards):
            if stop():
                raise Stopped()

    def pass_to(self, moment: float, player: Player | None = None, *, early: bool = False) -> bool:
        """Let time pass to `moment` while `player` plays; see the module rules."""
        self.check()  # what changed before this call must not wait for the next wake-up
        target = min(moment, self.max_seconds)
        while True:
            now = self.clock.now()
            if player is not None:
                player.reach(min(now, target), inclusive=now < target)
            if now >= target:
                break
            stop = target
            upcoming = player.next_start() if player is not None else None
            if upcoming is not None and now < upcoming < target:
                stop = upcoming
            reached = self.clock.sleep_until(stop)
            self.check()
            if not reached and early:
                return False
        if moment > self.max_seconds:
            raise End(EndReason.TIME_LIMIT, f"more than {self.max_seconds:g}s of simulated time")
        return True
