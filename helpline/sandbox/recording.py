"""Recordings: what a finished recording is, and what its status callback carries.

Rules (TWILIO.md §1):
- `recordingStatusCallbackEvent` is a space-separated list of `in-progress`, `completed`
  and `absent` (an empty recording); the default is `completed`.
- The callback names the parent call in CallSid, with RecordingSid, RecordingUrl,
  RecordingStatus, RecordingDuration, RecordingChannels, RecordingStartTime (RFC 2822),
  RecordingSource and RecordingTrack.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import format_datetime

RECORDING_EVENTS = frozenset({"in-progress", "completed", "absent"})


def parse_events(raw: str | None) -> frozenset[str]:
    """Read a space-separated event list; unknown words are ignored, as Twilio ignores them."""
    events = frozenset((raw or "completed").split()) & RECORDING_EVENTS
    return events or frozenset({"completed"})


@dataclass(frozen=True)
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    url: str
    duration: int  # seconds
    started: dt.datetime
    source: str  # RecordVerb, DialVerb, OutboundAPI
    channels: int = 1

    def action_params(self) -> dict[str, str]:
        """What an action request (Record, Dial) carries about the recording."""
        return {
            "RecordingUrl": self.url,
            "RecordingSid": self.sid,
            "RecordingDuration": str(self.duration),
        }

    def status_params(self, status: str) -> dict[str, str]:
        """The recording status callback's parameters for `status`."""
        return {
            "AccountSid": self.account_sid,
            "CallSid": self.call_sid,
            "RecordingSid": self.sid,
            "RecordingUrl": self.url,
            "RecordingStatus": status,
            "RecordingDuration": str(self.duration if status == "completed" else 0),
            "RecordingChannels": str(self.channels),
            "RecordingStartTime": format_datetime(self.started),
            "RecordingSource": self.source,
            "RecordingTrack": "both",
        }
