"""The emulator's parts on their own: clocks, timelines, keypads, deliveries, behaviours."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from helpline.config import Settings
from helpline.sandbox.caller import Keypad
from helpline.sandbox.clock import InstantClock, LegClock, Timebase
from helpline.sandbox.emulator.deliveries import Deliveries, Delivery, Faults
from helpline.sandbox.emulator.phones import Behaviour, BehaviourError
from helpline.sandbox.script import DialOutcome, Press
from helpline.sandbox.signals import (
    End,
    Goto,
    HangupNow,
    Interrupt,
    Redirected,
    RedirectNow,
    Stopped,
)
from helpline.sandbox.timeline import Timeline
from helpline.sandbox.transcript import Ended, EndReason, Note, Transcript
from helpline.sandbox.transport import Resign, TransportResponse
from helpline.telephony.client import rest_client

# Clocks and timelines


def test_leg_clock_runs_at_its_speed() -> None:
    clock = LegClock(Timebase(speed=100))
    start = time.monotonic()
    assert clock.sleep_until(5.0) is True  # 5 simulated seconds, 50 ms real
    assert 0.04 <= time.monotonic() - start < 1.0
    assert clock.now() >= 5.0


def test_leg_clock_wake_is_never_lost() -> None:
    """A wake that comes before (or right at) the end of a sleep makes it return False."""
    clock = LegClock(Timebase(speed=100))
    clock.wake()
    assert clock.sleep_until(0.0) is False  # already reached, but there is news
    assert clock.sleep_until(0.0) is True


def test_leg_clock_wakes_from_another_thread_and_at_its_alarm() -> None:
    clock = LegClock(Timebase(speed=10))
    threading.Timer(0.05, clock.wake).start()
    start = time.monotonic()
    assert clock.sleep_until(1000.0) is False
    assert time.monotonic() - start < 2.0
    clock.set_alarm(clock.now() + 1.0)
    assert clock.sleep_until(1000.0) is False  # the alarm rang after 0.1 s real
    assert clock.alarm is not None


@pytest.mark.parametrize("speed", [0, -1, 5000])
def test_timebase_refuses_a_bad_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        Timebase(speed=speed)


def test_timeline_raises_interrupts_then_guards() -> None:
    pending: list[Interrupt] = []

    def interrupts() -> Interrupt | None:
        return pending.pop() if pending else None

    timeline = Timeline(InstantClock(), 100.0, interrupts)
    with timeline.guard(lambda: True), pytest.raises(Stopped):
        timeline.pass_to(5.0)  # the guard already holds: no wake-up needed
    pending.append(RedirectNow(Goto("http://app.test/x", "POST")))
    with pytest.raises(Redirected):
        timeline.pass_to(5.0)
    pending.append(HangupNow(EndReason.API, status="completed"))
    with pytest.raises(End) as ended:
        timeline.pass_to(5.0)
    assert (ended.value.reason, ended.value.status) == (EndReason.API, "completed")
    with pytest.raises(End) as late:
        timeline.pass_to(500.0)
    assert late.value.reason is EndReason.TIME_LIMIT
    assert timeline.now() == 100.0


# The keypad


def test_keypad_keeps_keys_for_the_listening_point_and_loses_earlier_ones() -> None:
    clock = InstantClock()
    transcript = Transcript("CA1")
    keypad = Keypad(clock.now, transcript.add, lambda: None)
    keypad.press("1")
    clock.sleep_until(3.0)
    keypad.press("2")
    assert keypad.next(start=2.0, settled=5.0) == (Press("2"), 3.0)
    notes = [event.text for event in transcript.events if isinstance(event, Note)]
    assert notes == ["keys 1 typed while nothing listened; lost"]
    keypad.take()
    assert keypad.next(start=3.0, settled=3.0)[0] is None
    assert keypad.gives_up() is False


@pytest.mark.parametrize("digits", ["", "12a", "1" * 33])
def test_keypad_refuses_what_is_not_keys(digits: str) -> None:
    keypad = Keypad(InstantClock().now, Transcript("CA1").add, lambda: None)
    with pytest.raises(ValueError, match="digits"):
        keypad.press(digits)


def test_keypad_buffer_is_bounded() -> None:
    keypad = Keypad(InstantClock().now, Transcript("CA1").add, lambda: None)
    for _ in range(64):
        keypad.press("1")
    with pytest.raises(ValueError, match="too many"):
        keypad.press("1")


def test_transcript_limit_keeps_the_end() -> None:
    transcript = Transcript("CA1", limit=2)
    assert [transcript.add(Note(0, str(n))) for n in range(3)] == [0, 1, -1]
    assert transcript.add(Ended(1, EndReason.TWIML_HANGUP)) == 2
    transcript.replace(-1, Note(0, "ignored"))
    assert [type(event).__name__ for event in transcript.events] == ["Note", "Note", "Ended"]


# Deliveries


class Recorder:
    """A transport that answers 200 and remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str], str]] = []
        self.lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        resign: Resign | None = None,
    ) -> TransportResponse:
        with self.lock:
            self.sent.append((url, dict(params), headers["I-Twilio-Idempotency-Token"]))
        return TransportResponse(200, "", {}, url)


