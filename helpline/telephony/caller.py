"""The simulated caller: play a Script over simulated time, at the points where the call listens.

Rules:
- The caller acts only where the call listens: a Gather, a Record, a queue wait. A `dial`
  step is taken by the next Dial.
- `wait N` is counted from the listening point where it is reached; time left over when that
  point ends carries on into the next one. Consecutive waits add up.
- An action right after a wait happens when the wait is over; otherwise the caller first
  hears the prompt once through (it is "settled"), then acts.
- Once the script has run out the caller stays silent; after `patience` further listening
  points it hangs up.
"""

from __future__ import annotations

from collections.abc import Callable

from helpline.telephony.script import Action, Script, Wait
from helpline.telephony.transcript import Event, Waited


class Caller:
    def __init__(self, script: Script, patience: int, log: Callable[[Event], None]) -> None:
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
