"""The emergency path: the duty line(s), then the front of the queue for any counsellor,
and a voicemail flagged urgent only when nobody at all is logged in (or routing is down).

Pure tests of the router, the engine, the linter and the TwiML; then signed webhooks.
The live path (sandbox, worker) is in tests/test_emergency_live.py.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.config import DEFAULT_FLOWS_PATH, Settings
from helpline.extensions import db, get_redis
from helpline.ivr import engine
from helpline.ivr.lint import check
from helpline.ivr.loader import load_catalog
from helpline.ivr.twiml import Renderer, Urls
from helpline.models import Call, CallEvent
from helpline.routing import presence
from helpline.routing.policy import AgeRule, Policy, Stage
from helpline.routing.router import (
    Match,
    StaffMember,
    WaitingCall,
    decide,
    needs_interpreter,
    stage_for,
    stage_name,
)
from helpline.routing.waiting import list_waiting
from tests.conftest import DUTY_LINE_NUMBERS
from tests.factories import Factory
from tests.voice import Phone

CATALOG, _ = load_catalog(DEFAULT_FLOWS_PATH)
FLOW = CATALOG.flows["default"]
SCHEDULES = CATALOG.schedules
NOW = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
POLICY = Policy(
    stages=(Stage(30, "language_and_topic"), Stage(90, "language"), Stage(240, "interpreter")),
    max_wait=900,
    bridge_language="tr",
    priorities={"emergency": 10, "violence": 3},
    age_groups={"child": AgeRule("child_protection", 90, 3)},
)
DUTY = DUTY_LINE_NUMBERS


# --- the router (pure) ------------------------------------------------------------------


def _staff(
    staff_id: int,
    languages: tuple[str, ...],
    *,
    interpreter: bool = False,
    available: bool = True,
    idle: int = 0,
    topics: tuple[str, ...] = (),
) -> StaffMember:
    return StaffMember(
        staff_id=staff_id,
        is_counsellor=not interpreter,
        is_interpreter=interpreter,
        languages=frozenset(languages),
        topics=frozenset(topics),
        is_available=available,
        idle_since=NOW - dt.timedelta(seconds=idle),
    )


def _emergency(call_id: int, language: str, waited: int = 1) -> WaitingCall:
    return WaitingCall(
        call_id,
        language,
        None,
        POLICY.priority_of(None, is_emergency=True),
        NOW - dt.timedelta(seconds=waited),
        is_emergency=True,
    )


def _ordinary(call_id: int, language: str, waited: int = 1) -> WaitingCall:
    return WaitingCall(call_id, language, None, 0, NOW - dt.timedelta(seconds=waited))


@pytest.mark.parametrize(
    ("name", "waiting", "staff", "expected"),
    [
        (
            "a Kurmanji emergency goes to the only counsellor, who speaks Turkish",
            [_emergency(1, "ku")],
            [_staff(10, ("tr",))],
            [Match(1, 10, None, 0, is_emergency=True)],
        ),
        (
            "a counsellor of the caller's language first, though another idled longer",
            [_emergency(1, "ar")],
            [_staff(10, ("tr",), idle=500), _staff(11, ("ar",), idle=5)],
            [Match(1, 11, None, 0, is_emergency=True)],
        ),
        (
            "then a bridge counsellor with a free interpreter, both at once",
            [_emergency(1, "ps")],
            [
                _staff(10, ("ar",), idle=500),
                _staff(11, ("tr",)),
                _staff(20, ("ps", "tr"), interpreter=True),
            ],
            [Match(1, 11, 20, 0, is_emergency=True)],
        ),
        (
            "no interpreter free: the longest-idle counsellor alone",
            [_emergency(1, "ps")],
            [
                _staff(10, ("ar",), idle=500),
                _staff(11, ("tr",)),
                _staff(20, ("ps", "tr"), interpreter=True, available=False),
            ],
            [Match(1, 10, None, 0, is_emergency=True)],
        ),
        (
            "ahead of a caller who waited longer: the emergency priority",
            [_ordinary(1, "tr", waited=80), _emergency(2, "ku")],
            [_staff(10, ("tr",))],
            [Match(2, 10, None, 0, is_emergency=True)],
        ),
        (
            "nobody free: no match (the caller keeps their place at the front)",
            [_emergency(1, "ku")],
            [_staff(10, ("tr",), available=False)],
            [],
        ),
        (
            "an interpreter alone is no counsellor",
            [_emergency(1, "ku")],
            [_staff(20, ("ku", "tr"), interpreter=True)],
            [],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_router_emergency_caller_is_offered_to_any_counsellor(
    name: str, waiting: list[WaitingCall], staff: list[StaffMember], expected: list[Match]
) -> None:
    """An emergency caller comes first, to the closest fit among the free counsellors, else
    to any free counsellor whatever their language."""
    assert decide(waiting, staff, NOW, POLICY) == expected, name


def test_router_emergency_caller_is_never_offered_to_who_declined_it() -> None:
    """A refusal holds for an emergency caller too: the next counsellor is offered, and the
    one who declined stays free for the caller behind."""
    waiting = [_emergency(1, "ku"), _ordinary(2, "tr", waited=60)]
    staff = [_staff(10, ("tr",), idle=500), _staff(11, ("ar",))]
    assert decide(waiting, staff, NOW, POLICY, {1: frozenset({10})}) == [
        Match(1, 11, None, 0, is_emergency=True),
        Match(2, 10, None, 1),  # waited 60 s: any counsellor of the language
    ]
    assert decide(waiting[:1], staff[:1], NOW, POLICY, {1: frozenset({10})}) == []


def test_router_ordinary_caller_is_not_offered_to_another_language() -> None:
    """Without the emergency, a Kurmanji caller is never given a Turkish counsellor alone."""
    assert decide([_ordinary(1, "ku", waited=500)], [_staff(10, ("tr",))], NOW, POLICY) == []


@pytest.mark.parametrize(
    ("staff", "stage"),
    [
        ([_staff(10, ("tr",), available=False)], 0),  # logged in, busy: the caller waits
        (
            [_staff(20, ("ku", "tr"), interpreter=True)],
            None,
        ),  # only an interpreter: nobody to wait for
        ([], None),
    ],
)
def test_router_emergency_caller_can_wait_when_any_counsellor_is_logged_in(
    staff: list[StaffMember], stage: int | None
) -> None:
    """The emergency queue is open while any counsellor at all is logged in."""
    assert stage_for(_emergency(1, "ku"), staff, NOW, POLICY).stage == stage


def test_router_stage_name_of_an_emergency_match() -> None:
    """The reservation's timeline entry names the emergency, not a policy stage."""
    assert stage_name(Match(1, 10, None, 0, is_emergency=True), POLICY) == "emergency"
    assert stage_name(Match(1, 10, None, 1), POLICY) == "language"


