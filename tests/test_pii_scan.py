"""A realistic scenario, then a scan of the raw database and the logs for personal data.

Phone numbers and note text must exist only encrypted at rest and never in a log line.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.testing import FlaskClient

from helpline.audit import chain as audit
from helpline.cli import main
from helpline.config import Settings
from helpline.models import (
    Base,
    CallbackRequest,
    CallerConsent,
    CallEvent,
    ContactRecord,
    ContactRecordVersion,
    Referral,
    utcnow,
)
from helpline.models.enums import (
    CallbackReason,
    CallEventKind,
    EventSource,
    ReferralKind,
    RiskLevel,
)
from tests.cli_env import use_settings
from tests.factories import Factory, csrf_token, login, post_form
from tests.voice import Phone

NUMBERS = {
    # as typed or sent         E.164            national significant number
    "0532 111 22 33": ("+905321112233", "5321112233"),
    "+90 (533) 444-55-66": ("+905334445566", "5334445566"),
    "+963 944 777 888": ("+963944777888", "944777888"),
    "05357778899": ("+905357778899", "5357778899"),
    "+93 70 123 4567": ("+93701234567", "701234567"),
}
NOTE = "Afraid of her husband; staying with a cousin in Keçiören since Tuesday"
NOTE_WORDS = ("husband", "cousin", "Keçiören")


def _needles() -> list[str]:
    found = list(NOTE_WORDS)
    for typed, (e164, national) in NUMBERS.items():
        found += [typed, e164, e164[1:], national]
    return found


def _raw_database_text(factory: Factory, database_url: str) -> str:
    """Everything stored, as text: every row of every table, and for SQLite the files too."""
    connection = factory.session.connection()
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in connection.execute(sa.text(f'SELECT * FROM "{table.name}"')):
            parts.append(" ".join(str(value) for value in row))
    factory.session.commit()
    if database_url.startswith("sqlite"):
        path = Path(sa.make_url(database_url).database or "")
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                parts.append(file.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_no_plaintext_number_or_note_at_rest_or_in_logs(
    client: FlaskClient,
    factory: Factory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """After staff, callers, calls, notes, referrals, callbacks and logins: no plaintext left."""
    caplog.set_level(logging.DEBUG)
    typed = list(NUMBERS)

    # An administrator adds staff with phones, from the command line and from the console.
    use_settings(monkeypatch, settings)
    cli = CliRunner().invoke(
        main,
        [
            "staff",
            "add",
            "ayse",
            "--name",
            "Ayşe Kaya",
            "--role",
            "counsellor",
            "--language",
            "tr",
            "--phone",
            typed[0],
            "--password-stdin",
        ],
        input="a perfectly long password\n",
    )
    assert cli.exit_code == 0, cli.output
    factory.staff("boss", roles=("admin",))
    login(client, "boss")
    added = post_form(
        client,
        "/admin/staff",
        "/admin/staff",
        {
            "username": "maryam",
            "display_name": "Maryam Ahmadi",
            "roles": ["counsellor"],
            "languages": "fa",
            "topics": "",
            "site": "",
            "phone": typed[1],
            "password": "another long password",
        },
    )
    assert added.status_code == 302
    listing = client.get("/admin/staff").get_data(as_text=True)
    assert "+90 5** *** ** 66" in listing

    # Someone types a phone number into the username box.
    login(client.application.test_client(), typed[3], "not a password")

    # A caller rings the line through the Twilio webhooks: language, remember it, topic,
    # a callback, and Twilio's status callbacks.
    phone = Phone(client.application.test_client(), settings, caller=NUMBERS[typed[4]][0])
    phone.dial_in()
    for key in ("3", "1", "2", "1", "1"):
        phone.press(key)
    phone.status("completed", 1, CallDuration=95)
    assert phone.last is not None
    assert phone.last.find("Hangup") is not None, "the call must reach its callback request"

    # A caller's journey: call, timeline, consent, contact record with versions, referral, callback.
    counsellor = factory.staff("counsellor", roles=("counsellor",), languages=("ar",))
    caller = factory.caller(typed[2], language="ar")
    call = factory.call(caller, language="ar", topic="psychosocial")
    session = factory.session
    session.add_all(
        [
            CallEvent(
                call_id=call.id,
                kind=CallEventKind.CALL_STARTED,
                source=EventSource.TWILIO,
                sequence_number=0,
                data={"direction": "inbound"},
            ),
            CallEvent(
                call_id=call.id,
                kind=CallEventKind.LANGUAGE_SELECTED,
                source=EventSource.IVR,
                data={"language": "ar"},
            ),
            CallerConsent(caller_id=caller.id, call_id=call.id, kind="callback", is_granted=True),
        ]
    )
    record = ContactRecord(
        call_id=call.id,
        caller_id=caller.id,
        counsellor_id=counsellor.id,
        categories=["psychosocial.anxiety"],
        summary_encrypted=NOTE,
        risk_level=RiskLevel.HIGH,
        is_safety_plan_made=True,
        version=1,
    )
    record.referrals.append(
        Referral(kind=ReferralKind.VIOLENCE_PREVENTION_CENTRE, province="Ankara")
    )
    session.add(record)
    session.flush()
    session.add(
        ContactRecordVersion(
            contact_record_id=record.id,
            version=1,
            edited_by_id=counsellor.id,
            status="draft",
            call_type="data",
            categories=record.categories,
            summary_encrypted=NOTE,
            risk_level="high",
            is_safety_plan_made=True,
        )
    )
    session.add(
        CallbackRequest(
            caller_id=caller.id,
            call_id=call.id,
            reason=CallbackReason.QUEUE_KEY,
            language="ar",
            expires_at=utcnow() + dt.timedelta(days=2),
        )
    )
    audit.record(
        session,
        "number_revealed",
        audit.Actor("counsellor", counsellor.id),
        target_type="caller",
        target_id=caller.id,
    )
    session.commit()

    # The counsellor writes the same note through the console: autosave, finalise with a
    # follow-up, reveal the number, open the caller's history.
    console_call = factory.call(caller, counsellor_id=counsellor.id, language="ar",
                                answered_at=utcnow())  # fmt: skip
    desk = client.application.test_client()
    login(desk, "counsellor")
    form_url = f"/console/calls/{console_call.id}/record"
    token = csrf_token(desk.get(form_url).get_data(as_text=True))
    saved = desk.post(f"{form_url}/autosave", data={"csrf_token": token, "summary": NOTE})
    record_url = saved.get_json()["record_url"]
    follow_up_day = (utcnow() + dt.timedelta(days=2)).date().isoformat()
    finalised = post_form(desk, record_url, record_url, {
        "action": "finalise", "call_type": "data", "categories": ["violence.domestic"],
        "summary": NOTE, "risk_level": "high", "safety_plan": "yes",
        "referrals-0-kind": "violence_prevention_centre", "referrals-0-province": "Ankara",
        "referrals-0-destination": "ŞÖNİM", "follow_up_date": follow_up_day,
        "follow_up_time": "10:30", "follow_up_consent": "y",
    })  # fmt: skip
    assert finalised.status_code == 302, finalised.get_data(as_text=True)
    revealed = post_form(desk, record_url, f"{record_url}/reveal")
    assert NUMBERS[typed[2]][0] in revealed.get_data(as_text=True)
    assert desk.get(f"/console/callers/{caller.id}").status_code == 200

    # A supervisor reads the call (and its record), searches the log and exports it with
    # the masked number: what they read and why is audited, never the data itself.
    factory.staff("sup", roles=("supervisor",))
    supervisor = client.application.test_client()
    login(supervisor, "sup")
    assert supervisor.get(f"/supervisor/calls/{call.id}").status_code == 200
    assert supervisor.get("/supervisor/calls", query_string={"language": "ar"}).status_code == 200
    exported = post_form(
        supervisor,
        "/supervisor/calls/export?language=ar",
        "/supervisor/calls/export?language=ar",
        {"include_number": "y", "reason": "Quality review of Arabic calls"},
    )
    assert exported.status_code == 200
    assert "+963 9** *** *88" in exported.get_data(as_text=True)

    # Reading back through the models gives the plaintext to those who may see it.
    session.expire_all()
    assert session.get(ContactRecord, record.id).summary_encrypted == NOTE  # type: ignore[union-attr]

    raw = _raw_database_text(factory, settings.database_url)
    assert "gAAAA" in raw, "the scan must see the stored ciphertext, or it proves nothing"
    leaks = [needle for needle in _needles() if needle in raw]
    assert leaks == [], f"{len(leaks)} plaintext value(s) found in the raw database"

    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records) + out + err + cli.output
    assert caplog.records, "the scan must see log records, or it proves nothing"
    leaks = [needle for needle in _needles() if needle in logged]
    assert leaks == [], f"{len(leaks)} plaintext value(s) found in the logs"


def test_log_redaction_is_a_last_line_of_defence() -> None:
    """Even a careless log call does not print a phone number through the app's handler."""
    import io

    from helpline import logs

    logs.configure("INFO")
    installed = [h for h in logging.getLogger().handlers if getattr(h, "_helpline", False)]
    assert len(installed) == 1
    assert any(isinstance(f, logs.RedactingFilter) for f in installed[0].filters)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RedactingFilter())
    careless = logging.getLogger("helpline.careless")
    careless.addHandler(handler)
    try:
        careless.warning("caller %s said hello", "+90 532 111 22 33")
        try:
            raise ValueError("bad number 0532 111 22 33")
        except ValueError:
            careless.exception("failed")
    finally:
        careless.removeHandler(handler)
    text = stream.getvalue()
    assert "caller [redacted-number] said hello" in text
    assert "111 22 33" not in text
    assert "ValueError: bad number [redacted-number]" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Twilio's REST URLs carry the API version, a date: it stays readable.
        ("POST /2010-04-01/Accounts/AC1/Calls.json", "POST /2010-04-01/Accounts/AC1/Calls.json"),
        ("at 2026-12-04T17:10:20+00:00 done", "at 2026-12-04T17:10:20+00:00 done"),
        ("due 2026-12-04 17:10:20.5 then", "due 2026-12-04 17:10:20.5 then"),
        # A number that starts like a date goes on with digits: still redacted.
        ("call 2010-04-01 23 45 now", "call [redacted-number] now"),
        ("call 2010-04-0123 now", "call [redacted-number] now"),
        ("dial +2010-04-01 now", "dial [redacted-number] now"),
        # A date next to a number: the date stays, the number goes.
        ("2026-12-04 +90 532 111 22 33", "2026-12-04 [redacted-number]"),
        ("caller 0532 111 22 33", "caller [redacted-number]"),
    ],
)
def test_log_redaction_keeps_dates_and_redacts_numbers(text: str, expected: str) -> None:
    """ISO dates (and date-times) standing alone survive redaction; digit runs that only
    begin like a date, or stand beside one, do not."""
    from helpline import logs

    assert logs.redact(text) == expected
