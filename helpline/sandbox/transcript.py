"""What happened on a simulated call: typed events in order, and a text a trainer can read."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Shorten = Callable[[str], str]


class EndReason(StrEnum):
    CALLER_HANGUP = "hangup by caller"
    TWIML_HANGUP = "hangup by TwiML"
    REJECTED = "rejected"
    END_OF_DOCUMENT = "end of document"
    ERROR = "error"
    STEP_LIMIT = "step limit"
    TIME_LIMIT = "time limit"
    SCRIPT_ENDED = "script ended, caller hung up"
    SCRIPT_MISMATCH = "script does not fit the call"
    API = "ended through the REST API"
    OTHER_PARTY = "the other party hung up"
    UNANSWERED = "not answered"
    SHUTDOWN = "the exchange shut down"


@dataclass(frozen=True)
class Heard:
    """A prompt the caller heard; `cut_after` is set when it stopped early."""

    at: float
    kind: Literal["say", "play", "digits", "beep"]
    text: str = ""
    url: str = ""
    language: str = ""
    voice: str = ""
    times: int = 1
    cut_after: float | None = None

    def describe(self, short: Shorten) -> str:
        times = f" x{self.times}" if self.times > 1 else ""
        cut = f" [cut after {self.cut_after:.1f}s]" if self.cut_after is not None else ""
        if self.kind == "say":
            what = f'hears{times} ({self.language}, {self.voice}): "{self.text}"'
        elif self.kind == "play":
            what = f"hears{times} audio {short(self.url)}"
        elif self.kind == "digits":
            what = f"hears tones {self.text}"
        else:
            what = "hears a beep"
        return what + cut


@dataclass(frozen=True)
class Pressed:
    at: float
    digits: str

    def describe(self, short: Shorten) -> str:
        return f"presses {self.digits}"


@dataclass(frozen=True)
class Waited:
    at: float
    seconds: float

    def describe(self, short: Shorten) -> str:
        return f"waits {self.seconds:g}s"


@dataclass(frozen=True)
class Spoke:
    at: float
    seconds: float

    def describe(self, short: Shorten) -> str:
        return f"speaks for {self.seconds:g}s (recorded)"


@dataclass(frozen=True)
class Silence:
    at: float
    seconds: float
    why: str

    def describe(self, short: Shorten) -> str:
        return f"silence {self.seconds:g}s ({self.why})"


@dataclass(frozen=True)
class Request:
    """A request the simulated Twilio made; `status` is None when no answer came."""

    at: float
    method: str
    url: str
    purpose: str
    status: int | None
    final_url: str = ""

    def describe(self, short: Shorten) -> str:
        hop = f" → {short(self.final_url)}" if self.final_url not in ("", self.url) else ""
        status = "no answer" if self.status is None else str(self.status)
        return f"→ {self.method} {short(self.url)}{hop} [{self.purpose}] {status}"


@dataclass(frozen=True)
class Dialed:
    at: float
    targets: tuple[str, ...]
    status: str
    seconds: float

    def describe(self, short: Shorten) -> str:
        how = f"connected for {self.seconds:g}s" if self.status == "answered" else self.status
        return f"dials {', '.join(self.targets)}: {how}"


@dataclass(frozen=True)
class Enqueued:
    at: float
    queue: str
    wait_url: str

    def describe(self, short: Shorten) -> str:
        music = short(self.wait_url) if self.wait_url else "silence"
        return f"waits in queue {self.queue!r} (waitUrl {music})"


@dataclass(frozen=True)
class Connected:
    """The leg now talks with another party: a call (`CA…`), a phone number, or a conference."""

    at: float
    party: str
    how: str = "bridged"

    def describe(self, short: Shorten) -> str:
        return f"{self.how} with {self.party}"


@dataclass(frozen=True)
class Disconnected:
    at: float
    party: str
    why: str

    def describe(self, short: Shorten) -> str:
        return f"no longer with {self.party}: {self.why}"


@dataclass(frozen=True)
class Note:
    at: float
    text: str

    def describe(self, short: Shorten) -> str:
        return f"note: {self.text}"


@dataclass(frozen=True)
class Failed:
    """The app misbehaved; Twilio would play its application error message and hang up."""

    at: float
    message: str

    def describe(self, short: Shorten) -> str:
        return f"ERROR: {self.message} (the caller hears Twilio's application error message)"


@dataclass(frozen=True)
class Ended:
    at: float
    reason: EndReason
    detail: str = ""

    def describe(self, short: Shorten) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"call ends, {self.reason}{detail}"


Event = (
    Heard
    | Pressed
    | Waited
    | Spoke
    | Silence
    | Request
    | Dialed
    | Enqueued
    | Connected
    | Disconnected
    | Note
    | Failed
    | Ended
)


@dataclass
class Transcript:
    """The events of one call in order; URLs on `origin` render as paths.

    Thread-safe: the leg's thread adds events while others read snapshots. An event may be
    replaced once added (a prompt cut short gains `cut_after`), never removed.
    """

    call_sid: str
    origin: str = ""
    events: list[Event] = field(default_factory=list)
    limit: int | None = None  # at most this many events; then only the end is kept
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, event: Event) -> int:
        """Append an event; return its index (-1 when the transcript is full and drops it)."""
        with self._lock:
            full = self.limit is not None and len(self.events) >= self.limit
            if full and not isinstance(event, Ended):
                return -1
            self.events.append(event)
            return len(self.events) - 1

    def replace(self, index: int, event: Event) -> None:
        """Put `event` in place of the one at `index` (a dropped event's -1 is ignored)."""
        with self._lock:
            if 0 <= index < len(self.events):
                self.events[index] = event

    def snapshot(self, after: int = -1) -> list[tuple[int, Event]]:
        """The events whose index is greater than `after`, with their indexes."""
        with self._lock:
            start = max(after + 1, 0)
            return list(enumerate(self.events[start:], start))

    @property
    def ended(self) -> Ended | None:
        return next((event for event in reversed(self.events) if isinstance(event, Ended)), None)

    @property
    def end_reason(self) -> EndReason | None:
        return self.ended.reason if self.ended else None

    @property
    def duration(self) -> float:
        return self.ended.at if self.ended else 0.0

    def heard(self) -> list[Heard]:
        return [event for event in self.events if isinstance(event, Heard)]

    def requests(self) -> list[Request]:
        return [event for event in self.events if isinstance(event, Request)]

    def urls(self) -> list[str]:
        """The URLs requested, in order, as `METHOD url`."""
        return [f"{request.method} {request.url}" for request in self.requests()]

    def errors(self) -> list[Failed]:
        return [event for event in self.events if isinstance(event, Failed)]

    def render(self) -> str:
        """One line per event: `[mm:ss] what happened`."""
        return "\n".join(
            f"[{_clock(event.at)}] {event.describe(self._short)}" for event in self.events
        )

    def _short(self, url: str) -> str:
        if self.origin and url.startswith(self.origin + "/"):
            return url[len(self.origin) :]
        return url


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"
