"""The rules of the duty supervisor's alerts. Pure: no I/O, the caller passes the time.

- An alert is a CallEvent of one of `ALERT_KINDS`, appended by whoever noticed: the
  console (a counsellor's escalation), the emergency path (the duty line did not answer
  and the caller now waits at the front of the queue) or the voicemail (an urgent one).
- It is open until a supervisor acknowledges it. Only alerts younger than `SHOWN_FOR`
  are shown, so a deployment does not greet supervisors with years of history.
- An open alert is due to ring once nobody acknowledged it for `ring_seconds`
  (ALERT_RING_SECONDS), and rings once. It no longer rings after `RING_WITHIN` (the
  workers were down longer than that): ringing someone for an old event helps nobody on
  the line, and the console still shows it.
- Who is rung: the duty supervisor. The helpline has no rota, so the supervisors with a
  live console session (logged in, not idle past SESSION_IDLE_MINUTES) are on duty, and
  every one of them sees the alert on every page. Their registered phones are rung; when
  no supervisor with a phone is logged in, every active supervisor with a phone is rung,
  since an alert nobody sees must reach someone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence

from helpline.models.enums import CallEventKind

ALERT_KINDS: tuple[str, ...] = (
    CallEventKind.ESCALATED.value,
    CallEventKind.EMERGENCY_QUEUED.value,
    CallEventKind.URGENT_VOICEMAIL.value,
)
SHOWN_FOR = dt.timedelta(hours=24)
RING_WITHIN = dt.timedelta(hours=1)
SHOWN_AT_MOST = 50


@dataclasses.dataclass(frozen=True)
class Alert:
    """An open alert as the console shows it: never a number, a name of a caller or a note."""

    event_id: int
    kind: str
    call_id: int
    occurred_at: dt.datetime
    language: str | None
    topic: str | None
    wait_seconds: int | None  # how long the caller waited in the queue (so far)
    is_call_over: bool
    asked_by: str | None  # the counsellor who escalated

    def summary(self) -> dict[str, object]:
        """The alert in the polled JSON."""
        return {
            "id": self.event_id,
            "kind": self.kind,
            "call_id": self.call_id,
            "occurred_at": self.occurred_at.isoformat(),
            "language": self.language,
            "topic": self.topic,
            "wait_seconds": self.wait_seconds,
            "call_over": self.is_call_over,
        }


@dataclasses.dataclass(frozen=True)
class Supervisor:
    staff_id: int
    has_phone: bool
    is_logged_in: bool


def is_open(acknowledged_at: dt.datetime | None) -> bool:
    return acknowledged_at is None


def shown_since(now: dt.datetime) -> dt.datetime:
    """Alerts that happened before this are no longer shown."""
    return now - SHOWN_FOR


def ring_window(now: dt.datetime, ring_seconds: int) -> tuple[dt.datetime, dt.datetime]:
    """(after, until): an unacknowledged alert that happened in this window is due to ring."""
    return now - RING_WITHIN, now - dt.timedelta(seconds=ring_seconds)


def is_due_to_ring(
    occurred_at: dt.datetime,
    acknowledged_at: dt.datetime | None,
    rung_at: dt.datetime | None,
    now: dt.datetime,
    ring_seconds: int,
) -> bool:
    """Open, not rung yet, and unacknowledged for `ring_seconds` (within RING_WITHIN)."""
    after, until = ring_window(now, ring_seconds)
    return is_open(acknowledged_at) and rung_at is None and after < occurred_at <= until


def wait_seconds(stored: int | None, queued_at: dt.datetime | None, now: dt.datetime) -> int | None:
    """The caller's wait in the queue: as stored once answered or gone, else so far."""
    if stored is not None:
        return stored
    if queued_at is None:
        return None
    return max(int((now - queued_at).total_seconds()), 0)


def to_ring(supervisors: Iterable[Supervisor]) -> list[int]:
    """The staff ids to ring: the logged-in supervisors with a phone, or, when none of
    them has one (or nobody is logged in), every supervisor with a phone."""
    reachable = [s for s in supervisors if s.has_phone]
    on_duty = [s for s in reachable if s.is_logged_in] or reachable
    return sorted(s.staff_id for s in on_duty)


def fingerprint(alerts: Sequence[Alert]) -> str:
    """Changes whenever the list of open alerts, or whether their calls are over, changes."""
    key = [(a.event_id, a.is_call_over) for a in alerts]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
