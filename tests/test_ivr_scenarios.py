"""The flow scenarios in ivr_flows/tests/, and `helpline simulate` in every language."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from helpline.cli import main
from helpline.config import DEFAULT_FLOWS_PATH
from helpline.sandbox.scenarios import load_scenarios, run_scenario

SCENARIOS = load_scenarios(DEFAULT_FLOWS_PATH)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_flow_scenario(app: Flask, scenario: object) -> None:
    """Each scenario file entry plays through the real webhooks as it says."""
    settings = app.extensions["helpline.settings"]
    app.extensions["helpline.settings"] = dataclasses.replace(
        settings, duty_line_numbers=("+905550000183",)
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


def test_simulate_against_a_running_helpline(
    database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`helpline simulate --url` calls a helpline served over HTTP, signing as Twilio does."""
    import socket
    import threading

    from werkzeug.serving import make_server

    from helpline import create_app
    from tests.cli_env import use_settings
    from tests.conftest import _empty_tables, make_settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, redis_url, tmp_path / "i", PUBLIC_BASE_URL=base)
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        use_settings(
            monkeypatch,
            settings,
            TWILIO_ACCOUNT_SID=settings.twilio_account_sid or "",
            TWILIO_AUTH_TOKEN=settings.twilio_auth_token or "",
        )
        result = CliRunner().invoke(main, ["simulate", "--url", base, "press 6; press 2; hangup"])
        assert result.exit_code == 0, result.output
        assert "For English, press 6." in result.output
        assert "/voice/step?n=choose_language" in result.output
        assert " 403" not in result.output
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        _empty_tables(app)
