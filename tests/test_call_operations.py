"""Operations on a connected call, end to end: hold and resume, end, supervisor listen and
coach, warm transfer. The request is checked at once (OperationError, a safe message);
a real RQ worker makes the REST calls to the sandbox, whose room shows the result, and
each operation is on the call's timeline with the staff member's id.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from helpline.extensions import db, get_redis
from helpline.models import Call, CallEvent, Staff
from helpline.routing import offers, operations, presence
from helpline.routing.conference import COACH, LISTEN, supervisor_label
from helpline.routing.legs import room_name
from helpline.routing.operations import OperationError
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.rooms import Participant, Room
from helpline.tasks import calls
from tests.factories import Factory
from tests.live import Line, all_answered, kinds

TURKISH_PSYCHOSOCIAL = "press 1; press 2; press 1"
STAYS = Behaviour("answer", after=3, talk=5000, keys="1")  # accepts and stays on the line
SUPERVISOR_PHONE = Behaviour("answer", after=2, talk=5000)


def _room(line: Line, call: Call) -> Room | None:
    with line.sandbox.exchange.lock:
        return next(
            (
                room
                for room in line.sandbox.exchange.rooms.values()
                if room.name == room_name(call.id) and room.status == "in-progress"
            ),
            None,
        )


def _in_room(line: Line, call: Call, key: str, what: str) -> Participant:
    """The room's participant (by call sid or label) once it is there."""

    def found() -> Participant | None:
        room = _room(line, call)
        return room.find(key) if room is not None else None

    participant: Participant = line.until(found, what)
    return participant


def _connected(line: Line, counsellor_phone: str = "+905550000601") -> tuple[Call, Staff, Leg]:
    """A Turkish caller talking with a counsellor in the call's room."""
    counsellor = line.on_duty("counsellor.tr1", counsellor_phone, STAYS)
    leg = line.call("+905321110601", TURKISH_PSYCHOSOCIAL)
    call = line.when(leg, lambda c: c.counsellor_id == counsellor.id, "the counsellor")
    _in_room(line, call, leg.sid, "the caller in the room")
    return call, counsellor, leg


def _operate(line: Line, job: str, *args: object, **kwargs: object) -> object:
    with line.app.app_context():
        return getattr(calls, job)(*args, **kwargs)


def _staff_events(line: Line, call: Call, kind: str) -> list[int | None]:
    return [event.staff_id for event in line.events(call) if event.kind == kind]


@pytest.mark.slow
def test_operations_hold_resume_and_end_a_connected_call(line: Line) -> None:
    """The counsellor holds the caller (who hears the hold music), resumes them and ends
    the call: the room shows each change, and the timeline has hold, unhold and the end,
    each with the counsellor's id."""
    call, counsellor, leg = _connected(line)
    caller = _in_room(line, call, leg.sid, "the caller")
    _operate(line, "enqueue_hold_caller", call.id, counsellor.id, on=True)
    line.until(lambda: caller.hold and _staff_events(line, call, "hold"), "the caller on hold")
    assert _staff_events(line, call, "hold") == [counsellor.id]
    music = "/voice/audio/shared/hold.mp3"
    line.until(lambda: any(h.url.endswith(music) for h in leg.transcript.heard()), "the hold music")
    with line.sandbox.exchange.lock:
        counsellor_hears = _room(line, call).hears()  # type: ignore[union-attr]
    assert leg.sid not in set().union(*counsellor_hears.values())
    _operate(line, "enqueue_hold_caller", call.id, counsellor.id, on=False)
    line.until(lambda: not caller.hold and _staff_events(line, call, "unhold"), "the resume")
    _operate(line, "enqueue_end_call", call.id, counsellor.id)
    ended = line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    order = kinds(line.events(ended))
    assert order.index("hold") < order.index("unhold") < order.index("ended_by_staff")
    assert _staff_events(line, ended, "ended_by_staff") == [counsellor.id]
    with pytest.raises(OperationError, match="ended"):
        _operate(line, "enqueue_hold_caller", call.id, counsellor.id, on=True)


