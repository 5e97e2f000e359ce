"""`helpline run`: the web app, a worker and embedded services, as one command.

With no REDIS_URL it starts an embedded redis-server; with no DATABASE_URL the app uses
SQLite in the instance folder. The schema is migrated, demo staff are created in an
empty development database, and gunicorn serves the app until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
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
    from helpline.demo import DEMO_PASSWORD

    lines = [
        "",
        f"  The helpline is running: open {url}/",
        "  Database: "
        + (f"SQLite in {settings.instance_path}" if settings.is_sqlite else "PostgreSQL"),
        "  Telephony: "
        + ("Twilio" if settings.has_twilio_credentials else "sandbox (no Twilio credentials set)"),
    ]
    if demo_created or not settings.is_production:
        lines += [
            f"  Demo logins (password {DEMO_PASSWORD}): supervisor, admin, counsellor.tr,",
            "  counsellor.ar, counsellor.fa, interpreter.ps, interpreter.ku",
        ]
    lines += ["  Stop with Ctrl-C.", ""]
    return "\n".join(lines)


def run_all(settings: Settings, *, host: str, port: int, with_worker: bool, demo: bool) -> None:
    from helpline import create_app
    from helpline.demo import seed
    from helpline.extensions import db

    settings.require_sound()
    owner = os.getpid()
    embedded: EmbeddedRedis | None = None
    worker: subprocess.Popen[bytes] | None = None
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

        if with_worker:
            env = dict(os.environ)
            env["REDIS_URL"] = settings.redis_url or ""
            env["HELPLINE_INSTANCE_PATH"] = str(settings.instance_path)
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
            _stop(worker, embedded)


def _stop(worker: subprocess.Popen[bytes] | None, embedded: EmbeddedRedis | None) -> None:
    if worker is not None and worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    if embedded is not None:
        embedded.stop()
