"""A `<Dial>` ringing numbers at once, until one answers and a bridge (`legs.Bridge`) is made."""

from __future__ import annotations

from .legs import Bridge, Leg


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
