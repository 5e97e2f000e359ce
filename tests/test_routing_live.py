"""Live routing end to end: callers through the real IVR, staff phones, real RQ workers.

The app runs in this process behind the telephony sandbox (served over HTTP, so the
worker processes reach its REST API as they would reach Twilio's). Staff are put on duty
as the console does, their phones answer as simulated people do, and an RQ worker started
from worker.py dials them. Every webhook is signed and must be answered with 200.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from helpline.config import Settings
from helpline.extensions import db, get_redis
from helpline.models import Call, CallEvent, Staff
from helpline.routing import presence
from helpline.telephony.emulator.legs import Leg
from helpline.telephony.emulator.phones import Behaviour
from helpline.telephony.emulator.server import SandboxServer
from helpline.telephony.transport import FlaskTransport
from tests.cli_env import child_environ, settings_environ
from tests.factories import Factory

ROOT = Path(__file__).resolve().parent.parent
OPEN = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)  # Monday 14:00 in Istanbul
SPEED = 50.0
# Arabic (2), do not remember (2), violence (3), then wait in the queue.
ARABIC_VIOLENCE = "press 2; press 2; press 3; wait 3000"
PASHTO_PSYCHOSOCIAL = "press 4; press 2; press 1; wait 3000"
ACCEPTS = Behaviour("answer", after=3, talk=150, keys="1")
SILENT = Behaviour("answer", after=3, talk=150, keys="")  # picks up, never presses 1


@dataclasses.dataclass
class Line:
    app: Flask
    factory: Factory
    sandbox: SandboxServer
    worker_log: Path

    def on_duty(
        self,
        username: str,
        phone: str,
        behaviour: Behaviour = ACCEPTS,
        roles: tuple[str, ...] = ("counsellor",),
        languages: tuple[str, ...] = ("tr",),
        topics: tuple[str, ...] = ("psychosocial",),
    ) -> Staff:
        """A member of staff whose phone behaves so, made available as the console does."""
        staff = self.factory.staff(
            username, roles=roles, languages=languages, topics=topics, phone=phone, password=None
        )
        self.sandbox.exchange.set_phone(phone, behaviour)
        with self.app.app_context():
            presence.set_state(get_redis(), db.session, staff.id, "available", reason="console")
            db.session.commit()
        return staff

    def call(self, number: str, script: str) -> Leg:
        return self.sandbox.exchange.place_call(number, script=script)

    def until(self, condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
        """Wait for the condition (a bound for failure, not a measure of speed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.factory.session.expire_all()
            found = condition()
            if found:
                return found
            time.sleep(0.05)
        self.factory.session.rollback()
        log = self.worker_log.read_text(errors="replace")[-4000:]
        pytest.fail(f"timed out waiting for {what}; worker log:\n{log}")

    def record(self, leg: Leg) -> Call:
        return self.factory.session.scalars(sa.select(Call).where(Call.call_sid == leg.sid)).one()

    def when(self, leg: Leg, holds: Callable[[Call], object], what: str) -> Call:
        """The leg's call once `holds` is true of it."""

        def check() -> Call | None:
            call = self.factory.session.scalars(
                sa.select(Call).where(Call.call_sid == leg.sid)
            ).one_or_none()
            return call if call is not None and holds(call) else None

        found: Call = self.until(check, what)
        return found

    def events(self, call: Call) -> list[CallEvent]:
        return list(
            self.factory.session.scalars(
                sa.select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
            )
        )


@pytest.fixture
def line(app: Flask, settings: Settings, factory: Factory, tmp_path: Path) -> Iterator[Line]:
    app.extensions["helpline.clock"] = lambda: OPEN  # the counselling hours are open
    sandbox = SandboxServer(
        settings,
        port=0,
        speed=SPEED,
        transport=FlaskTransport(app, settings.public_base_url),
    ).start()
    env = child_environ(
        **settings_environ(
            settings,
            TWILIO_ACCOUNT_SID=settings.twilio_account_sid or "",
            TWILIO_AUTH_TOKEN=settings.twilio_auth_token or "",
            TWILIO_API_BASE_URL=sandbox.url,
            PUBLIC_BASE_URL=settings.public_base_url,
        )
    )
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")], env=env, stdout=out, stderr=out
        )
    try:
        ready = Line(app, factory, sandbox, worker_log)
        ready.until(lambda: "Listening on" in worker_log.read_text(), "the worker to start")
        yield ready
    finally:
        sandbox.stop()
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def all_answered(leg: Leg) -> None:
    """Every request the sandbox made for this leg was accepted (no 403, no error)."""
    requests = leg.transcript.requests()
    assert requests, leg.transcript.render()
    assert {request.status for request in requests} == {200}, leg.transcript.render()
    assert leg.transcript.errors() == [], leg.transcript.render()


def kinds(events: list[CallEvent]) -> list[str]:
    return [event.kind for event in events]


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
