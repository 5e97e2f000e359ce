"""Callbacks under faults, with real RQ worker processes, real Redis and the sandbox.

- Workers killed with SIGKILL in the middle of callback jobs, twenty times: each caller
  is dialled at most once per attempt, and every callback is still made.
- Redis restarted empty while callbacks are due (a Redis this test starts, never the
  shared one): the sweeper finds them in the database and they are made.
- The same callback enqueued many times, to two workers at once: one dial.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from helpline import create_app
from helpline.config import Settings
from helpline.embedded import redis_server_binary
from helpline.extensions import db, get_queue
from helpline.models import CallbackRequest, utcnow
from helpline.models.enums import CallbackStatus
from helpline.tasks.callbacks import dial_callback, enqueue_dial_callback
from tests.callbacks import (
    TALKS,
    callback_settings,
    enqueue,
    legs_to,
    request_callback,
    short_wrap_up_flows,
)
from tests.conftest import _empty_tables
from tests.factories import Factory
from tests.live import ROOT, Line, kill_9, live_line, stop_workers, worker_environ
from tests.voice import OPEN

COUNSELLORS = 6


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """The line's flows, with a one-second wrap-up so counsellors take the next callback."""
    return short_wrap_up_flows(tmp_path)


@pytest.fixture
def sweep_seconds() -> str:
    """CALLBACK_SWEEP_SECONDS: the default, unless a test asks for a faster sweeper."""
    return "20"


@pytest.fixture
def settings(
    database_url: str, redis_url: str, tmp_path: Path, flows: Path, sweep_seconds: str
) -> Settings:
    return callback_settings(
        database_url,
        redis_url,
        tmp_path,
        IVR_FLOWS_PATH=str(flows),
        CALLBACK_RATE_PER_SECOND="4",
        CALLBACK_SWEEP_SECONDS=sweep_seconds,
    )


def staff_on_duty(line: Line, count: int = COUNSELLORS) -> None:
    for n in range(count):
        line.on_duty(f"counsellor.ar{n}", f"+9055500007{n:02d}", languages=("ar",))


def start_worker(line: Line, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=worker_environ(settings, line.sandbox),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def listening(log: Path) -> bool:
    return "Listening on" in log.read_text()


def dials_per_attempt(line: Line, number: str) -> collections.Counter[str]:
    """How many legs the sandbox rang at this number, per attempt's call id."""
    counts: collections.Counter[str] = collections.Counter()
    for leg in legs_to(line, number):
        urls = [request.url for request in leg.transcript.requests()]
        call_ids = {parse_qs(urlsplit(url).query).get("c", ["?"])[0] for url in urls}
        for call_id in call_ids or {"?"}:
            counts[call_id] += 1
    return counts


def all_done(line: Line, ids: list[int]) -> bool:
    session = line.factory.session
    statuses = session.scalars(
        sa.select(CallbackRequest.status).where(CallbackRequest.id.in_(ids))
    ).all()
    return all(status == CallbackStatus.COMPLETED for status in statuses)


@pytest.mark.slow
@pytest.mark.fault
# The sweeper every 4 s (20 s by default): attempts lost to the kills are settled 12 s
# after their claim instead of 60 s. A dial slower than that (a loaded machine) is settled
# too and tried again; that is a second attempt, so the assertions below still hold. The
# other tests here assert exactly one dial, and keep the default.
@pytest.mark.parametrize("sweep_seconds", ["4"], ids=["sweep-4s"])
def test_callbacks_survive_workers_killed_mid_job(
    app: Flask, settings: Settings, factory: Factory, tmp_path: Path
) -> None:
    """Twenty times a worker is killed with SIGKILL while it runs a callback job; a new
    one starts. Every caller is dialled at most once per attempt, and every callback is
    made in the end: a lost attempt is found by the sweeper and tried again."""
    rng = random.Random(183)
    with live_line(app, settings, factory, tmp_path, workers=0) as line:
        staff_on_duty(line)
        numbers = [f"+9053211130{n:02d}" for n in range(12)]
        ids = []
        for number in numbers:
            line.sandbox.exchange.set_phone(number, TALKS)
            ids.append(request_callback(factory, number=number, max_attempts=20).id)
        for callback_id in ids:
            enqueue(app, callback_id)
        logs = tmp_path / "workers"
        logs.mkdir()
        kills = 0
        while kills < 20:
            log = logs / f"worker-{kills}.log"
            worker = start_worker(line, settings, log)
            line.until(functools.partial(listening, log), "a worker to start")
            started = log.read_text().count("callbacks: ")
            deadline = time.monotonic() + 30
            while log.read_text().count("callbacks: ") == started:
                if time.monotonic() > deadline or all_done(line, ids):
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.25))  # somewhere in the job
            kill_9(worker)
            kills += 1
            if all_done(line, ids):
                for callback_id in ids:  # more work to kill: callbacks made again
                    factory.session.execute(
                        sa.update(CallbackRequest)
                        .where(CallbackRequest.id == callback_id)
                        .values(status=CallbackStatus.PENDING, next_attempt_at=utcnow())
                    )
                factory.session.commit()
                for callback_id in ids:
                    enqueue(app, callback_id)
        survivor = start_worker(line, settings, logs / "survivor.log")
        try:
            line.until(lambda: all_done(line, ids), "every callback to be made", seconds=240)
        finally:
            stop_workers([survivor])
        factory.session.expire_all()
        for callback_id, number in zip(ids, numbers, strict=True):
            callback = factory.session.get(CallbackRequest, callback_id)
            assert callback is not None
            per_attempt = dials_per_attempt(line, number)
            assert all(count == 1 for count in per_attempt.values()), per_attempt
            assert sum(per_attempt.values()) <= callback.attempts


