"""Fire-and-forget webhooks (status, conference and recording callbacks) from a worker thread.

Rules:
- One worker sends in the order submitted, signed at send time; each delivery keeps one
  I-Twilio-Idempotency-Token, so a duplicate repeats it.
- Faults, switchable at run time (`set_faults`):
  - `duplicate` (0.0-1.0): the chance a delivery is sent twice (1.0: always);
  - `reorder`: each delivery is held until the next one comes, which is sent first (a held
    delivery goes alone after HOLD_SECONDS, or at `flush`/`close` once nothing else waits);
  - `delay_ms`: every delivery waits that long first.
- Bounded: at most MAX_PENDING wait; beyond that new ones are dropped with a warning, as
  a lost callback would be.
- Each send is logged in the transcript of the call it is about.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from helpline.sandbox import webhook
from helpline.sandbox.signals import Goto
from helpline.sandbox.transcript import Note, Request, Transcript
from helpline.sandbox.transport import Transport, TransportError

log = logging.getLogger(__name__)

MAX_PENDING = 10_000
MAX_DELAY_MS = 60_000
HOLD_SECONDS = 2.0  # real seconds a reordered delivery waits for a successor


@dataclass(frozen=True)
class Faults:
    duplicate: float = 0.0
    reorder: bool = False
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.duplicate <= 1.0:
            raise ValueError("duplicate must be between 0.0 and 1.0")
        if not 0 <= self.delay_ms <= MAX_DELAY_MS:
            raise ValueError(f"delay_ms must be between 0 and {MAX_DELAY_MS}")

    def to_json(self) -> dict[str, object]:
        return {"duplicate": self.duplicate, "reorder": self.reorder, "delay_ms": self.delay_ms}


@dataclass(frozen=True)
class Delivery:
    goto: Goto
    params: dict[str, str]  # everything sent (the goto's plus common parameters)
    transcript: Transcript | None
    clock: Callable[[], float]  # the leg's clock, to time the log entry
    token: str


class Deliveries:
    """The worker that sends callbacks. Thread-safe: any thread may submit or change faults."""

    def __init__(
        self,
        transport: Transport,
        auth_token: str,
        faults: Faults | None = None,
        seed: int | None = None,
    ) -> None:
        self._transport = transport
        self._auth_token = auth_token
        self._faults = faults or Faults()
        self._random = random.Random(seed)  # noqa: S311 (fault injection, not security)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: queue.Queue[Delivery | None] = queue.Queue(MAX_PENDING)
        self._busy = 0  # submitted and not yet sent (held ones included)
        self._stopping = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._work, name="callback-deliveries", daemon=True)
        self._thread.start()

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def submit(self, delivery: Delivery) -> None:
        if self._stopping.is_set():
            return
        with self._lock:
            self._busy += 1
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            log.warning("too many callbacks waiting; one (%s) is dropped", delivery.goto.purpose)
            self._done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted is sent (held ones are let go); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue_nudge()  # a held delivery goes once nothing else is waiting
                self._idle.wait(min(remaining, 0.05))
            return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is pending, then stop the worker."""
        self.flush(timeout)
        self._stopping.set()
        self._queue_nudge()
        self._thread.join(timeout)

    def _queue_nudge(self) -> None:
        with contextlib.suppress(queue.Full):  # a full queue wakes the worker anyway
            self._queue.put_nowait(None)  # wakes the worker; it is not a delivery

    def _done(self, count: int = 1) -> None:
        with self._lock:
            self._busy -= count
            self._idle.notify_all()

    def _work(self) -> None:
        held: Delivery | None = None
        while not self._stopping.is_set():
            timed_out = False
            try:
                item = self._queue.get(timeout=HOLD_SECONDS if held is not None else 0.5)
            except queue.Empty:
                item, timed_out = None, True
            faults = self.faults
            if item is None:  # a nudge, or nothing came for a while
                if held is not None and (timed_out or self._queue.empty()):
                    self._send(held, faults)
                    held = None
                continue
            if faults.reorder and held is None:
                held = item
                continue
            self._send(item, faults)
            if held is not None:
                self._send(held, faults)
                held = None
        if held is not None:
            self._send(held, self.faults)
        while True:  # stopping: whatever is left is dropped, and accounted for
            try:
                leftover = self._queue.get_nowait()
            except queue.Empty:
                break
            if leftover is not None:
                self._done()

    def _send(self, delivery: Delivery, faults: Faults) -> None:
        try:
            if faults.delay_ms:
                self._stopping.wait(faults.delay_ms / 1000)
            with self._lock:
                twice = faults.duplicate > 0 and self._random.random() < faults.duplicate
            for _ in range(2 if twice else 1):
                self._send_once(delivery)
        finally:
            self._done()

    def _send_once(self, delivery: Delivery) -> None:
        goto = delivery.goto
        sent, _ = webhook.prepare(goto.method, goto.url, delivery.params)
        try:
            response = webhook.send(
                self._transport,
                self._auth_token,
                goto.method,
                goto.url,
                delivery.params,
                token=delivery.token,
            )
        except TransportError as error:
            if delivery.transcript is not None:
                at = delivery.clock()
                delivery.transcript.add(Request(at, goto.method, sent, goto.purpose, None))
                delivery.transcript.add(Note(at, f"{goto.purpose}: {error}"))
            return
        with self._lock:
            self.sent += 1
        if delivery.transcript is not None:
            delivery.transcript.add(
                Request(delivery.clock(), goto.method, sent, goto.purpose, response.status)
            )
