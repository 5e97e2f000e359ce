"""A staff leg's webhooks when the app cannot handle them (Redis or the database down):
the member of staff hears an apology in their console language and the helpline hangs
up. Their phone is never put through to the duty line, as a caller's would be: it would
stay busy there, and routing, once back, would ring it for another call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from helpline import create_app
from helpline.config import DEFAULT_FLOWS_PATH, Settings
from helpline.extensions import db
from helpline.models import utcnow
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
