"""A staff leg's webhooks when the app cannot handle them (Redis or the database down,
or a connection dropped): the member of staff hears an apology in their console language
and the helpline hangs up, or the webhook is tried again and does its work once. Their
phone is never put through to the duty line, as a caller's would be: it would stay busy
there, and routing, once back, would ring it for another call."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from rq import Queue
from sqlalchemy.orm import Session

from helpline import create_app
from helpline.config import DEFAULT_FLOWS_PATH, Settings
from helpline.extensions import db, get_redis
from helpline.models import CallEvent, utcnow
from helpline.routing import live
from helpline.routing.legs import COUNSELLOR, Leg
from helpline.routing.whisper import load_staff_prompts
from tests.conftest import make_settings
from tests.factories import Factory
from tests.voice import Phone, dead_redis_url

DUTY = "+905550000183"
PROMPTS = load_staff_prompts(DEFAULT_FLOWS_PATH)


@pytest.fixture
def down(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with its Redis unreachable and a duty line set."""
    settings = make_settings(
        database_url, dead_redis_url(), tmp_path / "down", DUTY_LINE_NUMBER=DUTY
    )
    app = create_app(settings, {"TESTING": True})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _post(app: Flask, path: str, **form: str) -> list[tuple[str, str]]:
    settings: Settings = app.extensions["helpline.settings"]
    phone = Phone(app.test_client(), settings, caller="+903121234567")
    root = phone._twiml(phone.post(path, phone.params(**form)))
    assert root.find("Dial") is None, "a staff phone was put through to the duty line"
    assert [child.tag for child in root][-1] == "Hangup"
    return [(say.get("language", ""), say.text or "") for say in root.iter("Say")]


@pytest.mark.parametrize("language", ["en", "ar", "tr"])
def test_staff_hear_sorry_in_their_language_when_accepting_fails(
    down: Flask, factory: Factory, language: str
) -> None:
    """Pressing 1 while Redis is down: the offer cannot be confirmed."""
    staff = factory.staff("ayse", ui_language=language)
    call = factory.call(None, language="tr", queued_at=utcnow() - dt.timedelta(minutes=1))
    leg = Leg(call.id, staff.id, COUNSELLOR, "0123456789abcdef")
    voice = PROMPTS.for_language(language)
    said = _post(down, f"/voice/offer/answer?{leg.query()}", Digits="1")
    assert said == [(voice.language, voice.texts["failed"])]


def test_staff_unknown_to_the_database_hear_the_default_language(
    down: Flask, factory: Factory
) -> None:
    call = factory.call(None, language="tr", queued_at=utcnow())
    leg = Leg(call.id, 999_999, COUNSELLOR, "0123456789abcdef")
    voice = PROMPTS.for_language(None)
    for path in ("/voice/offer", "/voice/offer/answer"):
        assert _post(down, f"{path}?{leg.query()}", Digits="1") == [
            (voice.language, voice.texts["failed"])
        ]


def _accept(app: Flask, leg: Leg) -> ET.Element:
    settings: Settings = app.extensions["helpline.settings"]
    phone = Phone(app.test_client(), settings, caller="+903121234567")
    return phone._twiml(phone.post(f"/voice/offer/answer?{leg.query()}", phone.params(Digits="1")))


def _jobs(app: Flask, name: str) -> int:
    with app.app_context():
        jobs = Queue("dispatch", connection=get_redis()).get_jobs()
    return sum(1 for job in jobs if str(job.func_name).endswith(f".{name}"))


def test_accept_survives_its_database_connection_dropped_at_commit(
    app: Flask, factory: Factory, database_url: str
) -> None:
    """The counsellor presses 1 and PostgreSQL drops the connection as the acceptance is
    committed: the webhook is tried again (safe_for_staff), finds Redis's half of the
    acceptance done, and still writes the database's half and moves the caller in. Before,
    the second try said "the caller is no longer waiting" and the caller waited for ever.
    Said twice (a redelivery), it is written and started once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("drops a PostgreSQL connection: runs with HELPLINE_TEST_DATABASE_URL")
    staff = factory.staff("ayse")
    call = factory.call(None, language="tr", queued_at=utcnow() - dt.timedelta(minutes=1))
    leg = Leg(call.id, staff.id, COUNSELLOR, "0123456789abcdef")
    with app.app_context():
        connection = get_redis()
        connection.hset(f"helpline:staff:{staff.id}", mapping={"state": "available", "since": 0})
        assert live.reservations().reserve(call.id, [staff.id], 30, offer=leg.offer)
        admin = sa.create_engine(
            sa.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
    dropped: list[int] = []

    def drop_once(session: Session) -> None:
        if dropped:
            return
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        dropped.append(pid)

    with app.app_context():
        sa.event.listen(db.session, "before_commit", drop_once)
    try:
        first = _accept(app, leg)
    finally:
        with app.app_context():
            sa.event.remove(db.session, "before_commit", drop_once)
        admin.dispose()
    assert dropped, "the connection was not dropped"
    assert first.find("Dial/Conference") is not None, ET.tostring(first)
    factory.session.expire_all()
    accepted = factory.session.get(type(call), call.id)
    assert accepted is not None
    assert accepted.counsellor_id == staff.id
    assert accepted.answered_at is not None
    assert _jobs(app, "connect_caller") == 1
    again = _accept(app, leg)  # Twilio redelivers the key press
    assert again.find("Dial/Conference") is not None
    assert _jobs(app, "connect_caller") == 1
    kinds = factory.session.scalars(
        sa.select(CallEvent.kind).where(CallEvent.call_id == call.id)
    ).all()
    assert list(kinds).count("offer_accepted") == 1
