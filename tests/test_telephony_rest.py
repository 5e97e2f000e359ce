"""The emulator's REST API, through the official twilio client over real HTTP (127.0.0.1).

The client comes from `helpline.telephony.client.rest_client` with TWILIO_API_BASE_URL
pointing at the sandbox, as the app will use it. Bad credentials and bad input are
checked with raw requests: JSON errors twilio-python can read, never a 500.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from helpline.config import Settings
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.server import SandboxServer
from helpline.sandbox.transcript import EndReason, Heard
from helpline.sandbox.transport import FlaskTransport
from helpline.telephony.client import rest_client
from tests.twilio_app import (
    ACCOUNT,
    BASE,
    CALLER,
    HELPLINE,
    SPEED,
    TOKEN,
    AppUnderTest,
    Page,
    line,
)

STAFF = "+905550001111"
EVENTS = ["initiated", "ringing", "answered", "completed"]

PAGES: dict[str, Page] = {
    "/status": "",
    "/events": "",
    "/conference": "",
    "/outbound": "<Say>This is the helpline calling you back</Say>",
    "/long": '<Say>Please hold</Say><Pause length="600"/>',
    "/next": '<Say>Moved on</Say><Pause length="600"/>',
    "/voice": lambda p: {
        "room": '<Dial action="/after"><Conference statusCallback="/conference" '
        'statusCallbackEvent="start end join leave mute hold modify">room</Conference></Dial>',
        "queue": '<Enqueue action="/queue-after" waitUrl="/hold">support</Enqueue>',
        "record": '<Record action="/recorded" maxLength="30"/>',
    }[p["To"].removeprefix("client:")],
    "/after": "<Say>The conference is over</Say>",
    "/hold": '<Say>Please wait</Say><Pause length="5"/>',
    "/queue-after": "",
    "/moved": "<Say>You were moved</Say>",
    "/recorded": "<Hangup/>",
}


@dataclasses.dataclass
class Sandbox:
    server: SandboxServer
    app: AppUnderTest
    client: Any  # twilio.rest.Client

    @property
    def exchange(self) -> Any:
        return self.server.exchange

    def settle(self) -> None:
        assert self.exchange.settle(20)
        assert self.app.refused == 0


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    app = AppUnderTest(PAGES)
    settings = Settings.from_env(
        {
            "HELPLINE_ENV": "test",
            "HELPLINE_INSTANCE_PATH": str(tmp_path / "instance"),
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": BASE,
        }
    )
    server = SandboxServer(
        settings, port=0, speed=SPEED, transport=FlaskTransport(app.app, BASE), line=line()
    )
    server.start()
    client = rest_client(dataclasses.replace(settings, twilio_api_base_url=server.url), timeout=5)
    try:
        yield Sandbox(server, app, client)
    finally:
        client.http_client.session.close()
        server.stop()


def raw(
    sandbox: Sandbox,
    path: str,
    form: dict[str, str] | None = None,
    auth: tuple[str, str] = (ACCOUNT, TOKEN),
    method: str | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """A hand-made request; the status and the JSON body."""
    data = body if body is not None else (urllib.parse.urlencode(form).encode() if form else None)
    request = urllib.request.Request(sandbox.server.url + path, data=data, method=method)
    request.add_header("Authorization", "Basic " + b64encode(":".join(auth).encode()).decode())
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        finally:
            error.close()


CALLS = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"


# Calls


def test_rest_create_call_reports_progress_in_order(sandbox: Sandbox) -> None:
    """calls.create answers 201 queued; the status callbacks follow, SequenceNumber in order."""
    sandbox.exchange.set_phone(STAFF, Behaviour("answer", after=2, talk=20))
    call = sandbox.client.calls.create(
        to=STAFF,
        from_=HELPLINE,
        url=f"{BASE}/outbound",
        status_callback=f"{BASE}/events",
        status_callback_event=EVENTS,
        status_callback_method="POST",
        timeout=30,
    )
    assert call.sid.startswith("CA")
    assert (call.status, call.direction, call.to, call._from) == (
        "queued",
        "outbound-api",
        STAFF,
        HELPLINE,
    )
    sandbox.settle()
    seen = sandbox.app.seen("/events")
    assert [s.get("CallStatus") for s in seen] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [s.get("SequenceNumber") for s in seen] == ["0", "1", "2", "3"]
    fetched = sandbox.client.calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert fetched.start_time is not None
    assert fetched.end_time is not None
    assert int(fetched.duration) >= 1
    assert sandbox.app.seen("/outbound")[0].get("CallSid") == call.sid


def test_rest_list_calls_filters_by_status(sandbox: Sandbox) -> None:
    sandbox.exchange.set_phone(STAFF, Behaviour("busy"))
    busy = sandbox.client.calls.create(to=STAFF, from_=HELPLINE, url=f"{BASE}/outbound")
    sandbox.settle()
    listed = sandbox.client.calls.list(status="busy", limit=20)
    assert [call.sid for call in listed] == [busy.sid]
    assert sandbox.client.calls.list(status="in-progress") == []


def test_rest_redirect_then_end_a_live_call(sandbox: Sandbox) -> None:
    sandbox.exchange.set_phone(STAFF, Behaviour("answer", after=1, talk=None))
    call = sandbox.client.calls.create(to=STAFF, from_=HELPLINE, url=f"{BASE}/long")
    assert sandbox.app.wait_for(lambda: bool(sandbox.app.seen("/long")))
    sandbox.client.calls(call.sid).update(url=f"{BASE}/next", method="POST")
    assert sandbox.app.wait_for(lambda: bool(sandbox.app.seen("/next")))
    ended = sandbox.client.calls(call.sid).update(status="completed")
    assert ended.sid == call.sid
    sandbox.settle()
    assert sandbox.client.calls(call.sid).fetch().status == "completed"
    with pytest.raises(TwilioRestException) as caught:
        sandbox.client.calls(call.sid).update(url=f"{BASE}/next")
    assert (caught.value.status, caught.value.code) == (400, 21220)


def test_rest_cancel_a_ringing_call(sandbox: Sandbox) -> None:
    sandbox.exchange.set_phone(STAFF, Behaviour("no-answer"))
    call = sandbox.client.calls.create(to=STAFF, from_=HELPLINE, url=f"{BASE}/outbound")
    assert sandbox.app.wait_for(lambda: sandbox.exchange.get_leg(call.sid).status == "ringing")
    sandbox.client.calls(call.sid).update(status="canceled")
    sandbox.settle()
    assert sandbox.client.calls(call.sid).fetch().status == "canceled"


def test_rest_unknown_call_is_a_404(sandbox: Sandbox) -> None:
    with pytest.raises(TwilioRestException) as caught:
        sandbox.client.calls("CA" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


# Conferences and participants


def test_rest_participants_create_update_and_kick(sandbox: Sandbox) -> None:
    """Add a counsellor to a caller's room, mute and hold them, kick them, end the room."""
    exchange = sandbox.exchange
    caller = exchange.place_call(CALLER, "client:room")
    assert sandbox.app.wait_for(lambda: bool(exchange.rooms))
    (room,) = sandbox.client.conferences.list(friendly_name="room", status="in-progress")
    exchange.set_phone(STAFF, Behaviour("answer", after=1, talk=None))
    added = sandbox.client.conferences(room.sid).participants.create(
        from_=HELPLINE,
        to=STAFF,
        label="counsellor",
        start_conference_on_enter=True,
        status_callback=f"{BASE}/events",
        status_callback_event=["answered", "completed"],
    )
    assert (added.label, added.conference_sid) == ("counsellor", room.sid)
    assert added.status in ("queued", "ringing", "connecting")
    participants = sandbox.client.conferences(room.sid).participants
    assert sandbox.app.wait_for(
        lambda: (
            len(participants.list()) == 2
            and not any(p.status != "connected" for p in participants.list())
        )
    )
    muted = participants("counsellor").update(muted=True)
    assert (muted.muted, muted.call_sid) == (True, added.call_sid)
    held = participants(added.call_sid).update(hold=True)
    assert held.hold is True
    leg = exchange.get_leg(added.call_sid)
    assert sandbox.app.wait_for(
        lambda: any(isinstance(e, Heard) and e.kind == "play" for e in leg.transcript.events)
    )
    participants(added.call_sid).update(hold=False)
    assert participants(added.call_sid).delete() is True
    assert sandbox.app.wait_for(lambda: leg.ended.is_set())
    assert [p.call_sid for p in participants.list()] == [caller.sid]
    sandbox.client.conferences(room.sid).update(status="completed")
    sandbox.settle()
    assert sandbox.client.conferences(room.sid).fetch().status == "completed"
    names = [s.get("StatusCallbackEvent") for s in sandbox.app.seen("/conference")]
    assert names[:3] == ["conference-start", "participant-join", "participant-join"] or names[
        :3
    ] == ["participant-join", "conference-start", "participant-join"]
    for name in ("participant-mute", "participant-hold", "participant-unhold", "conference-end"):
        assert name in names
    kicked = [
        s
        for s in sandbox.app.seen("/conference")
        if s.get("StatusCallbackEvent") == "participant-leave" and s.get("CallSid") == leg.sid
    ]
    assert kicked[0].get("ReasonParticipantLeft") == "participant_updated_via_api"
    end = sandbox.app.seen("/conference")[-1]
    assert end.get("ReasonConferenceEnded") == "conference-ended-via-api"
    assert sandbox.app.seen("/after")[0].get("CallSid") == caller.sid
    assert [s.get("CallStatus") for s in sandbox.app.seen("/events")] == [
        "in-progress",
        "completed",
    ]


