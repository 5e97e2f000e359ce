"""`helpline run`: the web app, a worker and embedded services, as one command.

With no REDIS_URL it starts an embedded redis-server; with no DATABASE_URL the app uses
SQLite in the instance folder. The schema is migrated, demo staff are created in an
empty development database, and gunicorn serves the app until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from helpline import migrate
from helpline.config import Settings
from helpline.embedded import EmbeddedRedis


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _banner(settings: Settings, url: str, demo_created: bool) -> str:
    from helpline.staff.demo import DEMO_PASSWORD

    lines = [
        "",
        f"  The helpline is running: open {url}/",
        "  Database: "
        + (f"SQLite in {settings.instance_path}" if settings.is_sqlite else "PostgreSQL"),
    ]
    if settings.has_twilio_credentials:
        lines.append("  Telephony: Twilio")
    else:
        sandbox = settings.twilio_api_base_url or ""
        lines += [
            f"  Telephony: the sandbox at {sandbox} (no Twilio credentials set)",
            f"  Practice phone: {sandbox}/sandbox/phone",
            '  Try a call: helpline simulate "press 2; press 1; press 1"',
        ]
    if demo_created or not settings.is_production:
        lines += [
            f"  Demo logins (password {DEMO_PASSWORD}): supervisor, admin, counsellor.tr,",
            "  counsellor.ar, counsellor.fa, interpreter.ps, interpreter.ku, focal.ssc,",
            "  programme.officer",
        ]
    lines += ["  Stop with Ctrl-C.", ""]
    return "\n".join(lines)


SANDBOX_PORT = 8183


def _start_sandbox(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The telephony sandbox in a process of its own (never inside gunicorn's master)."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "helpline", "sandbox", "--port", str(port)],
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/sandbox/api/calls"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the telephony sandbox exited at start (is port {port} free?)")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the telephony sandbox did not start in time")


# Demo counsellors and interpreters accept what they are offered (1 at the whisper) and
# talk for three minutes, so a trainer calling from the practice phone sees routing end
# to end. The control API (`POST /sandbox/api/phones`) changes how a phone behaves.
DEMO_PHONE = {"kind": "answer", "after": 4, "talk": 180, "keys": "1"}


def _register_demo_phones(port: int) -> int:
    """Give the sandbox the demo staff's phones; returns how many."""
    from helpline.staff.demo import STAFF

    registered = 0
    for spec in STAFF:
        if not spec.phone or not {"counsellor", "interpreter"} & set(spec.roles):
            continue
        body = json.dumps({"number": spec.phone, "behaviour": DEMO_PHONE}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/sandbox/api/phones",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - our own sandbox
            registered += 1
    return registered


def run_all(
    settings: Settings,
    *,
    host: str,
    port: int,
    with_worker: bool,
    demo: bool,
    sandbox_port: int = SANDBOX_PORT,
) -> None:
    from helpline import create_app
    from helpline.extensions import db
    from helpline.staff.demo import seed

    settings.require_sound()
    owner = os.getpid()
    embedded: EmbeddedRedis | None = None
    worker: subprocess.Popen[bytes] | None = None
    sandbox: subprocess.Popen[bytes] | None = None
    if "PUBLIC_BASE_URL" not in os.environ:
        # Webhooks are signed over the URL they go to: by default, this server's own.
        settings = dataclasses.replace(settings, public_base_url=f"http://{host}:{port}")
    if settings.uses_sandbox and not settings.twilio_api_base_url:
        settings = dataclasses.replace(
            settings, twilio_api_base_url=f"http://127.0.0.1:{sandbox_port}"
        )
    try:
        if not settings.redis_url:
            embedded = EmbeddedRedis(settings.instance_path / "redis")
            settings = dataclasses.replace(settings, redis_url=embedded.url)
        settings.instance_path.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(settings.database_url)
        app = create_app(settings)
        demo_created = False
        with app.app_context():
            if demo and not settings.is_production:
                demo_created = seed(db.session) > 0
                db.session.commit()
            for engine in db.engines.values():
                engine.dispose()  # no pooled connection may cross gunicorn's fork

        env = dict(os.environ)
        env["REDIS_URL"] = settings.redis_url or ""
        env["HELPLINE_INSTANCE_PATH"] = str(settings.instance_path)
        env["PUBLIC_BASE_URL"] = settings.public_base_url
        if settings.twilio_api_base_url:
            env["TWILIO_API_BASE_URL"] = settings.twilio_api_base_url
        if settings.uses_sandbox:
            sandbox = _start_sandbox(env, sandbox_port)
            if demo and not settings.is_production:
                _register_demo_phones(sandbox_port)
        if with_worker:
            # Its own session: Ctrl-C reaches gunicorn, which stops; then we stop the
            # worker with one SIGTERM, letting a running job finish.
            worker = subprocess.Popen(
                [sys.executable, "-m", "helpline", "worker"], env=env, start_new_session=True
            )

        url = f"http://{host}:{port}"
        banner = _banner(settings, url, demo_created)
        options = {
            "bind": f"{host}:{port}",
            # SQLite allows one writer: one process with threads. PostgreSQL: more processes.
            "workers": 1 if settings.is_sqlite else max(2, (os.cpu_count() or 1)),
            "worker_class": "gthread",
            "threads": 4,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "when_ready": lambda _server: print(banner, flush=True),
        }
        _Gunicorn(app, options).run()
    finally:
        # gunicorn forks its workers inside run(), and a worker leaves by SystemExit
        # through this frame too; only the process that started the services stops them.
        if os.getpid() == owner:
            _stop([sandbox, worker], embedded)


def _stop(children: list[subprocess.Popen[bytes] | None], embedded: EmbeddedRedis | None) -> None:
    for child in children:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if embedded is not None:
        embedded.stop()
