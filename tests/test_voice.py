"""The voice webhooks: signatures, the default flow end to end, and the call log."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask, Response
from flask.testing import FlaskClient

from helpline.config import Settings
from helpline.models import Call, CallbackRequest, Caller, CallerConsent, CallEvent, Recording
from tests.factories import Factory
from tests.voice import CLOSED, OPEN, Phone, said


@pytest.fixture
def at(app: Flask) -> Callable[[dt.datetime], None]:
    def set_clock(moment: dt.datetime) -> None:
        app.extensions["helpline.clock"] = lambda: moment

    set_clock(OPEN)
    return set_clock


@pytest.fixture
def phone(client: FlaskClient, settings: Settings, at: Callable[[dt.datetime], None]) -> Phone:
    return Phone(client, settings)


def _call(factory: Factory) -> Call:
    factory.session.expire_all()
    return factory.session.scalars(sa.select(Call)).one()


def _kinds(factory: Factory) -> list[str]:
    return list(factory.session.scalars(sa.select(CallEvent.kind).order_by(CallEvent.id)))


def _count(factory: Factory, model: type) -> int:
    return int(factory.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


# --- signatures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/voice/incoming",
        "/voice/step?n=x&t=1&e=digits",
        "/voice/status",
        "/voice/recording",
        "/voice/fallback",
    ],
)
@pytest.mark.parametrize("signature", ["missing", "wrong", "other-url"])
def test_webhooks_refuse_a_bad_signature_and_record_nothing(
    phone: Phone, factory: Factory, path: str, signature: str
) -> None:
    """A missing or wrong X-Twilio-Signature gets 403, and nothing is written."""
    params = phone.params(CallStatus="completed", SequenceNumber=1)
    headers = {}
    if signature == "wrong":
        headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif signature == "other-url":
        from twilio.request_validator import RequestValidator

        token = phone.settings.twilio_auth_token or ""
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            "http://localhost/voice/elsewhere", params
        )
    response = phone.client.post(path, data=params, headers=headers)
    assert response.status_code == 403
    assert _count(factory, Call) == 0
    assert _count(factory, CallEvent) == 0


def test_signature_is_checked_against_public_base_url(phone: Phone) -> None:
    """Signing the internal URL instead of PUBLIC_BASE_URL fails, as behind a proxy."""
    from twilio.request_validator import RequestValidator

    params = phone.params()
    token = phone.settings.twilio_auth_token or ""
    wrong = RequestValidator(token).compute_signature("http://10.0.0.5:8000/voice/incoming", params)
    response = phone.client.post(
        "/voice/incoming", data=params, headers={"X-Twilio-Signature": wrong}
    )
    assert response.status_code == 403


# --- the default flow ----------------------------------------------------------------


def test_default_flow_arabic_caller_asks_for_a_callback(phone: Phone, factory: Factory) -> None:
    """Language, consent to remember it, topic, busy lines, and a callback: all logged."""
    phone.dial_in()
    assert phone.node() == "choose_language"
    assert said(phone.settings, "tr", "language_option", key="1") in phone.heard()
    phone.press("2")
    assert phone.node() == "remember_language"
    phone.press("1")
    assert phone.node() == "choose_topic"
    phone.press("3")
    assert phone.node() == "callback_or_message"
    phone.press("1")
    assert phone.node() == "callback"
    phone.press("1")
    assert phone.last is not None
    assert phone.last.find("Hangup") is not None

    call = _call(factory)
    assert (call.language, call.topic, call.priority) == ("ar", "violence", 3)
    assert call.outcome == "callback_requested"
    assert call.flow_id == "default"
    assert call.flow_version
    callback = factory.session.scalars(sa.select(CallbackRequest)).one()
    assert (callback.reason, callback.language, callback.topic) == ("queue_key", "ar", "violence")
    caller = factory.session.scalars(sa.select(Caller)).one()
    assert caller.preferred_language == "ar"
    kinds = _kinds(factory)
    for kind in (
        "call_started",
        "prompt_played",
        "key_pressed",
        "language_selected",
        "branch",
        "consent_recorded",
        "topic_selected",
        "hours_checked",
        "callback_requested",
    ):
        assert kind in kinds


def test_returning_caller_who_agreed_skips_the_language_menu(
    client: FlaskClient, settings: Settings, factory: Factory, at: Callable[[dt.datetime], None]
) -> None:
    """A caller who let us remember their language goes straight to the notices, in it."""
    first = Phone(client, settings)
    first.dial_in()
    first.press("3")  # Farsi
    first.press("1")  # remember it
    second = Phone(client, settings)
    second.dial_in()
    assert second.node() == "choose_topic"
    assert said(settings, "fa", "emergency_notice") in second.heard()
    assert all(not h.startswith("language_option") for h in second.heard())


def test_caller_who_declined_is_asked_the_language_again(
    phone: Phone, client: FlaskClient, settings: Settings
) -> None:
    """Without consent, the language is not remembered."""
    phone.dial_in()
    phone.press("2")
    phone.press("2")  # do not remember
    again = Phone(client, settings)
    again.dial_in()
    assert again.node() == "choose_language"


def test_withheld_number_is_never_asked_to_be_remembered_or_called_back(
    client: FlaskClient, settings: Settings, factory: Factory, at: Callable[[dt.datetime], None]
) -> None:
    """A withheld number skips the remember question and goes to voicemail for callbacks."""
    phone = Phone(client, settings, caller="anonymous")
    phone.dial_in()
    phone.press("6")
    assert phone.node() == "choose_topic"
    phone.press("1")
    phone.press("1")  # callback: impossible without a number
    assert phone.last is not None
    assert phone.last.find("Record") is not None
    call = _call(factory)
    assert call.is_number_withheld
    assert call.caller_id is None
    assert _count(factory, CallbackRequest) == 0


def test_out_of_hours_offers_callback_or_voicemail(
    phone: Phone, factory: Factory, at: Callable[[dt.datetime], None]
) -> None:
    """At 03:00 the line is closed: voicemail, with its recording kept by reference."""
    at(CLOSED)
    phone.dial_in()
    phone.press("1")
    phone.press("2")
    phone.press("2")
    assert phone.node() == "callback_or_message"
    phone.press("2")
    assert phone.last is not None
    assert phone.last.find("Record") is not None
    phone.finish_recording()
    assert said(phone.settings, "tr", "voicemail_thanks") in phone.heard()
    recording_sid = "RE" + "1" * 32
    response = phone.post(
        "/voice/recording",
        phone.params(
            RecordingSid=recording_sid,
            RecordingUrl="https://api.twilio.com/x/RE1",
            RecordingStatus="completed",
            RecordingDuration="12",
        ),
    )
    assert response.status_code == 200
    phone.post(
        "/voice/recording",
        phone.params(
            RecordingSid=recording_sid,
            RecordingUrl="https://api.twilio.com/x/RE1",
            RecordingStatus="completed",
        ),
    )
    call = _call(factory)
    assert call.outcome == "voicemail"
    assert _count(factory, Recording) == 1
    assert "hours_checked" in _kinds(factory)


def test_emergency_key_reaches_the_duty_line_from_any_menu(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    factory: Factory,
    at: Callable[[dt.datetime], None],
) -> None:
    """Key 9 dials the duty line from the language menu and from the topic menu."""
    import dataclasses

    app.extensions["helpline.settings"] = dataclasses.replace(
        settings, duty_line_numbers=("+905550009999",)
    )
    for presses in ([], ["1", "2"]):
        phone = Phone(client, settings)
        phone.dial_in()
        for key in presses:
            phone.press(key)
        phone.press("9")
        assert phone.last is not None
        dial = phone.last.find("Dial")
        assert dial is not None
        assert (dial.findtext("Number") or "") == "+905550009999"
    phone.dial_ends("no-answer")
    assert phone.last is not None
    assert phone.last.find("Record") is not None
    outcomes = sorted(factory.session.scalars(sa.select(Call.outcome)))
    # The second transfer was not answered: that call is not counted as transferred.
    assert outcomes == ["emergency_transfer", "in_progress"]


def test_silence_reprompts_then_moves_on(phone: Phone, factory: Factory) -> None:
    """Two re-prompts ("we did not hear a choice"), then the timeout path."""
    phone.dial_in()
    phone.stay_silent()
    assert phone.node() == "choose_language"
    assert phone.heard()[0] == said(phone.settings, "tr", "no_input")
    phone.stay_silent()
    phone.stay_silent()
    assert phone.node() == "choose_topic"
    assert _kinds(factory).count("input_timeout") == 3


def test_invalid_key_then_global_keys(phone: Phone, factory: Factory) -> None:
    """A wrong key re-prompts; * repeats, 0 goes back, # changes the language."""
    phone.dial_in()
    phone.press("7")
    assert phone.heard()[0] == said(phone.settings, "tr", "invalid_input")
    phone.press("6")
    phone.press("2")
    assert phone.node() == "choose_topic"
    phone.press("*")
    assert phone.node() == "choose_topic"
    assert phone.heard()[0] == said(phone.settings, "en", "topic_menu")
    phone.press("0")
    assert phone.node() == "choose_language"
    phone.press("6")
    phone.press("2")
    phone.press("#")
    assert phone.node() == "choose_language"
    assert "input_invalid" in _kinds(factory)


