"""The pure IVR engine, driven without Flask or a database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr import engine, model
from helpline.ivr.loader import load_catalog

CATALOG, _ = load_catalog(DEFAULT_FLOWS_PATH)
FLOW = CATALOG.flows["default"]
SCHEDULES = CATALOG.schedules
MONDAY_2PM = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)  # 14:00 Istanbul
MONDAY_3AM = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)
REPUBLIC_DAY = dt.datetime(2026, 10, 29, 11, 0, tzinfo=dt.UTC)


def facts(**kw: object) -> engine.Facts:
    return engine.Facts(now=kw.pop("now", MONDAY_2PM), **kw)  # type: ignore[arg-type]


def run(keys: list[str], **kw: object) -> engine.Step:
    """Start a call and feed it keys ("-" is silence)."""
    f = facts(**kw)
    step = engine.start(FLOW, SCHEDULES, f)
    for key in keys:
        event = engine.Input("timeout") if key == "-" else engine.Input("digits", key)
        step = engine.advance(FLOW, SCHEDULES, step.state, event, f)
    return step


def test_start_plays_welcome_and_each_language_in_itself() -> None:
    step = engine.start(FLOW, SCHEDULES, facts())
    assert isinstance(step.action, engine.Ask)
    assert step.state.node == "choose_language"
    options = [
        (p.language, dict(p.params)["key"])
        for p in step.action.prompts
        if p.key == "language_option"
    ]
    assert options == [("tr", "1"), ("ar", "2"), ("fa", "3"), ("ps", "4"), ("ku", "5"), ("en", "6")]
    assert step.action.prompts[0] == engine.PromptRef("welcome", "tr")


@pytest.mark.parametrize(
    ("keys", "node", "language"),
    [
        (["1"], "remember_language", "tr"),
        (["4", "1"], "choose_topic", "ps"),
        (["-", "-", "-"], "choose_topic", "tr"),  # two re-prompts, then the default language
        (["7", "7", "7"], "choose_topic", "tr"),
        (["5", "2", "1"], "callback_or_message", "ku"),
        (["6", "2", "#"], "choose_language", "en"),
        (["6", "2", "0"], "choose_language", "en"),
        (["6", "2", "*"], "choose_topic", "en"),
    ],
)
def test_paths_through_the_default_flow(keys: list[str], node: str, language: str) -> None:
    step = run(keys)
    assert (step.state.node, step.state.language) == (node, language)


def test_emergency_key_dials_the_duty_line_from_every_menu() -> None:
    for prefix in ([], ["1"], ["1", "2"], ["1", "2", "1"], ["1", "2", "1", "1"]):
        step = run([*prefix, "9"])
        assert isinstance(step.action, engine.Dial), prefix
        assert step.action.number == "duty_line"
        assert engine.Outcome("emergency_transfer") in step.effects


def test_remembered_language_skips_the_menu() -> None:
    step = engine.start(
        FLOW,
        SCHEDULES,
        facts(remembered_language="fa", consents_given=frozenset({"remember_language"})),
    )
    assert step.state.node == "choose_topic"
    assert step.state.language == "fa"
    assert {p.language for p in step.action.prompts} == {"fa"}


def test_unknown_caller_is_not_asked_to_be_remembered() -> None:
    step = run(["2"], caller_known=False)
    assert step.state.node == "choose_topic"


@pytest.mark.parametrize(
    ("now", "is_open"), [(MONDAY_2PM, True), (MONDAY_3AM, False), (REPUBLIC_DAY, False)]
)
def test_schedule_decides_open_or_closed(now: dt.datetime, is_open: bool) -> None:
    step = run(["1", "2", "1"], now=now)
    checked = [e for e in step.events if e.kind == "hours_checked"]
    assert checked
    assert checked[0].data["open"] is is_open
    assert (engine.Outcome("out_of_hours") in step.effects) is not is_open


def test_retries_play_the_right_reprompt() -> None:
    silent = run(["-"])
    assert silent.action.prompts[0].key == "no_input"
    wrong = run(["8"])
    assert wrong.action.prompts[0].key == "invalid_input"
    assert wrong.state.retries == 1


def test_callback_request_is_an_effect_with_its_reason() -> None:
    step = run(["1", "2", "3", "1", "1"])
    assert engine.CallbackWanted("queue_key") in step.effects
    assert engine.Consent("callback", True) in step.effects
    assert isinstance(step.action, engine.Hangup)
    assert step.state.is_done
    closed = run(["1", "2", "3", "1", "1"], now=MONDAY_3AM)
    assert engine.CallbackWanted("out_of_hours") in closed.effects


def test_voicemail_then_goodbye() -> None:
    step = run(["1", "2", "1", "2"])
    assert isinstance(step.action, engine.Record)
    done = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("record"), facts())
    assert engine.Voicemail() in done.effects
    assert isinstance(done.action, engine.Hangup)
    empty = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("record_empty"), facts())
    assert engine.Voicemail() not in empty.effects


def test_input_that_does_not_fit_the_node_replays_it() -> None:
    step = run(["1"])
    odd = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("record"), facts())
    assert odd.state.node == step.state.node
    assert any(e.kind == "out_of_sequence" for e in odd.events)


def test_finished_call_only_hangs_up() -> None:
    step = run(["1", "2", "3", "1", "1"])
    after = engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", "1"), facts())
    assert isinstance(after.action, engine.Hangup)
    assert after.action.prompts == ()


def test_engine_never_mutates_the_state_it_is_given() -> None:
    step = run(["1"])
    before = step.state.to_json()
    engine.advance(FLOW, SCHEDULES, step.state, engine.Input("digits", "1"), facts())
    assert step.state.to_json() == before


def test_state_and_flow_survive_json() -> None:
    step = run(["2", "1", "3"])
    assert engine.State.from_json(step.state.to_json()) == step.state
    assert model.flow_from_json(model.flow_to_json(FLOW)) == FLOW


def test_state_json_names_every_field_and_copies_what_can_change() -> None:
    """`State.to_json` is written out by hand for speed: it must stay what asdict gives."""
    state = run(["2", "1", "3"]).state
    assert state.vars
    assert state.history
    written = state.to_json()
    assert written == dataclasses.asdict(state)
    written["vars"]["topic"] = "changed"
    written["history"].append("changed")
    written["asked"].append("changed")
    assert written != state.to_json()


def test_a_loop_without_input_is_refused_at_run_time() -> None:
    nodes = {
        "a": model.Node(id="a", type="set", line=1, next="b"),
        "b": model.Node(id="b", type="set", line=2, next="a"),
    }
    flow = model.Flow(
        id="loop",
        version="x",
        title="",
        start="a",
        languages=("en",),
        default_language="en",
        global_keys=FLOW.global_keys,
        emergency_node="a",
        language_node="a",
        nodes=nodes,
    )
    with pytest.raises(engine.FlowError):
        engine.start(flow, SCHEDULES, facts())