@pytest.mark.slow
def test_operations_supervisor_listens_muted_then_coaches_the_counsellor(line: Line) -> None:
    """A supervisor is dialled into the room muted; asked to coach, the same participant
    (no second call) is unmuted and heard only by the counsellor, whose leg it coaches."""
    call, counsellor, leg = _connected(line)
    supervisor = line.factory.staff("supervisor1", roles=("supervisor",), phone="+905550000699")
    line.sandbox.exchange.set_phone("+905550000699", SUPERVISOR_PHONE)
    with line.app.app_context():
        counsellor_sid = offers.leg_sids(get_redis(), call.id, [counsellor.id])[0]
    _operate(line, "enqueue_supervise_call", call.id, supervisor.id, LISTEN)
    label = supervisor_label(supervisor.id)
    listening = _in_room(line, call, label, "the supervisor in the room")
    assert (listening.muted, listening.coaching) == (True, False)
    with line.sandbox.exchange.lock:
        heard = _room(line, call).hears()  # type: ignore[union-attr]
    assert listening.call_sid not in heard[leg.sid] | heard[counsellor_sid]
    line.until(lambda: _staff_events(line, call, "supervisor_listen"), "the listen event")
    _operate(line, "enqueue_supervise_call", call.id, supervisor.id, COACH)
    line.until(lambda: listening.coaching and not listening.muted, "the supervisor coaching")
    assert listening.call_sid_to_coach == counsellor_sid
    with line.sandbox.exchange.lock:
        heard = _room(line, call).hears()  # type: ignore[union-attr]
    assert listening.call_sid in heard[counsellor_sid]
    assert listening.call_sid not in heard[leg.sid]
    line.until(lambda: _staff_events(line, call, "supervisor_coach"), "the coach event")
    rung = [x for x in line.sandbox.exchange.list_legs() if x.setup.to == "+905550000699"]
    assert len(rung) == 1
    events = line.events(call)
    assert [(e.kind, e.data["dialled"]) for e in events if e.kind.startswith("supervisor")] == [
        ("supervisor_listen", True),
        ("supervisor_coach", False),
    ]
    assert {e.staff_id for e in events if e.kind.startswith("supervisor")} == {supervisor.id}
    assert "+90555" not in repr([e.data for e in events])
    _operate(line, "enqueue_end_call", call.id, supervisor.id)
    line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)


@pytest.mark.slow
def test_operations_warm_transfer_keeps_the_caller_when_the_first_counsellor_leaves(
    line: Line,
) -> None:
    """The counsellor transfers to another one, who is rung with the whisper and accepts
    in the same room; the first may then hang up without ending it: the caller stays with
    the second counsellor, who now has the call, and the first goes to wrap-up."""
    call, first, leg = _connected(line)
    second = line.on_duty("counsellor.tr2", "+905550000602", STAYS)
    _operate(line, "enqueue_transfer", call.id, first.id, to_staff_id=second.id)
    moved = line.when(leg, lambda c: c.counsellor_id == second.id, "the hand-over")
    events = line.events(moved)
    transferred = [e for e in events if e.kind == "transferred"]
    assert [(e.staff_id, e.data["to_staff_id"]) for e in transferred] == [(first.id, second.id)]
    reserved = [e for e in events if e.kind == "reserved" and e.staff_id == second.id]
    assert reserved[0].data["stage"] == "transfer"
    with line.app.app_context():
        first_sid, second_sid = offers.leg_sids(get_redis(), call.id, [first.id, second.id])
    _in_room(line, call, second_sid, "the second counsellor in the room")
    leaving = _in_room(line, call, first_sid, "the first counsellor")
    line.until(lambda: not leaving.end_on_exit, "the room kept open")
    line.sandbox.exchange.hang_up(first_sid)
    with line.app.app_context():
        line.until(
            lambda: presence.live_state(get_redis(), first.id).get("state") != "busy",
            "the first counsellor to leave",
        )
    room = _room(line, call)
    assert room is not None
    assert set(room.participants) == {leg.sid, second_sid}
    assert line.record(leg).ended_at is None
    _operate(line, "enqueue_end_call", call.id, second.id)
    line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    assert line.record(leg).outcome == "answered"


