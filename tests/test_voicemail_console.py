"""The voicemail inbox in the console: listed for the counsellors of the message's
language (urgent first, then oldest), played through an audited endpoint, marked handled
(audited), called back through the callbacks' "call now"; supervisors see every
unhandled message; the retention purge destroys one for good."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.audit import chain as audit
from helpline.config import Settings
from helpline.models import Call, CallbackRequest, Voicemail, utcnow
from helpline.privacy import retention
from tests.conftest import ACCOUNT, AUDIO
from tests.factories import Factory, csrf_token, login
from tests.voice import CLOSED, Phone, said

HOUR = dt.timedelta(hours=1)


def _message(
    factory: Factory,
    base: str,
    language: str = "ku",
    *,
    age: dt.timedelta = HOUR,
    urgent: bool = False,
    consented: bool = True,
    number: str | None = "+905321110001",
) -> Voicemail:
    """A message left `age` ago, its audio at the provider stand-in at `base`."""
    caller = factory.caller(number) if number else None
    call = factory.call(caller, language=language, outcome="voicemail")
    callback = factory.callback(call) if caller is not None else None
    message = factory.voicemail(
        call,
        language,
        urgent=urgent,
        consented=consented,
        created_at=utcnow() - age,
        callback=callback,
    )
    message.recording.url = (
        f"{base}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{message.recording.recording_sid}"
    )
    factory.session.commit()
    return message


def _people(factory: Factory) -> None:
    factory.staff("kurmanji", languages=("tr", "ku"))
    factory.staff("turkish", languages=("tr",))
    factory.staff("sup", roles=("supervisor",), languages=())


def _client(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    assert login(client, username).status_code == 302
    page = client.get("/", follow_redirects=True)
    return client, csrf_token(page.get_data(as_text=True))


def _ids_in(html: str, ids: list[int]) -> list[int]:
    """The ids of these messages in the order the page shows them."""
    found = [(html.index(f'id="voicemail-{i}"'), i) for i in ids if f'id="voicemail-{i}"' in html]
    return [i for _, i in sorted(found)]


def test_voicemail_inbox_lists_messages_of_their_language_urgent_first(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """A counsellor's home and "My callbacks" pages list the unhandled messages in the
    languages they speak: urgent first and marked, then the oldest first; another
    language's message is not there."""
    app, factory = console
    _people(factory)
    old = _message(factory, provider, age=5 * HOUR)
    new = _message(factory, provider, age=HOUR, number="+905321110002")
    urgent = _message(factory, provider, age=0.5 * HOUR, urgent=True, number="+905321110003")
    arabic = _message(factory, provider, "ar", age=9 * HOUR, number="+905321110004")
    ids = [old.id, new.id, urgent.id, arabic.id]
    client, _ = _client(app, "kurmanji")
    for path in ("/console/", "/console/callbacks/"):
        html = client.get(path).get_data(as_text=True)
        assert _ids_in(html, ids) == [urgent.id, old.id, new.id], path
        row = html[html.index(f'id="voicemail-{urgent.id}"') :]
        assert "flag-urgent" in row[: row.index("</tr>")]
        assert f"/voicemails/{old.id}/audio" in html
    turkish, _ = _client(app, "turkish")
    assert _ids_in(turkish.get("/console/").get_data(as_text=True), ids) == []


