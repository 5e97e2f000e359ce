"""What routing starts after a webhook: after an answered offer (routing/followups.py), and
after a caller hung up while waiting (routing/waiting.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from helpline.models import Call
from helpline.routing.followups import FollowUp, after_accept, after_refusal
from helpline.routing.legs import COUNSELLOR, INTERPRETER, TRANSFER
from helpline.routing.waiting import hung_up_waiting


@pytest.mark.parametrize(
    ("role", "is_callback", "interpreter_reserved", "is_emergency", "expected"),
    [
        (COUNSELLOR, False, False, False, (FollowUp.CONNECT_CALLER,)),
        (COUNSELLOR, True, False, False, (FollowUp.DIAL_CALLBACK,)),
        (COUNSELLOR, False, True, False, (FollowUp.CONNECT_CALLER, FollowUp.RING_INTERPRETER)),
        (COUNSELLOR, False, False, True, (FollowUp.CONNECT_CALLER, FollowUp.DISPATCH)),
        (COUNSELLOR, False, True, True, (FollowUp.CONNECT_CALLER, FollowUp.RING_INTERPRETER)),
        (TRANSFER, False, False, False, (FollowUp.HAND_OVER,)),
        (TRANSFER, False, False, True, (FollowUp.HAND_OVER,)),
        (INTERPRETER, False, False, True, ()),
    ],
)
def test_followups_after_accept(
    role: str,
    is_callback: bool,
    interpreter_reserved: bool,
    is_emergency: bool,
    expected: tuple[FollowUp, ...],
) -> None:
    """A counsellor's acceptance brings the caller in (or dials the person called back),
    then rings the interpreter reserved with them, or for an emergency asks routing for
    one; a transfer's acceptance hands the call over; an interpreter's starts nothing."""
    found = after_accept(
        role,
        is_callback=is_callback,
        interpreter_reserved=interpreter_reserved,
        is_emergency=is_emergency,
    )
    assert found == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (COUNSELLOR, FollowUp.DISPATCH),
        (INTERPRETER, FollowUp.ADD_INTERPRETER),
        (TRANSFER, None),
    ],
)
def test_followups_after_refusal(role: str, expected: FollowUp | None) -> None:
    """A refused counsellor's caller goes to the next one; a refused interpreter is
    replaced; a transfer nobody took stays with its counsellor."""
    assert after_refusal(role) == expected


AT = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("queued", "answered", "ended", "expected"),
    [
        (AT, None, AT, True),
        (AT, None, None, False),  # still waiting
        (AT, AT, AT, False),  # talked, then hung up
        (None, None, AT, False),  # hung up in the IVR, before the queue
    ],
)
def test_waiting_hung_up_waiting(
    queued: dt.datetime | None,
    answered: dt.datetime | None,
    ended: dt.datetime | None,
    expected: bool,
) -> None:
    """Only a call that queued, ended and was never answered left while waiting."""
    call = Call(queued_at=queued, answered_at=answered, ended_at=ended)
    assert hung_up_waiting(call) is expected
