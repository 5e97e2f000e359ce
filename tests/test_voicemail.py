"""Voicemail messages through the signed webhooks: filed as voicemails whatever order the
recording callback and the IVR step arrive in, once, with the caller's consent, a
callback, and an urgent flag on the timeline when the IVR marked the caller urgent."""

from __future__ import annotations

import collections
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.config import Settings
from helpline.ivr import engine
from helpline.ivr.loader import load_catalog
from helpline.ivr.twiml import Renderer, Urls
from helpline.models import Call, CallbackRequest, CallEvent, Recording, Voicemail
from tests.factories import Factory
from tests.voice import CLOSED, Phone, new_call_sid

RECORDING_URL = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/"


@pytest.fixture
def closed(app: Flask) -> None:
    """03:00: the line is closed, so a caller can leave a message."""
    app.extensions["helpline.clock"] = lambda: CLOSED


def _to_voicemail(phone: Phone, factory: Factory, *, urgent: bool = False) -> ET.Element:
    """Dial in out of hours and choose to leave a message: the `<Record>` to answer.

    `urgent` stands in for the emergency path, which sets the IVR's `urgent` variable
    before the voicemail (it is written into the stored IVR state, as a step would)."""
    phone.dial_in()
    for key in ("1", "2", "2"):
        phone.press(key)
    if phone.node() == "voicemail":  # a withheld number cannot be called back
        assert not urgent
        assert phone.last is not None
        found = phone.last.find("Record")
        assert found is not None
        return found
    assert phone.node() == "callback_or_message"
    if urgent:
        call = factory.session.scalars(sa.select(Call).where(Call.call_sid == phone.call_sid)).one()
        state = dict(call.ivr_state or {})
        state["vars"] = {**state.get("vars", {}), "urgent": 1}
        call.ivr_state = state
        factory.session.commit()
    phone.press("2")
    assert phone.last is not None
    record = phone.last.find("Record")
    assert record is not None
    return record


def _recording_callback(phone: Phone, record: ET.Element, sid: str) -> int:
    """Twilio's recording status callback, to the URL the `<Record>` named."""
    response = phone.post(
        record.attrib["recordingStatusCallback"],
        phone.params(
            RecordingSid=sid,
            RecordingUrl=RECORDING_URL + sid,
            RecordingStatus="completed",
            RecordingDuration="9",
        ),
    )
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return response.status_code


def _leave_message(
    client: FlaskClient, settings: Settings, factory: Factory, order: str, urgent: bool = False
) -> Call:
    """One caller leaves a message; the two webhooks arrive in this order, each twice."""
    phone = Phone(client, settings)
    record = _to_voicemail(phone, factory, urgent=urgent)
    sid = "RE" + phone.call_sid[2:]
    if order == "recording_first":
        _recording_callback(phone, record, sid)
        _recording_callback(phone, record, sid)  # redelivered
        phone.finish_recording()
    else:
        phone.finish_recording()
        _recording_callback(phone, record, sid)
        _recording_callback(phone, record, sid)
    factory.session.expire_all()
    return factory.session.scalars(sa.select(Call).where(Call.call_sid == phone.call_sid)).one()


def _timeline(factory: Factory, call: Call) -> collections.Counter[str]:
    kinds = factory.session.scalars(sa.select(CallEvent.kind).where(CallEvent.call_id == call.id))
    return collections.Counter(kinds)


ORDERS = ("step_first", "recording_first")


