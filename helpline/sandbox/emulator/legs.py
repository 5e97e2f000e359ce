"""One call leg in the exchange: who it is, its status, its transcript, and how to reach it.

Rules:
- Status goes queued → ringing → in-progress → a terminal status (completed, busy,
  no-answer, failed, canceled); it never leaves a terminal status.
- Call progress events go to the leg's status callback through the delivery worker, with
  SequenceNumber from 0 per leg, for the subscribed events only (default `completed`).
- Other threads reach the leg's thread only by `send` (an interrupt: a hangup beats a
  redirect, and a hangup stays pending until the leg has ended) and by waking its clock.
  A phone's `talk` time is an alarm: when it rings the leg hangs up.
- Every field is read and changed under the exchange's lock, except the transcript and the
  clock, which lock themselves.

Two legs talking to each other are a `Bridge`, defined here beside `Leg` (each refers to
the other; `bridges` holds the `<Dial>` attempt that makes one):
- A bridge is `connecting` (the far side runs its whisper or Queue url document), then
  `up`, then `ended`; `end` wakes both legs, and only the first `end` counts.
- Its length is measured on the exchange's timebase from `up` to `ended`.
- Changed under the exchange's lock.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace
from typing import Literal

from helpline.sandbox.caller import Keypad
from helpline.sandbox.clock import LegClock, Timebase
from helpline.sandbox.progress import DEFAULT_EVENTS, TERMINAL_STATUSES, status_params
from helpline.sandbox.recording import Recording
from helpline.sandbox.run import Inputs, LegSetup
from helpline.sandbox.signals import Goto, HangupNow, Interrupt, Next, RedirectNow
from helpline.sandbox.timeline import Timeline
from helpline.sandbox.transcript import Ended, EndReason, Transcript
from helpline.sandbox.webhook import new_token

from .deliveries import Deliveries, Delivery

MAX_EVENTS = 10_000  # transcript events kept per leg


@dataclass(frozen=True)
class Callback:
    """Where a leg's call progress events go, and which of them."""

    url: str
    method: str = "POST"
    events: frozenset[str] = DEFAULT_EVENTS


