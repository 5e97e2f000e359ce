"""Callbacks without the live line: the limits (pure), each exactly-once step against the
real database, the console's service functions (audited), the outbound rate in real
Redis, where callbacks come from, the sweeper and the caller's webhooks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue
from rq.registry import ScheduledJobRegistry

from helpline.callbacks import service
from helpline.callbacks.configured import limits
from helpline.callbacks.limits import Limits, after_attempt
from helpline.callbacks.ratelimit import RateLimit
from helpline.callbacks.sweep import SweepClock
from helpline.config import Settings
from helpline.extensions import db, get_redis
from helpline.ivr.model import Schedule
from helpline.models import AuditEntry, Call, CallbackRequest, CallerConsent, CallEvent, utcnow
from helpline.models.enums import (
    CallbackOutcome,
    CallbackReason,
    CallbackStatus,
    CallDirection,
    CallOutcome,
)
from helpline.tasks.callbacks import enqueue_dial_callback, sweep_callbacks
from helpline.worker import timing
from tests.callbacks import callback_settings, request_callback
from tests.factories import Factory, login
from tests.voice import Phone, said

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 14:00 in Istanbul
WEEKDAYS = {day: ((dt.time(8), dt.time(23)),) for day in range(5)}
HOURS = Schedule("counselling_hours", "Europe/Istanbul", WEEKDAYS, frozenset())


def bounds(schedule: Schedule | None = HOURS) -> Limits:
    return Limits(
        start=dt.time(9),
        end=dt.time(20),
        timezone="Europe/Istanbul",
        schedule=schedule,
        retry_seconds=(600, 1800, 7200),
        later_seconds=3600,
    )


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (dt.datetime(2026, 11, 23, 6, 0, tzinfo=UTC), True),  # 09:00 Istanbul, Monday
        (dt.datetime(2026, 11, 23, 5, 59, tzinfo=UTC), False),  # 08:59: before the window
        (dt.datetime(2026, 11, 23, 17, 0, tzinfo=UTC), False),  # 20:00: after it
        (dt.datetime(2026, 11, 28, 11, 0, tzinfo=UTC), False),  # Saturday: the line is shut
    ],
)
def test_limits_calling_hours_are_the_window_and_the_schedule(
    utc: dt.datetime, open_: bool
) -> None:
    """A callback is dialled only inside the local window and while the line is open."""
    assert bounds().is_open(utc) is open_


def test_limits_next_open_is_the_next_window_opening() -> None:
    """After 20:00 on a Friday, the next opening is Monday 09:00 Istanbul time."""
    friday_evening = dt.datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert bounds().next_open(friday_evening) == dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert bounds().next_open(NOW) == NOW


EXPIRES = NOW + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("outcome", "attempts", "status", "at"),
    [
        (CallbackOutcome.CONNECTED, 1, CallbackStatus.COMPLETED, None),
        (CallbackOutcome.NO_ANSWER, 1, CallbackStatus.PENDING, NOW + dt.timedelta(minutes=10)),
        (CallbackOutcome.BUSY, 2, CallbackStatus.PENDING, NOW + dt.timedelta(minutes=30)),
        (CallbackOutcome.MACHINE, 3, CallbackStatus.FAILED, None),
        ("lost", 3, CallbackStatus.FAILED, None),
        (CallbackOutcome.NOT_SAFE_NOW, 3, CallbackStatus.PENDING, NOW + dt.timedelta(hours=1)),
        ("waited", 0, CallbackStatus.PENDING, NOW),
        (CallbackOutcome.CANCELLED, 1, CallbackStatus.CANCELLED, None),
    ],
)
def test_limits_after_attempt_retries_with_growing_delays(
    outcome: str, attempts: int, status: str, at: dt.datetime | None
) -> None:
    """Unanswered attempts retry after growing delays up to max_attempts (3), then fail;
    not safe now is tried again later whatever the count; connected is done."""
    decided = after_attempt(bounds(), outcome, attempts, 3, EXPIRES, NOW)
    assert (decided.status, decided.at) == (status, at)


def test_limits_after_attempt_expires_past_expiry() -> None:
    """A retry that would fall after the expiry (or outside hours until then) expires."""
    soon = NOW + dt.timedelta(minutes=5)
    decided = after_attempt(bounds(), CallbackOutcome.NO_ANSWER, 1, 3, soon, NOW)
    assert decided.status == CallbackStatus.EXPIRED
    evening = dt.datetime(2026, 11, 23, 16, 55, tzinfo=UTC)  # 19:55: the retry is at 20:05
    decided = after_attempt(bounds(), CallbackOutcome.NO_ANSWER, 1, 3, EXPIRES, evening)
    assert decided.at == dt.datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # Tuesday 09:00


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return callback_settings(database_url, redis_url, tmp_path)


def attempt(app: Flask, callback_id: int) -> int:
    """Claim and start an attempt as the job does; returns its call's id."""
    with app.app_context():
        claimed = service.claim(db.session, callback_id, "test", utcnow())
        assert claimed is not None
        call = service.start_attempt(db.session, claimed, utcnow())
        db.session.commit()
        return call.id