@pytest.mark.parametrize(
    ("language", "spoken", "needed"),
    [("ku", {"tr"}, True), ("ku", {"ku", "tr"}, False), (None, {"tr"}, False)],
)
def test_router_needs_interpreter_when_the_counsellor_lacks_the_language(
    language: str | None, spoken: set[str], needed: bool
) -> None:
    """An interpreter joins a connected emergency call whose counsellor lacks the language."""
    assert needs_interpreter(language, spoken) is needed


# --- the engine (pure) ------------------------------------------------------------------


def _facts(emergency: str, queue: str = engine.QUEUE_BUSY) -> engine.Facts:
    return engine.Facts(
        now=NOW,
        queue_status=lambda _language, _topic: queue,
        emergency_status=lambda _language: emergency,
    )


def _duty_line_fails(emergency: str, status: str = "no-answer") -> engine.Step:
    """Kurmanji, then the emergency key at the consent question, then the duty line ends."""
    facts = _facts(emergency)
    step = engine.start(FLOW, SCHEDULES, facts)
    for key in ("5", "9"):
        step = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", key), facts)
    assert isinstance(step.action, engine.Dial)
    assert step.action.number == "duty_line"
    return engine.advance(
        FLOW, SCHEDULES, step.state, engine.Input("dial", dial_status=status), facts
    )


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_engine_unanswered_duty_line_puts_the_caller_at_the_front_of_the_queue(
    status: str,
) -> None:
    """Busy, no answer or failed: the caller waits in the emergency queue, in their
    language, and the step alerts the duty supervisor (`emergency_queued`)."""
    step = _duty_line_fails(engine.QUEUE_OPEN, status)
    assert step.state.node == "emergency_queue"
    assert isinstance(step.action, engine.Enqueue)
    assert step.action.queue == "ku"
    assert engine.Queued(emergency=True) in step.effects
    kinds = [event.kind for event in step.events]
    assert kinds.index("emergency_queued") < kinds.index("queued")
    assert "urgent" not in step.state.vars