class Leg:
    """A call leg. Construct through the exchange, which owns `lock`."""

    def __init__(
        self,
        setup: LegSetup,
        *,
        lock: threading.RLock,
        timebase: Timebase,
        deliveries: Deliveries,
        callback: Callback | None,
        origin: str = "",
    ) -> None:
        self.sid = setup.call_sid
        self.lock = lock
        self.clock = LegClock(timebase)
        self.setup = replace(setup, started_at=timebase.date(self.clock.offset))
        self.timeline = Timeline(self.clock, setup.limits.max_seconds, self.pending)
        self.transcript = Transcript(self.sid, origin, limit=MAX_EVENTS)
        self.deliveries = deliveries
        self.callback = callback
        self.created = timebase.date(timebase.now())
        self.status = "queued"
        self.answered_at: float | None = None  # leg seconds
        self.start_time: dt.datetime | None = None
        self.end_time: dt.datetime | None = None
        self.answered_by: str | None = None
        self.doing = "queued"  # what it is doing, for people watching
        self.inputs: Inputs | None = None
        self.keypad: Keypad | None = None
        self.phone_number: str | None = None  # the registered phone this leg rings
        self.pending_target: Next | None = None  # a REST update that came before the answer
        self.call_recording: Recording | None = None  # REST Record=true: the whole call
        self.bridge: Bridge | None = None  # the bridge it talks in, if any
        self.ended = threading.Event()
        self.thread: threading.Thread | None = None
        self._sequence = 0
        self._interrupt: Interrupt | None = None

    # Reading

    @property
    def live(self) -> bool:
        with self.lock:
            return self.status not in TERMINAL_STATUSES

    def now(self) -> float:
        return self.clock.now()

    def date(self, moment: float | None = None) -> dt.datetime:
        return self.clock.base.date(self.clock.offset + (self.now() if moment is None else moment))

    def params(self) -> dict[str, str]:
        with self.lock:
            return self.setup.params(self.status)

    def duration(self) -> int | None:
        """Seconds connected, once ended; None before."""
        with self.lock:
            if self.end_time is None:
                return None
            if self.answered_at is None or self.start_time is None:
                return 0
            answered = self.date(self.answered_at)
            return max(0, round((self.end_time - answered).total_seconds()))

    # Interrupts

    def send(self, interrupt: Interrupt) -> None:
        """Ask the leg's thread to hang up or move on, the next time it wakes (now)."""
        with self.lock:
            if not isinstance(self._interrupt, HangupNow):
                self._interrupt = interrupt
        self.clock.wake()

    def send_hangup(self, reason: EndReason, detail: str = "", status: str | None = None) -> None:
        self.send(HangupNow(reason, detail, status))

    def pending(self) -> Interrupt | None:
        """The interrupt for the leg's thread: a redirect is taken once, a hangup stays."""
        with self.lock:
            interrupt = self._interrupt
            if isinstance(interrupt, RedirectNow):
                self._interrupt = None
            if interrupt is None:
                alarm = self.clock.alarm
                if alarm is not None and self.now() >= alarm:
                    return HangupNow(EndReason.CALLER_HANGUP, "the phone hung up")
            return interrupt

    def hang_up_after(self, seconds: float | None) -> None:
        """The person at this leg's phone hangs up `seconds` from now (None: they stay)."""
        self.clock.set_alarm(None if seconds is None else self.now() + seconds)

    def wake(self) -> None:
        self.clock.wake()

    # Status

    def set_status(self, status: str, event: str | None = None) -> None:
        """Move to `status` (never out of a terminal one) and report `event` if subscribed."""
        with self.lock:
            if self.status in TERMINAL_STATUSES:
                return
            self.status = status
            if status == "ringing" and self.start_time is None:
                self.start_time = self.date()
        if event is not None:
            self.progress(event)

    def answer(self, answered_by: str | None = None) -> None:
        with self.lock:
            if self.answered_at is not None or self.status in TERMINAL_STATUSES:
                return
            self.answered_at = self.now()
            self.start_time = self.start_time or self.date()
            self.answered_by = answered_by
            if answered_by is not None:
                extra = {**self.setup.extra_params, "AnsweredBy": answered_by}
                self.setup = replace(self.setup, extra_params=extra)
        self.set_status("in-progress", "answered")

    def finish(self, status: str, reason: EndReason, detail: str = "") -> None:
        """End the leg once: final status, end time, the `completed` event."""
        with self.lock:
            if self.status in TERMINAL_STATUSES:
                return
            self.status = status
            self.end_time = self.date()
            self.doing = "ended"
        self.hang_up_after(None)
        if self.transcript.ended is None:
            self.transcript.add(Ended(self.now(), reason, detail))
        recording = self.call_recording
        self.progress("completed", {} if recording is None else recording.action_params())
        self.ended.set()

    def progress(self, event: str, extra: dict[str, str] | None = None) -> None:
        """Send the call progress `event` to the status callback, if the leg subscribed."""
        with self.lock:
            callback = self.callback
            if callback is None or event not in callback.events:
                return
            sequence = self._sequence
            self._sequence += 1
            connected: float | None = None
            if self.answered_at is not None:
                connected = self.now() - self.answered_at
            params = self.setup.params(self.status) | status_params(
                event, self.status, sequence, self.date(), connected
            )
        goto = Goto(callback.url, callback.method, {}, f"status callback {event}")
        self.deliver(goto, params | (extra or {}))

    def deliver(self, goto: Goto, params: dict[str, str] | None = None) -> None:
        """Send a fire-and-forget webhook about this leg through the delivery worker."""
        if params is None:
            params = {**self.params(), **goto.params} if goto.common else dict(goto.params)
        self.deliveries.submit(Delivery(goto, params, self.transcript, self.now, new_token()))


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
