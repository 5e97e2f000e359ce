"""Two legs talking to each other: set up by one side, up once both are ready, ended once.

Rules:
- A bridge is `connecting` (the far side runs its whisper or Queue url document), then
  `up`, then `ended`; `end` wakes both legs, and only the first `end` counts.
- Its length is measured on the exchange's timebase from `up` to `ended`.
- Changed under the exchange's lock.
"""

from __future__ import annotations

from typing import Literal

from .legs import Leg

BridgeState = Literal["connecting", "up", "ended"]


class Bridge:
    def __init__(self, caller: Leg, callee: Leg) -> None:
        self.caller = caller  # the leg that dialled (or dequeued)
        self.callee = callee
        self.state: BridgeState = "connecting"
        self.up_at: float | None = None  # timebase seconds
        self.ended_at: float | None = None
        self.ended_by: str | None = None
        self.why = ""

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    def other(self, leg: Leg) -> Leg:
        return self.callee if leg is self.caller else self.caller

    def up(self, at: float) -> None:
        if self.state == "connecting":
            self.state = "up"
            self.up_at = at
            self.caller.wake()
            self.callee.wake()

    def end(self, by: Leg, why: str, at: float) -> bool:
        """End the bridge because `by` left; False if it had ended already."""
        if self.state == "ended":
            return False
        self.state = "ended"
        self.ended_at = at
        self.ended_by = by.sid
        self.why = why
        self.caller.wake()
        self.callee.wake()
        return True

    def seconds(self) -> float:
        if self.up_at is None or self.ended_at is None:
            return 0.0
        return self.ended_at - self.up_at


class DialAttempt:
    """A `<Dial>` ringing numbers at once: the first to answer wins, the others are canceled.

    The winner then runs its whisper (if any) before the bridge goes up. Changed under the
    exchange's lock.
    """

    def __init__(self, parent: Leg, timeout: float) -> None:
        self.parent = parent
        self.timeout = timeout
        self.children: list[Leg] = []
        self.results: dict[str, str] = {}  # final status of each child that did not win
        self.winner: Leg | None = None
        self.bridge: Bridge | None = None
        self.over = False

    @property
    def decided(self) -> bool:
        return self.winner is not None or len(self.results) >= len(self.children)

    def claim(self, leg: Leg) -> Bridge | None:
        """`leg` answered: it wins (its bridge, still connecting) unless another did first or
        the Dial gave up (None)."""
        if self.winner is not None or self.over:
            return None
        self.winner = leg
        self.bridge = Bridge(self.parent, leg)
        self.parent.wake()
        return self.bridge

    @property
    def won(self) -> tuple[Leg, Bridge] | None:
        if self.winner is None or self.bridge is None:
            return None
        return self.winner, self.bridge

    def report(self, leg: Leg, status: str) -> None:
        """A child ended without winning."""
        self.results[leg.sid] = status
        self.parent.wake()

    def losers(self) -> list[Leg]:
        return [
            leg for leg in self.children if leg is not self.winner and leg.sid not in self.results
        ]

    def combined(self) -> str:
        """One DialCallStatus for children that all failed to answer (as `dial.settle`)."""
        statuses = set(self.results.values()) or {"no-answer"}
        statuses = {"no-answer" if status == "canceled" else status for status in statuses}
        if len(statuses) == 1:
            return next(iter(statuses))
        return "no-answer" if "no-answer" in statuses else "busy"
