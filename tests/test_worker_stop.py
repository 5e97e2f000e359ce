"""`helpline worker` as a real process stops within 20 s of SIGTERM, idle or busy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from rq import Queue

from helpline.config import Settings
from helpline.embedded import EmbeddedRedis
from tests.cli_env import child_environ, settings_environ
from tests.conftest import make_settings

STOP_SECONDS = 20
LISTENING = "Listening on"
# SIGTERM at different moments of the worker's life: just started, between its waits for
# a job, during its maintenance (every 10 s) and as its blocking wait ends (20 s).
DELAYS = (1.0, 3.0, 10.5, 21.0)


def _start(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "helpline", "worker"],
            env=child_environ(
                **settings_environ(settings), PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1"
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_for(log: Path, marker: str, process: subprocess.Popen[bytes], count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while log.read_text(errors="replace").count(marker) < count:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"no {marker!r}:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


def _stops_in_time(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # faulthandler: every thread's stack to the log
        process.wait(timeout=10)
        pytest.fail(f"the worker ignored SIGTERM for {STOP_SECONDS} s:\n{log.read_text()[-6000:]}")
    assert code == 0, log.read_text()[-3000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_worker_stops_within_20_seconds_of_sigterm(
    settings: Settings, redis_url: str, tmp_path: Path, busy: bool
) -> None:
    """SIGTERM stops the worker (its scheduler, its pubsub thread, every restart of its
    loop) within 20 s, every time: idle, and while a job runs (which it lets finish)."""
    connection = redis.Redis.from_url(redis_url)
    try:
        for attempt, delay in enumerate(DELAYS[:2] if busy else DELAYS):
            log = tmp_path / f"worker-{attempt}.log"
            process = _start(settings, log)
            try:
                _wait_for(log, LISTENING, process)
                time.sleep(delay)
                if busy:
                    job = Queue("maintenance", connection=connection).enqueue(time.sleep, 3)
                    while job.get_status() != "started":
                        assert process.poll() is None, log.read_text()[-3000:]
                        time.sleep(0.05)
                _stops_in_time(process, log)
                if busy:
                    assert job.get_status() == "finished", log.read_text()[-3000:]
            finally:
                _stop(process)
    finally:
        connection.flushdb()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("down_from_start", "delay"),
    [(False, 0.5), (False, 4.0), (True, 0.5)],
    ids=["just-lost", "lost-a-while", "never-there"],
)
def test_worker_stops_within_20_seconds_of_sigterm_while_redis_is_down(
    database_url: str, tmp_path: Path, down_from_start: bool, delay: float
) -> None:
    """SIGTERM stops a worker whose Redis is unreachable, within 20 s and cleanly: RQ's
    handler asks Redis whether a job runs, and that failure must not be taken for an
    outage to wait out; nor may a signal between two starts (the worker's own restart
    loop) kill it half-way, or be ignored (as it is by PID 1 in a container)."""
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    settings = make_settings(database_url, server.url, tmp_path / "instance")
    log = tmp_path / "worker.log"
    try:
        if down_from_start:
            server.kill()
        process = _start(settings, log)
        try:
            if down_from_start:
                _wait_for(log, "starting again", process, count=2)
            else:
                _wait_for(log, LISTENING, process)
                server.kill()
                _wait_for(log, "could not connect to Redis", process)
            time.sleep(delay)
            _stops_in_time(process, log)
        finally:
            _stop(process)
    finally:
        server.stop()
