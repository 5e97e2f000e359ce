"""The callbacks' pure rules: before an attempt, the sweeper's verdicts, the caller's leg."""

from __future__ import annotations

import datetime as dt

import pytest

from helpline.callbacks import leg
from helpline.callbacks.limits import Limits, before_attempt
from helpline.callbacks.service import PLACEHOLDER
from helpline.callbacks.sweep import RECONCILE_SECONDS, SweepClock, Verdict, verdict
from helpline.ivr.model import Schedule
from helpline.models import Call, CallbackRequest
from helpline.models.enums import CallbackOutcome, CallbackStatus

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 14:00 in Istanbul
FRIDAY_EVENING = dt.datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 21:00 in Istanbul
MONDAY_MORNING = dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 09:00 in Istanbul
WEEKDAYS = {day: ((dt.time(8), dt.time(23)),) for day in range(5)}
LIMITS = Limits(
    start=dt.time(9),
    end=dt.time(20),
    timezone="Europe/Istanbul",
    schedule=Schedule("counselling_hours", "Europe/Istanbul", WEEKDAYS, frozenset()),
    retry_seconds=(600,),
    later_seconds=3600,
)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "due", "expires", "now", "expected"),
    [
        (CallbackStatus.CLAIMED, NOW, NOW + DAY, NOW, ("gone", None, False)),
        (CallbackStatus.PENDING, NOW + HOUR, NOW + DAY, NOW, ("later", NOW + HOUR, False)),
        (CallbackStatus.PENDING, NOW - HOUR, NOW, NOW, ("expire", None, False)),
        (CallbackStatus.PENDING, NOW, NOW + DAY, NOW, ("claim", None, False)),
        (
            CallbackStatus.PENDING,
            FRIDAY_EVENING,
            FRIDAY_EVENING + 4 * DAY,
            FRIDAY_EVENING,
            ("later", MONDAY_MORNING, True),
        ),
        (
            CallbackStatus.PENDING,
            FRIDAY_EVENING,
            FRIDAY_EVENING + DAY,
            FRIDAY_EVENING,
            ("later", FRIDAY_EVENING + DAY, True),
        ),
    ],
)
def test_before_attempt_waits_expires_moves_or_claims(
    status: str,
    due: dt.datetime,
    expires: dt.datetime,
    now: dt.datetime,
    expected: tuple[str, dt.datetime | None, bool],
) -> None:
    """A callback no longer pending is gone; one not due waits for its time; one past its
    expiry expires; outside calling hours it moves to the next opening, or to its expiry
    when the next opening comes after it; otherwise it is claimed."""
    before = before_attempt(LIMITS, status, due, expires, now)
    assert (before.action, before.at, before.moved) == expected


CLOCK = SweepClock(20)


def _attempt(
    status: str,
    *,
    counsellor: int | None = None,
    answered_ago: int = 0,
    claimed_ago: int = 0,
    sid: str = "CA" + "0" * 32,
    expires_in: dt.timedelta = DAY,
) -> tuple[CallbackRequest, Call]:
    callback = CallbackRequest(
        status=status,
        claimed_at=NOW - dt.timedelta(seconds=claimed_ago),
        expires_at=NOW + expires_in,
    )
    call = Call(
        call_sid=sid,
        counsellor_id=counsellor,
        answered_at=NOW - dt.timedelta(seconds=answered_ago),
    )
    return callback, call


@pytest.mark.parametrize(
    ("attempt", "waits", "now", "expected"),
    [
        (_attempt(CallbackStatus.CLAIMED, counsellor=1, answered_ago=5), True, NOW, Verdict.LEAVE),
        (
            _attempt(CallbackStatus.CLAIMED, counsellor=1, answered_ago=61),
            True,
            NOW,
            Verdict.REDIAL,
        ),
        (_attempt(CallbackStatus.CLAIMED, counsellor=1), False, NOW, Verdict.LEFT),
        (_attempt(CallbackStatus.CLAIMED), False, NOW, Verdict.WAITING),
        (_attempt(CallbackStatus.CLAIMED, expires_in=-HOUR), False, NOW, Verdict.UNTAKEN),
        (_attempt(CallbackStatus.CLAIMED), False, FRIDAY_EVENING, Verdict.UNTAKEN),
        (
            _attempt(CallbackStatus.DIALLING, sid=PLACEHOLDER + "1", claimed_ago=59),
            False,
            NOW,
            Verdict.LEAVE,
        ),
        (
            _attempt(CallbackStatus.DIALLING, sid=PLACEHOLDER + "1", claimed_ago=60),
            False,
            NOW,
            Verdict.LOST,
        ),
        (_attempt(CallbackStatus.DIALLING, claimed_ago=60), False, NOW, Verdict.LEAVE),
        (
            _attempt(CallbackStatus.DIALLING, claimed_ago=RECONCILE_SECONDS + 1),
            False,
            NOW,
            Verdict.RECONCILE,
        ),
    ],
)
def test_sweep_verdict_for_each_open_attempt(
    attempt: tuple[CallbackRequest, Call], waits: bool, now: dt.datetime, expected: Verdict
) -> None:
    """A counsellor who waits too long for the dial gets it again; one who left releases
    the attempt; with no counsellor it waits within hours and is released outside them or
    past its expiry; a dial that never named its leg is lost after the lease; a dialled
    attempt open past RECONCILE_SECONDS is asked about."""
    callback, call = attempt
    found = verdict(callback, call, counsellor_waits=waits, limits=LIMITS, clock=CLOCK, now=now)
    assert found == expected


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("busy", CallbackOutcome.BUSY),
        ("no-answer", CallbackOutcome.NO_ANSWER),
        ("failed", CallbackOutcome.NO_ANSWER),
        ("canceled", CallbackOutcome.NO_ANSWER),
        ("completed", CallbackOutcome.NOT_SAFE_NOW),
        ("in-progress", "unknown"),
        (None, "unknown"),
    ],
)
def test_leg_outcome_of_a_final_status(status: str | None, outcome: str) -> None:
    """A leg that ended before the room: busy, no answer, or answered and hung up."""
    assert leg.outcome_of_status(status, "unknown") == outcome


def test_leg_machines_and_the_discreet_question() -> None:
    """Only Twilio's machine and fax answers are machines; only 1, in time, is "talk now"."""
    assert leg.is_machine("machine_end_beep")
    assert leg.is_machine("fax")
    assert not leg.is_machine("human")
    assert not leg.is_machine("")
    assert leg.wants_to_talk("1", timed_out=False)
    assert not leg.wants_to_talk("1", timed_out=True)
    assert not leg.wants_to_talk("2", timed_out=False)
    assert not leg.wants_to_talk(None, timed_out=False)
