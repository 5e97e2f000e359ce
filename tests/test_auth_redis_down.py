"""Console login while Redis is down: throttling falls back to this process's memory."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from helpline.auth.throttle import LocalWindows
from helpline.embedded import EmbeddedRedis
from tests.factories import Factory, login
from tests.voice import app_on, dead_redis_url

OUTAGE_LINE = "login throttle: Redis unreachable"


@pytest.fixture
def down(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with its REDIS_URL at a Redis that is not running."""
    yield from app_on(database_url, dead_redis_url(), tmp_path / "down")


def test_login_works_with_redis_down_and_logs_the_outage_once(
    down: Flask, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis unreachable, logging in works (no 500), a failed attempt is refused as
    usual, and the log says once that throttling is local, naming no account or address."""
    factory.staff("ayse", roles=("supervisor",))
    caplog.set_level(logging.INFO)
    client = down.test_client()
    assert login(client, "ayse", "wrong password here").status_code == 401
    response = login(client, "ayse", REMOTE_ADDR="198.51.100.23")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # logged in: sent on to the landing page
    messages = [record.getMessage() for record in caplog.records]
    assert sum(OUTAGE_LINE in message for message in messages) == 1
    outage = next(message for message in messages if OUTAGE_LINE in message)
    assert "ayse" not in outage
    assert "198.51.100.23" not in outage


def test_login_local_limit_refuses_with_redis_down(down: Flask, factory: Factory) -> None:
    """The local limit has the same numbers as the shared one: after 5 failures an account
    is refused even with the right password, and an address spraying accounts is stopped
    after 30, while another address still logs in."""
    factory.staff("target")
    factory.staff("victim")
    client = down.test_client()
    for _ in range(5):
        assert login(client, "target", "wrong password here").status_code == 401
    refused = login(client, "target")
    assert refused.status_code == 429
    assert "Too many failed attempts" in refused.get_data(as_text=True)
    sprayer = down.test_client()
    for n in range(30):
        assert login(sprayer, f"nobody{n}", "wrong", REMOTE_ADDR="203.0.113.9").status_code == 401
    assert login(sprayer, "victim", REMOTE_ADDR="203.0.113.9").status_code == 429
    assert login(down.test_client(), "victim", REMOTE_ADDR="198.51.100.7").status_code == 302


def test_login_throttle_survives_redis_dying_mid_run(
    database_url: str, tmp_path: Path, factory: Factory
) -> None:
    """Redis dies between attempts: the next attempts are counted locally (login works,
    the limit still refuses), and failures counted while it was down still count after
    it comes back, empty."""
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    try:
        for app in app_on(database_url, server.url, tmp_path / "instance"):
            factory.staff("target")
            factory.staff("other")
            client = app.test_client()
            for _ in range(2):
                assert login(client, "target", "wrong password here").status_code == 401
            server.kill()
            assert login(app.test_client(), "other").status_code == 302
            for _ in range(5):
                assert login(client, "target", "wrong password here").status_code == 401
            assert login(client, "target").status_code == 429
            server.restart()
            assert login(client, "target").status_code == 429
            assert login(app.test_client(), "other").status_code == 302
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("steps", "key", "now", "expected"),
    [
        ([("incr", 0.0)], "a", 1.0, (1, 899.0)),
        ([("incr", 0.0), ("incr", 10.0)], "a", 20.0, (2, 880.0)),  # the first starts it
        ([("incr", 0.0)], "a", 900.0, None),  # the window is over
        ([("incr", 0.0), ("incr", 950.0)], "a", 951.0, (1, 899.0)),  # a new window
        ([("incr", 0.0), ("delete", 1.0)], "a", 2.0, None),
        ([("incr", 0.0)], "b", 1.0, None),
    ],
)
def test_local_windows_count_failures_in_fixed_windows(
    steps: list[tuple[str, float]], key: str, now: float, expected: tuple[int, float] | None
) -> None:
    """Local windows start at the first failure, last the window, and are cleared by a
    success, as the Redis ones are."""
    windows = LocalWindows()
    for action, at in steps:
        if action == "incr":
            windows.incr("a", 900, at)
        else:
            windows.delete("a")
    assert windows.get(key, now) == expected


def test_local_windows_stay_bounded() -> None:
    """A flood of addresses cannot grow the local table past its bound; the windows that
    last longest are kept."""
    windows = LocalWindows(max_keys=3)
    for n in range(10):
        windows.incr(f"k{n}", 900, float(n))
    assert windows.get("k9", 10.0) is not None
    assert windows.get("k0", 10.0) is None
    assert sum(windows.get(f"k{n}", 10.0) is not None for n in range(10)) <= 3
