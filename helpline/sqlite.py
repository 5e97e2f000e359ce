"""SQLite settings for the embedded default: WAL, enforced foreign keys, a busy timeout."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from helpline.extensions import db


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def set_pragmas(engine: sa.Engine) -> None:
    if engine.dialect.name == "sqlite" and not sa.event.contains(engine, "connect", _on_connect):
        sa.event.listen(engine, "connect", _on_connect)


def install_pragmas(app: Flask) -> None:
    with app.app_context():
        set_pragmas(db.engine)