def test_service_claim_takes_a_due_callback_once(app: Flask, factory: Factory) -> None:
    """Two jobs claiming the same callback: the first takes it, the second gets None; a
    callback not yet due is not taken."""
    callback = request_callback(factory)
    later = request_callback(factory, number="+905321119999")
    with app.app_context():
        later_row = db.session.get(CallbackRequest, later.id)
        assert later_row is not None
        later_row.next_attempt_at = utcnow() + dt.timedelta(hours=1)
        db.session.commit()
        assert service.claim(db.session, callback.id, "a", utcnow()) is not None
        db.session.commit()
        assert service.claim(db.session, callback.id, "b", utcnow()) is None
        assert service.claim(db.session, later.id, "a", utcnow()) is None


def test_service_attempt_waits_in_the_callers_original_place(app: Flask, factory: Factory) -> None:
    """An attempt is an outbound call queued at the caller's original queue entry time,
    so the router offers it among waiting callers in the place they had."""
    entered = utcnow() - dt.timedelta(minutes=7)
    callback = request_callback(factory, reason=CallbackReason.QUEUE_KEY, queue_entered_at=entered)
    call_id = attempt(app, callback.id)
    with app.app_context():
        from helpline.routing import live
        from helpline.routing.waiting import list_waiting

        call = db.session.get(Call, call_id)
        assert call is not None
        assert call.direction == CallDirection.OUTBOUND
        assert call.queued_at == entered
        assert call.language == "ar"
        assert [w.call_id for w in list_waiting(db.session, live.policy())] == [call_id]


def test_service_begin_dial_counts_the_attempt_once(app: Flask, factory: Factory) -> None:
    """The counsellor accepted: the attempt is counted once, however often the dial job
    runs; settling it twice records one outcome."""
    counsellor = factory.staff("counsellor.x", languages=("ar",), password=None)
    callback = request_callback(factory)
    call_id = attempt(app, callback.id)
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call is not None
        call.counsellor_id = counsellor.id
        assert service.begin_dial(db.session, call, utcnow()) is not None
        db.session.commit()
        assert service.begin_dial(db.session, call, utcnow()) is None
        first = service.settle(db.session, call, CallbackOutcome.NO_ANSWER, limits(), utcnow())
        db.session.commit()
        again = service.settle(db.session, call, CallbackOutcome.BUSY, limits(), utcnow())
        assert first is not None
        assert again is None
        assert first.status == CallbackStatus.PENDING
        row = db.session.get(CallbackRequest, callback.id)
        assert row is not None
        assert (row.attempts, row.outcome, row.assigned_staff_id) == (1, "no_answer", counsellor.id)
        outcomes = db.session.scalars(
            sa.select(CallEvent).where(CallEvent.kind == "callback_outcome")
        ).all()
        assert [e.data["outcome"] for e in outcomes] == ["no_answer"]
        assert call.outcome == CallOutcome.NO_ANSWER


