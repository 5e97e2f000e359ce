"""The block list: blocked numbers hear a short message, entries expire, supervisors manage
them, every change is audited, and the IVR answers whether or not Redis does."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline import create_app
from helpline.audit import chain as audit
from helpline.blocklist import entries, mirror
from helpline.config import Settings
from helpline.extensions import db, get_redis
from helpline.models import AuditEntry, BlockedNumber, Call, CallerConsent, CallEvent, utcnow
from helpline.models.enums import CallEventKind, CallOutcome, ConsentKind
from helpline.privacy import crypto as privacy
from tests.conftest import make_settings
from tests.factories import TEST_ACTOR, Factory, csrf_token, login
from tests.voice import CALLER, Phone, dead_redis_url, said

OTHER = "+905329998877"
NUMBER_FORMS = (CALLER, CALLER[1:], "5321112233", "532 111 22 33")


def _block(app: Flask, number: str = CALLER, hours: int = 24, at: dt.datetime | None = None) -> int:
    """Block a number through the service, as the console does (commit, then mirror)."""
    moment = at or utcnow()
    with app.app_context():
        entry = entries.block(db.session, number, hours, TEST_ACTOR, moment)
        db.session.commit()
        mirror.mirror_entry(get_redis(), entry, utcnow())
        return entry.id


def _is_blocked_message(phone: Phone, settings: Settings, language: str) -> None:
    assert phone.last is not None
    assert [child.tag for child in phone.last] == ["Say", "Hangup"]
    assert phone.heard() == [said(settings, language, "line_blocked")]


def test_blocklist_blocked_number_hears_the_message_and_the_call_is_logged(
    app: Flask, client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A blocked number hears the short message in the flow's default language and the
    line hangs up; the call is logged with the outcome `blocked` and a timeline event."""
    _block(app)
    phone = Phone(client, settings)
    phone.dial_in()
    _is_blocked_message(phone, settings, "tr")
    call = factory.session.scalars(sa.select(Call).where(Call.call_sid == phone.call_sid)).one()
    assert call.outcome == CallOutcome.BLOCKED
    kinds = factory.session.scalars(
        sa.select(CallEvent.kind).where(CallEvent.call_id == call.id)
    ).all()
    assert CallEventKind.BLOCKED in kinds
    # Twilio redelivers the first webhook: the same answer, one event.
    phone.dial_in()
    _is_blocked_message(phone, settings, "tr")
    assert (
        factory.session.scalar(
            sa.select(sa.func.count()).where(
                CallEvent.call_id == call.id, CallEvent.kind == CallEventKind.BLOCKED
            )
        )
        == 1
    )
    # Another number still reaches the IVR.
    other = Phone(client, settings, caller=OTHER)
    other.dial_in()
    assert other.node() == "choose_language"


