"""Twilio's form parameters, read defensively into a frozen dataclass.

Whatever arrives (missing, huge, garbled or non-UTF-8 values) becomes either a sane value
or None; nothing here raises.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re
from collections.abc import Mapping

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
CONFERENCE_SID = re.compile(r"^CF[0-9a-fA-F]{32}$")
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
IDEMPOTENCY_TOKEN = re.compile(r"^[!-~]{1,256}$")  # printable ASCII, no spaces
DIGITS = re.compile(r"^[0-9*#]{1,32}$")
CALL_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    }
)
TERMINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
QUEUE_RESULTS = frozenset(
    {
        "bridged",
        "bridging-in-process",
        "error",
        "hangup",
        "leave",
        "redirected",
        "redirected-from-bridged",
        "queue-full",
        "system-error",
    }
)
MAX_TEXT = 64


def _text(form: Mapping[str, str], name: str, limit: int = MAX_TEXT) -> str | None:
    value = form.get(name)
    if not value or len(value) > limit:
        return None
    return value


def _integer(form: Mapping[str, str], name: str, limit: int = 10**9) -> int | None:
    value = form.get(name, "")
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if number <= limit else None


def _timestamp(form: Mapping[str, str]) -> dt.datetime | None:
    value = _text(form, "Timestamp", 64)
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else None


@dataclasses.dataclass(frozen=True)
class VoiceParams:
    call_sid: str | None
    caller: str | None  # `From`: personal data, never logged
    called: str | None
    direction: str | None
    call_status: str | None
    digits: str | None  # None: no key; "" never; "?" for garbage that was not a key
    sequence_number: int | None
    call_duration: int | None
    timestamp: dt.datetime | None
    dial_status: str | None
    recording_sid: str | None
    recording_url: str | None
    recording_status: str | None
    recording_duration: int | None
    error_code: str | None
    queue_result: str | None = None
    queue_time: int | None = None  # seconds in the Twilio queue
    conference_event: str | None = None  # StatusCallbackEvent of a conference callback
    conference_sid: str | None = None

    @classmethod
    def parse(cls, form: Mapping[str, str]) -> VoiceParams:
        call_sid = _text(form, "CallSid")
        raw_digits = form.get("Digits")
        digits: str | None = None
        if raw_digits:
            digits = raw_digits if DIGITS.match(raw_digits) else "?"
        status = _text(form, "CallStatus")
        dial_status = _text(form, "DialCallStatus")
        recording_sid = _text(form, "RecordingSid")
        recording_url = _text(form, "RecordingUrl", 500)
        queue_result = _text(form, "QueueResult", 32)
        return cls(
            call_sid=call_sid if call_sid and CALL_SID.match(call_sid) else None,
            caller=_text(form, "From"),
            called=_text(form, "To"),
            direction=_text(form, "Direction"),
            call_status=status if status in CALL_STATUSES else None,
            digits=digits,
            sequence_number=_integer(form, "SequenceNumber", 10**6),
            call_duration=_integer(form, "CallDuration", 10**6),
            timestamp=_timestamp(form),
            dial_status=dial_status if dial_status in DIAL_STATUSES else None,
            recording_sid=recording_sid
            if recording_sid and RECORDING_SID.match(recording_sid)
            else None,
            recording_url=(
                recording_url
                if recording_url and recording_url.startswith(("https://", "http://"))
                else None
            ),
            recording_status=_text(form, "RecordingStatus", 16),
            recording_duration=_integer(form, "RecordingDuration", 10**6),
            error_code=_text(form, "ErrorCode", 16),
            queue_result=queue_result if queue_result in QUEUE_RESULTS else None,
            queue_time=_integer(form, "QueueTime", 10**6),
            conference_event=_text(form, "StatusCallbackEvent", 32),
            conference_sid=_matching(form, "ConferenceSid", CONFERENCE_SID),
        )


def _matching(form: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str | None:
    value = _text(form, name)
    return value if value is not None and pattern.match(value) else None


def idempotency_token(value: str | None) -> str | None:
    """The `I-Twilio-Idempotency-Token` header's value, the same on every redelivery of
    one request; None when absent or not a plausible token."""
    return value if value is not None and IDEMPOTENCY_TOKEN.match(value) else None