def test_rest_participant_coaching_is_who_hears_whom(sandbox: Sandbox) -> None:
    exchange = sandbox.exchange
    caller = exchange.place_call(CALLER, "client:room")
    assert sandbox.app.wait_for(lambda: bool(exchange.rooms))
    (room,) = exchange.rooms.values()
    exchange.set_phone(STAFF, Behaviour("answer", after=1, talk=None))
    exchange.set_phone("+905550009999", Behaviour("answer", after=1, talk=None))
    counsellor = sandbox.client.conferences(room.sid).participants.create(from_=HELPLINE, to=STAFF)
    coach = sandbox.client.conferences(room.sid).participants.create(
        from_=HELPLINE, to="+905550009999", coaching=True, call_sid_to_coach=counsellor.call_sid
    )
    assert sandbox.app.wait_for(lambda: len(room.participants) == 3)
    with exchange.lock:
        hears = room.hears()
    assert hears[caller.sid] == {counsellor.call_sid}
    assert hears[counsellor.call_sid] == {caller.sid, coach.call_sid}
    assert hears[coach.call_sid] == {caller.sid, counsellor.call_sid}
    fetched = sandbox.client.conferences(room.sid).participants(coach.call_sid).fetch()
    assert (fetched.coaching, fetched.call_sid_to_coach) == (True, counsellor.call_sid)
    sandbox.client.conferences(room.sid).update(status="completed")
    sandbox.settle()


