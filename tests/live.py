"""The live line for end-to-end tests: the app in-process behind the telephony sandbox
(served over HTTP, so worker processes reach its REST API as they would reach Twilio's),
real RQ workers started from worker.py, and staff put on duty as the console does.

The `line` fixture (tests/conftest.py) is one `live_line` with one worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from helpline.config import Settings
from helpline.extensions import db, get_redis
from helpline.models import Call, CallEvent, Staff
from helpline.routing import presence
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.server import SandboxServer
from helpline.sandbox.transport import FlaskTransport
from tests.cli_env import child_environ, settings_environ
from tests.factories import Factory
from tests.voice import OPEN

ROOT = Path(__file__).resolve().parent.parent
SPEED = 50.0
# Arabic (2), do not remember (2), violence (3), then wait in the queue.
ARABIC_VIOLENCE = "press 2; press 2; press 3"
PASHTO_PSYCHOSOCIAL = "press 4; press 2; press 1"
ACCEPTS = Behaviour("answer", after=3, talk=150, keys="1")
SILENT = Behaviour("answer", after=3, talk=150, keys="")  # picks up, never presses 1


def children(pid: int) -> list[int]:
    """The processes whose parent is pid (an RQ work horse runs in a session of its own,
    so signalling the worker's process group does not reach it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its work horse, at once."""
    _kill([*children(process.pid), process.pid])
    process.wait(10)


def stop_workers(processes: list[subprocess.Popen[bytes]], seconds: float = 30) -> None:
    """Stop worker processes as a supervisor would (SIGTERM: each finishes its job), and
    SIGKILL whatever is left after `seconds`, their work horses included: a horse outlives
    its worker otherwise, and would go on working on the test's Redis database."""
    horses = [pid for process in processes for pid in children(process.pid)]
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    _kill(horses)


@dataclasses.dataclass
class Line:
    app: Flask
    factory: Factory
    sandbox: SandboxServer
    worker_log: Path
    workers: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)
    worker_env: dict[str, str] = dataclasses.field(default_factory=dict)
    orphans: list[int] = dataclasses.field(default_factory=list)  # horses of killed workers

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Another RQ worker process (worker.py), logging to the same file."""
        with self.worker_log.open("a") as out:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                env=self.worker_env,
                stdout=out,
                stderr=out,
            )
        self.workers.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker as an operator's kill -9 would: its work horse, if it runs a
        job, goes on (it is killed when the line stops)."""
        self.orphans.extend(children(process.pid))
        process.kill()
        process.wait(10)

    def on_duty(
        self,
        username: str,
        phone: str,
        behaviour: Behaviour = ACCEPTS,
        roles: tuple[str, ...] = ("counsellor",),
        languages: tuple[str, ...] = ("tr",),
        topics: tuple[str, ...] = ("psychosocial",),
    ) -> Staff:
        """A member of staff whose phone behaves so, made available as the console does."""
        staff = self.factory.staff(
            username, roles=roles, languages=languages, topics=topics, phone=phone, password=None
        )
        self.sandbox.exchange.set_phone(phone, behaviour)
        with self.app.app_context():
            presence.set_state(get_redis(), db.session, staff.id, "available", reason="console")
            db.session.commit()
        return staff

    def call(self, number: str, script: str) -> Leg:
        return self.sandbox.exchange.place_call(number, script=script)

    def until(self, condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
        """Wait for the condition (a bound for failure, not a measure of speed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.factory.session.expire_all()
            found = condition()
            if found:
                return found
            time.sleep(0.05)
        self.factory.session.rollback()
        log = self.worker_log.read_text(errors="replace")[-2000:]
        legs = self.worker_log.parent / "legs.txt"  # every leg's transcript, to debug by
        timelines = [
            f"call {event.call_id}: {event.kind} staff={event.staff_id} {event.data}"
            for event in self.factory.session.scalars(sa.select(CallEvent).order_by(CallEvent.id))
            if event.kind not in ("branch", "prompt_played", "key_pressed")
        ]
        legs.write_text(
            "\n\n".join(leg.transcript.render() for leg in self.sandbox.exchange.list_legs())
            + "\n\n"
            + "\n".join(timelines)
        )
        pytest.fail(f"timed out waiting for {what} (transcripts in {legs}); worker log:\n{log}")

    def record(self, leg: Leg) -> Call:
        return self.factory.session.scalars(sa.select(Call).where(Call.call_sid == leg.sid)).one()

    def when(
        self, leg: Leg, holds: Callable[[Call], object], what: str, seconds: float = 60
    ) -> Call:
        """The leg's call once `holds` is true of it."""

        def check() -> Call | None:
            call = self.factory.session.scalars(
                sa.select(Call).where(Call.call_sid == leg.sid)
            ).one_or_none()
            return call if call is not None and holds(call) else None

        found: Call = self.until(check, what, seconds)
        return found

    def events(self, call: Call) -> list[CallEvent]:
        return list(
            self.factory.session.scalars(
                sa.select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
            )
        )


def copy_flows(tmp_path: Path) -> Path:
    """A copy of the line's flows to change in a test (the audio is linked, not copied)."""
    flows = tmp_path / "ivr_flows"
    shutil.copytree(ROOT / "ivr_flows", flows, ignore=shutil.ignore_patterns("audio"))
    (flows / "audio").symlink_to(ROOT / "ivr_flows" / "audio")
    return flows


def worker_environ(settings: Settings, sandbox: SandboxServer) -> dict[str, str]:
    """What a worker process needs to serve this app through this sandbox."""
    return child_environ(
        **settings_environ(
            settings,
            TWILIO_ACCOUNT_SID=settings.twilio_account_sid or "",
            TWILIO_AUTH_TOKEN=settings.twilio_auth_token or "",
            TWILIO_API_BASE_URL=sandbox.url,
            PUBLIC_BASE_URL=settings.public_base_url,
            IVR_FLOWS_PATH=str(settings.ivr_flows_path),
        )
    )


@contextlib.contextmanager
def live_line(
    app: Flask, settings: Settings, factory: Factory, tmp_path: Path, workers: int = 1
) -> Iterator[Line]:
    """The sandbox over HTTP in front of the app, and RQ workers as real processes."""
    app.extensions["helpline.clock"] = lambda: OPEN  # the counselling hours are open
    sandbox = SandboxServer(
        settings,
        port=0,
        speed=SPEED,
        transport=FlaskTransport(app, settings.public_base_url),
    ).start()
    # Callers are patient: once their script is done they wait, silent, until the line
    # ends the call (a scripted caller otherwise hangs up after a few silent rounds).
    sandbox.exchange.limits = dataclasses.replace(sandbox.exchange.limits, patience=10**6)
    env = worker_environ(settings, sandbox)
    worker_log = tmp_path / "worker.log"
    worker_log.write_text("")
    ready = Line(app, factory, sandbox, worker_log, worker_env=env)
    processes = ready.workers
    try:
        for _ in range(workers):
            ready.start_worker()
        if workers:
            ready.until(
                lambda: worker_log.read_text().count("Listening on") >= workers,
                "the workers to start",
            )
        yield ready
    finally:
        sandbox.stop()
        stop_workers(processes)
        _kill(ready.orphans)


def all_answered(leg: Leg) -> None:
    """Every request the sandbox made for this leg was accepted (no 403, no error)."""
    requests = leg.transcript.requests()
    assert requests, leg.transcript.render()
    assert {request.status for request in requests} == {200}, leg.transcript.render()
    assert leg.transcript.errors() == [], leg.transcript.render()


def kinds(events: list[CallEvent]) -> list[str]:
    return [event.kind for event in events]