@pytest.mark.slow
@pytest.mark.fault
def test_callbacks_duplicate_enqueue_dials_once(line_two_workers: Line) -> None:
    """The same callback enqueued eight times (by its job id and by hand), to two
    workers: one attempt, one dial."""
    line = line_two_workers
    staff_on_duty(line, 2)
    line.sandbox.exchange.set_phone("+905321114000", TALKS)
    callback = request_callback(line.factory, number="+905321114000")
    with line.app.app_context():
        for _ in range(4):
            enqueue_dial_callback(callback.id)
        for n in range(4):
            get_queue("callbacks").enqueue(dial_callback, callback.id, job_id=f"dup-{n}")
    line.until(lambda: all_done(line, [callback.id]), "the callback to be made")
    assert line.sandbox.exchange.settle(60)
    line.factory.session.expire_all()
    done = line.factory.session.get(CallbackRequest, callback.id)
    assert done is not None
    assert done.attempts == 1
    assert len(legs_to(line, "+905321114000")) == 1


@pytest.fixture
def line_two_workers(
    app: Flask, settings: Settings, factory: Factory, tmp_path: Path
) -> Iterator[Line]:
    with live_line(app, settings, factory, tmp_path, workers=2) as running:
        yield running


class RestartableRedis:
    """A redis-server on a fixed Unix socket, so it can be stopped and started again
    (empty) at the same URL."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="helpline-cb-"))
        self.socket = self.folder / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        args = [redis_server_binary(), "--port", "0", "--unixsocket", str(self.socket)]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.fault
def test_callbacks_happen_after_redis_restarts_empty(
    database_url: str, tmp_path: Path, flows: Path
) -> None:
    """Callbacks are scheduled in RQ, then Redis is killed and started again empty: the
    scheduled jobs are gone, but the sweeper finds the due callbacks in the database,
    presence comes back from the database, and every callback is made."""
    server = RestartableRedis()
    server.start()
    settings = callback_settings(database_url, server.url, tmp_path, IVR_FLOWS_PATH=str(flows))
    app = create_app(settings, {"TESTING": True})
    app.extensions["helpline.clock"] = lambda: OPEN
    with app.app_context():
        engine = db.engine
    factory = Factory(sa.orm.Session(engine))
    try:
        with live_line(app, settings, factory, tmp_path, workers=1) as line:
            staff_on_duty(line, 3)
            numbers = [f"+9053211150{n:02d}" for n in range(3)]
            ids = []
            due = utcnow() + dt.timedelta(seconds=3)
            for number in numbers:
                line.sandbox.exchange.set_phone(number, TALKS)
                callback = request_callback(factory, number=number)
                callback.next_attempt_at = due
                factory.session.commit()
                ids.append(callback.id)
                with app.app_context():
                    enqueue_dial_callback(callback.id, due)
            server.stop()  # the scheduled jobs, presence and the queues are gone
            server.start()
            line.until(lambda: all_done(line, ids), "every callback to be made", seconds=120)
            for number in numbers:
                assert len(legs_to(line, number)) == 1
    finally:
        factory.session.close()
        _empty_tables(app)
        server.remove()