def delivery(number: int) -> Delivery:
    goto = Goto("http://app.test/status", "POST", {}, "status callback")
    return Delivery(goto, {"SequenceNumber": str(number)}, None, lambda: 0.0, f"token-{number}")


def test_deliveries_send_in_order_without_faults() -> None:
    transport = Recorder()
    worker = Deliveries(transport, "token")
    for number in range(5):
        worker.submit(delivery(number))
    assert worker.flush(5)
    worker.close()
    assert [params["SequenceNumber"] for _, params, _ in transport.sent] == list("01234")


def test_deliveries_reorder_swaps_pairs_and_flush_lets_the_held_one_go() -> None:
    transport = Recorder()
    worker = Deliveries(transport, "token", Faults(reorder=True))
    for number in range(3):
        worker.submit(delivery(number))
    assert worker.flush(5)
    worker.close()
    assert [params["SequenceNumber"] for _, params, _ in transport.sent] == ["1", "0", "2"]


def test_deliveries_duplicates_repeat_the_token() -> None:
    transport = Recorder()
    worker = Deliveries(transport, "token", Faults(duplicate=0.5), seed=7)
    for number in range(40):
        worker.submit(delivery(number))
    assert worker.flush(5)
    worker.close()
    tokens = [token for *_, token in transport.sent]
    assert 40 < len(tokens) < 80
    assert set(tokens) == {f"token-{number}" for number in range(40)}


def test_deliveries_refuse_bad_faults() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Faults(duplicate=1.5)
    with pytest.raises(ValueError, match="delay_ms"):
        Faults(delay_ms=-1)


# Behaviours


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("busy", Behaviour("busy")),
        ({"kind": "answer", "after": 2, "talk": 30, "keys": 1}, Behaviour("answer", 2, 30, "1")),
        ({"kind": "human"}, Behaviour("human", talk=None)),
        ({"kind": "voicemail", "greeting": 3}, Behaviour("voicemail", greeting=3)),
        ({"talk": None}, Behaviour("answer", talk=None)),
    ],
)
def test_behaviour_parse(raw: object, expected: Behaviour) -> None:
    assert Behaviour.parse(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "sing",
        42,
        {"kind": "answer", "after": "soon"},
        {"kind": "answer", "after": True},
        {"kind": "answer", "talk": 0},
        {"kind": "answer", "keys": "1a"},
        {"kind": "answer", "colour": "red"},
    ],
)
def test_behaviour_parse_refuses_nonsense(raw: object) -> None:
    with pytest.raises(BehaviourError):
        Behaviour.parse(raw)


def test_behaviour_from_a_script_dial_step() -> None:
    assert Behaviour.from_outcome(DialOutcome("answered", 42)) == Behaviour("answer", talk=42)
    assert Behaviour.from_outcome(DialOutcome("busy")).kind == "busy"


# The app's REST client


def test_rest_client_points_at_twilio_or_the_sandbox(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "HELPLINE_ENV": "test",
            "HELPLINE_INSTANCE_PATH": str(tmp_path),
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "secret",
        }
    )
    twilio = rest_client(settings)
    assert twilio.api.base_url == "https://api.twilio.com"
    assert twilio.http_client.timeout == 10.0
    local = rest_client(
        dataclasses.replace(settings, twilio_api_base_url="http://127.0.0.1:8183/"), timeout=3
    )
    assert local.api.base_url == "http://127.0.0.1:8183"
    assert local.http_client.timeout == 3
    for client in (twilio, local):
        client.http_client.session.close()
    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID"):
        rest_client(dataclasses.replace(settings, twilio_auth_token=None))


def test_deliveries_delay_every_send() -> None:
    transport = Recorder()
    worker = Deliveries(transport, "token", Faults(delay_ms=60))
    start = time.monotonic()
    worker.submit(delivery(0))
    assert worker.flush(5)
    assert time.monotonic() - start >= 0.06
    worker.set_faults(Faults())
    worker.close()
    assert len(transport.sent) == 1
