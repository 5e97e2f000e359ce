"""`helpline demo-traffic`: call plans (pure, table-driven), reading calls, and a run.

The end-to-end test plays a handful of callers through a real SandboxServer against the
real helpline served over HTTP, and finds them in the helpline's database.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr.loader import load_catalog
from helpline.ivr.model import Flow
from helpline.sandbox.emulator.control import CALLER
from helpline.sandbox.emulator.server import SandboxServer
from helpline.sandbox.script import Script
from helpline.sandbox.traffic import (
    KINDS,
    CallPlan,
    ControlClient,
    FlowKeys,
    Mix,
    Outcome,
    SandboxError,
    Tally,
    demo_traffic,
    describe,
    parse_duration,
    parse_rate,
    plan_call,
    plan_traffic,
    run_traffic,
)
from tests.browser import free_port, serve
from tests.conftest import _empty_tables, make_settings

DUTY_LINE = "+905550000183"


@pytest.fixture(scope="module")
def flow() -> Flow:
    catalog, problems = load_catalog(DEFAULT_FLOWS_PATH)
    assert problems == []
    return catalog.flows["default"]


@pytest.fixture(scope="module")
def keys(flow: Flow) -> FlowKeys:
    return FlowKeys.from_flow(flow)


# Parsing


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("6/min", 0.1), ("6", 0.1), ("0.5/s", 0.5), ("90/h", 0.025), ("600 / min", 10.0)],
)
def test_traffic_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "fast", "0/min", "-1/min", "6/day", "1000/s"])
def test_traffic_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("2m30s", 150)],
)
def test_traffic_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0s", "5 minutes", "8d"])
def test_traffic_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


# The keys of a flow


def test_traffic_keys_are_read_from_the_default_flow(keys: FlowKeys) -> None:
    """The language, topic, callback, message and emergency keys of ivr_flows/default.yaml."""
    assert keys.languages == {"tr": "1", "ar": "2", "fa": "3", "ps": "4", "ku": "5", "en": "6"}
    assert keys.remember == ("1", "2")
    assert keys.topics == {
        "psychosocial": "1",
        "child_protection": "2",
        "violence": "3",
        "elderly_disability": "4",
        "social_assistance": "5",
    }
    assert keys.callback == ("1", "1")
    assert keys.message == "2"
    assert keys.emergency == "9"


def test_traffic_keys_follow_the_flow_when_it_changes(flow: Flow) -> None:
    """Nothing is hard-coded: moved keys, a missing question, no callback option."""
    nodes = dict(flow.nodes)
    nodes["choose_language"] = dataclasses.replace(
        nodes["choose_language"], languages={"7": "ar", "8": "tr"}, next="emergency_notice"
    )
    menu = nodes["callback_or_message"]
    nodes["callback_or_message"] = dataclasses.replace(menu, choices={"4": menu.choices["2"]})
    changed = dataclasses.replace(
        flow,
        nodes=nodes,
        global_keys=dataclasses.replace(flow.global_keys, emergency="#"),
    )
    keys = FlowKeys.from_flow(changed)
    assert keys.languages == {"ar": "7", "tr": "8"}
    assert keys.remember is None
    assert keys.callback is None
    assert keys.message == "4"
    assert keys.emergency == "#"


# Plans


def only(**choices: Any) -> Mix:
    """A mix where one kind, language and topic are certain, and nothing is left to chance
    but the seconds of waits and recordings."""
    return Mix(
        kinds={choices.pop("kind"): 1},
        languages={choices.pop("language", "ar"): 1},
        other_language=0,
        topics={choices.pop("topic", "violence"): 1},
        other_topic=0,
        withheld=choices.pop("withheld", 0.0),
        remember_yes=choices.pop("remember_yes", 1.0),
        impatient=choices.pop("impatient", 0.0),
        **choices,
    )


@pytest.mark.parametrize(
    ("mix", "kind", "language", "topic", "script"),  # language: the one chosen, or those allowed
    [
        # The same steps as the sandbox's own end-to-end Arabic callback caller.
        (only(kind="callback"), "callback", "ar", "violence",
         "press 2; press 1; press 3; press 1; press 1"),
        (only(kind="topic", language="tr", topic="psychosocial", remember_yes=0.0), "topic",
         "tr", "psychosocial", "press 1; press 2; press 1; hangup"),
        (only(kind="message", language="fa", topic="social_assistance"), "message", "fa",
         "social_assistance", r"press 3; press 1; press 5; press 2; record \d+"),
        # A withheld number is never asked to be remembered, and cannot be called back.
        (only(kind="callback", withheld=1.0), "message", "ar", "violence",
         r"press 2; press 3; press 2; record \d+"),
        (only(kind="gives-up", language="ku"), "gives-up", "ku", None,
         "press 5; press 1; hangup"),
        (only(kind="topic", language="en", impatient=1.0), "topic", "en", "violence",
         r"wait [1-3]; press 6; press 1; press 3; hangup"),
        (only(kind="early-hangup"), "early-hangup", None, None, r"wait \d+; hangup"),
        (only(kind="silent"), "silent", None, None, r"wait \d+; hangup"),
        # At once in the language menu, or after choosing a language.
        (only(kind="emergency", language="ps"), "emergency", (None, "ps"), None,
         r"wait \d; press 9|press 4; press 1; wait \d; press 9"),
    ],
)  # fmt: skip
def test_traffic_plan_call(
    keys: FlowKeys,
    mix: Mix,
    kind: str,
    language: str | tuple[str | None, ...] | None,
    topic: str | None,
    script: str,
) -> None:
    """Each kind of caller gets a script built from the flow's keys, in simulate's syntax."""
    languages = language if isinstance(language, tuple) else (language,)
    for seed in range(20):
        plan = plan_call(keys, mix, random.Random(seed), 1.0, random.Random(seed))
        assert plan.kind == kind
        assert re.fullmatch(script, plan.script), plan.script
        assert plan.language in languages
        assert plan.topic == topic
        assert str(Script.parse(plan.script)) == plan.script
        assert (plan.duty is not None) == (kind == "emergency")


def test_traffic_emergency_sets_how_the_duty_line_answers(keys: FlowKeys) -> None:
    plans = [
        plan_call(keys, only(kind="emergency"), random.Random(seed), 0.0, random.Random(0))
        for seed in range(200)
    ]
    duties = Counter(str(plan.duty["kind"]) for plan in plans if plan.duty)
    assert set(duties) == {"answer", "busy", "no-answer"}
    assert duties["answer"] > duties["busy"] + duties["no-answer"]
    for plan in plans:
        assert plan.duty is not None
        if plan.duty["kind"] == "answer":
            assert 3 <= float(str(plan.duty["after"])) <= 12


def test_traffic_plans_are_deterministic_for_a_seed(keys: FlowKeys) -> None:
    """The seed fixes callers and scripts; the numbers are fresh each run unless given."""

    def plans(seed: int, numbers: random.Random | None = None) -> list[CallPlan]:
        return plan_traffic(keys, Mix(), random.Random(seed), rate=1.0, count=50, numbers=numbers)

    first, again = plans(7), plans(7)
    without_numbers = [dataclasses.replace(plan, caller="") for plan in first]
    assert without_numbers == [dataclasses.replace(plan, caller="") for plan in again]
    assert plans(7, random.Random(1)) == plans(7, random.Random(1))
    assert [plan.script for plan in plans(8)] != [plan.script for plan in first]


def test_traffic_mix_looks_like_an_ssc_line(keys: FlowKeys) -> None:
    """Arabic and Turkish most, emergencies rare, a few withheld numbers; Poisson arrivals."""
    plans = plan_traffic(
        keys, Mix(), random.Random(183), rate=0.1, duration=20 * 3600, numbers=random.Random(1)
    )
    assert 7200 - 4 * 85 < len(plans) < 7200 + 4 * 85  # 6/min for 20 h: 7200, sd about 85
    gaps = [b.at - a.at for a, b in itertools.pairwise(plans)]
    assert sum(gaps) / len(gaps) == pytest.approx(10.0, rel=0.05)
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(10.0 * 0.693, rel=0.1)  # exponential
    languages = Counter(plan.language for plan in plans if plan.language)
    ranked = [language for language, _ in languages.most_common()]
    assert ranked[:2] == ["ar", "tr"]
    assert set(ranked[2:]) == {"fa", "ps", "ku", "en"}
    kinds = Counter(plan.kind for plan in plans)
    assert set(kinds) == set(KINDS)
    assert kinds["emergency"] / len(plans) < 0.05
    assert kinds["topic"] == max(kinds.values())
    withheld = sum(plan.withheld for plan in plans) / len(plans)
    assert 0.04 < withheld < 0.08
    topics = Counter(plan.topic for plan in plans if plan.topic)
    assert set(topics) == set(keys.topics)


def test_traffic_caller_numbers_are_valid_unique_and_first_time(keys: FlowKeys) -> None:
    plans = plan_traffic(keys, Mix(), random.Random(5), rate=1.0, count=2000)
    numbers = [plan.caller for plan in plans if not plan.withheld]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert CALLER.fullmatch(number)
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
    countries = Counter(phonenumbers.parse(number).country_code for number in numbers)
    assert countries.most_common(1)[0][0] == 90
    assert {963, 98, 93} <= set(countries)


# Reading a call's events


def request(url: str, status: int | str = 200, purpose: str = "gather action") -> dict[str, Any]:
    return {"kind": "request", "detail": f"→ POST {url} [{purpose}] {status}"}


@pytest.mark.parametrize(
    ("events", "path", "end", "dial", "statuses"),
    [
        (
            [
                request("http://h/voice/incoming", purpose="voice"),
                request("http://h/voice/step?n=choose_language&t=1&e=digits"),
                request("http://h/voice/step?n=choose_language&t=2&e=timeout", purpose="redirect"),
                request("http://h/voice/step?n=choose_topic&t=3&e=digits"),
                {"kind": "ended", "text": "hangup by TwiML", "at": 75.2},
                request("http://h/voice/status", purpose="status callback completed"),
            ],
            ["choose_language", "choose_topic"], "hangup by TwiML", None, [200] * 5,
        ),
        (
            [
                request("http://h/voice/step?n=duty_line&t=1&e=digits", status=403),
                {"kind": "dialed", "detail": "dials +905550000183: connected for 30.5s"},
                {"kind": "ended", "text": "hangup by caller", "at": 3},
            ],
            ["duty_line"], "hangup by caller", "answered", [403],
        ),
        (
            [
                {"kind": "dialed", "detail": "dials +905550000183: no-answer"},
                request("http://h/voice/step?n=x", status="no answer"),
            ],
            ["x"], "", "no-answer", [None],
        ),
    ],
)  # fmt: skip
def test_traffic_outcome_reads_events(
    events: list[dict[str, Any]],
    path: list[str],
    end: str,
    dial: str | None,
    statuses: list[int | None],
) -> None:
    outcome = Outcome(CallPlan(0, "+905321112233", "topic", "ar", "violence", "press 2"))
    outcome.read(events[:1])
    outcome.read(events[1:])  # events come in batches as the call is polled
    assert (outcome.path, outcome.end, outcome.dial, outcome.statuses) == (
        path,
        end,
        dial,
        statuses,
    )


def test_traffic_lines_never_show_a_number() -> None:
    plan = CallPlan(0, "+905321112233", "emergency", "ar", None, "press 2; press 9")
    outcome = Outcome(plan, sid="CA1", ended=True)
    outcome.read(
        [
            request("http://h/voice/step?n=duty_line", status=403),
            {"kind": "dialed", "detail": "dials +905550000183: busy"},
            {"kind": "error", "text": "bad TwiML"},
            {"kind": "ended", "text": "hangup by TwiML", "at": 61},
        ]
    )
    line = describe(3, outcome)
    assert line.startswith("#3 ")
    assert "ar" in line
    assert "emergency" in line
    assert "transfer busy" in line
    assert "the line hung up after 1m01s" in line
    assert "the app answered 403" in line
    assert not re.search(r"\+?[0-9]{7,}", line)
    tally = Tally()
    tally.add(outcome)
    text = "\n".join(tally.lines())
    assert "calls: 1 placed, 1 ended" in text
    assert "TWILIO_AUTH_TOKEN" in text  # a 403 says what to check
    assert not re.search(r"\+?[0-9]{7,}", text)


class FakeSandbox(ControlClient):
    """The control API without a network: calls end as soon as they are placed."""

    def __init__(self, refuse: set[int] | None = None, lose: set[str] | None = None) -> None:
        super().__init__("http://sandbox.test")
        self.refuse = refuse or set()
        self.lose = lose or set()
        self.placed: list[tuple[str, str]] = []
        self.set: list[tuple[str, dict[str, object]]] = []

    def request(self, method: str, path: str, body: object = None) -> Any:
        if path == "/sandbox/api/phones" and method == "GET":
            return {"phones": [{"number": DUTY_LINE, "behaviour": {"kind": "human"}}]}
        if path == "/sandbox/api/phones":
            assert isinstance(body, dict)
            self.set.append((body["number"], body["behaviour"]))
            return {}
        if path == "/sandbox/api/calls":
            assert isinstance(body, dict)
            if len(self.placed) + 1 in self.refuse:
                self.placed.append(("refused", ""))
                raise SandboxError("more than 200 calls at once", 429)
            self.placed.append((body["from"], body["script"]))
            return {"sid": f"CA{len(self.placed)}"}
        if any(path.startswith(f"/sandbox/api/calls/{sid}?") for sid in self.lose):
            raise SandboxError("no call", 404)
        events = [{"kind": "ended", "text": "hangup by caller", "at": 12.0}]
        return {"ended": True, "events": events, "last": 0}


def test_traffic_run_places_each_call_and_leaves_human_phones_alone(keys: FlowKeys) -> None:
    """A person's phone (set on the practice phone) keeps its behaviour; a 429 is counted;
    a call the sandbox forgot ends the run's interest in it, not the run."""
    plans = plan_traffic(
        keys, only(kind="emergency"), random.Random(2), rate=10.0, count=4, numbers=None
    )
    sandbox = FakeSandbox(refuse={2}, lose={"CA3"})
    lines: list[str] = []
    moments = iter(range(1000))
    tally = run_traffic(
        sandbox,
        plans,
        lines.append,
        duty_line=DUTY_LINE,
        phones={DUTY_LINE: {"kind": "answer"}, "+905550000102": {"kind": "busy"}},
        clock=lambda: float(next(moments)),
        sleep=lambda seconds: None,
    )
    assert [number for number, _ in sandbox.set] == ["+905550000102"]
    assert [script for _, script in sandbox.placed if script] == [
        plan.script for index, plan in enumerate(plans, 1) if index != 2
    ]
    assert len(lines) == 4
    assert sum("not placed: more than 200 calls at once" in line for line in lines) == 1
    assert sum("error: the sandbox lost the call: no call" in line for line in lines) == 1
    assert "calls: 3 placed, 3 ended, 1 not placed by the sandbox" in tally.lines()


