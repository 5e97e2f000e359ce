"""Call progress events, and what their status callbacks carry (TWILIO.md §1).

Rules:
- The events are `initiated`, `ringing`, `answered` (sent as CallStatus `in-progress`) and
  `completed` (sent with the final status: completed, busy, no-answer, failed or canceled).
  An app that names none gets `completed` only.
- Each callback carries SequenceNumber (from 0 per leg, in the order the events fired),
  Timestamp (RFC 2822) and CallbackSource `call-progress-events`; the terminal one adds
  CallDuration (seconds connected) and Duration (billed minutes, rounded up).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from email.utils import format_datetime

CALLBACK_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
DEFAULT_EVENTS = frozenset({"completed"})
TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
_SENT_AS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}


def parse_events(raw: Iterable[str]) -> frozenset[str]:
    """Read events given as repeated values and/or space-separated lists; refuse unknown ones."""
    events = frozenset(word for value in raw for word in value.split())
    if unknown := events - CALLBACK_EVENTS:
        raise ValueError(f"unknown status callback events: {', '.join(sorted(unknown))}")
    return events or DEFAULT_EVENTS


def status_params(
    event: str, status: str, sequence: int, when: dt.datetime, connected: float | None
) -> dict[str, str]:
    """The status callback's own parameters; `status` is the leg's status when it fired."""
    params = {
        "CallStatus": _SENT_AS.get(event, status),
        "SequenceNumber": str(sequence),
        "Timestamp": format_datetime(when),
        "CallbackSource": "call-progress-events",
    }
    if event == "completed":
        duration = round(connected or 0.0)
        params |= {"CallDuration": str(duration), "Duration": str(math.ceil(duration / 60))}
    return params
