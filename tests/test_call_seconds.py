"""The stored wait and duration of a call follow its phase times on every flush."""

from __future__ import annotations

import datetime as dt

import pytest

from helpline.models.calls import whole_seconds
from tests.factories import Factory

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, at(5), None),
        (at(0), None, None),
        (at(0), at(0), 0),
        (at(0), at(0.49), 0),
        (at(0), at(0.5), 1),
        (at(0), at(19.6), 20),
        (at(10), at(3610), 3600),
    ],
)
def test_whole_seconds_rounds_half_up(
    start: dt.datetime | None, end: dt.datetime | None, expected: int | None
) -> None:
    """Whole seconds, half up; unknown when either end is unknown."""
    assert whole_seconds(start, end) == expected


def test_call_wait_and_duration_are_stored_on_insert_and_update(factory: Factory) -> None:
    """Queued, then answered, then ended: each flush brings the stored seconds up to date."""
    call = factory.call(started_at=at(0), queued_at=at(10))
    assert (call.wait_seconds, call.duration_seconds) == (None, None)

    call.answered_at = at(25)
    factory.session.commit()
    assert (call.wait_seconds, call.duration_seconds) == (15, None)

    call.ended_at = at(200)
    factory.session.commit()
    assert (call.wait_seconds, call.duration_seconds) == (15, 200)


def test_call_abandoned_in_queue_waits_until_it_ended(factory: Factory) -> None:
    """A caller who hung up in the queue waited until the end of the call."""
    call = factory.call(started_at=at(0), queued_at=at(10), ended_at=at(47))
    assert (call.wait_seconds, call.duration_seconds) == (37, 47)


def test_call_without_a_start_time_gets_one_before_its_seconds(factory: Factory) -> None:
    """The start time defaults to now, and the stored duration counts from it."""
    call = factory.call()
    assert call.started_at is not None
    assert call.duration_seconds is None