def test_blocklist_message_in_the_remembered_language(
    app: Flask, client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A caller who asked the line to remember their language hears the message in it."""
    caller = factory.caller(CALLER, language="ar")
    factory.session.add(
        CallerConsent(caller_id=caller.id, kind=ConsentKind.REMEMBER_LANGUAGE, is_granted=True)
    )
    factory.session.commit()
    _block(app)
    phone = Phone(client, settings)
    phone.dial_in()
    _is_blocked_message(phone, settings, "ar")


def test_blocklist_entries_expire(app: Flask, client: FlaskClient, settings: Settings) -> None:
    """An entry whose time is up blocks nobody: the caller reaches the IVR again."""
    _block(app, hours=24, at=utcnow() - dt.timedelta(hours=25))
    phone = Phone(client, settings)
    phone.dial_in()
    assert phone.node() == "choose_language"


def test_blocklist_redis_mirror_has_the_ttl_and_is_rebuilt_after_a_flush(
    app: Flask, client: FlaskClient, settings: Settings, redis_url: str
) -> None:
    """Redis holds one key per blocked index with the entry's remaining time; a Redis that
    restarted empty is filled again from the database on the next call."""
    _block(app, hours=6)
    connection = redis.Redis.from_url(redis_url)
    with app.app_context():
        index = privacy.keyring().blind_index(CALLER)
    key = mirror.KEY_PREFIX + index
    assert 6 * 3600 - 60 < connection.ttl(key) <= 6 * 3600
    assert CALLER not in str(connection.keys("helpline:blocked:*"))
    connection.flushdb()
    phone = Phone(client, settings)
    phone.dial_in()
    _is_blocked_message(phone, settings, "tr")
    assert connection.exists(key)
    assert connection.exists(mirror.LOADED_KEY)


def test_blocklist_stale_redis_key_never_blocks_a_removed_entry(
    app: Flask, client: FlaskClient, settings: Settings, redis_url: str
) -> None:
    """A hit in Redis is confirmed in the database: an entry removed while Redis missed
    the removal blocks nobody."""
    entry_id = _block(app)
    with app.app_context():
        entries.unblock(db.session, entry_id, TEST_ACTOR, utcnow())
        db.session.commit()  # and Redis is never told
    phone = Phone(client, settings)
    phone.dial_in()
    assert phone.node() == "choose_language"


def test_blocklist_database_answers_when_redis_is_down(
    app: Flask, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis unreachable the check falls back to the database: a blocked number is
    still refused, and any other caller still gets TwiML from the IVR."""
    _block(app)
    down = create_app(
        make_settings(database_url, dead_redis_url(), tmp_path / "down"), {"TESTING": True}
    )
    down_settings: Settings = down.extensions["helpline.settings"]
    phone = Phone(down.test_client(), down_settings)
    phone.dial_in()
    _is_blocked_message(phone, down_settings, "tr")
    other = Phone(down.test_client(), down_settings, caller=OTHER)
    other.dial_in()  # answered with TwiML, whatever routing does without Redis
    assert other.last is not None
    assert len(other.last)
    with down.app_context():
        db.session.remove()
        db.engine.dispose()


# The console.


def _supervisor(client: FlaskClient, factory: Factory) -> None:
    factory.staff("sup", roles=("supervisor",))
    login(client, "sup")


def _add(client: FlaskClient, **data: str) -> tuple[int, str]:
    token = csrf_token(client.get("/supervisor/blocklist").get_data(as_text=True))
    response = client.post("/supervisor/blocklist", data={"csrf_token": token, **data})
    return response.status_code, response.get_data(as_text=True)


def test_blocklist_console_add_list_remove_each_audited(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A supervisor blocks a typed number (any common spelling), sees it masked in the
    list, and removes it; both changes are audited without the number, and the number
    appears in no log line and on no page in clear."""
    caplog.set_level(logging.DEBUG)
    _supervisor(client, factory)
    status, _ = _add(client, number="0532 111 22 33", hours="72", reason="abusive calls")
    assert status == 303
    page = client.get("/supervisor/blocklist").get_data(as_text=True)
    assert "+90 5** *** ** 33" in page
    assert "abusive calls" in page
    for form in NUMBER_FORMS:
        assert form not in page
    phone = Phone(client, settings)
    phone.dial_in()
    _is_blocked_message(phone, settings, "tr")

    entry = factory.session.scalars(sa.select(BlockedNumber)).one()
    token = csrf_token(page)
    response = client.post(f"/supervisor/blocklist/{entry.id}/remove", data={"csrf_token": token})
    assert response.status_code == 303
    assert "No number is blocked" in client.get("/supervisor/blocklist").get_data(as_text=True)
    phone = Phone(client, settings)
    phone.dial_in()
    assert phone.node() == "choose_language"
    # Removing it again: it is no longer active.
    again = client.post(f"/supervisor/blocklist/{entry.id}/remove", data={"csrf_token": token})
    assert again.status_code == 404

    audited = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.target_type == "blocked_number")
    ).all()
    assert [(e.action, e.actor_label, e.target_id) for e in audited] == [
        ("number_blocked", "sup", str(entry.id)),
        ("number_unblocked", "sup", str(entry.id)),
    ]
    assert audited[0].details["hours"] == 72
    assert audit.verify(factory.session).is_intact
    for form in NUMBER_FORMS:
        assert form not in str([e.details for e in audited])
        assert form not in caplog.text


def test_blocklist_console_block_from_a_call(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """The call's page offers to block its caller; the entry remembers the call."""
    _supervisor(client, factory)
    call = factory.call(factory.caller(CALLER))
    page = client.get(f"/supervisor/calls/{call.id}").get_data(as_text=True)
    assert f"/supervisor/calls/{call.id}/block" in page
    response = client.post(
        f"/supervisor/calls/{call.id}/block",
        data={"csrf_token": csrf_token(page), "hours": "1", "reason": ""},
    )
    assert response.status_code == 303
    entry = factory.session.scalars(sa.select(BlockedNumber)).one()
    assert entry.call_id == call.id
    assert dt.timedelta(minutes=59) < entry.expires_at - entry.created_at <= dt.timedelta(hours=1)
    phone = Phone(client, settings)
    phone.dial_in()
    _is_blocked_message(phone, settings, "tr")
    # An unknown call is 404; a withheld number cannot be blocked (a message, not a 500).
    token = csrf_token(page)
    assert (
        client.post("/supervisor/calls/999999/block", data={"csrf_token": token}).status_code == 404
    )
    withheld = factory.call(None, is_number_withheld=True)
    response = client.post(
        f"/supervisor/calls/{withheld.id}/block", data={"csrf_token": token, "hours": "24"}
    )
    assert response.status_code == 400
    assert "withheld" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"number": "not a number", "hours": "24"}, "Type the phone number"),
        ({"number": CALLER, "hours": "5"}, "choose a duration"),
        ({"number": CALLER, "hours": "24", "reason": "called from 05321112233"}, "Do not type"),
        ({"number": CALLER, "hours": "24", "reason": "x" * 201}, "keep the reason short"),
    ],
)
def test_blocklist_console_bad_input_is_a_message(
    client: FlaskClient, factory: Factory, data: dict[str, str], message: str
) -> None:
    """A wrong number, duration or reason is a 400 naming the problem; nothing is blocked,
    and a typed number is never shown back."""
    _supervisor(client, factory)
    status, page = _add(client, **data)
    assert status == 400
    assert message in page
    assert "05321112233" not in page
    assert CALLER not in page
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(BlockedNumber)) == 0


def test_blocklist_console_needs_csrf_and_the_supervisor_role(
    client: FlaskClient, factory: Factory
) -> None:
    """Without the CSRF token nothing is blocked; other roles are refused the pages."""
    _supervisor(client, factory)
    response = client.post("/supervisor/blocklist", data={"number": CALLER, "hours": "24"})
    assert response.status_code == 400
    client.post(
        "/logout",
        data={"csrf_token": csrf_token(client.get("/supervisor/").get_data(as_text=True))},
    )
    factory.staff("couns", roles=("counsellor",))
    login(client, "couns")
    assert client.get("/supervisor/blocklist").status_code == 403
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(BlockedNumber)) == 0


def test_blocklist_block_twice_extends_one_entry(app: Flask, factory: Factory) -> None:
    """Blocking a number already blocked extends its entry rather than adding another."""
    now = utcnow()
    with app.app_context():
        first = entries.block(db.session, CALLER, 1, TEST_ACTOR, now)
        second = entries.block(db.session, CALLER, 24, TEST_ACTOR, now)
        db.session.commit()
        assert first.id == second.id
        assert second.expires_at == now + dt.timedelta(hours=24)
        assert len(entries.list_active(db.session, now)) == 1
