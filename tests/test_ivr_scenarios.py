"""The flow scenarios in ivr_flows/tests/, and `helpline simulate` in every language."""

from __future__ import annotations

import dataclasses
import re

import pytest
from click.testing import CliRunner
from flask import Flask

from helpline.cli import main
from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr.scenarios import load_scenarios, run_scenario

SCENARIOS = load_scenarios(DEFAULT_FLOWS_PATH)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_flow_scenario(app: Flask, scenario: object) -> None:
    """Each scenario file entry plays through the real webhooks as it says."""
    settings = app.extensions["helpline.settings"]
    app.extensions["helpline.settings"] = dataclasses.replace(
        settings, duty_line_number="+905550000183"
    )
    result = run_scenario(app, scenario)  # type: ignore[arg-type]
    assert result.passed, "\n".join(result.failures) + "\n" + result.transcript.render()


def test_there_are_scenarios_for_every_language() -> None:
    languages = {s.expect.get("language") for s in SCENARIOS}
    assert {"tr", "ar", "fa", "ps", "ku", "en"} <= languages


@pytest.mark.parametrize(
    ("key", "language"),
    [("1", "tr"), ("2", "ar"), ("3", "fa"), ("4", "ps"), ("5", "ku"), ("6", "en")],
)
def test_simulate_walks_a_full_path_in_each_language(key: str, language: str) -> None:
    """`helpline simulate` from the first menu to a confirmed callback, in each language."""
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            f"press {key}; press 2; press 1; press 1; press 1",
            "--at",
            "2026-11-23T14:00+03:00",
        ],
    )
    assert result.exit_code == 0, result.output
    path = [
        "choose_language",
        "remember_language",
        "choose_topic",
        "callback_or_message",
        "callback",
    ]
    assert "path: " + " -> ".join(path) in result.output
    assert (
        f"language: {language}  topic: psychosocial  outcome: callback_requested" in result.output
    )
    assert "call ends, hangup by TwiML" in result.output
    if language in ("fa", "ps", "ku"):
        assert re.search(rf'/voice/audio/{language}/goodbye\.mp3  "', result.output)


def test_simulate_refuses_a_bad_script() -> None:
    result = CliRunner().invoke(main, ["simulate", "dance wildly"])
    assert result.exit_code == 1
    assert "script:" in result.output


def test_flows_test_command_runs_the_scenarios() -> None:
    result = CliRunner().invoke(main, ["flows", "test", "--path", str(DEFAULT_FLOWS_PATH)])
    assert result.exit_code == 0, result.output
    assert f"{len(SCENARIOS)} passed, 0 failed" in result.output
