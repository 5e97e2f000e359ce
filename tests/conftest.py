"""Test fixtures: a migrated database and a real Redis, in either of two modes.

- Real services: HELPLINE_TEST_DATABASE_URL names a PostgreSQL server (a database
  `helpline_test_<random>` is created there and dropped at the end), and
  HELPLINE_TEST_REDIS_URL a Redis database the suite may flush.
- Embedded defaults (neither set): SQLite files and an embedded redis-server.

The schema is made by `alembic upgrade head` once per session. Each test gets a fresh
app from the factory and empty tables afterwards.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask, Response
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from helpline import create_app, migrate
from helpline.config import Settings
from helpline.embedded import EmbeddedRedis
from helpline.extensions import db
from helpline.models import Base
from tests.browser import free_port, serve
from tests.factories import Factory
from tests.live import Line, live_line
from tests.voice import OPEN

ENCRYPTION_KEYS = (Fernet.generate_key().decode(), Fernet.generate_key().decode())
BLIND_INDEX_KEY = secrets.token_urlsafe(48)
SECRET_KEY = secrets.token_urlsafe(48)
DUTY_LINE_NUMBERS = ("+905550000183", "+905550000184")


def _admin_url(url: str) -> sa.URL:
    return sa.make_url(url).set(drivername="postgresql+psycopg", database="postgres")


@pytest.fixture(scope="session")
def database_server() -> str | None:
    """The PostgreSQL server URL under test, or None for SQLite."""
    return os.environ.get("HELPLINE_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def new_database(
    database_server: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    """A factory of empty databases (dropped at the end of the session)."""
    created: list[str] = []

    def make() -> str:
        if database_server is None:
            path = tmp_path_factory.mktemp("db") / "helpline.sqlite3"
            return f"sqlite:///{path}"
        name = f"helpline_test_{secrets.token_hex(6)}"
        admin = sa.create_engine(_admin_url(database_server), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return (
            sa.make_url(database_server)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )

    yield make
    if database_server is not None and created:
        admin = sa.create_engine(_admin_url(database_server), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def template_database(new_database: object) -> str:
    """One database migrated to head; SQLite tests copy it, PostgreSQL tests empty it."""
    url = new_database()  # type: ignore[operator]
    migrate.upgrade(url)
    return str(url)


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> str:
    if template_database.startswith("sqlite"):
        source = Path(sa.make_url(template_database).database or "")
        target = tmp_path / "helpline.sqlite3"
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    return template_database


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("HELPLINE_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    yield server.url
    server.stop()


def make_settings(database_url: str, redis_url: str, instance: Path, **extra: str) -> Settings:
    environ = {
        "HELPLINE_ENV": "test",
        "HELPLINE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "ENCRYPTION_KEYS": ",".join(ENCRYPTION_KEYS),
        "BLIND_INDEX_KEY": BLIND_INDEX_KEY,
        "PUBLIC_BASE_URL": "http://localhost",
        **extra,
    }
    return Settings.from_env(environ)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path / "instance")


def _empty_tables(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            with engine.begin() as connection:
                # TRUNCATE fires no row triggers, so the append-only audit table empties too.
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                connection.execute(
                    sa.text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :h)"),
                    {"h": "0" * 64},
                )
        db.session.remove()
        engine.dispose()


@pytest.fixture
def app(settings: Settings, redis_url: str) -> Iterator[Flask]:
    app = create_app(settings, {"TESTING": True})
    yield app
    _empty_tables(app)
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def open_hours(app: Flask) -> None:
    """The app's clock at a time the counselling hours are open, whatever the hour now."""
    app.extensions["helpline.clock"] = lambda: OPEN


@pytest.fixture
def duty_app(app: Flask, settings: Settings) -> Flask:
    """The app in open hours with two duty numbers (DUTY_LINE_NUMBERS), rung together."""
    app.extensions["helpline.settings"] = dataclasses.replace(
        settings, duty_line_numbers=DUTY_LINE_NUMBERS
    )
    app.extensions["helpline.clock"] = lambda: OPEN
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def factory(app: Flask) -> Iterator[Factory]:
    """Test data through a session of its own.

    No app context stays pushed while the test runs: requests made by the test client
    must each get their own, as in production (a shared one would share `g`).
    """
    with app.app_context():
        engine = db.engine
    session = Session(engine)
    yield Factory(session)
    session.close()


@pytest.fixture
def line(app: Flask, settings: Settings, factory: Factory, tmp_path: Path) -> Iterator[Line]:
    """The live line (tests/live.py): the sandbox over HTTP and one RQ worker process."""
    with live_line(app, settings, factory, tmp_path) as running:
        yield running


# The telephony provider's recordings API, for the tests that play recordings and voicemail
# messages through the console.
AUDIO = b"RIFF$\x00\x00\x00WAVEfmt " + bytes(28)  # a few bytes stand in for the audio
ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def provider() -> Iterator[str]:
    """A stand-in for the provider's recordings API, over real HTTP on 127.0.0.1; it
    answers only requests that carry the account's credentials."""
    media = Flask("provider")

    @media.get("/2010-04-01/Accounts/<account>/Recordings/<sid>")
    def audio(account: str, sid: str) -> Response:
        from flask import request

        if request.authorization is None or request.authorization.username != ACCOUNT:
            return Response("unauthorised", status=401)
        return Response(AUDIO, mimetype="audio/x-wav")

    with serve(media, free_port()) as base:
        yield base


@pytest.fixture
def console(
    database_url: str, redis_url: str, tmp_path: Path, provider: str
) -> Iterator[tuple[Flask, Factory]]:
    """The app with the provider's API at `provider`, and a factory on its database."""
    from sqlalchemy.orm import Session

    from helpline.extensions import db

    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "i",
        TWILIO_API_BASE_URL=provider,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN="t" * 32,
    )
    app = create_app(settings, {"TESTING": True})
    # No app context stays pushed while the test runs (conftest's factory explains why).
    with app.app_context():
        engine = db.engine
    session = Session(engine)
    try:
        yield app, Factory(session)
    finally:
        session.close()
        _empty_tables(app)
