"""Live routing end to end: callers through the real IVR, staff phones, real RQ workers.

The app runs in this process behind the telephony sandbox (served over HTTP, so the
worker processes reach its REST API as they would reach Twilio's). Staff are put on duty
as the console does, their phones answer as simulated people do, and an RQ worker started
from worker.py dials them. Every webhook is signed and must be answered with 200.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import random
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from helpline.extensions import db, get_redis
from helpline.models import Call, CallbackRequest, CallEvent
from helpline.routing import presence
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.server import SandboxServer
from helpline.sandbox.transport import FlaskTransport
from tests.factories import Factory
from tests.live import (
    ACCEPTS,
    ARABIC_VIOLENCE,
    PASHTO_PSYCHOSOCIAL,
    SILENT,
    SPEED,
    Line,
    all_answered,
    copy_flows,
    kinds,
    live_line,
)
from tests.voice import OPEN


@pytest.mark.slow
def test_routing_arabic_caller_reaches_an_arabic_speaking_counsellor(line: Line) -> None:
    """An Arabic caller about violence is offered to the Arabic counsellor with that skill,
    who accepts with 1; the caller is brought into the room and told so in Arabic."""
    turkish = line.on_duty("counsellor.tr", "+905550000101", topics=("violence",))
    arabic = line.on_duty(
        "counsellor.ar", "+905550000102", languages=("ar", "tr"), topics=("violence",)
    )
    leg = line.call("+905321110001", ARABIC_VIOLENCE)
    call = line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    assert call.counsellor_id == arabic.id != turkish.id
    assert call.answered_at is not None
    assert call.queued_at is not None
    assert call.outcome == "answered"
    events = line.events(call)
    for kind in ("queued", "reserved", "offered", "offer_accepted", "connected", "room_ended"):
        assert kind in kinds(events), kinds(events)
    assert {e.staff_id for e in events if e.kind == "offer_accepted"} == {arabic.id}
    heard = [item for item in leg.transcript.heard() if item.kind == "say"]
    connected = "شكرًا لانتظارك. أنت الآن متصل بأحد المستشارين."
    assert any(item.text == connected for item in heard), [item.text for item in heard]
    # The counsellor went to wrap-up when the call ended.
    with line.app.app_context():
        state = line.until(
            lambda: presence.live_state(get_redis(), arabic.id).get("state") != "busy" and 1,
            "the counsellor to leave the call",
        )
        assert state
        assert presence.live_state(get_redis(), arabic.id)["state"] in ("wrap_up", "available")


@pytest.mark.slow
def test_routing_caller_under_18_reaches_a_child_protection_counsellor(line: Line) -> None:
    """An Arabic caller who says they are under 18 (key 6) and chooses violence goes to
    the Arabic counsellor with the child-protection skill, though another Arabic
    counsellor with the violence skill has been idle longer; the whisper says so."""
    longer_idle = line.on_duty(
        "counsellor.ar", "+905550000111", languages=("ar", "tr"), topics=("violence",)
    )
    trained = line.on_duty(
        "counsellor.ar2",
        "+905550000112",
        languages=("ar", "tr"),
        topics=("violence", "child_protection"),
    )
    leg = line.call("+905321110011", "press 2; press 2; press 6; press 3")
    call = line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    assert (call.age_group, call.topic) == ("child", "violence")
    assert call.counsellor_id == trained.id != longer_idle.id
    events = line.events(call)
    assert "age_group_selected" in kinds(events)
    reserved = [e for e in events if e.kind == "reserved"]
    assert [e.staff_id for e in reserved] == [trained.id]
    rung = [x for x in line.sandbox.exchange.list_legs() if x.phone_number == "+905550000112"]
    whispers = [h.text for x in rung for h in x.transcript.heard() if h.kind == "say"]
    assert any(text.startswith("The caller is under 18. ALO 183") for text in whispers), whispers


@pytest.mark.slow
def test_routing_pashto_caller_gets_a_counsellor_and_an_interpreter_in_one_room(
    line: Line,
) -> None:
    """No Pashto counsellor on duty: a Turkish counsellor and a Pashto interpreter are
    reserved together, and all three are in the call's conference room."""
    counsellor = line.on_duty("counsellor.tr", "+905550000201")
    interpreter = line.on_duty(
        "interpreter.ps", "+905550000202", roles=("interpreter",), languages=("ps", "tr")
    )
    leg = line.call("+905321110002", PASHTO_PSYCHOSOCIAL)
    call = line.when(leg, lambda c: c.interpreter_id, "the interpreter")
    assert (call.counsellor_id, call.interpreter_id) == (counsellor.id, interpreter.id)
    rooms = line.until(
        lambda: [
            room
            for room in line.sandbox.exchange.rooms.values()
            if room.name == f"helpline-call-{call.id}" and len(room.participants) == 3
        ],
        "three people in the room",
    )
    assert rooms
    line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)
    events = line.events(line.record(leg))
    reserved = [e for e in events if e.kind == "reserved"]
    assert reserved[0].data["stage"] == "interpreter"
    assert reserved[0].data["interpreter_id"] == interpreter.id
    accepted = {(e.staff_id, e.data["role"]) for e in events if e.kind == "offer_accepted"}
    assert accepted == {(counsellor.id, "counsellor"), (interpreter.id, "interpreter")}