def test_voicemail_play_is_audited_for_every_play(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """A counsellor who speaks the message's language plays it from the provider; each
    play is a voicemail_played audit entry, written before the audio goes out."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider)
    client, _ = _client(app, "kurmanji")
    for _ in range(2):
        played = client.get(f"/voicemails/{message.id}/audio")
        assert played.status_code == 200
        assert played.data == AUDIO
        assert played.headers["Cache-Control"] == "no-store"
    plays = factory.audit_entries("voicemail_played")
    assert [(e.target_type, e.target_id, e.actor_label) for e in plays] == [
        ("voicemail", str(message.id), "kurmanji")
    ] * 2
    assert plays[0].details == {"call_id": message.call_id, "recording_id": message.recording_id}


def test_voicemail_play_refused_to_a_counsellor_of_another_language(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """A counsellor who does not speak the message's language may not play it, mark it
    handled or call back (403), and nothing is audited or changed."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider)
    client, token = _client(app, "turkish")
    assert client.get(f"/voicemails/{message.id}/audio").status_code == 403
    for action in ("handled", "call-back"):
        response = client.post(f"/voicemails/{message.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403, action
    assert client.get("/voicemails/999999/audio").status_code == 404
    assert factory.audit_entries("voicemail_played") == []
    assert factory.audit_entries("voicemail_handled") == []
    factory.session.refresh(message)
    assert message.handled_at is None


def test_voicemail_without_consent_is_never_played(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """A message whose caller did not consent to its being heard is listed (it is still
    work) but plays to nobody, supervisors included."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider, consented=False)
    for username in ("kurmanji", "sup"):
        client, _ = _client(app, username)
        assert client.get(f"/voicemails/{message.id}/audio").status_code == 403, username
    client, _ = _client(app, "kurmanji")
    html = client.get("/console/").get_data(as_text=True)
    assert f'id="voicemail-{message.id}"' in html
    assert f"/voicemails/{message.id}/audio" not in html
    assert factory.audit_entries("voicemail_played") == []


def test_voicemail_mark_handled_is_audited_once(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """Marking a message handled keeps who and when, is audited, and takes it off the
    lists; a second mark changes nothing and says so."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider)
    client, token = _client(app, "kurmanji")
    done = client.post(
        f"/voicemails/{message.id}/handled", data={"csrf_token": token, "back": "my_callbacks.page"}
    )
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/console/callbacks/")
    factory.session.refresh(message)
    assert message.handled_at is not None
    handler = factory.audit_entries("voicemail_handled")
    assert [(e.target_id, e.actor_label) for e in handler] == [(str(message.id), "kurmanji")]
    assert message.handled_by_id == handler[0].actor_id
    assert f'id="voicemail-{message.id}"' not in client.get("/console/").get_data(as_text=True)
    again = client.post(
        f"/voicemails/{message.id}/handled", data={"csrf_token": token}, follow_redirects=True
    )
    assert "already marked handled" in again.get_data(as_text=True)
    assert len(factory.audit_entries("voicemail_handled")) == 1
    assert client.post(f"/voicemails/{message.id}/handled").status_code == 400  # no token


def test_voicemail_call_back_makes_the_callback_now_for_this_counsellor(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """CALL BACK makes the message's pending callback due now and offered first to the
    counsellor (the callbacks' audited call_now); a withheld number offers no call back."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider)
    withheld = _message(factory, provider, number=None)
    client, token = _client(app, "kurmanji")
    html = client.get("/console/").get_data(as_text=True)
    assert f"/voicemails/{message.id}/call-back" in html
    assert f"/voicemails/{withheld.id}/call-back" not in html
    response = client.post(f"/voicemails/{message.id}/call-back", data={"csrf_token": token})
    assert response.status_code == 302
    factory.session.expire_all()
    callback = factory.session.get(CallbackRequest, message.callback_request_id)
    assert callback is not None
    staff_id = factory.audit_entries("callback_call_now")[0].actor_id
    assert callback.preferred_staff_id == staff_id
    assert callback.next_attempt_at <= utcnow()
    refused = client.post(
        f"/voicemails/{withheld.id}/call-back", data={"csrf_token": token}, follow_redirects=True
    )
    assert "no callback waiting" in refused.get_data(as_text=True)


def test_voicemail_supervisor_page_lists_unhandled_by_age(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """Supervisors see every unhandled message, whatever its language: urgent first,
    then the oldest first; handled ones are gone. They may play and handle them."""
    app, factory = console
    _people(factory)
    newest = _message(factory, provider, "ar", age=HOUR)
    oldest = _message(factory, provider, "fa", age=30 * HOUR, number="+905321110009")
    urgent = _message(factory, provider, "ku", age=0.1 * HOUR, urgent=True, number=None)
    handled = _message(factory, provider, "tr", age=50 * HOUR, number="+905321110010")
    handled.handled_at = utcnow()
    factory.session.commit()
    client, _ = _client(app, "sup")
    html = client.get("/supervisor/voicemails").get_data(as_text=True)
    ids = [newest.id, oldest.id, urgent.id, handled.id]
    assert _ids_in(html, ids) == [urgent.id, oldest.id, newest.id]
    assert "30 h" in html
    assert client.get(f"/voicemails/{oldest.id}/audio").status_code == 200
    assert [e.actor_label for e in factory.audit_entries("voicemail_played")] == ["sup"]


def test_voicemail_destroyed_by_retention_shows_so_and_never_plays(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """The retention purge destroys a voicemail's recording as any other: the message
    shows as destroyed and its audio is gone (410), with no play audited."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider, age=200 * 24 * HOUR)
    policy = retention.Policy(
        periods={
            "recordings": 90,
            "notes": 365,
            "referral_notes": 365,
            "caller_numbers": 180,
            "cases": 730,
            "persons": 730,
            "audit": 400,
        },
        purge_every_days=30,
        destruction_log_days=1095,
    )
    recording = message.recording
    recording.created_at = utcnow() - 200 * 24 * HOUR
    factory.session.commit()
    retention.purge(factory.session, policy, utcnow(), audit.Actor("tests"))
    factory.session.commit()
    client, _ = _client(app, "kurmanji")
    html = client.get("/console/").get_data(as_text=True)
    row = html[html.index(f'id="voicemail-{message.id}"') :]
    assert "Destroyed under the retention policy" in row[: row.index("</tr>")]
    assert client.get(f"/voicemails/{message.id}/audio").status_code == 410
    assert factory.audit_entries("voicemail_played") == []
    assert factory.session.get(Call, message.call_id) is not None


def test_voicemail_left_through_the_webhooks_plays_to_its_counsellor(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """Defect 2: a caller who leaves a message hears that the line's staff will listen to
    it, and a counsellor of the caller's language can then play it (before, nothing ever
    set a consent, so every play was refused)."""
    app, factory = console
    app.extensions["helpline.clock"] = lambda: CLOSED
    settings: Settings = app.extensions["helpline.settings"]
    _people(factory)
    phone = Phone(app.test_client(), settings)
    phone.dial_in()
    for key in ("1", "2", "2", "2"):
        phone.press(key)
    assert said(settings, "tr", "voicemail_instructions") in phone.heard()
    assert "listen" in said(settings, "en", "voicemail_instructions")
    record = phone.last.find("Record") if phone.last is not None else None
    assert record is not None
    sid = "RE" + phone.call_sid[2:]
    phone.post(
        record.attrib["recordingStatusCallback"],
        phone.params(
            RecordingSid=sid,
            RecordingUrl=f"{provider}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}",
            RecordingStatus="completed",
            RecordingDuration="7",
        ),
    )
    phone.finish_recording()
    message = factory.session.scalars(sa.select(Voicemail)).one()
    client, _ = _client(app, "turkish")
    assert f'id="voicemail-{message.id}"' in client.get("/console/").get_data(as_text=True)
    played = client.get(f"/voicemails/{message.id}/audio")
    assert played.status_code == 200
    assert played.data == AUDIO
    assert [e.actor_label for e in factory.audit_entries("voicemail_played")] == ["turkish"]


def test_voicemail_plays_from_the_supervisors_call_detail(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """On a call's detail, a voicemail recording plays through the voicemail's own
    consent (the call has no consent to recording); a call recording still does not."""
    app, factory = console
    _people(factory)
    message = _message(factory, provider)
    call = factory.session.get(Call, message.call_id)
    assert call is not None
    call_recording = factory.recording(call)
    client, _ = _client(app, "sup")
    html = client.get(f"/supervisor/calls/{message.call_id}").get_data(as_text=True)
    assert f"/voicemails/{message.id}/audio" in html
    assert f"/supervisor/recordings/{call_recording.id}/audio" not in html
    assert "no consent" in html
