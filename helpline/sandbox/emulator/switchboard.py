"""The exchange as the code running inside it sees it: the line it serves and its operations.

A leg's program (`programs`) and the network behind `<Dial>` and `<Enqueue>` (`network`)
are started by the exchange and call back into it. They know it as a `Switchboard`, the
operations they use, so that neither imports `exchange` (which imports them); `Exchange`
is the one implementation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from helpline.sandbox.clock import Timebase
from helpline.sandbox.progress import DEFAULT_EVENTS
from helpline.sandbox.run import CallRun
from helpline.sandbox.signals import Goto

from .bridges import DialAttempt
from .legs import Bridge, Callback, Leg
from .phones import Behaviour, Phone
from .queues import CallQueue, Member
from .rooms import Participant, Room

# One number `<Dial>` rings: (number, whisper, status callback, answering-machine detection).
DialTarget = tuple[str, Goto | None, Callback | None, str | None]


@dataclass(frozen=True)
class Line:
    """The helpline's number as configured at Twilio: where its calls and their events go.

    Assumption: a number's status callback hears only `completed` for incoming calls
    (event choice is for REST and `<Dial>` calls; SignalWire's copy of Twilio's docs says
    so, TWILIO.md does not). docs/ivr.md expects all four: pass `status_events` for that.
    """

    number: str
    voice_url: str
    voice_method: str = "POST"
    fallback_url: str | None = None
    status_callback: str | None = None
    status_events: frozenset[str] = DEFAULT_EVENTS


class Switchboard(Protocol):
    """What programs and the network use of the exchange (see `exchange.Exchange`)."""

    @property
    def line(self) -> Line: ...

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def timebase(self) -> Timebase: ...

    def now(self) -> float: ...

    def get_leg(self, sid: str) -> Leg: ...

    def run_for(self, leg: Leg) -> CallRun: ...

    def start_dial(
        self,
        parent: Leg,
        targets: list[DialTarget],
        timeout: float,
        caller_id: str,
        override: Behaviour | None,
    ) -> DialAttempt: ...

    def ring_phone(
        self, leg: Leg, override: Behaviour | None
    ) -> tuple[Phone | None, Behaviour | None]: ...

    def take_decision(self, phone: Phone) -> str | None: ...

    def phone_answered(self, leg: Leg) -> None: ...

    def release_phone(self, leg: Leg) -> None: ...

    def join_room(
        self, leg: Leg, name: str, participant_of: Callable[[Room], Participant]
    ) -> tuple[Room, Participant] | None: ...

    def leave_room(self, room: Room, participant: Participant, reason: str) -> None: ...

    def queue_named(self, name: str) -> CallQueue | None: ...

    def queue_for(self, name: str) -> CallQueue: ...

    def take_front(
        self, queue: CallQueue, dequeuer: Leg, url: Goto | None
    ) -> tuple[Member, Bridge] | None: ...
