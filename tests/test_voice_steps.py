"""The IVR step's Core reads and writes (helpline/voice/steps.py), against the database."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from helpline.extensions import db
from helpline.ivr import engine
from helpline.models import Call, CallbackRequest, CallerConsent, CallEvent, utcnow
from helpline.models.enums import CallEventKind, CallOutcome, ConsentKind
from helpline.voice import steps
from tests.factories import Factory

NOW = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)


def _step(
    state: engine.State, *effects: engine.Effect, events: tuple[engine.Event, ...] = ()
) -> engine.Step:
    return engine.Step(state=state, action=engine.Hangup(()), events=events, effects=effects)


def _state(**vars_: str | int) -> engine.State:
    return engine.State(flow="default", version="v1", node="n", language="ar", vars=dict(vars_))


def _dequeued(call: Call) -> dt.datetime | None:
    return call.dequeued_at


def test_load_reads_the_call_its_caller_and_the_latest_consent(
    app: Flask, factory: Factory
) -> None:
    caller = factory.caller("+905321110001", language="ar")
    call = factory.call(caller, language="ar", ivr_state={"node": "x"})
    for granted in (True, False):  # answered twice: the latest answer counts
        factory.session.add(
            CallerConsent(caller=caller, kind=ConsentKind.REMEMBER_LANGUAGE, is_granted=granted)
        )
        factory.session.commit()
    withheld = factory.call(None)
    with app.app_context():
        found = steps.load(db.session, call.call_sid)
        assert found is not None
        assert (found.id, found.caller_id, found.language) == (call.id, caller.id, "ar")
        assert found.ivr_state == {"node": "x"}
        assert found.consent(ConsentKind.REMEMBER_LANGUAGE) is False
        facts = steps.facts_for(found, NOW)
        assert facts.caller_known
        assert facts.remembered_language is None
        anonymous = steps.load(db.session, withheld.call_sid)
        assert anonymous is not None
        assert anonymous.caller_id is None
        assert steps.facts_for(anonymous, NOW).caller_known is False
        assert steps.load(db.session, "CA" + "0" * 32) is None


def test_apply_step_writes_the_call_its_timeline_and_effects(app: Flask, factory: Factory) -> None:
    caller = factory.caller("+905321110002")
    call = factory.call(caller)
    with app.app_context():
        ivr = steps.load(db.session, call.call_sid)
        assert ivr is not None
        step = _step(
            _state(topic="violence", priority=2),
            engine.Consent(ConsentKind.REMEMBER_LANGUAGE, True),
            engine.Queued(),
            engine.CallbackWanted("queue_key"),
            engine.Outcome(CallOutcome.CALLBACK_REQUESTED),
            engine.Voicemail(),  # a settled outcome stands
            events=(
                engine.Event(CallEventKind.KEY_PRESSED, {"key": "1"}),
                engine.Event(CallEventKind.LANGUAGE_SELECTED, {"language": "ar"}),
            ),
        )
        steps.apply_step(db.session, ivr, step, "default")
        db.session.commit()
        stored = db.session.get(Call, call.id)
        assert stored is not None
        assert (stored.topic, stored.priority, stored.language) == ("violence", 2, "ar")
        assert stored.flow_id == "default"
        assert stored.ivr_state == step.state.to_json()
        assert stored.queued_at is not None
        assert stored.language_selected_at is not None
        assert stored.outcome == CallOutcome.CALLBACK_REQUESTED
        assert stored.caller is not None
        assert stored.caller.preferred_language == "ar"
        kinds = db.session.scalars(
            sa.select(CallEvent.kind).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
        ).all()
        assert kinds == [CallEventKind.KEY_PRESSED, CallEventKind.LANGUAGE_SELECTED]
        wanted = db.session.scalars(sa.select(CallbackRequest)).one()
        assert (wanted.call_id, wanted.language, wanted.priority) == (call.id, "ar", 2)
        assert wanted.queue_entered_at == stored.queued_at


def test_apply_step_on_an_orm_call_leaves_no_stale_values(app: Flask, factory: Factory) -> None:
    """A webhook holding the ORM call reads what the step wrote, not what it loaded."""
    call = factory.call(None, queued_at=utcnow() - dt.timedelta(seconds=90))
    with app.app_context():
        held = db.session.get(Call, call.id)
        assert held is not None
        assert _dequeued(held) is None
        steps.apply_step(
            db.session, steps.IvrCall.of(held), _step(_state(), engine.Dequeued("left")), "f"
        )
        assert db.session.get(Call, call.id) is held
        assert _dequeued(held) is not None  # the ORM copy was expired, and reloads
        db.session.commit()
