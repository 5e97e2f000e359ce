"""The duty supervisor's live alerts: the rules, the console's endpoints, the ring sweep.

Through the test client with real CSRF tokens and a real PostgreSQL and Redis. The sweep
is run in-process here up to the point of dialling; tests/test_alerts_live.py rings a
sandbox phone with a real worker, and tests/test_browser_alerts.py shows an alert in
chromium.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy.orm import Session

from helpline.alerts import repository, rules
from helpline.extensions import db
from helpline.models import AlertState, AuditEntry, Call, CallEvent, utcnow
from helpline.tasks.alerts import enqueue_alert_sweep, sweep_alerts
from tests.factories import Factory, csrf_token, login
from tests.test_console_calls import MASKED, NUMBER, _scene, _token

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
DIGITS = NUMBER.replace(" ", "")[1:]  # the number without its leading 0


# --- the rules (pure) ----------------------------------------------------------------------


def _ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("occurred", "acknowledged", "rung", "due"),
    [
        (_ago(61), None, None, True),  # a minute unacknowledged
        (_ago(60), None, None, True),  # exactly the delay
        (_ago(59), None, None, False),  # not yet
        (_ago(61), _ago(30), None, False),  # acknowledged
        (_ago(61), None, _ago(1), False),  # rung already: once
        (_ago(3599), None, None, True),  # still within the hour
        (_ago(3601), None, None, False),  # too old to help anyone by ringing
    ],
)
def test_rules_due_to_ring(
    occurred: dt.datetime, acknowledged: dt.datetime | None, rung: dt.datetime | None, due: bool
) -> None:
    """An alert rings once, when open and unacknowledged for ALERT_RING_SECONDS, and only
    within RING_WITHIN of the event."""
    assert rules.is_due_to_ring(occurred, acknowledged, rung, NOW, 60) is due


@pytest.mark.parametrize(
    ("supervisors", "rung"),
    [
        # Logged-in supervisors with a phone are the duty supervisors.
        ([(1, True, True), (2, True, False), (3, False, True)], [1]),
        # Nobody with a phone is logged in: every supervisor with a phone.
        ([(1, True, False), (2, True, False), (3, False, True)], [1, 2]),
        ([(1, False, True)], []),
        ([], []),
    ],
)
def test_rules_who_is_rung(supervisors: list[tuple[int, bool, bool]], rung: list[int]) -> None:
    """The duty supervisor is whoever is logged in (with a phone to ring); an alert nobody
    can see rings every supervisor with a phone."""
    assert rules.to_ring(rules.Supervisor(*row) for row in supervisors) == rung


def test_rules_wait_is_stored_or_so_far() -> None:
    """The wait shown is the stored one once the caller left the queue, else so far."""
    assert rules.wait_seconds(42, _ago(300), NOW) == 42
    assert rules.wait_seconds(None, _ago(300), NOW) == 300
    assert rules.wait_seconds(None, None, NOW) is None


# --- the console ---------------------------------------------------------------------------


def _supervisor(
    client: FlaskClient, factory: Factory, username: str = "elif", phone: str = "+905550000901"
) -> FlaskClient:
    factory.staff(username, roles=("supervisor",), phone=phone)
    supervisor = client.application.test_client()
    assert login(supervisor, username).status_code == 302
    return supervisor


def _poll(supervisor: FlaskClient) -> dict[str, Any]:
    response = supervisor.get("/console/alerts.json", headers={"X-Helpline-Background": "1"})
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return data


def _audit(factory: Factory, action: str) -> list[AuditEntry]:
    factory.session.expire_all()
    return list(factory.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _alert(factory: Factory, call: Call, kind: str, **data: Any) -> CallEvent:
    """An alerting event as the other parts of the app append them, now."""
    event = CallEvent(call_id=call.id, kind=kind, source="ivr", data=data, occurred_at=utcnow())
    factory.session.add(event)
    factory.session.commit()
    return event


def test_alerts_escalation_appears_in_the_live_poll(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """A counsellor's escalation reaches a supervisor's open page through the live poll,
    without a reload: the polled JSON's fingerprint changes and lists the alert with the
    call's language, topic and wait, and the region's HTML says what happened in an
    aria-live region. Never the caller's number, whole or masked."""
    scene = _scene(factory, redis_url)
    supervisor = _supervisor(client, factory)
    page = supervisor.get("/supervisor/").get_data(as_text=True)
    assert 'id="duty-alerts"' in page
    assert 'aria-live="assertive"' in page
    before = _poll(supervisor)
    assert before["count"] == 0
    login(client, "ayse")
    asked = client.post(
        f"/console/calls/{scene.call.id}/escalate", data={"csrf_token": _token(client)}
    )
    assert asked.status_code == 302
    after = _poll(supervisor)
    assert after["fingerprint"] != before["fingerprint"]
    [alert] = after["alerts"]
    assert alert["kind"] == "escalated"
    assert alert["call_id"] == scene.call.id
    assert (alert["language"], alert["topic"]) == ("ar", "violence")
    assert alert["wait_seconds"] == 120  # queued 5 minutes ago, answered 3 minutes ago
    region = supervisor.get("/console/alerts", headers={"X-Helpline-Background": "1"})
    html = region.get_data(as_text=True)
    assert 'aria-live="assertive"' in html
    assert "A counsellor asks for the duty supervisor" in html
    assert "Arabic" in html
    assert "Violence" in html
    assert "2 min 00 s" in html
    for body in (html, str(after)):
        assert MASKED not in body
        assert DIGITS not in body
    assert _poll(supervisor)["fingerprint"] == after["fingerprint"]  # nothing new: no fetch