# --- robustness ----------------------------------------------------------------------


def test_unknown_call_sid_on_the_step_url_starts_the_flow(phone: Phone, factory: Factory) -> None:
    """A step for a call we never saw still gets valid TwiML, and the call is logged."""
    root = phone._twiml(
        phone.post("/voice/step?n=choose_topic&t=3&e=digits", phone.params(Digits="1"))
    )
    assert root.find("Gather") is not None
    assert _count(factory, Call) == 1
    assert "out_of_sequence" in _kinds(factory)


def test_stale_step_replays_the_current_menu(phone: Phone, factory: Factory) -> None:
    """A redelivered, older step request changes nothing and repeats where the call is."""
    phone.dial_in()
    stale = phone.last.find("Gather").attrib["action"]  # type: ignore[union-attr]
    phone.press("1")
    now_at = phone.node()
    root = phone._twiml(phone.post(stale, phone.params(Digits="2")))
    assert phone.node() == now_at
    assert root.find("Gather") is not None
    assert _call(factory).language == "tr"


@pytest.mark.parametrize(
    "form",
    [
        {"Digits": "ABC"},
        {"Digits": "1" * 5000},
        {"Digits": "\u0000\ufffd"},
        {"From": "x" * 10000},
        {"CallStatus": "exploded"},
        {"SequenceNumber": "-1"},
    ],
)
def test_garbled_parameters_get_valid_twiml(phone: Phone, form: dict[str, str]) -> None:
    """Huge, garbled or unexpected values never cause a 500."""
    phone.dial_in()
    action = phone.last.find("Gather").attrib["action"]  # type: ignore[union-attr]
    root = phone._twiml(phone.post(action, phone.params(**form)))
    assert root.tag == "Response"


