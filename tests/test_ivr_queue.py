"""Waiting in the queue, in the pure engine: enqueue, keys on hold, leaving, the room."""

from __future__ import annotations

import datetime as dt

import pytest

from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr import engine
from helpline.ivr.loader import load_catalog
from helpline.ivr.twiml import Renderer, Urls

CATALOG, _ = load_catalog(DEFAULT_FLOWS_PATH)
FLOW = CATALOG.flows["default"]
SCHEDULES = CATALOG.schedules
MONDAY_2PM = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
# Arabic, do not remember, violence: the caller reaches the queue.
TO_QUEUE = ["2", "2", "3"]


def facts(status: str = engine.QUEUE_OPEN) -> engine.Facts:
    return engine.Facts(now=MONDAY_2PM, queue_status=lambda _language, _topic: status)


def walk(keys: list[str], status: str = engine.QUEUE_OPEN) -> engine.Step:
    f = facts(status)
    step = engine.start(FLOW, SCHEDULES, f)
    for key in keys:
        step = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", key), f)
    return step


def queued() -> engine.Step:
    step = walk(TO_QUEUE)
    assert isinstance(step.action, engine.Enqueue)
    return step


def test_queue_open_enqueues_the_caller_in_their_language() -> None:
    """With someone on duty who could take the call, the caller waits in the queue."""
    step = queued()
    assert step.state.node == "hand_off"
    assert step.action == engine.Enqueue((engine.PromptRef("please_hold", "ar"),), "ar")
    assert engine.Queued() in step.effects
    assert "queued" in [event.kind for event in step.events]


def test_queue_asks_routing_with_the_callers_language_and_topic() -> None:
    """The status oracle is asked once, with the language and topic the caller chose."""
    asked: list[tuple[str, str | None]] = []

    def status(language: str, topic: str | None) -> str:
        asked.append((language, topic))
        return engine.QUEUE_BUSY

    f = engine.Facts(now=MONDAY_2PM, queue_status=status)
    step = engine.start(FLOW, SCHEDULES, f)
    for key in TO_QUEUE:
        step = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", key), f)
    assert asked == [("ar", "violence")]


@pytest.mark.parametrize(
    ("status", "node"),
    [(engine.QUEUE_BUSY, "callback_or_message"), (engine.QUEUE_DOWN, "routing_down")],
)
def test_queue_busy_or_down_never_makes_a_caller_wait(status: str, node: str) -> None:
    """Nobody on duty: a callback or a message. Routing unreachable: the duty line."""
    step = walk(TO_QUEUE, status)
    assert step.state.node == node
    assert not any(isinstance(effect, engine.Queued) for effect in step.effects)


def test_hold_key_1_asks_for_a_callback_and_keeps_the_turn() -> None:
    """1 on hold leaves the queue for the callback question; the Enqueue URL stays valid."""
    waiting = queued()
    held = engine.hold_key(FLOW, waiting.state, "1", facts())
    assert isinstance(held.action, engine.Leave)
    assert held.state.turn == waiting.state.turn
    after = engine.advance(
        FLOW, SCHEDULES, held.state, engine.Input("queue", queue_result="leave"), facts()
    )
    assert after.state.node == "callback"
    assert engine.Dequeued("leave") in after.effects
    assert after.state.vars["callback_reason"] == "queue_key"
    assert "left" not in after.state.vars


def test_hold_emergency_key_reaches_the_duty_line() -> None:
    """The emergency key works while waiting too."""
    held = engine.hold_key(FLOW, queued().state, "9", facts())
    assert isinstance(held.action, engine.Leave)
    assert engine.Outcome("emergency_transfer") in held.effects
    after = engine.advance(
        FLOW, SCHEDULES, held.state, engine.Input("queue", queue_result="leave"), facts()
    )
    assert after.state.node == "duty_line"
    assert isinstance(after.action, engine.Dial)