def test_service_console_actions_are_checked_and_audited(app: Flask, factory: Factory) -> None:
    """Call now makes the callback due and prefers the counsellor who asks; reschedule
    moves it; record_outcome closes it with a CallEvent; each is audited; a closed one
    refuses further changes with a safe message."""
    counsellor = factory.staff("counsellor.y", languages=("ar",), password=None)
    interpreter = factory.staff("interp.y", roles=("interpreter",), password=None)
    caller = factory.caller("+905321117777")
    origin = factory.call(caller, language="ar")
    callback = factory.callback(origin)
    now = utcnow()
    with app.app_context():
        with pytest.raises(service.CallbackError, match="counsellors and supervisors"):
            service.call_now(db.session, callback.id, by=interpreter, now=now)
        later = now + dt.timedelta(days=5)
        moved = service.reschedule(db.session, callback.id, later, by=counsellor, now=now)
        assert moved.next_attempt_at == later
        assert moved.expires_at >= later
        with pytest.raises(service.CallbackError, match="future"):
            service.reschedule(db.session, callback.id, now, by=counsellor, now=now)
        made = service.call_now(db.session, callback.id, by=counsellor, now=now)
        assert (made.next_attempt_at, made.preferred_staff_id) == (now, counsellor.id)
        closed = service.record_outcome(
            db.session, callback.id, CallbackOutcome.CANCELLED, by=counsellor, now=now
        )
        assert closed.status == CallbackStatus.CANCELLED
        db.session.commit()
        with pytest.raises(service.CallbackError, match="not waiting"):
            service.call_now(db.session, callback.id, by=counsellor, now=now)
        with pytest.raises(service.CallbackError, match="connected or cancelled"):
            service.record_outcome(db.session, callback.id, "machine", by=counsellor, now=now)
        actions = db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.target_type == "callback_request")
        ).all()
        assert actions == ["callback_rescheduled", "callback_call_now", "callback_outcome_recorded"]
        [event] = db.session.scalars(
            sa.select(CallEvent).where(CallEvent.kind == "callback_outcome")
        ).all()
        assert (event.call_id, event.data["outcome"]) == (origin.id, "cancelled")


def test_ratelimit_slots_are_shared_across_processes(app: Flask) -> None:
    """Two limiters on the same key (two worker processes) hand out slots a quarter of a
    second apart at 4 calls a second, never two in the same slot."""
    with app.app_context():
        first = RateLimit(get_redis(), 4, key="helpline:test:rate")
        second = RateLimit(get_redis(), 4, key="helpline:test:rate")
        slots = [first.take(1000.0), second.take(1000.0), first.take(1000.1), second.take(1002.0)]
    assert slots == [1000.0, 1000.25, 1000.5, 1002.0]


def test_sources_voicemail_and_abandoned_with_consent(app: Flask, factory: Factory) -> None:
    """A voicemail asks for a callback (once per call); an abandoned call asks for one only
    after waiting longer than the setting and only with the caller's consent."""
    caller = factory.caller("+905321116666")
    now = utcnow()
    voicemail = factory.call(caller, language="fa", outcome=CallOutcome.VOICEMAIL)
    abandoned = factory.call(
        caller,
        language="fa",
        queued_at=now - dt.timedelta(seconds=300),
        ended_at=now,
        outcome=CallOutcome.ABANDONED_QUEUE,
    )
    short = factory.call(
        caller,
        language="fa",
        queued_at=now - dt.timedelta(seconds=30),
        ended_at=now,
        outcome=CallOutcome.ABANDONED_QUEUE,
    )
    with app.app_context():
        session = db.session
        found = session.get(Call, voicemail.id)
        assert found is not None
        made = service.request_after_voicemail(session, found, now)
        assert made is not None
        assert made.reason == CallbackReason.VOICEMAIL
        assert service.request_after_voicemail(session, found, now) is None
        gone = session.get(Call, abandoned.id)
        brief = session.get(Call, short.id)
        assert gone is not None
        assert brief is not None
        assert service.request_after_abandon(session, gone, 60, now) is None  # no consent
        session.add(CallerConsent(caller_id=caller.id, kind="callback", is_granted=True))
        session.flush()
        session.refresh(gone.caller, ["consents"])
        asked = service.request_after_abandon(session, gone, 60, now)
        assert asked is not None
        assert (asked.reason, asked.queue_entered_at) == (CallbackReason.ABANDONED, gone.queued_at)
        assert service.request_after_abandon(session, brief, 60, now) is None  # too short
        session.commit()


