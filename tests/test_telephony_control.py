"""The sandbox's control API: callers and staff phones driven by people and tools, as JSON.

Bad input always gets a 4xx JSON error, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from helpline.sandbox.emulator.exchange import Exchange
from helpline.sandbox.emulator.server import create_app
from tests.twilio_app import CALLER, AppUnderTest, Page, emulator

STAFF = "+905550001111"

PAGES: dict[str, Page] = {
    "/voice": lambda p: {
        "+903120000183": '<Gather numDigits="1" action="/menu" timeout="60">'
        '<Say language="ar-XA" voice="Google.ar-XA-Wavenet-B">مرحبا</Say>'
        "<Play>https://audio.test/fa/welcome.mp3</Play></Gather>",
        "client:staff": f'<Dial action="/after" timeout="30"><Number url="/whisper">{STAFF}'
        "</Number></Dial>",
        "client:room": "<Dial><Conference>room</Conference></Dial>",
        "client:queue": "<Enqueue>support</Enqueue>",
    }[p["To"]],
    "/menu": lambda p: (
        f"<Say>You chose {p.get('Digits')}</Say>"
        '<Gather numDigits="1" action="/menu" timeout="600"/>'
    ),
    "/whisper": '<Gather numDigits="1" action="/accept" timeout="60"><Say>Accept?</Say></Gather>'
    "<Hangup/>",
    "/accept": "",
    "/after": lambda p: f"<Say>Dial {p.get('DialCallStatus')}</Say>",
}


@pytest.fixture
def sandbox() -> Iterator[tuple[Exchange, AppUnderTest, FlaskClient]]:
    with emulator(PAGES) as (exchange, app):
        yield exchange, app, create_app(exchange).test_client()


def poll(client: FlaskClient, sid: str, after: int = -1) -> dict[str, Any]:
    response = client.get(f"/sandbox/api/calls/{sid}?after={after}")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_control_interactive_call_events_digits_and_hangup(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    """A person's call: events as typed JSON, keys reach the Gather, hangup ends it."""
    exchange, app, client = sandbox
    response = client.post("/sandbox/api/calls", json={"from": CALLER})
    assert response.status_code == 201
    sid = response.get_json()["sid"]
    assert app.wait_for(lambda: any(e["kind"] == "play" for e in poll(client, sid)["events"]))
    first = poll(client, sid)
    say = next(e for e in first["events"] if e["kind"] == "say")
    assert (say["text"], say["language"], say["voice"]) == (
        "مرحبا",
        "ar-XA",
        "Google.ar-XA-Wavenet-B",
    )
    play = next(e for e in first["events"] if e["kind"] == "play")
    assert play["audio_url"] == "https://audio.test/fa/welcome.mp3"
    assert {"index", "at", "kind", "text", "language", "voice", "audio_url"} <= play.keys()
    assert first["interactive"] is True
    assert first["ended"] is False
    assert client.post(f"/sandbox/api/calls/{sid}/digits", json={"digits": "4"}).status_code == 202
    assert app.wait_for(
        lambda: any(e["text"] == "You chose 4" for e in poll(client, sid)["events"])
    )
    later = poll(client, sid, after=first["last"])
    assert all(event["index"] > first["last"] for event in later["events"])
    assert [c["sid"] for c in client.get("/sandbox/api/calls").get_json()["calls"]] == [sid]
    assert client.post(f"/sandbox/api/calls/{sid}/hangup").status_code == 202
    assert exchange.settle(10)
    done = poll(client, sid)
    assert (done["ended"], done["status"]) == (True, "completed")
    assert done["events"][-2]["kind"] == "ended" or done["events"][-1]["kind"] in (
        "ended",
        "request",
    )
    assert client.get("/sandbox/api/calls").get_json()["calls"] == []
    assert app.refused == 0