# End to end


@pytest.fixture
def helpline_over_http(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Any]:
    port = free_port()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "i",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        DUTY_LINE_NUMBER=DUTY_LINE,
    )
    from helpline import create_app

    app = create_app(settings)
    try:
        with serve(app, port), SandboxServer(settings, port=0, speed=50.0) as sandbox:
            yield app, sandbox
    finally:
        _empty_tables(app)


def calls_in(app: Flask) -> list[Any]:
    from helpline.extensions import db
    from helpline.models import Call

    with app.app_context():
        rows = list(db.session.scalars(sa.select(Call)))
        db.session.remove()
    return rows


def test_traffic_command_plays_callers_through_the_sandbox_to_the_app(
    helpline_over_http: tuple[Flask, SandboxServer], keys: FlowKeys
) -> None:
    """Five callers at 600/min: each reaches the helpline, which logs its language and topic."""
    app, sandbox = helpline_over_http
    seed = 11
    args = ["--url", sandbox.url, "--calls", "5", "--rate", "600/min", "--seed", str(seed)]
    result = CliRunner().invoke(demo_traffic, [*args, "--duty-line", DUTY_LINE, "--drain", "60"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("demo traffic: 600 calls/min 5 calls (seed 11)")
    assert len([line for line in lines if line.startswith("#")]) == 5
    assert "calls: 5 placed, 5 ended, 0 not placed by the sandbox" in lines
    assert re.search(r"^requests: \d+, all answered 200$", result.output, re.MULTILINE)
    assert not re.search(r"\+?[0-9]{7,}", result.output)  # no number, ever
    assert sandbox.exchange.settle(10)

    plans = plan_traffic(keys, Mix(), random.Random(seed), rate=10.0, count=5)
    calls = calls_in(app)
    assert len(calls) == 5
    assert {call.twilio_status for call in calls} == {"completed"}
    assert Counter(call.language for call in calls if call.language) == Counter(
        plan.language for plan in plans if plan.language
    )
    assert Counter(call.topic for call in calls if call.topic) == Counter(
        plan.topic for plan in plans if plan.topic
    )
    registered = {phone["number"] for phone in ControlClient(sandbox.url).phones()}
    assert DUTY_LINE in registered
    assert len(registered) > 1  # the demo staff's phones too


def test_traffic_command_says_when_the_sandbox_is_not_running() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(demo_traffic, ["--url", url, "--calls", "1"])
    assert result.exit_code == 1
    assert f"cannot reach the sandbox at {url}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "lots"], "a rate is a number of calls"),
        (["--duration", "forever"], "a duration is like 90s"),
        (["--flow", "nothing"], "no flow 'nothing'"),
        (["--calls", "0"], "--calls"),
    ],
)
def test_traffic_command_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(demo_traffic, args)
    assert result.exit_code != 0
    assert message in result.output
