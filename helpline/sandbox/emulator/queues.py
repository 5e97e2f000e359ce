"""Call queues: members in arrival order, and the legs waiting to dequeue them.

Rules (TWILIO.md §1, §2, §4):
- A queue is made by `<Enqueue>` on demand (max size 1000) or by the REST API; a full
  queue refuses new members (QueueResult `queue-full`).
- `<Dial><Queue>` takes the front member; REST `Members/Front` or `Members/{CallSid}`
  takes the front or a given one. Either way the member is marked `taken` and woken; its
  own thread does the rest.
- Positions count from 1; the average wait is over members who left the queue.
- Changed under the exchange's lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from helpline.sandbox.ids import new_sid
from helpline.sandbox.signals import Goto, Next

from .legs import Bridge, Leg

DEFAULT_MAX_SIZE = 1000
MAX_SIZE_LIMIT = 5000


@dataclass(frozen=True)
class DialTaken:
    """Taken by `<Dial><Queue>`: run the noun's url document, then bridge."""

    bridge: Bridge
    url: Goto | None


@dataclass(frozen=True)
class RestTaken:
    """Taken through the REST API: go to this document; the Enqueue action hears `redirected`."""

    target: Next


@dataclass(eq=False)  # identity: finding a member among thousands stays cheap
class Member:
    leg: Leg
    queue: CallQueue
    entered: float  # timebase seconds
    entered_date: dt.datetime
    taken: DialTaken | RestTaken | None = None


@dataclass
class CallQueue:
    name: str
    account_sid: str
    created: dt.datetime
    max_size: int = DEFAULT_MAX_SIZE
    sid: str = field(default_factory=lambda: new_sid("QU"))
    members: list[Member] = field(default_factory=list)
    dequeuers: list[Leg] = field(default_factory=list)  # legs in <Dial><Queue> waiting for one
    updated: dt.datetime | None = None
    _waited: float = 0.0
    _served: int = 0

    def add(self, leg: Leg, at: float, date: dt.datetime) -> Member | None:
        """Put `leg` at the back; None when the queue is full. Wakes waiting dequeuers."""
        if len(self.members) >= self.max_size:
            return None
        member = Member(leg, self, at, date)
        self.members.append(member)
        self.updated = date
        for waiting in self.dequeuers:
            waiting.wake()
        return member

    def remove(self, member: Member, at: float) -> None:
        if member in self.members:
            self.members.remove(member)
            self._waited += at - member.entered
            self._served += 1

    def position(self, member: Member) -> int:
        return self.members.index(member) + 1 if member in self.members else 0

    def front(self) -> Member | None:
        """The first member nobody has taken yet."""
        return next((member for member in self.members if member.taken is None), None)

    def find(self, call_sid: str) -> Member | None:
        return next((m for m in self.members if m.leg.sid == call_sid), None)

    def average_wait(self) -> int:
        return round(self._waited / self._served) if self._served else 0

    def params(self, member: Member, at: float) -> dict[str, str]:
        """What a waitUrl request carries about the queue."""
        return {
            "QueueSid": self.sid,
            "QueueTime": str(round(at - member.entered)),
            "QueuePosition": str(self.position(member)),
            "AvgQueueTime": str(self.average_wait()),
            "CurrentQueueSize": str(len(self.members)),
            "MaxQueueSize": str(self.max_size),
        }
