"""The conference room's status callbacks (`/voice/room`) on the call's timeline: each
stored once however often Twilio delivers it, and listed in the order the provider says
things happened, not in the order the callbacks arrived."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from email.utils import format_datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.config import Settings
from helpline.models import Call, CallEvent
from helpline.models.enums import CallEventKind
from helpline.routing import offers
from helpline.routing.legs import COUNSELLOR
from tests.factories import Factory, login
from tests.voice import Phone, new_call_sid

T0 = dt.datetime(2026, 11, 23, 11, 0, 5, tzinfo=dt.UTC)
STAFF_LEG = new_call_sid()


def new_conference_sid() -> str:
    return "CF" + secrets.token_hex(16)


class Room:
    """One conference room of a call, whose callbacks Twilio posts, signed."""

    def __init__(self, phone: Phone, call: Call) -> None:
        self.phone = phone
        self.call = call
        self.sid = new_conference_sid()

    def post(
        self,
        event: str,
        sequence: int | None,
        at: dt.datetime,
        participant: str | None = None,
        token: str | None = None,
    ) -> None:
        form = {
            "AccountSid": self.phone.settings.twilio_account_sid or "",
            "ConferenceSid": self.sid,
            "FriendlyName": f"helpline-call-{self.call.id}",
            "StatusCallbackEvent": event,
            "Timestamp": format_datetime(at),
        }
        if sequence is not None:
            form["SequenceNumber"] = str(sequence)
        if participant is not None:
            form["CallSid"] = self.call.call_sid if participant == "caller" else STAFF_LEG
        headers = {"I-Twilio-Idempotency-Token": token or secrets.token_hex(16)}
        response = self.phone.post(f"/voice/room?c={self.call.id}", form, headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "text/xml"


def room_of(client: FlaskClient, settings: Settings, factory: Factory) -> Room:
    call = factory.call(None, language="tr")
    return Room(Phone(client, settings), call)


def room_events(factory: Factory, call: Call) -> list[tuple[str, str]]:
    factory.session.expire_all()
    rows = factory.session.scalars(
        sa.select(CallEvent)
        .where(CallEvent.call_id == call.id, CallEvent.kind == CallEventKind.ROOM_EVENT)
        .order_by(CallEvent.id)
    )
    return [(e.data["event"], e.data.get("participant", "")) for e in rows]


def test_room_callback_delivered_twice_is_stored_once(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """The same callback twice (same idempotency token, same SequenceNumber) is one row."""
    room = room_of(client, settings, factory)
    for _ in range(2):
        room.post("participant-join", 2, T0, "staff", token="token-of-the-join")
    assert room_events(factory, room.call) == [("participant-join", "staff")]


def test_room_callback_without_sequence_number_is_known_by_its_token(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """Without a SequenceNumber the idempotency token recognises a redelivery; another
    token is another callback."""
    room = room_of(client, settings, factory)
    room.post("participant-join", None, T0, "caller", token="first")
    room.post("participant-join", None, T0, "caller", token="first")
    room.post("participant-leave", None, T0, "caller", token="second")
    assert room_events(factory, room.call) == [
        ("participant-join", "caller"),
        ("participant-leave", "caller"),
    ]


def test_room_callbacks_of_two_rooms_of_one_call_are_both_kept(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A room numbers its callbacks from 1, and a call may have a second room (the caller
    waited again): the same SequenceNumber in another room is another callback."""
    first = room_of(client, settings, factory)
    second = Room(first.phone, first.call)
    first.post("conference-start", 1, T0)
    second.post("conference-start", 1, T0 + dt.timedelta(minutes=2))
    assert room_events(factory, first.call) == [("conference-start", "")] * 2


def test_room_callback_redelivered_counts_once_in_talked(
    app: Flask, client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """The counsellor joined (a join Twilio delivered twice) and left before the caller
    arrived: they never talked, so the caller may wait again."""
    room = room_of(client, settings, factory)
    counsellor = factory.staff("ayse", password=None)
    with app.app_context():
        offers.event(
            factory.session, room.call.id, CallEventKind.OFFER_ACCEPTED, counsellor.id,
            {"role": COUNSELLOR},
        )  # fmt: skip
        factory.session.commit()
    room.post("conference-start", 1, T0)
    room.post("participant-join", 2, T0, "staff", token="join")
    room.post("participant-join", 2, T0, "staff", token="join")  # redelivered
    room.post("participant-leave", 3, T0 + dt.timedelta(seconds=4), "staff")
    room.post("participant-join", 4, T0 + dt.timedelta(seconds=5), "caller")
    with app.app_context():
        assert offers.talked(factory.session, room.call.id) is False


def test_room_callbacks_in_reverse_order_are_listed_in_provider_order(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """Callbacks arriving last first are shown as they happened: by the provider's
    Timestamp, and within one second by its SequenceNumber."""
    factory.staff("sup", roles=("supervisor",))
    room = room_of(client, settings, factory)
    room.post("participant-join", 3, T0 + dt.timedelta(seconds=2), "caller")
    room.post("participant-join", 2, T0, "staff")
    room.post("conference-start", 1, T0)
    login(client, "sup")
    response = client.get(f"/supervisor/calls/{room.call.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    timeline = page[page.index('id="h-timeline"') :]
    shown = re.findall(r'<span class="k">event</span> ([a-z-]+)', timeline)
    assert shown == ["conference-start", "participant-join", "participant-join"]
    sources = re.findall(r"<td>twilio #(\d+)</td>", timeline)
    assert sources == ["1", "2", "3"]
    with client.application.app_context():
        stored = factory.session.scalars(
            sa.select(CallEvent.occurred_at)
            .where(CallEvent.call_id == room.call.id)
            .order_by(CallEvent.id)
        ).all()
    assert stored == [T0 + dt.timedelta(seconds=2), T0, T0]  # the provider's times