def test_missing_call_sid_gets_the_fallback(phone: Phone, factory: Factory) -> None:
    params = phone.params()
    del params["CallSid"]
    root = phone._twiml(phone.post("/voice/incoming", params))
    assert root.find("Hangup") is not None
    assert _count(factory, Call) == 0


def test_non_utf8_body_gets_valid_twiml_or_403(phone: Phone) -> None:
    """Bytes that are not UTF-8 cannot carry a valid signature: 403, not 500."""
    response = phone.client.post(
        "/voice/incoming",
        data=b"CallSid=\xff\xfe&From=\xc3(",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "abc"},
    )
    assert response.status_code == 403


def test_fallback_apologises_and_dials_the_duty_line(
    app: Flask, phone: Phone, settings: Settings
) -> None:
    import dataclasses

    app.extensions["helpline.settings"] = dataclasses.replace(
        settings, duty_line_numbers=("+905550009999",)
    )
    phone.dial_in()
    root = phone._twiml(phone.post("/voice/fallback", phone.params(ErrorCode="11200")))
    assert root.find("Dial") is not None
    assert said(settings, "tr", "technical_problem") in phone.heard()


def test_audio_is_served_by_get_with_caching(client: FlaskClient) -> None:
    response = client.get("/voice/audio/fa/welcome.mp3")
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "audio/mpeg"
    assert "max-age" in response.headers["Cache-Control"]
    assert client.get("/voice/audio/fa/../../default.yaml").status_code == 404
    assert client.get("/voice/audio/xx/welcome.mp3").status_code == 404


# --- status callbacks ----------------------------------------------------------------

SEQUENCE = [("initiated", 0), ("ringing", 1), ("in-progress", 2), ("completed", 3)]


def _final_record(factory: Factory) -> tuple[object, ...]:
    call = _call(factory)
    statuses = sorted(
        (e.sequence_number, e.data["status"])
        for e in factory.session.scalars(
            sa.select(CallEvent).where(CallEvent.kind == "status_callback")
        )
    )
    return (
        call.twilio_status,
        call.last_sequence_number,
        call.ended_at,
        call.outcome,
        statuses,
        _kinds(factory).count("ended"),
    )