def test_control_scripted_call_runs_by_itself(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    exchange, app, client = sandbox
    sid = client.post(
        "/sandbox/api/calls", json={"from": CALLER, "script": "press 2; hangup"}
    ).get_json()["sid"]
    assert exchange.settle(10)
    assert app.seen("/menu")[0].get("Digits") == "2"
    assert poll(client, sid)["interactive"] is False


def test_control_a_person_answers_a_staff_phone(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    """A human phone rings until answered; its keys accept the whisper; its hangup ends it."""
    exchange, app, client = sandbox
    response = client.post("/sandbox/api/phones", json={"number": STAFF, "behaviour": "human"})
    assert response.status_code == 201
    assert response.get_json()["state"] == "idle"
    caller = client.post(
        "/sandbox/api/calls", json={"from": CALLER, "to": "client:staff", "script": ""}
    )
    caller_sid = caller.get_json()["sid"]

    def phone() -> dict[str, Any]:
        phones = client.get("/sandbox/api/phones").get_json()["phones"]
        found: dict[str, Any] = phones[0]
        return found

    assert app.wait_for(lambda: phone()["state"] == "ringing")
    child_sid = phone()["call_sid"]
    assert client.post(f"/sandbox/api/phones/{STAFF}/answer").status_code == 202
    assert app.wait_for(lambda: bool(app.seen("/whisper")))
    assert app.wait_for(lambda: any(e["kind"] == "say" for e in poll(client, child_sid)["events"]))
    response = client.post(f"/sandbox/api/phones/{STAFF}/digits", json={"digits": "1"})
    assert response.status_code == 202
    assert app.wait_for(
        lambda: any(e["kind"] == "connected" for e in poll(client, caller_sid)["events"])
    )
    assert phone()["state"] == "in-call"
    assert client.post(f"/sandbox/api/phones/{STAFF}/hangup").status_code == 202
    assert exchange.settle(10)
    assert phone()["state"] == "idle"
    after = app.seen("/after")[0]
    assert (after.get("DialCallStatus"), after.get("DialBridged")) == ("completed", "true")


def test_control_a_person_declines(sandbox: tuple[Exchange, AppUnderTest, FlaskClient]) -> None:
    exchange, app, client = sandbox
    client.post("/sandbox/api/phones", json={"number": STAFF, "behaviour": {"kind": "human"}})
    client.post("/sandbox/api/calls", json={"from": CALLER, "to": "client:staff", "script": ""})
    assert app.wait_for(lambda: exchange.get_phone(STAFF).state == "ringing")
    assert client.post(f"/sandbox/api/phones/{STAFF}/decline").status_code == 202
    assert exchange.settle(10)
    assert app.seen("/after")[0].get("DialCallStatus") == "busy"


def test_control_phone_replaced_keeps_its_number(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    _, _, client = sandbox
    client.post("/sandbox/api/phones", json={"number": STAFF, "behaviour": "busy"})
    response = client.post(
        "/sandbox/api/phones",
        json={
            "number": STAFF,
            "behaviour": {"kind": "answer", "after": 2, "talk": 30, "keys": "1"},
        },
    )
    assert response.status_code == 200
    assert response.get_json()["behaviour"] == {
        "kind": "answer",
        "after": 2.0,
        "talk": 30.0,
        "keys": "1",
        "greeting": 8.0,
    }
    assert len(client.get("/sandbox/api/phones").get_json()["phones"]) == 1


def test_control_faults_can_be_read_and_changed(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    exchange, _, client = sandbox
    assert client.get("/sandbox/api/faults").get_json() == {
        "duplicate": 0.0,
        "reorder": False,
        "delay_ms": 0,
    }
    response = client.post("/sandbox/api/faults", json={"duplicate": 0.5, "reorder": True})
    assert response.get_json() == {"duplicate": 0.5, "reorder": True, "delay_ms": 0}
    assert exchange.deliveries.faults.reorder is True
    client.post("/sandbox/api/faults", json={"delay_ms": 10})
    assert exchange.deliveries.faults.duplicate == 0.5


def test_control_lists_conferences_and_queues(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    exchange, app, client = sandbox
    in_room = client.post(
        "/sandbox/api/calls", json={"from": CALLER, "to": "client:room"}
    ).get_json()
    waiting = client.post(
        "/sandbox/api/calls", json={"from": STAFF, "to": "client:queue"}
    ).get_json()
    # Take each snapshot when it shows what is asked: on a busy machine the clock runs on.
    seen: dict[str, Any] = {}

    def snapshot(kind: str, inner: str) -> bool:
        found = client.get(f"/sandbox/api/{kind}").get_json()[kind]
        if found and found[0][inner]:
            seen[kind] = found
            return True
        return False

    assert app.wait_for(lambda: snapshot("queues", "members"))
    assert app.wait_for(lambda: snapshot("conferences", "participants"))
    (room,) = seen["conferences"]
    assert room["participants"][0]["call_sid"] == in_room["sid"]
    assert room["participants"][0]["hears"] == []
    (queue,) = seen["queues"]
    assert (queue["name"], queue["members"][0]["call_sid"]) == ("support", waiting["sid"])
    for sid in (in_room["sid"], waiting["sid"]):
        client.post(f"/sandbox/api/calls/{sid}/hangup")
    assert exchange.settle(10)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/sandbox/api/calls", {}, 400),
        ("/sandbox/api/calls", {"from": "not a number"}, 400),
        ("/sandbox/api/calls", {"from": CALLER, "to": "x" * 40}, 400),
        ("/sandbox/api/calls", {"from": CALLER, "script": "dance wildly"}, 400),
        ("/sandbox/api/calls", {"from": CALLER, "script": 42}, 400),
        ("/sandbox/api/calls", ["not", "an", "object"], 400),
        ("/sandbox/api/calls/CA0/digits", {"digits": "1"}, 404),
        ("/sandbox/api/calls/CA0/hangup", {}, 404),
        ("/sandbox/api/phones", {"number": STAFF, "behaviour": "sing"}, 400),
        (
            "/sandbox/api/phones",
            {"number": STAFF, "behaviour": {"kind": "answer", "after": -1}},
            400,
        ),
        (
            "/sandbox/api/phones",
            {"number": STAFF, "behaviour": {"kind": "answer", "keys": "ab"}},
            400,
        ),
        ("/sandbox/api/phones", {"behaviour": "busy"}, 400),
        ("/sandbox/api/phones/+905550000000/answer", {}, 404),
        ("/sandbox/api/phones/+905550000000/dance", {}, 404),
        ("/sandbox/api/faults", {"duplicate": 2}, 400),
        ("/sandbox/api/faults", {"duplicate": "often"}, 400),
        ("/sandbox/api/faults", {"reorder": "yes"}, 400),
        ("/sandbox/api/faults", {"delay_ms": -5}, 400),
        ("/sandbox/api/nothing", {}, 404),
    ],
)
def test_control_bad_input_is_a_clear_4xx(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient], path: str, body: object, status: int
) -> None:
    _, _, client = sandbox
    response = client.post(path, json=body)
    assert response.status_code == status
    assert isinstance(response.get_json()["error"], str)


def test_control_state_conflicts_are_409(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    """Keys on a scripted call, on an ended call, answering an idle phone: 409."""
    exchange, _, client = sandbox
    scripted = client.post(
        "/sandbox/api/calls", json={"from": CALLER, "script": "wait 600"}
    ).get_json()
    response = client.post(f"/sandbox/api/calls/{scripted['sid']}/digits", json={"digits": "1"})
    assert response.status_code == 409
    client.post(f"/sandbox/api/calls/{scripted['sid']}/hangup")
    assert exchange.settle(10)
    assert client.post(f"/sandbox/api/calls/{scripted['sid']}/hangup").status_code == 409
    client.post("/sandbox/api/phones", json={"number": STAFF, "behaviour": "human"})
    assert client.post(f"/sandbox/api/phones/{STAFF}/answer").status_code == 409


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/sandbox/api/calls/CA0", {}, 404),
        ("get", "/sandbox/api/calls/CA0?after=x", {}, 400),
        ("put", "/sandbox/api/calls", {}, 405),
        (
            "post",
            "/sandbox/api/calls",
            {"data": "{not json", "content_type": "application/json"},
            400,
        ),
        (
            "post",
            "/sandbox/api/calls",
            {"data": "x" * 70_000, "content_type": "application/json"},
            413,
        ),
        ("post", "/sandbox/api/calls/CA0/digits", {"json": {"digits": ""}}, 400),
    ],
)
def test_control_bad_requests_answer_json(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    _, _, client = sandbox
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_control_bad_digits_on_a_live_call_are_400(
    sandbox: tuple[Exchange, AppUnderTest, FlaskClient],
) -> None:
    exchange, _, client = sandbox
    sid = client.post("/sandbox/api/calls", json={"from": CALLER}).get_json()["sid"]
    response = client.post(f"/sandbox/api/calls/{sid}/digits", json={"digits": "12ab"})
    assert response.status_code == 400
    client.post(f"/sandbox/api/calls/{sid}/hangup")
    assert exchange.settle(10)