# Queues


def test_rest_queue_members_and_dequeue(sandbox: Sandbox) -> None:
    queue = sandbox.client.queues.create(friendly_name="support", max_size=10)
    assert (queue.friendly_name, queue.max_size, queue.current_size) == ("support", 10, 0)
    caller = sandbox.exchange.place_call(CALLER, "client:queue")
    members = sandbox.client.queues(queue.sid).members
    assert sandbox.app.wait_for(lambda: len(members.list()) == 1)
    (member,) = members.list()
    assert (member.call_sid, member.position) == (caller.sid, 1)
    assert sandbox.client.queues(queue.sid).fetch().current_size == 1
    dequeued = members("Front").update(url=f"{BASE}/moved", method="POST")
    assert dequeued.call_sid == caller.sid
    sandbox.settle()
    result = sandbox.app.seen("/queue-after")[0]
    assert (result.get("QueueResult"), result.get("QueueSid")) == ("redirected", queue.sid)
    assert sandbox.app.seen("/moved")[0].get("CallSid") == caller.sid
    assert [q.friendly_name for q in sandbox.client.queues.list()] == ["support"]


# Recordings


def test_rest_recording_metadata_and_audio(sandbox: Sandbox) -> None:
    sandbox.exchange.place_call(CALLER, "client:record", script="record 6")
    sandbox.settle()
    action = sandbox.app.seen("/recorded")[0]
    sid = action.get("RecordingSid") or ""
    recording = sandbox.client.recordings(sid).fetch()
    assert (recording.sid, recording.duration) == (sid, "6")
    url = action.get("RecordingUrl") or ""
    assert url.startswith(sandbox.server.url)
    with urllib.request.urlopen(url, timeout=5) as response:
        audio = response.read()
        assert response.headers["Content-Type"] == "audio/wav"
    assert audio[:4] == b"RIFF"