@pytest.mark.parametrize(
    ("kind", "data", "said"),
    [
        (
            "emergency_queued",
            {},
            "Emergency: the duty line did not answer; the caller waits at the front of the queue",
        ),
        ("urgent_voicemail", {"recording_id": 1}, "An urgent voicemail was left"),
    ],
)
def test_alerts_emergency_and_urgent_voicemail_show_on_every_supervisor_page(
    client: FlaskClient, factory: Factory, kind: str, data: dict[str, Any], said: str
) -> None:
    """An emergency caller put at the front of the queue and an urgent voicemail, as the
    other parts of the app append them, show on every page a supervisor opens, and on no
    counsellor's page."""
    caller = factory.caller("+905321119988")
    call = factory.call(caller, language="fa", topic="child_protection", queued_at=utcnow())
    _alert(factory, call, kind, **data)
    supervisor = _supervisor(client, factory)
    for path in ("/supervisor/", "/supervisor/calls", "/console/escalations"):
        page = supervisor.get(path).get_data(as_text=True)
        assert said in page, path
        assert "Farsi" in page, path
    factory.staff("ayse", roles=("counsellor",))
    login(client, "ayse")
    assert said not in client.get("/console/").get_data(as_text=True)
    assert 'id="duty-alerts"' not in client.get("/console/").get_data(as_text=True)