@pytest.mark.parametrize("status", [engine.QUEUE_BUSY, engine.QUEUE_DOWN])
def test_engine_nobody_logged_in_or_routing_down_leaves_an_urgent_message(status: str) -> None:
    """The last resort: the voicemail runs with `urgent` set in the state's variables."""
    step = _duty_line_fails(status)
    assert step.state.node == "voicemail"
    assert isinstance(step.action, engine.Record)
    assert step.state.vars["urgent"] is True
    assert "emergency_queued" not in [event.kind for event in step.events]
    assert not any(isinstance(effect, engine.Queued) for effect in step.effects)


def test_engine_emergency_queue_asks_whether_any_counsellor_is_logged_in() -> None:
    """The emergency queue asks `emergency_status`, never the language-and-topic question."""
    asked: list[str] = []

    def anyone(language: str) -> str:
        asked.append(language)
        return engine.QUEUE_OPEN

    facts = engine.Facts(
        now=NOW, queue_status=lambda *_: pytest.fail("asked"), emergency_status=anyone
    )
    step = engine.start(FLOW, SCHEDULES, facts)
    for key in ("5", "9"):
        step = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", key), facts)
    engine.advance(FLOW, SCHEDULES, step.state, engine.Input("dial", dial_status="busy"), facts)
    assert asked == ["ku"]


def test_engine_emergency_key_while_waiting_rings_the_duty_line_first() -> None:
    """A caller waiting in the ordinary queue who presses the emergency key leaves it for
    the duty line; unanswered, they wait again at the front."""
    facts = _facts(engine.QUEUE_OPEN, queue=engine.QUEUE_OPEN)
    step = engine.start(FLOW, SCHEDULES, facts)
    for key in ("2", "2", "3"):
        step = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", key), facts)
    assert step.state.node == "hand_off"
    left = engine.hold_key(FLOW, step.state, "9", facts)
    step = engine.advance(
        FLOW, SCHEDULES, left.state, engine.Input("queue", queue_result="leave"), facts
    )
    assert step.state.node == "duty_line"
    step = engine.advance(
        FLOW, SCHEDULES, step.state, engine.Input("dial", dial_status="no-answer"), facts
    )
    assert step.state.node == "emergency_queue"
    assert engine.Queued(emergency=True) in step.effects


# --- the renderer -----------------------------------------------------------------------


def test_render_duty_line_rings_every_duty_number_in_one_dial() -> None:
    """Several duty numbers are nouns of one <Dial>: rung together, the first answer wins."""
    renderer = Renderer(CATALOG, Urls("https://line.example"), {"duty_line": DUTY}, None)
    facts = _facts(engine.QUEUE_OPEN)
    step = engine.start(FLOW, SCHEDULES, facts)
    step = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", "9"), facts)
    document = renderer.render(step)
    assert document.count("<Dial") == 1
    assert "<Number>+905550000183</Number><Number>+905550000184</Number>" in document
    assert 'timeout="20"' in document
    fallback = renderer.fallback("tr")
    assert "<Number>+905550000183</Number><Number>+905550000184</Number>" in fallback


# --- the linter -------------------------------------------------------------------------