@pytest.mark.slow
def test_routing_counsellor_who_does_not_press_1_is_skipped(line: Line) -> None:
    """The longest-idle counsellor's phone is answered but nobody presses 1: the offer
    passes to the next counsellor, and the caller keeps their place in the queue."""
    silent = line.on_duty("counsellor.ar1", "+905550000301", SILENT, languages=("ar",))
    time.sleep(0.05)  # so the silent one has been idle longest
    second = line.on_duty("counsellor.ar2", "+905550000302", languages=("ar",))
    leg = line.call("+905321110003", ARABIC_VIOLENCE)
    queued = line.when(leg, lambda c: c.queued_at, "the caller to queue").queued_at
    call = line.when(leg, lambda c: c.counsellor_id, "an answer")
    assert call.counsellor_id == second.id
    assert call.queued_at == queued
    events = line.events(call)
    timeouts = [e for e in events if e.kind == "offer_timeout"]
    assert [e.staff_id for e in timeouts] == [silent.id]
    assert timeouts[0].data["misses"] == 1
    order = kinds(events)
    assert order.index("offer_timeout") < order.index("offer_accepted")
    line.when(leg, lambda c: c.ended_at, "the call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(leg)


KURMANJI_PSYCHOSOCIAL = "press 5; press 2; press 1"


@pytest.mark.slow
def test_routing_refusal_does_not_block_the_callers_behind_it(line: Line) -> None:
    """The only Kurmanji counsellor declines caller A (presses 2): A keeps waiting, and
    caller B, queued after A, is offered to that counsellor while A still waits. A
    refusal excludes only that caller and that counsellor (issue 15)."""
    declines = Behaviour("answer", after=3, talk=150, keys="2")
    kurmanji = line.on_duty("counsellor.ku", "+905550000401", declines, languages=("ku", "tr"))
    first = line.call("+905321110041", KURMANJI_PSYCHOSOCIAL)
    a = line.when(first, lambda c: c.queued_at, "caller A to queue")

    def declined() -> bool:
        return any(e.kind == "offer_declined" and e.staff_id == kurmanji.id for e in line.events(a))

    line.until(declined, "the counsellor to decline A")
    line.sandbox.exchange.set_phone("+905550000401", ACCEPTS)  # they take the next call
    second = line.call("+905321110042", KURMANJI_PSYCHOSOCIAL)
    b = line.when(second, lambda c: c.counsellor_id, "caller B to be answered")
    assert b.counsellor_id == kurmanji.id
    a = line.record(first)
    assert (a.ended_at, a.dequeued_at, a.counsellor_id) == (None, None, None)  # A waits
    assert a.queued_at is not None
    assert b.queued_at is not None
    assert a.queued_at < b.queued_at
    offered_a = {e.staff_id for e in line.events(a) if e.kind == "offered"}
    assert offered_a == {kurmanji.id}  # once, before the refusal; not again since
    line.sandbox.exchange.hang_up(first.sid)
    line.when(second, lambda c: c.ended_at, "B's call to end")
    assert line.sandbox.exchange.settle(30)
    all_answered(first)
    all_answered(second)


@pytest.mark.slow
def test_routing_with_redis_stopped_the_ivr_still_answers(
    database_url: str, tmp_path: Path
) -> None:
    """Redis dies while a caller waits: they are put through to the duty line. A caller
    after that still gets every answer and the duty line. Nothing is lost."""
    from helpline import create_app
    from helpline.embedded import EmbeddedRedis
    from tests.conftest import _empty_tables, make_settings

    duty = "+905550000183"
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    settings = make_settings(database_url, server.url, tmp_path / "instance", DUTY_LINE_NUMBER=duty)
    app = create_app(settings, {"TESTING": True})
    app.extensions["helpline.clock"] = lambda: OPEN
    transport = FlaskTransport(app, settings.public_base_url)
    sandbox = SandboxServer(settings, port=0, speed=SPEED, transport=transport).start()
    sandbox.exchange.set_phone(duty, Behaviour("answer", after=2, talk=20))
    with app.app_context():
        engine = db.engine
    factory = Factory(sa.orm.Session(engine))
    line = Line(app, factory, sandbox, tmp_path / "no-worker.log")
    line.worker_log.write_text("(no worker in this test)")
    try:
        line.on_duty("counsellor.ar", "+905550000501", languages=("ar",))
        waiting = line.call("+905321110005", ARABIC_VIOLENCE)
        line.when(waiting, lambda c: c.queued_at, "the caller to wait")
        server.stop()  # Redis is gone while the caller waits
        first = line.when(waiting, lambda c: c.ended_at, "the waiting caller's call to end")
        later = line.call("+905321110006", "press 1; press 2; press 1; wait 200")
        second = line.when(later, lambda c: c.ended_at, "the later call to end")
        assert sandbox.exchange.settle(30)
        for leg in (waiting, later):
            all_answered(leg)
        first_events = line.events(first)
        leave = [e for e in first_events if e.kind == "queue_leave"]
        assert [e.data["reason"] for e in leave] == ["unavailable"]
        dialled = [e.data["status"] for e in first_events if e.kind == "dial_result"]
        assert dialled == ["completed"]
        second_events = line.events(second)
        steps = [e.data for e in second_events if e.kind == "ivr_step"]
        assert {"node": "hand_off", "action": "hand_off", "result": "routing_unavailable"} in steps
        assert [e.data["status"] for e in second_events if e.kind == "dial_result"] == ["completed"]
        assert "ended" in kinds(second_events)
    finally:
        sandbox.stop()
        factory.session.close()
        _empty_tables(app)
        server.stop()


# The line's mix: Turkish, Arabic, Farsi and English counsellors; Pashto and Kurmanji
# interpreters (who speak Turkish, the bridge language).
CROWD_STAFF = [
    ("tr1", ("counsellor",), ("tr",)),
    ("tr2", ("counsellor",), ("tr",)),
    ("tr3", ("counsellor",), ("tr",)),
    ("tr4", ("counsellor",), ("tr",)),
    ("ar1", ("counsellor",), ("ar", "tr")),
    ("ar2", ("counsellor",), ("ar", "tr")),
    ("fa1", ("counsellor",), ("fa", "tr")),
    ("en1", ("counsellor",), ("en", "tr")),
    ("ps1", ("interpreter",), ("ps", "tr")),
    ("ku1", ("interpreter",), ("ku", "tr")),
]
KEYS = {"tr": "1", "ar": "2", "fa": "3", "ps": "4", "ku": "5", "en": "6"}
CROWD_LANGUAGES = ["tr"] * 18 + ["ar"] * 12 + ["fa"] * 6 + ["ps"] * 6 + ["ku"] * 4 + ["en"] * 4
TOPICS = ("psychosocial", "child_protection", "violence", "elderly_disability", "social_assistance")
# Short stages, in real seconds, so that a test sees every one of them.
FAST_ROUTING = """schema: 1
stages:
  - {until: 3, match: language_and_topic}
  - {until: 6, match: language}
  - {until: 12, match: interpreter}
  - {until: 20, match: interpreter, offer_callback: true}
max_wait: 90
bridge_language: tr
priorities: {emergency: 10, violence: 3, child_protection: 3}
wrap_up_seconds: 1
offer_timeout_seconds: 20
no_answer_limit: 3
announce_seconds: 30
"""


def _fast_flows(tmp_path: Path) -> Path:
    flows = copy_flows(tmp_path)
    (flows / "routing.yaml").write_text(FAST_ROUTING)
    return flows


def _overlapping(spans: list[tuple[dt.datetime, dt.datetime, str]]) -> str:
    """The transcripts of two legs to one phone that overlap in time, or nothing."""
    for earlier, later in itertools.pairwise(sorted(spans)):
        if later[0] < earlier[1]:
            return f"{earlier[2]}\n\n{later[2]}"
    return ""


@pytest.mark.slow
def test_routing_fifty_callers_and_ten_staff(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """50 callers in six languages and 10 staff, two worker processes: higher priorities
    go first, nobody is ever rung for two calls at once, and every caller is answered,
    asked for a callback, or leaves a message."""
    from helpline import create_app
    from tests.conftest import _empty_tables, make_settings

    settings = make_settings(
        database_url, redis_url, tmp_path / "instance", IVR_FLOWS_PATH=str(_fast_flows(tmp_path))
    )
    app = create_app(settings, {"TESTING": True})
    with app.app_context():
        engine = db.engine
    factory = Factory(sa.orm.Session(engine))
    rng = random.Random(183)
    try:
        with live_line(app, settings, factory, tmp_path, workers=2) as line:
            quick = Behaviour("answer", after=3, talk=200, keys="1")
            staff = {
                name: line.on_duty(
                    name, f"+9055500007{n:02d}", quick, roles, languages, topics=TOPICS
                )
                for n, (name, roles, languages) in enumerate(CROWD_STAFF)
            }
            legs: list[Leg] = []
            for n, language in enumerate(rng.sample(CROWD_LANGUAGES, len(CROWD_LANGUAGES))):
                topic = rng.randint(1, 5)
                patience = rng.randint(300, 1500)  # sandbox seconds before asking to be called
                script = f"press {KEYS[language]}; press 2; press {topic}; wait {patience}; "
                script += "press 1; press 1"
                legs.append(line.call(f"+9053211200{n:02d}", script))
                time.sleep(0.05)
            for leg in legs:
                line.when(leg, lambda c: c.ended_at, "every call to end", seconds=150)
            assert line.sandbox.exchange.settle(60)
            phone_legs = {
                number: [
                    (leg.created, leg.end_time or leg.created, leg.transcript.render())
                    for leg in line.sandbox.exchange.list_legs()
                    if leg.setup.to == number
                ]
                for number in (f"+9055500007{n:02d}" for n in range(len(CROWD_STAFF)))
            }
            for leg in legs:
                all_answered(leg)
        for spans in phone_legs.values():
            both = _overlapping(spans)
            assert not both, f"a staff phone was rung for two calls at once:\n{both}"
        calls = [line.record(leg) for leg in legs]
        callbacks = factory.session.scalars(sa.select(CallbackRequest)).all()
        requested = {request.call_id for request in callbacks}
        queued_at = {call.id: call.queued_at for call in calls}
        for request in callbacks:  # asked for while waiting: their place is kept
            assert request.call_id is not None
            assert request.queue_entered_at == queued_at[request.call_id]
        outcomes: collections.Counter[str] = collections.Counter()
        for call in calls:
            if call.counsellor_id is not None:
                assert call.outcome == "answered"
                outcomes["answered"] += 1
            elif call.id in requested:
                outcomes["callback"] += 1
            else:
                if call.outcome != "voicemail":
                    timeline = "\n".join(
                        f"{e.kind} {e.staff_id} {e.data}" for e in line.events(call)
                    )
                    pytest.fail(f"a {call.language} caller ended {call.outcome}:\n{timeline}")
                outcomes["voicemail"] += 1
        assert outcomes["answered"] >= 20, outcomes
        assert any(call.interpreter_id == staff["ps1"].id for call in calls)
        _assert_priorities(factory, calls)
    finally:
        factory.session.close()
        _empty_tables(app)
        redis.Redis.from_url(redis_url).flushdb()


def _assert_priorities(factory: Factory, calls: list[Call]) -> None:
    """No caller was passed over for a lower-priority caller of the same language by a
    counsellor who speaks it: when the decision that served the lower one read the
    waiting callers, the higher one was not waiting without an offer."""
    reservations: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}  # (decided, made)
    first: dict[int, tuple[dt.datetime, int | None]] = {}
    for event in factory.session.scalars(
        sa.select(CallEvent).where(CallEvent.kind == "reserved").order_by(CallEvent.id)
    ):
        decided = dt.datetime.fromisoformat(event.data["decided_at"])
        reservations.setdefault(event.call_id, []).append((decided, event.occurred_at))
        first.setdefault(event.call_id, (decided, event.data["interpreter_id"]))
    slack = dt.timedelta(milliseconds=500)  # a caller queued as the decision began reading
    for b in calls:
        if b.id not in first or first[b.id][1] is not None:
            continue  # served through an interpreter: another pool of staff
        decided = first[b.id][0]
        for a in calls:
            if a.language != b.language or a.priority <= b.priority or a.queued_at is None:
                continue
            waiting = a.queued_at < decided - slack and (a.dequeued_at or decided) >= decided
            # Offered by that decision (before the lower one, in its order) or an earlier one.
            offered_before = any(when <= decided for when, _ in reservations.get(a.id, []))
            if waiting and not offered_before:
                pytest.fail(
                    f"a priority {a.priority} caller waited while a priority "
                    f"{b.priority} caller of the same language was served"
                )