def test_alerts_acknowledge_is_audited_once(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Acknowledging closes the alert for every supervisor, is audited with who and the
    call, and brings the supervisor back to their page; doing it again changes nothing
    and says it was done."""
    scene = _scene(factory, redis_url)
    event = _alert(factory, scene.call, "escalated")
    supervisor = _supervisor(client, factory)
    other = _supervisor(client, factory, "murat", "+905550000902")
    token = csrf_token(supervisor.get("/supervisor/calls").get_data(as_text=True))
    done = supervisor.post(
        f"/console/alerts/{event.id}/acknowledge",
        data={"csrf_token": token, "next": "/supervisor/calls"},
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/supervisor/calls"
    [entry] = _audit(factory, "alert_acknowledged")
    assert entry.actor_label == "elif"
    assert (entry.target_type, entry.target_id) == ("call_event", str(event.id))
    assert entry.details == {"call_id": scene.call.id, "kind": "escalated"}
    state = factory.session.scalars(sa.select(AlertState)).one()
    assert state.acknowledged_at is not None
    assert state.acknowledged_by_id is not None
    assert _poll(supervisor)["count"] == 0
    assert _poll(other)["count"] == 0
    again = other.post(
        f"/console/alerts/{event.id}/acknowledge",
        data={"csrf_token": csrf_token(other.get("/supervisor/").get_data(as_text=True))},
        follow_redirects=True,
    )
    assert "Test Person had already acknowledged this alert" in again.get_data(as_text=True)
    assert len(_audit(factory, "alert_acknowledged")) == 1


def test_alerts_two_supervisors_acknowledging_at_once_one_wins(
    app: Flask, factory: Factory
) -> None:
    """Two acknowledgements in flight together: the second waits for the first's
    transaction and then finds it done; exactly one of them is the acknowledgement."""
    call = factory.call(language="tr")
    event = _alert(factory, call, "emergency_queued")
    first_by = factory.staff("elif", roles=("supervisor",), password=None)
    second_by = factory.staff("murat", roles=("supervisor",), password=None)
    with app.app_context():
        engine = db.engine
    results: dict[str, repository.Acknowledgement] = {}
    with Session(engine) as first, Session(engine) as second:
        results["first"] = repository.acknowledge(first, event.id, first_by.id, utcnow())

        def race() -> None:
            results["second"] = repository.acknowledge(second, event.id, second_by.id, utcnow())
            second.commit()

        waiting = threading.Thread(target=race)
        waiting.start()
        waiting.join(0.5)  # it blocks on the first's uncommitted row
        first.commit()
        waiting.join(30)
        assert not waiting.is_alive()
    assert results["first"].is_new
    assert not results["second"].is_new
    assert results["second"].by_id == first_by.id


def test_alerts_counsellors_cannot_see_or_acknowledge(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """A counsellor gets 403 on the alerts and on acknowledging one; nothing changes."""
    scene = _scene(factory, redis_url)
    event = _alert(factory, scene.call, "escalated")
    login(client, "ayse")
    token = _token(client)
    assert client.get("/console/alerts.json").status_code == 403
    assert client.get("/console/alerts").status_code == 403
    refused = client.post(f"/console/alerts/{event.id}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 403
    assert factory.session.scalars(sa.select(AlertState)).all() == []
    assert _audit(factory, "alert_acknowledged") == []


def test_alerts_acknowledge_refuses_what_is_not_an_alert(
    client: FlaskClient, factory: Factory
) -> None:
    """Only an alerting event can be acknowledged (404 otherwise), with a CSRF token (400);
    a `next` off the site is ignored."""
    call = factory.call(language="tr")
    [other] = factory.events(call, ("queued", "ivr", {}))
    event = _alert(factory, call, "urgent_voicemail", recording_id=1)
    supervisor = _supervisor(client, factory)
    token = csrf_token(supervisor.get("/supervisor/").get_data(as_text=True))
    url = "/console/alerts/{}/acknowledge"
    assert supervisor.post(url.format(other.id), data={"csrf_token": token}).status_code == 404
    assert (
        supervisor.post(url.format(other.id + 999), data={"csrf_token": token}).status_code == 404
    )
    assert supervisor.post(url.format(event.id)).status_code == 400
    done = supervisor.post(
        url.format(event.id), data={"csrf_token": token, "next": "//evil.example/x"}
    )
    assert done.headers["Location"] == "/supervisor/"


# --- the ring sweep ------------------------------------------------------------------------


def _aged(factory: Factory, event: CallEvent, seconds: int) -> None:
    event.occurred_at = utcnow() - dt.timedelta(seconds=seconds)
    factory.session.commit()


def test_alerts_due_to_ring_and_claimed_once(app: Flask, factory: Factory) -> None:
    """Alerts unacknowledged past ALERT_RING_SECONDS are due; a claim takes each once (a
    second sweep finds nothing); an acknowledged one is never due, nor claimed."""
    call = factory.call(language="tr")
    due = _alert(factory, call, "emergency_queued")
    fresh = _alert(factory, call, "urgent_voicemail", recording_id=1)
    seen = _alert(factory, call, "escalated")
    other = factory.events(call, ("queued", "ivr", {}))[0]
    for event in (due, seen, other):
        _aged(factory, event, 61)
    staff = factory.staff("elif", roles=("supervisor",), password=None)
    with app.app_context():
        repository.acknowledge(db.session, seen.id, staff.id, utcnow())
        db.session.commit()
        assert repository.due_to_ring(db.session, utcnow(), 60) == [due.id]
        assert repository.claim_ring(db.session, due.id, utcnow())
        db.session.commit()
        assert not repository.claim_ring(db.session, due.id, utcnow())
        assert not repository.claim_ring(db.session, seen.id, utcnow())
        db.session.rollback()
        assert repository.due_to_ring(db.session, utcnow(), 60) == []
    assert fresh.id not in (due.id, seen.id)


def test_alerts_sweep_with_nothing_due_is_one_query(app: Flask, factory: Factory) -> None:
    """With no alert due (a fresh one, an old acknowledged one) the sweep runs one SQL
    statement and rings nobody."""
    call = factory.call(language="tr")
    _alert(factory, call, "escalated")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert sweep_alerts() == 0
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert "call_event" in statements[0]


def test_alerts_speak_the_supervisors_console_language(
    client: FlaskClient, factory: Factory
) -> None:
    """An Arabic-speaking supervisor reads the alert in Arabic, right to left (as Turkish
    and English, from the console's catalogs)."""
    call = factory.call(language="tr", topic="violence", queued_at=utcnow())
    _alert(factory, call, "urgent_voicemail", recording_id=1)
    factory.staff("leila", roles=("supervisor",), ui_language="ar")
    login(client, "leila")
    page = client.get("/supervisor/").get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "تُركت رسالة صوتية عاجلة" in page
    assert "إقرار" in page


def test_alerts_sweep_is_queued_once_per_interval_by_all_workers(redis_url: str) -> None:
    """Workers queue the sweep between their jobs; within ALERT_SWEEP_SECONDS only the
    first of them does (one job on the maintenance queue)."""
    connection = redis.Redis.from_url(redis_url)
    assert enqueue_alert_sweep(connection)
    assert not enqueue_alert_sweep(connection)
    jobs = Queue("maintenance", connection=connection).get_jobs()
    assert [str(job.func_name).rsplit(".", 1)[-1] for job in jobs] == ["sweep_alerts"]