def _flows_with(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "ivr_flows"
    shutil.copytree(DEFAULT_FLOWS_PATH, root, ignore=shutil.ignore_patterns("tests", "audio"))
    (root / "audio").symlink_to(DEFAULT_FLOWS_PATH / "audio")
    flow = root / "default.yaml"
    text = flow.read_text(encoding="utf-8")
    assert old in text
    flow.write_text(text.replace(old, new), encoding="utf-8")
    return root


def test_lint_emergency_path_to_a_voicemail_before_the_queue_is_refused(tmp_path: Path) -> None:
    """The default flow as it was (duty line -> duty_unavailable -> voicemail) fails."""
    root = _flows_with(tmp_path, "on_failure: emergency_queue", "on_failure: duty_unavailable")
    _, problems = check(root)
    found = [p for p in problems if p.kind == "emergency"]
    assert len(found) == 1, problems
    assert "voicemail 'voicemail' before any queue" in found[0].message
    assert "duty_line -> duty_unavailable -> voicemail" in found[0].message


def test_lint_emergency_path_to_an_ordinary_queue_is_refused(tmp_path: Path) -> None:
    """A queue on the emergency path must take any counsellor (`emergency: true`)."""
    root = _flows_with(tmp_path, "on_failure: emergency_queue", "on_failure: hand_off")
    _, problems = check(root)
    assert [p.kind for p in problems if "'hand_off'" in p.message] == ["emergency"], problems


def test_lint_voicemail_after_the_emergency_queue_is_allowed() -> None:
    """Past the emergency queue (its busy and unavailable paths), a message may follow."""
    _, problems = check(DEFAULT_FLOWS_PATH)
    assert problems == []
    queue = FLOW.nodes["emergency_queue"]
    assert queue.emergency
    assert FLOW.nodes[queue.busy or ""].assign == {"urgent": True}


def test_loader_urgent_takes_only_true_or_false(tmp_path: Path) -> None:
    """`urgent` is a flag: `set: {urgent: yes please}` is a schema problem."""
    root = _flows_with(tmp_path, "set: {urgent: true}", "set: {urgent: soon}")
    _, problems = check(root)
    assert any("'urgent' takes true or false" in p.message for p in problems), problems


# --- signed webhooks --------------------------------------------------------------------


def _on_duty(app: Flask, factory: Factory, languages: tuple[str, ...]) -> int:
    staff = factory.staff("counsellor.tr", languages=languages, phone="+905550000901")
    with app.app_context():
        presence.set_state(get_redis(), db.session, staff.id, "available", reason="console")
        db.session.commit()
    return staff.id


def _kinds(factory: Factory, call: Call) -> list[str]:
    query = sa.select(CallEvent.kind).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
    return list(factory.session.scalars(query))


def _emergency_call(phone: Phone, factory: Factory, status: str) -> Call:
    phone.dial_in()
    phone.press("5")  # Kurmanji
    dial = phone.press("9")  # the emergency key, at the consent question
    numbers = [n.text for n in dial.iter("Number")]
    assert numbers == list(DUTY)
    phone.dial_ends(status)
    factory.session.expire_all()
    return factory.session.scalars(sa.select(Call).where(Call.call_sid == phone.call_sid)).one()


def test_webhook_unanswered_duty_line_queues_the_caller_for_another_language(
    duty_app: Flask, client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """With only a Turkish counsellor logged in, a Kurmanji caller whose duty line was
    busy is enqueued (not sent to a voicemail), marked an emergency at the front of the
    waiting callers, and the timeline alerts the duty supervisor."""
    staff_id = _on_duty(duty_app, factory, ("tr",))
    phone = Phone(client, settings)
    call = _emergency_call(phone, factory, "busy")
    assert phone.last is not None
    assert phone.last.find("Record") is None
    assert (phone.last.findtext("Enqueue") or "") == "helpline-ku"
    assert call.is_emergency
    assert call.queued_at is not None
    assert "emergency_queued" in _kinds(factory, call)
    with duty_app.app_context():
        waiting = list_waiting(db.session, POLICY)
        on_duty = presence.on_duty(get_redis()).members
    assert [(w.call_id, w.priority, w.is_emergency) for w in waiting] == [(call.id, 10, True)]
    assert decide(waiting, on_duty, NOW, POLICY) == [Match(call.id, staff_id, None, 0, True)]


def test_webhook_nobody_logged_in_records_an_urgent_message(
    duty_app: Flask, client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """No counsellor logged in: the duty line unanswered leads to a voicemail, and the call's
    IVR state carries `urgent` when the voicemail node runs."""
    phone = Phone(client, settings)
    call = _emergency_call(phone, factory, "no-answer")
    assert phone.last is not None
    assert phone.last.find("Record") is not None
    assert phone.node() == "voicemail"
    assert call.ivr_state is not None
    assert call.ivr_state["vars"]["urgent"] is True
    assert not call.is_emergency
    assert "emergency_queued" not in _kinds(factory, call)