def test_voice_key_2_while_waiting_agrees_to_a_callback_if_the_call_drops(
    app: Flask, client: FlaskClient, settings: Settings, open_hours: None
) -> None:
    """A waiting caller who presses 2 hears thanks and keeps waiting, with their callback
    consent recorded; when they hang up after waiting longer than the setting, a callback
    is asked for them in their place. Without pressing 2, an abandoned wait asks none."""
    app.extensions["helpline.queue_status"] = lambda _language, _topic: "open"
    made: dict[bool, list[CallbackRequest]] = {}
    for presses_2, number in ((True, "+905321117771"), (False, "+905321117772")):
        phone = Phone(client, settings, caller=number)
        phone.dial_in()
        for key in ("2", "2", "3"):  # Arabic, do not remember, violence: the queue
            phone.press(key)
        assert phone.last is not None
        enqueue = phone.last.find("Enqueue")
        assert enqueue is not None
        phone._twiml(phone.post(enqueue.attrib["waitUrl"], phone.params()))
        if presses_2:
            thanks = phone.press("2")
            assert thanks.find("Gather") is not None  # still waiting: the hold round
            assert said(settings, "ar", "cut_off_consent_thanks") in phone.heard()
        with app.app_context():
            call = db.session.scalars(sa.select(Call).where(Call.call_sid == phone.call_sid)).one()
            call.queued_at = utcnow() - dt.timedelta(seconds=300)  # a long wait
            db.session.commit()
        phone.post(enqueue.attrib["action"], phone.params(QueueResult="hangup", QueueTime=300))
        assert phone.status("completed", 1).status_code == 200
        with app.app_context():
            call = db.session.scalars(sa.select(Call).where(Call.call_sid == phone.call_sid)).one()
            made[presses_2] = list(
                db.session.scalars(
                    sa.select(CallbackRequest).where(CallbackRequest.call_id == call.id)
                )
            )
            consents = [(c.kind, c.is_granted) for c in call.caller.consents]  # type: ignore[union-attr]
            assert (("callback", True) in consents) == presses_2
    assert [(c.reason, c.language) for c in made[True]] == [(CallbackReason.ABANDONED, "ar")]
    assert made[False] == []


def test_enqueue_dial_callback_never_runs_before_the_callback_is_due(
    app: Flask, factory: Factory
) -> None:
    """RQ's scheduler keeps whole seconds: a callback due at a fraction of a second is
    booked for the next whole second, never the one before (where its job would find it
    not due yet and the retry would wait for the sweeper); one due on a whole second is
    booked for it."""
    late = request_callback(factory)
    exact = request_callback(factory, number="+905321115556")
    second = utcnow().replace(microsecond=0) + dt.timedelta(seconds=30)
    with app.app_context():
        registry = ScheduledJobRegistry("callbacks", connection=get_redis())  # type: ignore[no-untyped-call]
        booked = {
            callback.id: enqueue_dial_callback(callback.id, due)
            for callback, due in (
                (late, second + dt.timedelta(microseconds=600_000)),
                (exact, second),
            )
        }
        assert registry.get_scheduled_time(str(booked[late.id])) == second + dt.timedelta(seconds=1)
        assert registry.get_scheduled_time(str(booked[exact.id])) == second


def test_sweep_clock_defaults_and_a_short_one_for_tests() -> None:
    """By default the sweep runs every 20 s, gives a due callback's own job 10 s and
    declares a dial lost after 60 s; workers run maintenance every 10 s and wait for a job
    at most 15 s. A shorter CALLBACK_SWEEP_SECONDS scales all of them down."""
    default = SweepClock(Settings.callback_sweep_seconds)
    clock = (default.every, default.grace, default.dial_stall, default.dial_lease)
    assert clock == (20, 10, 60, 60)
    assert timing(default.every) == (10, 30)
    short = SweepClock(4)
    assert (short.grace, short.dial_stall, short.dial_lease) == (2, 12, 12)
    maintenance, ttl = timing(4)
    assert maintenance == 2
    assert ttl - 15 <= 4  # RQ waits for a job this long: an idle worker sweeps on time


