"""End to end: simulated callers through the real helpline app, over the telephony sandbox.

The app refuses (403) any webhook whose X-Twilio-Signature does not validate against
PUBLIC_BASE_URL, so a call whose every request got 200 proves the sandbox signs as Twilio.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from helpline.config import Settings
from helpline.models import Call, CallbackRequest, CallEvent
from helpline.sandbox.emulator.deliveries import Faults
from helpline.sandbox.emulator.exchange import Exchange
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.server import SandboxServer, line_for
from helpline.sandbox.emulator.switchboard import Line
from helpline.sandbox.progress import CALLBACK_EVENTS
from helpline.sandbox.transcript import EndReason
from helpline.sandbox.transport import FlaskTransport
from tests.factories import Factory
from tests.voice import OPEN

SPEED = 100.0
ARABIC_CALLBACK = "press 2; press 1; press 3; press 1; press 1"


def make_exchange(app: Flask, settings: Settings, line: Line | None = None) -> Exchange:
    return Exchange(
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token or "",
        transport=FlaskTransport(app, settings.public_base_url),
        line=line or line_for(settings),
        speed=SPEED,
    )


@pytest.fixture
def sandbox(app: Flask, settings: Settings, open_hours: None) -> Iterator[Exchange]:
    exchange = make_exchange(app, settings)
    yield exchange
    exchange.close()


def all_answered(leg: Leg) -> None:
    """Every request the sandbox made for the call was accepted (no 403, no error)."""
    requests = leg.transcript.requests()
    assert requests, leg.transcript.render()
    assert {request.status for request in requests} == {200}, leg.transcript.render()
    assert leg.transcript.errors() == []


def test_sandbox_arabic_caller_through_the_real_ivr(sandbox: Exchange, factory: Factory) -> None:
    """Arabic, remembered, violence, open hours, the queue hand-off (busy for now), callback."""
    leg = sandbox.place_call("+905321112233", script=ARABIC_CALLBACK)
    assert sandbox.settle(30)
    all_answered(leg)
    assert leg.transcript.end_reason is EndReason.TWIML_HANGUP
    assert leg.status == "completed"
    steps = [request.url for request in leg.transcript.requests() if "/voice/step" in request.url]
    for node in ("choose_language", "remember_language", "choose_topic", "callback_or_message"):
        assert any(f"n={node}" in url for url in steps), steps
    heard = leg.transcript.heard()
    assert heard[0].language.startswith("tr")  # the welcome, before the choice
    assert any(item.language.startswith("ar") for item in heard[3:])

    factory.session.expire_all()
    call = factory.session.scalars(sa.select(Call)).one()
    assert call.call_sid == leg.sid
    assert (call.language, call.topic, call.priority) == ("ar", "violence", 3)
    assert (call.outcome, call.twilio_status) == ("callback_requested", "completed")
    assert call.ended_at is not None
    callback = factory.session.scalars(sa.select(CallbackRequest)).one()
    assert (callback.language, callback.topic, callback.reason) == ("ar", "violence", "queue_key")
    kinds = set(
        factory.session.scalars(sa.select(CallEvent.kind).where(CallEvent.call_id == call.id))
    )
    assert {"language_selected", "topic_selected", "hours_checked", "callback_requested"} <= kinds
    assert "status_callback" in kinds


def _record(factory: Factory, call_sid: str) -> tuple[Any, ...]:
    """What a call left behind, without what differs from call to call (sids, times)."""
    factory.session.expire_all()
    call = factory.session.scalars(sa.select(Call).where(Call.call_sid == call_sid)).one()
    events = list(factory.session.scalars(sa.select(CallEvent).where(CallEvent.call_id == call.id)))
    statuses = sorted(
        (event.sequence_number, event.data["status"])
        for event in events
        if event.kind == "status_callback"
    )
    return (
        call.twilio_status,
        call.last_sequence_number,
        call.ended_at is not None,
        call.outcome,
        call.language,
        call.topic,
        call.priority,
        call.flow_id,
        call.is_number_withheld,
        statuses,
        sorted(collections.Counter(event.kind for event in events).items()),
    )


def test_sandbox_duplicated_and_reordered_callbacks_leave_the_same_record(
    app: Flask, settings: Settings, factory: Factory, open_hours: None
) -> None:
    """The app de-duplicates and orders status callbacks: faulty delivery changes nothing."""
    line = dataclasses.replace(line_for(settings), status_events=CALLBACK_EVENTS)
    exchange = make_exchange(app, settings, line)
    try:
        clean = exchange.place_call("+905321112233", script=ARABIC_CALLBACK)
        assert exchange.settle(30)
        all_answered(clean)
        expected = _record(factory, clean.sid)

        exchange.set_faults(Faults(duplicate=1.0, reorder=True))
        faulty = exchange.place_call("+905329998877", script=ARABIC_CALLBACK)
        assert exchange.settle(30)
        all_answered(faulty)
        assert _record(factory, faulty.sid) == expected
    finally:
        exchange.close()

    assert expected[0] == "completed"
    assert expected[1] == 3
    assert [status for _, status in expected[9]] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    sent = [
        request.purpose
        for request in faulty.transcript.requests()
        if request.purpose.startswith("status callback")
    ]
    assert len(sent) == 8  # every callback twice
    order = list(dict.fromkeys(sent))
    assert order != [
        f"status callback {event}" for event in ("initiated", "ringing", "answered", "completed")
    ]


def test_sandbox_server_and_the_app_over_http(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """`SandboxServer` as `helpline run` will use it: real HTTP both ways, settings only."""
    import threading

    from werkzeug.serving import make_server

    from helpline import create_app
    from tests.conftest import _empty_tables, make_settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, redis_url, tmp_path / "i", PUBLIC_BASE_URL=base)
    app = create_app(settings)
    app.extensions["helpline.clock"] = lambda: OPEN
    web = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    sandbox = SandboxServer(settings, port=0, speed=SPEED).start()
    try:
        started = _post(
            f"{sandbox.url}/sandbox/api/calls",
            {"from": "+905321112233", "script": "press 6; press 2; press 5; hangup"},
        )
        sid = started["sid"]
        assert sandbox.exchange.settle(30)
        events_url = f"{sandbox.url}/sandbox/api/calls/{sid}"
        with urllib.request.urlopen(events_url, timeout=5) as response:
            call = json.loads(response.read())
        assert call["ended"] is True
        requests = [event for event in call["events"] if event["kind"] == "request"]
        assert requests
        assert all("200" in event["detail"] for event in requests), requests
        said = [event["text"] for event in call["events"] if event["kind"] == "say"]
        assert "For English, press 6." in said
    finally:
        sandbox.stop()
        web.shutdown()
        thread.join()
        web.server_close()
        _empty_tables(app)


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer
