"""The emergency path live: the caller's IVR through the sandbox, staff phones, a real worker.

The line has two duty numbers (DUTY_LINE_NUMBER with a comma), rung together. When
neither answers, the emergency caller waits at the front of the queue for any counsellor,
whatever their language, and the duty supervisor is alerted (`emergency_queued`); a
message is the last resort only when no counsellor at all is logged in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.config import Settings
from helpline.extensions import db, get_redis
from helpline.models import Recording
from helpline.routing import presence
from helpline.sandbox.emulator.phones import Behaviour
from helpline.tasks.dispatch import enqueue_dispatch
from tests.conftest import make_settings
from tests.live import Line, all_answered, kinds

DUTY = ("+905550000183", "+905550000184")
KURMANJI_EMERGENCY = "press 5; press 9"  # Kurmanji, then the emergency key


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """The test line's settings, with two duty numbers."""
    return make_settings(
        database_url, redis_url, tmp_path / "instance", DUTY_LINE_NUMBER=",".join(DUTY)
    )


def _duty_phones(line: Line, *behaviours: Behaviour) -> None:
    for number, behaviour in zip(DUTY, behaviours, strict=True):
        line.sandbox.exchange.set_phone(number, behaviour)


def _rung(line: Line, number: str) -> int:
    return sum(1 for leg in line.sandbox.exchange.list_legs() if leg.phone_number == number)


@pytest.mark.slow
def test_emergency_unanswered_duty_line_reaches_a_counsellor_of_another_language(
    line: Line,
) -> None:
    """Both duty phones ring at once and neither answers (one rings out, one is busy): the
    Kurmanji caller is offered to the only counsellor logged in, who speaks Turkish, and
    is connected with them; no message is left. The call waited as an emergency, at the
    emergency priority, and the timeline alerts the duty supervisor."""
    _duty_phones(line, Behaviour("no-answer"), Behaviour("busy"))
    counsellor = line.on_duty("counsellor.tr", "+905550000701", languages=("tr",))
    leg = line.call("+905321110701", KURMANJI_EMERGENCY)
    call = line.when(leg, lambda c: c.ended_at, "the call to end", seconds=120)
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    assert all(_rung(line, number) == 1 for number in DUTY)  # together, once
    assert call.language == "ku"
    assert call.counsellor_id == counsellor.id
    assert call.outcome == "answered"
    assert call.is_emergency
    events = line.events(call)
    order = kinds(events)
    for kind in ("emergency_transfer", "dial_result", "emergency_queued", "queued", "connected"):
        assert kind in order, order
    assert order.index("dial_result") < order.index("emergency_queued") < order.index("connected")
    assert [e.data["status"] for e in events if e.kind == "dial_result"] == ["no-answer"]
    reserved = [e for e in events if e.kind == "reserved"]
    assert [(e.staff_id, e.data["stage"]) for e in reserved] == [(counsellor.id, "emergency")]
    assert "voicemail_recorded" not in order
    assert line.factory.session.query(Recording).filter_by(call_id=call.id).count() == 0


@pytest.mark.slow
def test_emergency_with_nobody_logged_in_leaves_an_urgent_message(line: Line) -> None:
    """The duty phones do not answer and no counsellor is logged in at all: the caller is
    asked for a message, and the flow has flagged it urgent before the recording."""
    _duty_phones(line, Behaviour("no-answer"), Behaviour("no-answer"))
    leg = line.call("+905321110702", "press 5; press 9; record 12")
    call = line.when(leg, lambda c: c.ended_at, "the call to end", seconds=120)
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    assert call.outcome == "voicemail"
    assert call.ivr_state is not None
    assert call.ivr_state["vars"].get("urgent") is True
    assert not call.is_emergency  # it never waited
    order = kinds(line.events(call))
    assert "voicemail_recorded" in order
    assert "emergency_queued" not in order
    assert "queued" not in order


@pytest.mark.slow
def test_emergency_interpreter_joins_when_one_becomes_free(line: Line) -> None:
    """The Kurmanji interpreter is on a break when the emergency caller is connected with
    the Turkish counsellor; once they are available (as the console makes them), the
    dispatcher rings them for that call, and all three are in the call's room."""
    _duty_phones(line, Behaviour("busy"), Behaviour("busy"))
    counsellor = line.on_duty("counsellor.tr", "+905550000711", languages=("tr",))
    interpreter = line.on_duty(
        "interpreter.ku", "+905550000712", roles=("interpreter",), languages=("ku", "tr")
    )
    with line.app.app_context():
        presence.set_state(get_redis(), db.session, interpreter.id, "break", reason="console")
        db.session.commit()
    leg = line.call("+905321110711", KURMANJI_EMERGENCY)
    call = line.when(leg, lambda c: c.counsellor_id, "the counsellor to accept", seconds=120)
    assert call.counsellor_id == counsellor.id
    assert call.interpreter_id is None
    with line.app.app_context():
        presence.set_state(get_redis(), db.session, interpreter.id, "available", reason="console")
        db.session.commit()
        enqueue_dispatch()
    call = line.when(leg, lambda c: c.interpreter_id, "the interpreter to join", seconds=120)
    assert call.interpreter_id == interpreter.id
    room = f"helpline-call-{call.id}"
    assert line.until(
        lambda: [
            r
            for r in line.sandbox.exchange.rooms.values()
            if r.name == room and len(r.participants) == 3
        ],
        "three people in the room",
    )
    reserved = [e for e in line.events(call) if e.kind == "reserved"]
    assert [(e.staff_id, e.data["stage"]) for e in reserved] == [
        (counsellor.id, "emergency"),
        (interpreter.id, "add_interpreter"),
    ]
