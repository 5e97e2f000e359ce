"""Fault: Redis stopped while callers are in the IVR (`pytest -m fault`).

A Redis this test starts itself (never the shared one) is stopped as an operator would
stop it, with calls in flight and real worker processes. While it is down, console login
works, every webhook answers valid TwiML (the IVR in degraded mode: the duty line), and
the instance stays ready. Started again, the line recovers: the four promises of
tests/test_faults.py hold, and the next caller reaches a counsellor.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from helpline.embedded import EmbeddedRedis
from helpline.sandbox.emulator.legs import Leg
from tests.factories import login
from tests.live import all_answered
from tests.test_faults import QUICK, Traffic, _answered, _assert_line_held, _line, _settings

pytestmark = [pytest.mark.fault, pytest.mark.slow]

DUTY = "+905550000184"


def _duty_legs(traffic: Traffic) -> list[Leg]:
    return [leg for leg in traffic.line.sandbox.exchange.list_legs() if leg.setup.to == DUTY]


def test_fault_redis_stopped_login_ivr_and_readiness_hold(
    database_url: str, tmp_path: Path
) -> None:
    """Redis stopped with callers in the IVR: login works, callers still get TwiML and the
    duty line, /healthz/ready stays 200 naming Redis as degraded; started again, the
    workers come back to it and the line routes to counsellors again."""
    server = EmbeddedRedis(tmp_path / "redis", persist=True)
    settings = _settings(database_url, server.url, tmp_path, DUTY_LINE_NUMBER=DUTY)
    try:
        with _line(settings, tmp_path) as traffic:
            line = traffic.line
            line.sandbox.exchange.set_phone(DUTY, QUICK)
            line.factory.staff("supervisor", roles=("supervisor",))
            traffic.wave()
            line.until(lambda: _answered(traffic) >= 1, "a first caller to be answered")

            server.terminate()
            during = traffic.wave(2)  # callers while Redis is down
            client = line.app.test_client()
            assert login(client, "supervisor").status_code == 302
            assert client.get("/supervisor/", follow_redirects=True).status_code == 200
            ready = client.get("/healthz/ready")
            assert ready.status_code == 200
            assert ready.get_json()["degraded"] == ["redis"]
            for leg in during:
                line.when(leg, lambda c: c.ended_at, "an outage caller's call to end", seconds=120)
                all_answered(leg)
            assert _duty_legs(traffic), "the duty line rang for the callers during the outage"
            assert client.get("/healthz/ready").status_code == 200

            seen = len(line.worker_log.read_text())
            server.restart()
            line.until(lambda: _working_since(line.worker_log, seen), "the worker to work again")
            assert client.get("/healthz/ready").get_json()["status"] == "ok"
            traffic.wave()
            _assert_line_held(traffic, redis.Redis.from_url(server.url))
            assert [worker.poll() for worker in line.workers] == [None]
    finally:
        server.stop()


def _working_since(log: Path, offset: int) -> bool:
    """The worker works again, whichever way it rode out the outage: RQ retried its wait
    for a job on its own (its next job completes), or RQ's loop ended and ours started it
    again (it listens anew)."""
    text = log.read_text()[offset:]
    return "Listening on" in text or "Successfully completed job" in text
