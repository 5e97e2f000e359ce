"""Helpers of the callback tests: callbacks made due at once, the sandbox's legs to a
number, the outcomes recorded, settings that allow callbacks at any hour, and the line's
flows with a one-second wrap-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from helpline.config import Settings
from helpline.models import Call, CallbackRequest, CallEvent, utcnow
from helpline.models.enums import CallbackReason
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.phones import Behaviour
from helpline.tasks.callbacks import enqueue_dial_callback
from tests.conftest import make_settings
from tests.factories import Factory
from tests.live import Line, copy_flows

CALLER = "+905321112233"
TALKS = Behaviour("answer", after=2, talk=40, keys="1")  # can talk now
NOT_NOW = Behaviour("answer", after=2, talk=40, keys="2")


def callback_settings(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> Settings:
    """Callbacks may be made at any hour, retried after a second, ten a second."""
    values = {
        "CALLBACK_HOURS": "00:00-24:00",
        "CALLBACK_SCHEDULE": "",
        "CALLBACK_RETRY_SECONDS": "1",
        "CALLBACK_LATER_SECONDS": "1",
        "CALLBACK_RATE_PER_SECOND": "10",
        **extra,
    }
    return make_settings(database_url, redis_url, tmp_path / "instance", **values)


def short_wrap_up_flows(tmp_path: Path) -> Path:
    """The line's flows with a one-second wrap-up, so a counsellor takes the next attempt
    at once (the audio is linked, not copied)."""
    flows = copy_flows(tmp_path)
    routing = flows / "routing.yaml"
    text = routing.read_text()
    assert "wrap_up_seconds: 60" in text
    routing.write_text(text.replace("wrap_up_seconds: 60", "wrap_up_seconds: 1"))
    return flows


def request_callback(
    factory: Factory,
    *,
    language: str = "ar",
    reason: str = CallbackReason.OUT_OF_HOURS,
    number: str = CALLER,
    max_attempts: int = 3,
    queue_entered_at: dt.datetime | None = None,
    preferred_staff_id: int | None = None,
) -> CallbackRequest:
    caller = factory.caller(number)
    now = utcnow()
    callback = CallbackRequest(
        caller_id=caller.id,
        reason=reason,
        language=language,
        queue_entered_at=queue_entered_at,
        due_from=now,
        next_attempt_at=now,
        expires_at=now + dt.timedelta(days=1),
        max_attempts=max_attempts,
        preferred_staff_id=preferred_staff_id,
    )
    factory.session.add(callback)
    factory.session.commit()
    return callback


def enqueue(app: Flask, callback_id: int) -> None:
    with app.app_context():
        enqueue_dial_callback(callback_id)


def callback_when(
    line: Line, callback_id: int, status: str, seconds: float = 60
) -> CallbackRequest:
    def check() -> CallbackRequest | None:
        found = line.factory.session.get(CallbackRequest, callback_id)
        return found if found is not None and found.status == status else None

    result: CallbackRequest = line.until(check, f"callback {callback_id} to be {status}", seconds)
    return result


def legs_to(line: Line, number: str) -> list[Leg]:
    return [leg for leg in line.sandbox.exchange.list_legs() if leg.setup.to == number]


def attempt_calls(line: Line, callback_id: int) -> list[Call]:
    return list(
        line.factory.session.scalars(
            sa.select(Call).where(Call.callback_request_id == callback_id).order_by(Call.id)
        )
    )


def outcomes(line: Line, callback_id: int) -> list[str]:
    events = line.factory.session.scalars(
        sa.select(CallEvent).where(CallEvent.kind == "callback_outcome").order_by(CallEvent.id)
    )
    return [e.data["outcome"] for e in events if e.data.get("callback_id") == callback_id]