@pytest.mark.slow
def test_operations_transfer_to_a_language_rings_a_counsellor_who_speaks_it(line: Line) -> None:
    """A transfer to a language reserves the longest-idle counsellor who speaks it, never
    the call's own counsellor; with nobody free who does, it is refused at once. Once
    handed over, the call's language is the one transferred to."""
    call, first, leg = _connected(line)
    with pytest.raises(OperationError, match="Nobody free speaks"):
        _operate(line, "enqueue_transfer", call.id, first.id, language="ar")
    arabic = line.on_duty("counsellor.ar", "+905550000603", STAYS, languages=("ar", "tr"))
    _operate(line, "enqueue_transfer", call.id, first.id, language="ar")
    moved = line.when(leg, lambda c: c.counsellor_id == arabic.id, "the hand-over")
    reserved = [e for e in line.events(call) if e.kind == "reserved" and e.staff_id == arabic.id]
    assert reserved[0].data["language"] == "ar"
    # The caller speaks Arabic after all: the call's language follows the transfer.
    assert moved.language == "ar"
    transferred = [e for e in line.events(call) if e.kind == "transferred"]
    assert [(e.data["from_language"], e.data["language"]) for e in transferred] == [("tr", "ar")]
    # The whisper says it is a transfer, and names the language transferred to.
    rung = [x for x in line.sandbox.exchange.list_legs() if x.phone_number == "+905550000603"]
    whispers = [h.text for x in rung for h in x.transcript.heard() if h.kind == "say"]
    transfer = "ALO 183 transfer. A counsellor is handing over a caller speaking Arabic"
    assert any(text.startswith(transfer) for text in whispers), whispers
    _operate(line, "enqueue_end_call", call.id, arabic.id)
    line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)


def test_operations_refuse_a_call_that_is_not_connected_or_the_wrong_person(
    app: Flask, factory: Factory
) -> None:
    """Nothing is done to a call not connected to a counsellor; only its counsellor or a
    supervisor may operate on it, only a supervisor may listen; the messages are safe."""
    counsellor = factory.staff("counsellor.a", phone="+905550000611", password=None)
    other = factory.staff("counsellor.b", phone="+905550000612", password=None)
    call = factory.call(counsellor_id=counsellor.id)

    def refused(attempt: Callable[[], object]) -> str:
        with pytest.raises(OperationError) as raised:
            attempt()
        return str(raised.value)

    with app.app_context():
        messages = [
            refused(lambda: calls.enqueue_hold_caller(call.id, counsellor.id, on=True)),
            refused(lambda: calls.enqueue_end_call(10**9, counsellor.id)),
        ]
        get_redis().hset(f"helpline:call:{call.id}", "state", "connected")
        messages += [
            refused(lambda: calls.enqueue_end_call(call.id, other.id)),
            refused(lambda: calls.enqueue_supervise_call(call.id, counsellor.id, LISTEN)),
            refused(lambda: calls.enqueue_supervise_call(call.id, counsellor.id, "shout")),
        ]
        get_redis().delete(f"helpline:call:{call.id}")
    assert messages == [
        "The call is not connected to a counsellor.",
        "There is no such call.",
        "Only the call's counsellor or a supervisor may do that.",
        "Only a supervisor may do that.",
        "Listen or coach.",
    ]


def test_operations_record_an_operation_once_however_often_its_job_runs(
    app: Flask, factory: Factory
) -> None:
    """A job run again (RQ retries, a redelivery) does not record its operation twice."""
    counsellor = factory.staff("counsellor.c", password=None)
    call = factory.call(counsellor_id=counsellor.id)
    with app.app_context():
        done = [
            operations.record(db.session, get_redis(), call.id, "hold", counsellor.id, "op1")
            for _ in range(2)
        ]
        db.session.commit()
    assert done == [True, False]
    events = factory.session.scalars(sa.select(CallEvent).where(CallEvent.call_id == call.id))
    assert [(e.kind, e.staff_id, e.data) for e in events] == [
        ("hold", counsellor.id, {"operation": "op1"})
    ]