# Bad requests


@pytest.mark.parametrize(
    ("auth", "status", "code"),
    [((ACCOUNT, "wrong"), 401, 20003), (("AC" + "1" * 32, TOKEN), 401, 20003)],
)
def test_rest_bad_credentials_are_refused(
    sandbox: Sandbox, auth: tuple[str, str], status: int, code: int
) -> None:
    answer, body = raw(sandbox, CALLS, auth=auth)
    assert (answer, body["code"], body["status"]) == (status, code, status)
    assert "message" in body


def test_rest_another_accounts_path_is_not_found(sandbox: Sandbox) -> None:
    answer, body = raw(sandbox, f"/2010-04-01/Accounts/AC{'1' * 32}/Calls.json")
    assert (answer, body["code"]) == (404, 20404)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": HELPLINE, "Url": f"{BASE}/outbound"}, 21201),
        ({"To": STAFF, "Url": f"{BASE}/outbound"}, 21213),
        ({"To": STAFF, "From": HELPLINE}, 21205),
        ({"To": STAFF, "From": HELPLINE, "Url": "not a url"}, 21205),
        ({"To": STAFF, "From": HELPLINE, "Twiml": "<Response><Dance/></Response>"}, 12100),
        ({"To": STAFF, "From": HELPLINE, "Url": f"{BASE}/x", "Timeout": "-5"}, 20001),
        (
            {"To": STAFF, "From": HELPLINE, "Url": f"{BASE}/x", "StatusCallbackEvent": "explode"},
            20001,
        ),
        ({"To": STAFF, "From": HELPLINE, "Url": f"{BASE}/x", "MachineDetection": "Maybe"}, 20001),
    ],
)
def test_rest_bad_call_requests_are_400(sandbox: Sandbox, form: dict[str, str], code: int) -> None:
    answer, body = raw(sandbox, CALLS, form)
    assert (answer, body["code"]) == (400, code)


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/2010-04-01/Accounts/{a}/Nothing.json", "GET", 404),
        ("/2010-04-01/Accounts/{a}/Calls.json", "DELETE", 405),
        ("/2010-04-01/Accounts/{a}/Conferences/CF0.json", "GET", 404),
        ("/2010-04-01/Accounts/{a}/Queues/QU0/Members/Front.json", "POST", 404),
    ],
)
def test_rest_unknown_things_answer_json(
    sandbox: Sandbox, path: str, method: str, status: int
) -> None:
    answer, body = raw(sandbox, path.format(a=ACCOUNT), method=method)
    assert (answer, body["status"]) == (status, status)
    assert isinstance(body["code"], int)


def test_rest_a_body_too_large_is_413(sandbox: Sandbox) -> None:
    answer, body = raw(sandbox, CALLS, body=b"To=" + b"1" * 70_000)
    assert (answer, body["status"]) == (413, 413)


def test_rest_update_with_twiml_and_before_the_answer(sandbox: Sandbox) -> None:
    """Twiml= replaces the live TwiML; an update while it rings is used once it is answered."""
    sandbox.exchange.set_phone(STAFF, Behaviour("answer", after=20, talk=None))
    call = sandbox.client.calls.create(to=STAFF, from_=HELPLINE, url=f"{BASE}/outbound")
    assert sandbox.app.wait_for(lambda: sandbox.exchange.get_leg(call.sid).status == "ringing")
    sandbox.client.calls(call.sid).update(url=f"{BASE}/long", method="POST")
    assert sandbox.app.wait_for(lambda: bool(sandbox.app.seen("/long")))
    assert sandbox.app.seen("/outbound") == []
    sandbox.client.calls(call.sid).update(twiml="<Response><Say>Goodbye</Say><Hangup/></Response>")
    sandbox.settle()
    leg = sandbox.exchange.get_leg(call.sid)
    assert leg.transcript.heard()[-1].text == "Goodbye"
    assert leg.transcript.end_reason is EndReason.TWIML_HANGUP