def test_sweeper_enqueues_due_callbacks_the_queue_lost(app: Flask, factory: Factory) -> None:
    """A due callback with no job (a Redis that restarted empty) is enqueued by the sweeper;
    one already expired is marked expired with an outcome."""
    due = request_callback(factory)
    old = request_callback(factory, number="+905321115555")
    with app.app_context():
        past = utcnow() - dt.timedelta(minutes=5)
        for callback_id in (due.id, old.id):
            row = db.session.get(CallbackRequest, callback_id)
            assert row is not None
            row.next_attempt_at = past
        expired = db.session.get(CallbackRequest, old.id)
        assert expired is not None
        expired.expires_at = past
        db.session.commit()
        counts = sweep_callbacks()
        assert (counts["enqueued"], counts["expired"]) == (1, 1)
        queued = Queue("callbacks", connection=get_redis()).get_job_ids()
        assert len(queued) == 1
        assert queued[0].startswith(f"callback-{due.id}-")
        assert db.session.get(CallbackRequest, old.id).status == CallbackStatus.EXPIRED  # type: ignore[union-attr]


def test_sweeper_enqueues_a_job_a_killed_worker_took_but_never_started(
    app: Flask, factory: Factory
) -> None:
    """A worker killed between taking a job and starting it leaves it "queued" in RQ's
    intermediate queue, out of the queue itself: the sweeper enqueues the callback again.
    A job still waiting in the queue is left to run."""
    taken = request_callback(factory)
    waiting = request_callback(factory, number="+905321115556")
    with app.app_context():
        past = utcnow() - dt.timedelta(minutes=5)
        for callback_id in (taken.id, waiting.id):
            row = db.session.get(CallbackRequest, callback_id)
            assert row is not None
            row.next_attempt_at = past
            db.session.commit()
            enqueue_dial_callback(callback_id, past)
        queue = Queue("callbacks", connection=get_redis())
        first = queue.get_job_ids()[0]
        assert first.startswith(f"callback-{taken.id}-")
        get_redis().lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")  # taken
        counts = sweep_callbacks()
        assert counts["enqueued"] == 1
        ids = queue.get_job_ids()
        assert ids[0].startswith(f"callback-{waiting.id}-")
        assert [i for i in ids if "-swept-" in i] == [ids[-1]]
        assert ids[-1].startswith(f"callback-{taken.id}-")