@pytest.mark.usefixtures("closed")
def test_voicemail_recording_is_a_voicemail_whatever_the_order(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """Whether the recording callback arrives before or after the step that saves the
    voicemail outcome, and however often it is redelivered: one recording of kind
    voicemail, one callback asked for the message, and the same timeline."""
    timelines = {}
    for order in ORDERS:
        call = _leave_message(client, settings, factory, order)
        kinds = factory.session.scalars(
            sa.select(Recording.kind).where(Recording.call_id == call.id)
        ).all()
        assert kinds == ["voicemail"], order
        assert call.outcome == "voicemail", order
        reasons = factory.session.scalars(
            sa.select(CallbackRequest.reason).where(CallbackRequest.call_id == call.id)
        ).all()
        assert reasons == ["voicemail"], order
        timelines[order] = _timeline(factory, call)
    assert timelines["step_first"] == timelines["recording_first"]
    assert timelines["step_first"]["recording_ready"] == 1
    assert timelines["step_first"]["callback_requested"] == 1
    assert "urgent_voicemail" not in timelines["step_first"]


@pytest.mark.usefixtures("closed")
def test_voicemail_is_filed_once_with_its_consent_whatever_the_order(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """Each message becomes one voicemail in the caller's language, carrying the caller's
    consent to its being heard and its callback, in either order."""
    for order in ORDERS:
        call = _leave_message(client, settings, factory, order)
        recording = factory.session.scalars(
            sa.select(Recording).where(Recording.call_id == call.id)
        ).one()
        message = factory.session.scalars(
            sa.select(Voicemail).where(Voicemail.call_id == call.id)
        ).one()
        callback = factory.session.scalars(
            sa.select(CallbackRequest).where(CallbackRequest.call_id == call.id)
        ).one()
        assert message.recording_id == recording.id, order
        assert message.consented_at is not None, order
        assert message.language == "tr"
        assert not message.is_urgent
        assert message.handled_at is None
        assert message.callback_request_id == callback.id, order


@pytest.mark.usefixtures("closed")
def test_voicemail_urgent_is_flagged_on_the_timeline_in_either_order(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A caller the IVR marked urgent leaves a message flagged urgent, with one
    urgent_voicemail entry naming the recording, whichever webhook comes first."""
    for order in ORDERS:
        call = _leave_message(client, settings, factory, order, urgent=True)
        message = factory.session.scalars(
            sa.select(Voicemail).where(Voicemail.call_id == call.id)
        ).one()
        assert message.is_urgent, order
        urgent = factory.session.scalars(
            sa.select(CallEvent).where(
                CallEvent.call_id == call.id, CallEvent.kind == "urgent_voicemail"
            )
        ).all()
        assert [e.data for e in urgent] == [{"recording_id": message.recording_id}], order


@pytest.mark.usefixtures("closed")
def test_voicemail_withheld_number_is_filed_with_consent_and_no_callback(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A withheld number has no Caller row: the message still carries its own consent and
    is filed, but no callback can be asked for."""
    phone = Phone(client, settings, caller="anonymous")
    record = _to_voicemail(phone, factory)
    _recording_callback(phone, record, "RE" + phone.call_sid[2:])
    message = factory.session.scalars(sa.select(Voicemail)).one()
    assert message.consented_at is not None
    assert message.callback_request_id is None
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(CallbackRequest)) == 0


def test_voicemail_record_names_its_callback_as_a_voicemail(settings: Settings) -> None:
    """The voicemail's `<Record>` sends its recording callback to a URL that says it is a
    voicemail, and whether the IVR marked the caller urgent."""
    catalog, _ = load_catalog(settings.ivr_flows_path)
    renderer = Renderer(catalog, Urls("https://line.example"), {}, None)
    prompt = engine.PromptRef("voicemail_instructions", "en")
    cases: list[tuple[dict[str, str | int], dict[str, list[str]]]] = [
        ({}, {"for": ["voicemail"]}),
        ({"urgent": 1}, {"for": ["voicemail"], "urgent": ["1"]}),
    ]
    for variables, expected in cases:
        state = engine.State("default", "v", "voicemail", "en", vars=variables, turn=3)
        step = engine.Step(state, engine.Record((prompt,), 120), (), ())
        root = ET.fromstring(renderer.render(step))
        record = root.find("Record")
        assert record is not None
        url = urlsplit(record.attrib["recordingStatusCallback"])
        assert url.path == "/voice/recording"
        assert parse_qs(url.query) == expected


def test_voicemail_recording_for_an_unknown_call_is_ignored(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A recording callback for a call never seen answers empty TwiML and stores nothing."""
    phone = Phone(client, settings)
    phone.call_sid = new_call_sid()
    response = phone.post(
        "/voice/recording?for=voicemail",
        phone.params(RecordingSid="RE1", RecordingUrl=RECORDING_URL + "RE1"),
    )
    assert response.status_code == 200
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(Recording)) == 0
