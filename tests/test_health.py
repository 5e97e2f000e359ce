"""Liveness and readiness: an outage of Redis or the database never takes away the web
servers the degraded IVR needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpline.health import readiness
from tests.voice import Phone, app_on, dead_redis_url


def _dead_database_url() -> str:
    # The port of a Redis URL nothing listens at serves as well for PostgreSQL.
    port = dead_redis_url().rsplit(":", 1)[1].split("/")[0]
    return f"postgresql://postgres@127.0.0.1:{port}/helpline"


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ({"flows": "ok", "database": "ok", "redis": "ok"}, ("ok", 200, [])),
        ({"flows": "ok", "database": "ok", "redis": "unreachable"}, ("degraded", 200, ["redis"])),
        (
            {"flows": "ok", "database": "unreachable", "redis": "unreachable"},
            ("degraded", 200, ["database", "redis"]),
        ),
        ({"flows": "not loaded", "database": "ok", "redis": "ok"}, ("unavailable", 503, [])),
    ],
)
def test_readiness_is_lost_only_when_webhooks_cannot_be_answered(
    checks: dict[str, str], expected: tuple[str, int, list[str]]
) -> None:
    """Redis or the database down leave the instance ready (degraded, naming the part);
    flows not loaded make it not ready."""
    assert readiness(checks) == expected


def test_health_live_and_ready_when_all_answers(client: FlaskClient) -> None:
    """Everything up: live, and ready with nothing degraded; /healthz answers as ready."""
    assert client.get("/healthz/live").get_json() == {"status": "live"}
    for path in ("/healthz/ready", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.get_json()["status"] == "ok"
        assert response.get_json()["degraded"] == []


def test_health_ready_with_redis_down_says_degraded(database_url: str, tmp_path: Path) -> None:
    """Redis down: /healthz/ready and /healthz stay 200 and name Redis as degraded, and
    the IVR does answer a caller."""
    for app in app_on(database_url, dead_redis_url(), tmp_path / "i"):
        client = app.test_client()
        for path in ("/healthz/ready", "/healthz"):
            response = client.get(path)
            assert response.status_code == 200
            body = response.get_json()
            assert body["status"] == "degraded"
            assert body["degraded"] == ["redis"]
            assert body["checks"]["redis"] == "unreachable"
        assert client.get("/healthz/live").status_code == 200
        phone = Phone(client, app.extensions["helpline.settings"])
        phone.dial_in()
        assert phone.last is not None


def test_health_ready_with_database_down_says_degraded(tmp_path: Path) -> None:
    """The database down (and Redis too): still ready, naming both parts."""
    for app in app_on(_dead_database_url(), dead_redis_url(), tmp_path / "i"):
        response = app.test_client().get("/healthz/ready")
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "degraded"
        assert body["degraded"] == ["database", "redis"]


def test_health_not_ready_without_flows(app: Flask, client: FlaskClient) -> None:
    """An instance whose flows are not loaded cannot answer webhooks: 503 on ready (and
    /healthz), while /healthz/live still answers 200."""
    app.extensions.pop("helpline.flows")
    for path in ("/healthz/ready", "/healthz"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.get_json()["status"] == "unavailable"
        assert response.get_json()["checks"]["flows"] == "not loaded"
    assert client.get("/healthz/live").status_code == 200
