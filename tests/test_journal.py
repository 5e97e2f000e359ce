"""The outage journal: webhooks kept while the database is unreachable, replayed once."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from helpline.cli import main
from helpline.config import Settings
from helpline.journal import journal_of
from helpline.journal import replay as journal_replay
from helpline.journal.store import Entry, Journal
from helpline.models import Call, CallEvent, Recording
from helpline.models.enums import CallEventKind, CallOutcome
from tests.cli_env import use_settings
from tests.factories import Factory
from tests.voice import CALLER, Phone, new_call_sid

RECORDING_URL = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE" + "1" * 32


def _entry(webhook: str, path: str, form: dict[str, str], seconds_ago: int = 60) -> Entry:
    return Entry(
        key=secrets.token_hex(16),
        webhook=webhook,
        path=path,
        args={},
        form=form,
        received_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago),
    )


def _a_call_in_the_journal(journal: Journal, call_sid: str) -> str:
    """An incoming call, its recording and its end, journalled; returns the RecordingSid."""
    base = {
        "CallSid": call_sid,
        "From": CALLER,
        "To": "+903121234567",
        "Direction": "inbound",
        "CallStatus": "in-progress",
    }
    recording_sid = "RE" + secrets.token_hex(16)
    journal.append(_entry("voice.incoming", "/voice/incoming", base, seconds_ago=90))
    journal.append(
        _entry(
            "voice.recording",
            "/voice/recording",
            {
                **base,
                "RecordingSid": recording_sid,
                "RecordingUrl": RECORDING_URL,
                "RecordingStatus": "completed",
                "RecordingDuration": "12",
            },
            seconds_ago=70,
        )
    )
    journal.append(
        _entry(
            "voice.status",
            "/voice/status",
            {**base, "CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "30"},
            seconds_ago=60,
        )
    )
    return recording_sid


def _rows(factory: Factory, call_sid: str) -> tuple[Call | None, list[str], int]:
    session = factory.session
    session.expire_all()
    call = session.scalar(sa.select(Call).where(Call.call_sid == call_sid))
    kinds = (
        list(
            session.scalars(
                sa.select(CallEvent.kind).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
            )
        )
        if call is not None
        else []
    )
    recordings = session.scalar(sa.select(sa.func.count()).select_from(Recording)) or 0
    return call, kinds, recordings


def test_journal_entry_keeps_no_phone_number_in_clear(app: Flask) -> None:
    """An entry is encrypted with the app's keyring: the caller's number (in any form)
    and the CallSid are nowhere in the file's bytes, and the file is the owner's alone."""
    with app.app_context():
        journal = journal_of(app)
        call_sid = new_call_sid()
        _a_call_in_the_journal(journal, call_sid)
        data = journal.own_file.read_bytes()
        mode = stat.S_IMODE(journal.own_file.stat().st_mode)
        folder_mode = stat.S_IMODE(journal.folder.stat().st_mode)
    assert data.count(b"\n") == 3
    for secret in (CALLER, CALLER.lstrip("+"), CALLER[-10:], call_sid):
        assert secret.encode() not in data
    assert mode == 0o600
    assert folder_mode == 0o700


def test_journal_replay_twice_writes_once(app: Flask, factory: Factory) -> None:
    """The same entries replayed twice (a claimed file left behind, or two replayers)
    write one call, one recording and one end: the second replay finds them done."""
    call_sid = new_call_sid()
    with app.app_context():
        journal = journal_of(app)
        recording_sid = _a_call_in_the_journal(journal, call_sid)
        kept = journal.own_file.read_bytes()
        first = journal_replay.replay(app)
        assert not journal.has_files()
        journal.own_file.write_bytes(kept)  # the very same entries again
        second = journal_replay.replay(app)
    assert (first.written, first.duplicate, first.aside) == (3, 0, 0)
    assert (second.written, second.duplicate, second.aside) == (0, 3, 0)
    call, kinds, recordings = _rows(factory, call_sid)
    assert call is not None
    assert call.ended_at is not None
    assert call.outcome == CallOutcome.ABANDONED_IVR
    assert call.caller is not None  # found by blind index, as the webhook would
    assert recordings == 1
    assert factory.session.scalar(sa.select(Recording.recording_sid)) == recording_sid
    assert kinds.count(CallEventKind.ENDED) == 1
    assert kinds.count(CallEventKind.CALL_STARTED) == 1
    assert kinds.count(CallEventKind.JOURNALLED) == 3


def test_journal_replay_dates_the_call_when_the_webhooks_came(app: Flask, factory: Factory) -> None:
    """A replayed call starts and ends when its webhooks came, not when it was replayed,
    and its timeline says it was journalled during a database outage."""
    call_sid = new_call_sid()
    with app.app_context():
        _a_call_in_the_journal(journal_of(app), call_sid)
        journal_replay.replay(app)
    call, _, _ = _rows(factory, call_sid)
    assert call is not None
    assert call.ended_at is not None
    now = dt.datetime.now(dt.UTC)
    assert now - call.started_at >= dt.timedelta(seconds=85)
    assert call.duration_seconds == 30
    late = factory.session.scalars(
        sa.select(CallEvent).where(
            CallEvent.call_id == call.id, CallEvent.kind == CallEventKind.JOURNALLED
        )
    ).all()
    assert {event.data["note"] for event in late} == {journal_replay.LATE}


def test_journal_corrupt_line_is_set_aside(app: Flask, factory: Factory) -> None:
    """A line that is not a readable entry is kept in an `.aside` file and counted; the
    good entries around it are replayed."""
    call_sid = new_call_sid()
    with app.app_context():
        journal = journal_of(app)
        _a_call_in_the_journal(journal, call_sid)
        with journal.own_file.open("a") as file:
            file.write('{"id": "x", "sealed": "not a fernet token"}\nnot json at all\n')
        report = journal_replay.replay(app)
        asides = list(journal.folder.glob("*.aside"))
    assert (report.written, report.aside) == (3, 2)
    assert len(asides) == 1
    assert asides[0].read_text().count("\n") == 2
    call, _, _ = _rows(factory, call_sid)
    assert call is not None
    assert call.ended_at is not None


def test_journal_recording_waits_for_its_call(app: Flask, factory: Factory) -> None:
    """A recording whose call is not known yet (its first webhook may be in another
    process's file) waits in the journal and is written once the call is."""
    call_sid = new_call_sid()
    base = {"CallSid": call_sid, "From": CALLER, "CallStatus": "in-progress"}
    recording = {
        **base,
        "RecordingSid": "RE" + secrets.token_hex(16),
        "RecordingUrl": RECORDING_URL,
        "RecordingStatus": "completed",
    }
    with app.app_context():
        journal = journal_of(app)
        journal.append(_entry("voice.recording", "/voice/recording", recording))
        first = journal_replay.replay(app)
        journal.append(_entry("voice.incoming", "/voice/incoming", base, seconds_ago=120))
        second = journal_replay.replay(app)
    assert (first.written, first.deferred) == (0, 1)
    assert (second.written, second.deferred) == (2, 0)
    assert _rows(factory, call_sid)[2] == 1


@contextlib.contextmanager
def database_refusing(database_url: str) -> Iterator[None]:
    """The test's own PostgreSQL database refuses connections, and has none left."""
    name = sa.make_url(database_url).database
    admin = sa.create_engine(
        sa.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def _is_twiml(response: TestResponse) -> bool:
    return response.status_code == 200 and ET.fromstring(response.get_data()).tag == "Response"


def test_journal_webhooks_with_the_database_unreachable_are_replayed(
    app: Flask, client: FlaskClient, settings: Settings, factory: Factory, database_url: str
) -> None:
    """With the database refusing connections, the caller's webhooks answer the fallback
    TwiML and are journalled; the next webhook once it is back writes the call, its
    recording, its end and its outcome into the call log."""
    if not database_url.startswith("postgresql"):
        pytest.skip("refuses PostgreSQL connections: runs with HELPLINE_TEST_DATABASE_URL")
    phone = Phone(client, settings)
    recording_sid = "RE" + secrets.token_hex(16)
    with database_refusing(database_url):
        answers = [
            phone.post("/voice/incoming", phone.params()),
            phone.post(
                "/voice/recording",
                phone.params(
                    RecordingSid=recording_sid,
                    RecordingUrl=RECORDING_URL,
                    RecordingStatus="completed",
                    RecordingDuration="9",
                ),
            ),
            phone.status("completed", 2, CallDuration="25"),
        ]
        assert all(_is_twiml(answer) for answer in answers)
        assert "Say" in answers[0].get_data(as_text=True)  # the apology, not an empty answer
        with app.app_context():
            assert journal_of(app).has_files()
    later = Phone(client, settings, caller="+905321112299")
    assert _is_twiml(later.post("/voice/incoming", later.params()))  # replays the journal
    call, kinds, recordings = _rows(factory, phone.call_sid)
    assert call is not None
    assert call.ended_at is not None
    assert call.outcome != CallOutcome.IN_PROGRESS
    assert recordings == 1
    assert CallEventKind.JOURNALLED in kinds
    with app.app_context():
        assert not journal_of(app).has_files()


def test_journal_cli_replays_and_counts(
    app: Flask,
    settings: Settings,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`helpline journal replay` writes what another process journalled; `status` counts
    what is left (nothing), and a second replay writes nothing."""
    call_sid = new_call_sid()
    with app.app_context():
        _a_call_in_the_journal(journal_of(app), call_sid)
    use_settings(monkeypatch, settings)
    first = CliRunner().invoke(main, ["journal", "replay"])
    assert first.exit_code == 0, first.output
    assert "written: 3" in first.output
    again = CliRunner().invoke(main, ["journal", "replay"])
    assert "written: 0" in again.output
    status = CliRunner().invoke(main, ["journal", "status"])
    assert "pending: 0" in status.output
    call, _, _ = _rows(factory, call_sid)
    assert call is not None
    assert call.ended_at is not None
