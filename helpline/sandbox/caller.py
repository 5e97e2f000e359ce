"""The caller's side of a call: a Script played at listening points, or a Keypad a person types on.

Rules:
- The caller acts only where the call listens: a Gather, a Record, a queue wait. A `dial`
  step is taken by the next Dial.
- `wait N` is counted from the listening point where it is reached; time left over when that
  point ends carries on into the next one. Consecutive waits add up.
- An action right after a wait happens when the wait is over; otherwise the caller first
  hears the prompt once through (it is "settled"), then acts.
- Once the script has run out the caller stays silent; after `patience` further listening
  points it hangs up.

A `Keypad` holds keys typed at any time (by a person, through the sandbox's control API):
- A key counts only at a listening point that began before it was typed; keys typed while
  nothing listens are lost, as on a real line.
- It never gives up; a person's hangup reaches the leg as an interrupt, not through here.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from helpline.sandbox.script import KEYS, Action, Press, Script, Wait
from helpline.sandbox.transcript import Event, Note, Waited

MAX_PENDING_KEYS = 64


class Caller:
    """A caller who follows a script; what it does next is known ahead."""

    interactive = False

    def __init__(self, script: Script, patience: int, log: Callable[[Event], Any]) -> None:
        self._actions = script.actions
        self._next = 0
        self._quiet_until: float | None = None
        self._idle = 0
        self._patience = patience
        self._log = log

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self._actions)

    def peek(self) -> Action | None:
        """The next action, waits included, without taking it."""
        return None if self.exhausted else self._actions[self._next]

    def next(self, start: float, settled: float) -> tuple[Action | None, float]:
        """Take the waits ahead; return the next action (not taken) and when it would happen.

        `start` is when the listening point began, `settled` when a caller who heard the prompt
        once would act. None means the script has run out (the caller is silent).
        """
        while isinstance(action := self.peek(), Wait):
            begin = max(self._quiet_until or start, start)
            self._log(Waited(begin, action.seconds))
            self._quiet_until = begin + action.seconds
            self._next += 1
        if action is None:
            return None, settled
        if self._quiet_until is not None:
            return action, max(self._quiet_until, start)
        return action, settled

    def take(self) -> None:
        """Mark the action returned by `next` as done."""
        self._next += 1
        self._quiet_until = None

    def gives_up(self) -> bool:
        """Count a listening point met with nothing left to do; True once patience runs out."""
        if not self.exhausted:
            return False
        self._idle += 1
        return self._idle > self._patience


class Keypad:
    """Keys typed by a person at any moment. Thread-safe: `press` may come from any thread."""

    interactive = True

    def __init__(
        self,
        now: Callable[[], float],
        log: Callable[[Event], Any],
        wake: Callable[[], None],
    ) -> None:
        self._now = now
        self._log = log
        self._wake = wake
        self._lock = threading.Lock()
        self._keys: deque[tuple[str, float]] = deque()

    def press(self, digits: str) -> None:
        """Type keys now (0-9, * and #); raise ValueError for anything else or a full buffer."""
        if not KEYS.fullmatch(digits) or len(digits) > 32:
            raise ValueError("digits are 1 to 32 of 0-9, * and #")
        with self._lock:
            if len(self._keys) >= MAX_PENDING_KEYS:
                raise ValueError("too many keys waiting")
            self._keys.append((digits, self._now()))
        self._wake()

    def next(self, start: float, settled: float) -> tuple[Action | None, float]:
        """The first key typed since `start`; (None, inf) while none has come."""
        lost: list[tuple[str, float]] = []
        with self._lock:
            while self._keys and self._keys[0][1] < start:
                lost.append(self._keys.popleft())
            found = self._keys[0] if self._keys else None
        for digits, at in lost:
            self._log(Note(at, f"keys {digits} typed while nothing listened; lost"))
        if found is None:
            return None, math.inf
        return Press(found[0]), max(found[1], start)

    def peek(self) -> Action | None:
        with self._lock:
            return Press(self._keys[0][0]) if self._keys else None

    def take(self) -> None:
        with self._lock:
            if self._keys:
                self._keys.popleft()

    def gives_up(self) -> bool:
        return False