@pytest.mark.parametrize("order", list(itertools.permutations(range(4)))[::3])
def test_status_callbacks_in_any_order_give_the_same_record(
    client: FlaskClient, settings: Settings, factory: Factory, order: tuple[int, ...]
) -> None:
    """Duplicates and reordering give exactly the record in-order delivery gives."""
    stamp = "Mon, 23 Nov 2026 11:05:00 +0000"
    in_order = Phone(client, settings)
    in_order.dial_in()
    for status, seq in SEQUENCE:
        in_order.status(status, seq, Timestamp=stamp, CallDuration=42)
    expected = _final_record(factory)
    factory.session.execute(sa.delete(CallEvent))
    factory.session.execute(sa.delete(CallbackRequest))
    factory.session.execute(sa.delete(CallerConsent))
    factory.session.execute(sa.delete(Call))
    factory.session.commit()

    shuffled = Phone(client, settings)
    shuffled.call_sid = in_order.call_sid
    shuffled.dial_in()
    for index in [*order, order[0], order[-1]]:  # with two duplicates
        status, seq = SEQUENCE[index]
        assert shuffled.status(status, seq, Timestamp=stamp, CallDuration=42).status_code == 200
    assert _final_record(factory) == expected
    assert expected[0] == "completed"
    assert expected[3] == "abandoned_ivr"


def test_late_ringing_never_overwrites_completed(phone: Phone, factory: Factory) -> None:
    phone.dial_in()
    phone.status("completed", 3)
    phone.status("ringing", 1)
    phone.status("in-progress", 2)
    call = _call(factory)
    assert call.twilio_status == "completed"
    assert call.ended_at is not None


def test_status_for_an_unknown_call_is_kept(phone: Phone, factory: Factory) -> None:
    """A status callback for a call we never saw start is still logged, not lost."""
    assert phone.status("completed", 0).status_code == 200
    call = _call(factory)
    assert call.twilio_status == "completed"
    assert call.outcome == "abandoned_ivr"


# --- flow versions -------------------------------------------------------------------


def test_calls_in_progress_keep_their_flow_version(
    app: Flask, phone: Phone, factory: Factory, settings: Settings, tmp_path: object
) -> None:
    """Editing a flow (a new version) does not change the path of a call already in it."""
    import shutil
    from pathlib import Path

    from helpline.ivr.registry import FlowRegistry

    phone.dial_in()
    phone.press("1")
    old_version = _call(factory).flow_version
    edited = Path(str(tmp_path)) / "flows"
    shutil.copytree(settings.ivr_flows_path, edited)
    flow_file = edited / "default.yaml"
    flow_file.write_text(
        flow_file.read_text().replace(
            '"1": {goto: opening_hours, set: {topic: psychosocial, priority: 1}}',
            '"1": {goto: goodbye, set: {topic: psychosocial, priority: 1}}',
        )
    )
    # A restart with the edited files: the old version lives only in the database now.
    app.extensions["helpline.flows"] = FlowRegistry.from_directory(edited)
    assert app.extensions["helpline.flows"].current("default").version != old_version
    phone.press("2")  # do not remember
    phone.press("1")  # the old flow: psychosocial -> opening hours -> busy lines menu
    assert phone.node() == "callback_or_message"
    assert _call(factory).flow_version == old_version

    fresh = Phone(phone.client, settings, caller="+905329998877")
    fresh.dial_in()
    fresh.press("1")
    fresh.press("2")
    fresh.press("1")  # the new flow ends the call
    assert fresh.last is not None
    assert fresh.last.find("Hangup") is not None


def test_audio_supports_ranges_and_etags(client: FlaskClient) -> None:
    """Players seek with Range requests; caches revalidate with the ETag."""
    whole = client.get("/voice/audio/fa/welcome.mp3")
    part = client.get("/voice/audio/fa/welcome.mp3", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.get_data() == whole.get_data()[:100]
    again = client.get(
        "/voice/audio/fa/welcome.mp3", headers={"If-None-Match": whole.headers["ETag"]}
    )
    assert again.status_code == 304


def test_voice_webhook_answers_when_the_database_drops_it_after_its_last_read(
    app: Flask, client: FlaskClient, settings: Settings, database_url: str
) -> None:
    """PostgreSQL ends the webhook's connection after the view's last query (the fault
    suite drops every connection): the caller still gets TwiML, not an HTTP 500 from the
    rollback in Flask's teardown."""
    if not database_url.startswith("postgresql"):
        pytest.skip("terminates PostgreSQL connections: runs with HELPLINE_TEST_DATABASE_URL")
    name = sa.make_url(database_url).database
    admin = sa.create_engine(
        sa.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )

    @app.after_request
    def drop_connections(response: Response) -> Response:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        return response

    try:
        phone = Phone(client, settings)
        response = phone.post("/voice/wait", phone.params())  # reads, commits nothing
        assert response.status_code == 200
        assert response.get_data(as_text=True).startswith("<?xml")
    finally:
        admin.dispose()
