"""Callbacks end to end: the sandbox over HTTP, a real RQ worker process, real Redis.

Counsellor first (reserved, whispered, press 1), then the caller from the helpline's
number with the discreet question; machines hear a neutral message; outcomes are
CallEvents and retries follow the limits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.config import Settings
from helpline.models.enums import CallbackStatus, CallDirection
from helpline.sandbox.emulator.phones import Behaviour
from tests.callbacks import (
    CALLER,
    NOT_NOW,
    TALKS,
    attempt_calls,
    callback_settings,
    callback_when,
    enqueue,
    legs_to,
    outcomes,
    request_callback,
    short_wrap_up_flows,
)
from tests.live import Line, all_answered


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Callback settings, and a one-second wrap-up: the next attempt need not wait for the
    counsellor of the last one."""
    flows = short_wrap_up_flows(tmp_path)
    return callback_settings(database_url, redis_url, tmp_path, IVR_FLOWS_PATH=str(flows))


@pytest.mark.slow
def test_callback_counsellor_first_then_the_caller_joins_the_room(line: Line) -> None:
    """A due callback rings a counsellor who speaks the language first; once they press
    1, the caller is dialled once from the helpline's number, hears the discreet question,
    presses 1 and joins the counsellor's room; the attempt is `connected`."""
    counsellor = line.on_duty("counsellor.ar", "+905550000601", languages=("ar", "tr"))
    line.on_duty("counsellor.tr", "+905550000602", languages=("tr",))
    line.sandbox.exchange.set_phone(CALLER, TALKS)
    callback = request_callback(line.factory)
    enqueue(line.app, callback.id)
    done = callback_when(line, callback.id, CallbackStatus.COMPLETED)
    assert done.outcome == "connected"
    assert done.attempts == 1
    assert done.assigned_staff_id == counsellor.id
    assert line.sandbox.exchange.settle(60)
    [call] = attempt_calls(line, callback.id)
    assert call.direction == CallDirection.OUTBOUND
    assert call.counsellor_id == counsellor.id
    assert not call.call_sid.startswith("callback:")
    kinds = [e.kind for e in line.events(call)]
    assert kinds.index("callback_attempt") < kinds.index("offer_accepted")
    assert kinds.index("offer_accepted") < kinds.index("callback_outcome")
    assert "connected" in kinds
    [rung] = legs_to(line, "+905550000601")
    whisper = " ".join(heard.text for heard in rung.transcript.heard())
    assert "ALO 183 callback" in whisper  # the counsellor hears it is a callback
    [leg] = legs_to(line, CALLER)
    assert leg.setup.from_ == "+903120000183"
    all_answered(leg)
    said = " ".join(heard.text for heard in leg.transcript.heard())
    assert "1" in said  # the question: 1 to talk now,
    assert "2" in said  # 2 for later
    assert outcomes(line, callback.id) == ["connected"]


@pytest.mark.slow
def test_callback_not_safe_now_is_rescheduled_and_the_counsellor_let_go(line: Line) -> None:
    """A caller who presses 2 hears a goodbye; the attempt is `not_safe_now`, the callback
    is tried again later, and the counsellor's room ends (they go to wrap-up)."""
    line.on_duty("counsellor.ar", "+905550000611", languages=("ar",))
    line.on_duty("counsellor.ar2", "+905550000612", languages=("ar",))  # the first wraps up
    line.sandbox.exchange.set_phone(CALLER, NOT_NOW)
    callback = request_callback(line.factory, max_attempts=1)
    enqueue(line.app, callback.id)
    line.until(lambda: len(outcomes(line, callback.id)) >= 1, "the first outcome")
    assert outcomes(line, callback.id)[0] == "not_safe_now"
    line.sandbox.exchange.set_phone(CALLER, TALKS)
    line.until(lambda: "connected" in outcomes(line, callback.id), "a later connected attempt")
    done = callback_when(line, callback.id, CallbackStatus.COMPLETED)
    assert done.attempts == 2  # not safe now does not use up the last attempt
    assert len(legs_to(line, CALLER)) == 2


@pytest.mark.slow
def test_callback_answering_machine_hears_only_a_neutral_message(line: Line) -> None:
    """A voicemail machine (answering-machine detection) hears the neutral message and
    nothing else; with no attempts left the callback fails."""
    line.on_duty("counsellor.en", "+905550000621", languages=("en", "tr"))
    line.sandbox.exchange.set_phone(CALLER, Behaviour("voicemail", after=2, talk=20))
    callback = request_callback(line.factory, max_attempts=1, language="en")
    enqueue(line.app, callback.id)
    failed = callback_when(line, callback.id, CallbackStatus.FAILED)
    assert failed.outcome == "machine"
    assert line.sandbox.exchange.settle(60)
    [leg] = legs_to(line, CALLER)
    said = [heard.text for heard in leg.transcript.heard()]
    assert said == ["Hello. We will call again later. Goodbye."]
    assert outcomes(line, callback.id) == ["machine"]


@pytest.mark.slow
def test_callback_no_answer_retries_then_fails(line: Line) -> None:
    """A phone nobody answers: each attempt dials once, with a delay between; after
    max_attempts the callback fails and supervisors can see it."""
    line.on_duty("counsellor.ar", "+905550000631", languages=("ar",))
    line.sandbox.exchange.set_phone(CALLER, Behaviour("busy"))
    callback = request_callback(line.factory, max_attempts=2)
    enqueue(line.app, callback.id)
    failed = callback_when(line, callback.id, CallbackStatus.FAILED, seconds=90)
    assert failed.attempts == 2
    assert outcomes(line, callback.id) == ["busy", "busy"]
    assert len(legs_to(line, CALLER)) == 2
