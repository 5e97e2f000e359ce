"""A throwaway helpline app for simulations and flow tests: its own SQLite, no side effects."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from helpline import migrate
from helpline.config import Settings

SANDBOX_DUTY_LINE = "+905550000183"


@contextmanager
def throwaway_app(flows_path: Path, duty_line: str | None = None) -> Iterator[Flask]:
    """Build the real app on a fresh, migrated SQLite database that is deleted afterwards."""
    from helpline import create_app
    from helpline.extensions import db

    with tempfile.TemporaryDirectory(prefix="helpline-sim-") as folder:
        url = f"sqlite:///{Path(folder) / 'simulation.sqlite3'}"
        migrate.upgrade(url)
        settings = Settings.from_env(
            {
                "HELPLINE_ENV": "test",
                "HELPLINE_INSTANCE_PATH": folder,
                "DATABASE_URL": url,
                "REDIS_URL": "redis://127.0.0.1:1/0",  # never used by the voice webhooks
                "IVR_FLOWS_PATH": str(flows_path),
                "DUTY_LINE_NUMBER": duty_line or SANDBOX_DUTY_LINE,
                "PUBLIC_BASE_URL": "http://helpline.sandbox",
            }
        )
        app = create_app(settings)
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
