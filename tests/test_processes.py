"""Real processes: an RQ worker from worker.py, and the README's `helpline run`."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from helpline.config import Settings
from helpline.models import LoginSession, utcnow
from tests.cli_env import child_environ, settings_environ
from tests.factories import Factory

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_worker_process_runs_a_maintenance_job(
    app: Flask, factory: Factory, settings: Settings
) -> None:
    """worker.py, as a real process, takes a job from the maintenance queue and does it."""
    staff = factory.staff("old")
    long_ago = utcnow() - dt.timedelta(days=90)
    factory.session.add(
        LoginSession(
            token_hash="x" * 64,
            staff_id=staff.id,
            created_at=long_ago,
            last_seen_at=long_ago,
            expires_at=long_ago + dt.timedelta(hours=12),
        )
    )
    factory.session.commit()
    with app.app_context():
        from helpline.tasks.maintenance import enqueue_purge_login_sessions

        enqueue_purge_login_sessions()

    done = subprocess.run(
        [sys.executable, str(ROOT / "worker.py"), "--burst"],
        env=child_environ(**settings_environ(settings)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Job OK" in done.stderr or "Successfully completed" in done.stderr
    factory.session.expire_all()
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_helpline_run_serves_the_console_on_embedded_defaults(tmp_path: Path) -> None:
    """`helpline run` with nothing configured: embedded Redis, SQLite, demo staff, a login;
    its worker runs the callback sweeper."""
    port, sandbox_port = _free_port(), _free_port()
    env = child_environ(HELPLINE_INSTANCE_PATH=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpline",
            "run",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "The helpline is running" in line:
                break
        banner = "".join(output)
        assert f"open http://127.0.0.1:{port}/" in banner, banner[-3000:]
        password = re.search(r"password (\S+)\)", "".join(output) + _until(process, "Ctrl-C"))
        assert password is not None

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        page = opener.open(f"{base}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None
        form = urllib.parse.urlencode(
            {"username": "supervisor", "password": password.group(1), "csrf_token": token.group(1)}
        ).encode()
        landed = opener.open(f"{base}/login", data=form, timeout=10)
        assert landed.geturl() == f"{base}/supervisor/"
        assert "Supervision" in landed.read().decode()
        health = opener.open(f"{base}/healthz", timeout=10).read().decode()
        assert '"status":"ok"' in health.replace(" ", "")

        # No Twilio credentials: the sandbox runs, and a call through it reaches the IVR.
        sandbox = f"http://127.0.0.1:{sandbox_port}/sandbox/api"
        start = urllib.request.Request(
            f"{sandbox}/calls",
            data=b'{"from": "+905321112233", "script": "press 2"}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        sid = json.loads(urllib.request.urlopen(start, timeout=10).read())["sid"]
        deadline = time.monotonic() + 60
        heard: list[str] = []
        while time.monotonic() < deadline and not any("/voice/step" in h for h in heard):
            time.sleep(0.5)
            events = json.loads(urllib.request.urlopen(f"{sandbox}/calls/{sid}", timeout=10).read())
            heard = [str(e.get("detail") or "") for e in events["events"]]
        assert any("/voice/incoming [voice] 200" in h for h in heard), heard
        assert any("/voice/step?n=choose_language" in h and " 200" in h for h in heard), heard
        # The demo counsellors' and interpreters' phones are there to be rung.
        phones = json.loads(urllib.request.urlopen(f"{sandbox}/phones", timeout=10).read())
        kinds = {phone["behaviour"]["kind"] for phone in phones["phones"]}
        assert len(phones["phones"]) == 5
        assert kinds == {"answer"}
        # Its worker queues and runs the callback sweeper (docs/callbacks.md), and the
        # staff reconcile (docs/resilience.md).
        swept = _until(process, "maintenance-sweep-callbacks", limit=2000)
        assert "maintenance-sweep-callbacks" in swept, swept[-3000:]
        reconciled = _until(process, "Job OK (maintenance-reconcile-staff-", limit=200)
        assert "Job OK (maintenance-reconcile-staff-" in reconciled, reconciled[-3000:]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            assert process.stdout is not None
            process.stdout.close()
    assert code == 0
    assert (tmp_path / "instance" / "helpline.sqlite3").exists()
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == "", "no worker or redis-server may outlive `helpline run`"


def _until(process: subprocess.Popen[str], marker: str, limit: int = 40) -> str:
    """The banner's next lines, up to the one holding marker."""
    assert process.stdout is not None
    lines: list[str] = []
    while len(lines) < limit and not (lines and marker in lines[-1]):
        lines.append(process.stdout.readline())
    return "".join(lines)
