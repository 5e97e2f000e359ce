"""The emergency path, the voicemail and the duty supervisor's alerts, end to end through
signed webhooks and the supervisor's live poll: each part is tested on its own elsewhere
(test_emergency, test_voicemail, test_alerts); these check that they meet."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.config import Settings
from helpline.models import Voicemail
from tests.factories import Factory
from tests.test_alerts import _poll, _supervisor
from tests.test_emergency import _emergency_call, _on_duty
from tests.test_voicemail import _recording_callback
from tests.voice import CALLER, Phone


def test_emergency_unanswered_duty_line_alerts_the_supervisor(
    duty_app: Flask,
    client: FlaskClient,
    settings: Settings,
    factory: Factory,
) -> None:
    """A caller who pressed the emergency key and whose duty line was busy waits for any
    counsellor, and an open supervisor page learns of it at its next poll (no number)."""
    _on_duty(duty_app, factory, ("tr",))
    supervisor = _supervisor(client, factory, phone="+905550000902")
    assert _poll(supervisor)["count"] == 0
    call = _emergency_call(Phone(client, settings), factory, "busy")
    polled = _poll(supervisor)
    assert [(a["kind"], a["call_id"], a["language"]) for a in polled["alerts"]] == [
        ("emergency_queued", call.id, "ku")
    ]
    assert CALLER not in str(polled)
    assert CALLER[-4:] not in str(polled)


def test_emergency_with_nobody_logged_in_leaves_an_urgent_message_that_alerts(
    duty_app: Flask,
    client: FlaskClient,
    settings: Settings,
    factory: Factory,
) -> None:
    """Nobody logged in and the duty line unanswered: the caller's message is filed urgent
    (whichever of the recording callback and the step comes first), the supervisor's poll
    shows an urgent voicemail, and the message heads the supervisor's unhandled list."""
    supervisor = _supervisor(client, factory)
    phone = Phone(client, settings)
    _emergency_call(phone, factory, "no-answer")
    assert phone.last is not None
    record = phone.last.find("Record")
    assert record is not None
    _recording_callback(phone, record, "RE" + phone.call_sid[2:])  # before the step
    phone.finish_recording()
    factory.session.expire_all()
    message = factory.session.scalars(sa.select(Voicemail)).one()
    assert message.is_urgent
    assert message.language == "ku"
    polled = _poll(supervisor)
    assert [a["kind"] for a in polled["alerts"]] == ["urgent_voicemail"]
    page = supervisor.get("/supervisor/voicemails")
    assert page.status_code == 200
    assert f"/voicemails/{message.id}/audio" in page.get_data(as_text=True)
