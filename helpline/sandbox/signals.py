"""Where a call leg goes next, and what stops it: documents to fetch and control-flow signals.

Rules:
- A `Goto` is a document to request; an `Inline` is TwiML given directly (REST `Twiml=`).
- `End` ends the leg; `Redirected` sends it to another document (REST redirect); `Stopped`
  tells the verb that set a guard that its wait is over (a dequeue, a conference starting);
  `LeaveQueue` ends a queue wait (`<Leave>`, a bad wait document).
- An `Interrupt` comes from outside the leg's thread (a hangup, a REST update); the leg
  turns it into `End` or `Redirected` the next time it wakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from helpline.sandbox.transcript import EndReason


@dataclass(frozen=True)
class Goto:
    """The next document to fetch."""

    url: str
    method: str
    params: Mapping[str, str] = field(default_factory=dict)
    purpose: str = "redirect"
    common: bool = True  # add the common call parameters (callbacks about other things do not)


@dataclass(frozen=True)
class Inline:
    """A TwiML document given directly; it has no URL, so relative URLs in it cannot resolve."""

    twiml: str
    purpose: str = "inline TwiML"


Next = Goto | Inline


class End(Exception):
    """The leg is over."""

    def __init__(self, reason: EndReason, detail: str = "", status: str | None = None) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.status = status  # the final CallStatus when the reason alone does not say


class Redirected(Exception):
    """The leg leaves what it is doing for another document."""

    def __init__(self, target: Next) -> None:
        super().__init__(target)
        self.target = target


class Stopped(Exception):
    """A guard's condition came true: the verb waiting under it looks at why."""


class LeaveQueue(Exception):
    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


@dataclass(frozen=True)
class HangupNow:
    """End the leg when it next wakes."""

    reason: EndReason
    detail: str = ""
    status: str | None = None

    def signal(self) -> End:
        return End(self.reason, self.detail, self.status)


@dataclass(frozen=True)
class RedirectNow:
    """Send the leg to another document when it next wakes."""

    target: Next

    def signal(self) -> Redirected:
        return Redirected(self.target)


Interrupt = HangupNow | RedirectNow