def test_hold_cut_off_consent_key_records_consent_and_keeps_waiting() -> None:
    """2 on hold agrees to a callback should the call drop: the consent is recorded, the
    caller hears thanks in their language and keeps waiting (the turn does not change)."""
    waiting = queued()
    held = engine.hold_key(FLOW, waiting.state, "2", facts())
    assert held.action == engine.Ack((engine.PromptRef("cut_off_consent_thanks", "ar"),))
    assert engine.Consent("callback", True) in held.effects
    assert held.state.turn == waiting.state.turn
    assert "left" not in held.state.vars
    recorded = [e.data for e in held.events if e.kind == "consent_recorded"]
    assert recorded == [{"kind": "callback", "granted": True, "node": "hand_off"}]


@pytest.mark.parametrize("digits", ["5", "#", "12", ""])
def test_hold_other_keys_keep_the_caller_waiting(digits: str) -> None:
    held = engine.hold_key(FLOW, queued().state, digits, facts())
    assert held.action == engine.Ack()
    assert "left" not in held.state.vars
    assert not held.effects


@pytest.mark.parametrize(("reason", "node"), [("max_wait", "waited_too_long"),
                                              ("unavailable", "routing_down")])  # fmt: skip
def test_leave_queue_goes_where_the_reason_says(reason: str, node: str) -> None:
    """The maximum wait leads to a callback and a message; routing lost, the duty line."""
    left = engine.leave_queue(FLOW, queued().state, reason, facts())
    assert left is not None
    assert isinstance(left.action, engine.Leave)
    after = engine.advance(
        FLOW, SCHEDULES, left.state, engine.Input("queue", queue_result="leave"), facts()
    )
    # Say nodes play in front of the next waiting node, so the walk stops after them.
    assert node in [e.data.get("to") for e in after.events if e.kind == "branch"]


def test_leave_queue_of_a_caller_not_waiting_does_nothing() -> None:
    assert engine.leave_queue(FLOW, walk(["2"]).state, "max_wait", facts()) is None
    with pytest.raises(ValueError, match="unknown reason"):
        engine.leave_queue(FLOW, queued().state, "callback", facts())


@pytest.mark.parametrize("result", sorted(engine.QUEUE_MOVED))
def test_queue_result_of_a_caller_moved_elsewhere_changes_nothing(result: str) -> None:
    """Redirected into the room (or bridged): the answer is ignored, the state stays."""
    waiting = queued()
    after = engine.advance(
        FLOW, SCHEDULES, waiting.state, engine.Input("queue", queue_result=result), facts()
    )
    assert isinstance(after.action, engine.Ack)
    assert after.state.turn == waiting.state.turn
    assert after.state.node == "hand_off"
    assert not any(isinstance(effect, engine.Dequeued) for effect in after.effects)


@pytest.mark.parametrize("result", ["error", "system-error", "queue-full"])
def test_queue_failure_sends_the_caller_to_the_duty_line(result: str) -> None:
    after = engine.advance(
        FLOW, SCHEDULES, queued().state, engine.Input("queue", queue_result=result), facts()
    )
    assert after.state.node == "routing_down"
    assert engine.Dequeued(result) in after.effects


def test_queue_hangup_ends_the_call() -> None:
    after = engine.advance(
        FLOW, SCHEDULES, queued().state, engine.Input("queue", queue_result="hangup"), facts()
    )
    assert after.state.is_done
    assert engine.Dequeued("hangup") in after.effects


def test_room_ended_says_goodbye() -> None:
    """After the conversation the flow goes on at the queue node's `next`."""
    after = engine.advance(FLOW, SCHEDULES, queued().state, engine.Input("room"), facts())
    assert after.state.node == "goodbye"
    assert isinstance(after.action, engine.Hangup)


def test_render_enqueue_waits_in_the_language_queue_with_the_wait_url() -> None:
    renderer = Renderer(CATALOG, Urls("https://line.example"), {}, None)
    document = renderer.render(queued())
    assert "<Enqueue" in document
    assert 'waitUrl="https://line.example/voice/wait"' in document
    assert "e=queue" in document
    assert ">helpline-ar</Enqueue>" in document
    left = engine.hold_key(FLOW, queued().state, "1", facts())
    assert "<Leave />" in renderer.render(left)