def test_voice_callback_machine_hears_only_the_neutral_message(
    app: Flask, client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """An answering machine gets the neutral prompt and a hang-up, nothing else; the
    attempt is settled as `machine` and retried later."""
    counsellor = factory.staff("counsellor.z", languages=("en",), password=None)
    callback = request_callback(factory, language="en")
    call_id = attempt(app, callback.id)
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call is not None
        call.counsellor_id = counsellor.id
        assert service.begin_dial(db.session, call, utcnow()) is not None
        db.session.commit()
    phone = Phone(client, settings)
    params = phone.params(AnsweredBy="machine_start", Direction="outbound-api")
    response = phone.post(f"/voice/callback/answer?c={call_id}", params)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hello. We will call again later. Goodbye." in body
    assert "<Hangup" in body
    assert "Gather" not in body
    with app.app_context():
        row = db.session.get(CallbackRequest, callback.id)
        assert row is not None
        assert (row.status, row.outcome) == (CallbackStatus.PENDING, "machine")
    unsigned = phone.post(f"/voice/callback/answer?c={call_id}", params, sign=False)
    assert unsigned.status_code == 403


def test_supervisor_failed_callbacks_page_lists_them_masked_and_audited(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """A supervisor sees failed and expired callbacks with a masked number and a link to
    the call, never the number itself; the view is audited; a counsellor is refused; a
    bad period is a 400 with a message."""
    factory.staff("sup.cb", roles=("supervisor",))
    factory.staff("couns.cb", roles=("counsellor",))
    caller = factory.caller("+905321114455")
    origin = factory.call(caller, language="ar")
    failed = factory.callback(origin, status=CallbackStatus.FAILED, completed_at=utcnow())
    factory.callback(origin, status=CallbackStatus.COMPLETED, completed_at=utcnow())
    login(client, "couns.cb")
    assert client.get("/supervisor/callbacks/failed").status_code == 403
    client2 = app.test_client()
    login(client2, "sup.cb")
    page = client2.get("/supervisor/callbacks/failed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"<td>{failed.id}</td>" in html
    assert f"/supervisor/calls/{origin.id}" in html
    assert "+905321114455" not in html
    assert "*** ** 55</td>" in html  # masked: the last two digits only
    assert html.count("<tr>") == 2  # the header and the failed one, not the completed
    bad = client2.get("/supervisor/callbacks/failed?days=9")
    assert bad.status_code == 400
    assert "Choose 1, 7 or 30 days." in bad.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.action == "failed_callbacks_viewed")
        ).all()
    assert actions == ["failed_callbacks_viewed"]


def test_reports_leave_callback_attempts_out_of_the_inbound_figures(
    app: Flask, factory: Factory
) -> None:
    """A callback's attempt is an outbound call queued at the caller's old place: the
    KPIs of inbound calls (waits, abandons, service level) do not count it."""
    from helpline.supervisor import reports

    caller = factory.caller("+905321113344")
    start = utcnow() - dt.timedelta(minutes=10)
    inbound = factory.call(caller, started_at=start)
    factory.call(caller, started_at=start, direction=CallDirection.OUTBOUND, queued_at=start)
    with app.app_context():
        facts = list(reports.call_facts(db.session, start, utcnow(), {}))
    assert [f.started_at for f in facts] == [inbound.started_at]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CALLBACK_HOURS", "9-17", "CALLBACK_HOURS must be a local time range"),
        ("CALLBACK_HOURS", "09:00-25:00", "CALLBACK_HOURS must be a local time range"),
        ("CALLBACK_RETRY_SECONDS", "60,soon", "CALLBACK_RETRY_SECONDS must be whole seconds"),
        ("CALLBACK_RETRY_SECONDS", "0", "CALLBACK_RETRY_SECONDS must be whole seconds"),
        ("CALLBACK_RATE_PER_SECOND", "0", "CALLBACK_RATE_PER_SECOND must be a number above 0"),
        ("CALLBACK_RATE_PER_SECOND", "fast", "CALLBACK_RATE_PER_SECOND must be a number"),
        ("CALLBACK_RING_SECONDS", "0", "CALLBACK_RING_SECONDS must be at least 1"),
        ("CALLBACK_SWEEP_SECONDS", "1", "CALLBACK_SWEEP_SECONDS must be at least 2"),
    ],
)
def test_config_callback_settings_refuse_bad_values(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    """A bad callback setting is named in the configuration's problems (and the default
    stands meanwhile); good values are read as given."""
    from helpline.config import Settings

    bad = Settings.from_env({"HELPLINE_INSTANCE_PATH": str(tmp_path), name: value})
    assert any(problem.startswith(message) for problem in bad.problems()), bad.problems()
    good = Settings.from_env(
        {
            "HELPLINE_INSTANCE_PATH": str(tmp_path),
            "CALLBACK_HOURS": "08:30-24:00",
            "CALLBACK_RETRY_SECONDS": "60,300",
            "CALLBACK_RATE_PER_SECOND": "2.5",
            "CALLBACK_SWEEP_SECONDS": "4",
        }
    )
    assert (good.callback_hours, good.callback_retry_seconds) == ("08:30-24:00", (60, 300))
    assert good.callback_rate_per_second == 2.5
    assert good.callback_sweep_seconds == 4
    assert Limits.from_settings(good, {}).end is None  # 24:00: until midnight
