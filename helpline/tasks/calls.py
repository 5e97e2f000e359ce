"""Jobs that operate on a connected call (routing/operations.py), on the dispatch queue.

Each `enqueue_*` helper checks the request at once (OperationError, with a safe message,
for a view to show) and queues the job; the job checks again, makes the REST calls and
records the CallEvent, once per operation id however often it runs.

- `hold_caller`: hold the caller with the hold music, or resume them.
- `end_call`: end the room for everyone.
- `supervise_call`: dial a supervisor in to listen (muted) or to coach the counsellor.
- `enqueue_transfer` reserves the next counsellor and rings them (dispatch.ring_leg);
  once they accept, `hand_over_call` keeps the room open for when the first one leaves.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.rest.api.v2010.account.conference import ConferenceContext

from helpline.extensions import db, get_redis
from helpline.models import Call
from helpline.models.enums import CallEventKind
from helpline.routing import conference, live, offers, operations
from helpline.routing.legs import Leg
from helpline.routing.operations import OperationError
from helpline.tasks.dispatch import enqueue_job, enqueue_ring_leg
from helpline.telephony.client import rest_client
from helpline.web import settings

log = logging.getLogger(__name__)
SUPERVISE_KINDS = {
    conference.LISTEN: CallEventKind.SUPERVISOR_LISTEN,
    conference.COACH: CallEventKind.SUPERVISOR_COACH,
}
# What a job does over REST; returns the event's data, or None when there was nothing to do.
Work = Callable[[Client, Call], dict[str, object] | None]


@contextlib.contextmanager
def _rest() -> Iterator[Client]:
    client = rest_client(settings())
    try:
        yield client
    finally:
        client.http_client.session.close()


def _check(call_id: int, staff_id: int, *, supervisors_only: bool = False) -> Call:
    return operations.check(
        db.session, live.reservations(), call_id, staff_id, supervisors_only=supervisors_only
    )


def _operate(
    call_id: int,
    staff_id: int,
    operation: str,
    kind: str,
    work: Work,
    *,
    supervisors_only: bool = False,
) -> bool:
    """Check again, do the work, record it once; False if it was not done."""
    try:
        call = _check(call_id, staff_id, supervisors_only=supervisors_only)
        with _rest() as client:
            data = work(client, call)
    except OperationError as error:
        db.session.rollback()
        log.info("%s of call %s not done: %s", kind, call_id, error)
        return False
    except TwilioException as error:
        status = error.status if isinstance(error, TwilioRestException) else None
        log.warning("%s of call %s failed: %s %s", kind, call_id, type(error).__name__, status)
        return False
    if data is None:
        return False
    operations.record(db.session, get_redis(), call_id, kind, staff_id, operation, data)
    db.session.commit()
    return True


def _room(client: Client, call_id: int) -> ConferenceContext:
    room = conference.find_room(client, call_id)
    if room is None:
        raise OperationError("The call's room is not open.")
    return room


# Hold and resume


def enqueue_hold_caller(call_id: int, staff_id: int, *, on: bool) -> str:
    """Hold (or resume) the caller soon; returns the operation id."""
    _check(call_id, staff_id)
    operation = operations.new_operation()
    enqueue_job(hold_caller, call_id, staff_id, on, operation)
    return operation


def hold_caller(call_id: int, staff_id: int, on: bool, operation: str) -> bool:
    """Put the caller's participant on hold with the hold music, or take them off it."""

    def work(client: Client, call: Call) -> dict[str, object]:
        room = _room(client, call.id)
        conference.set_hold(settings(), room, call.call_sid, call.id, on)
        return {}

    kind = CallEventKind.HOLD if on else CallEventKind.UNHOLD
    return _operate(call_id, staff_id, operation, kind, work)


# End


def enqueue_end_call(call_id: int, staff_id: int) -> str:
    """End the call soon, for everyone in its room; returns the operation id."""
    _check(call_id, staff_id)
    operation = operations.new_operation()
    enqueue_job(end_call, call_id, staff_id, operation)
    return operation


def end_call(call_id: int, staff_id: int, operation: str) -> bool:
    """End the call's room for everyone (or the caller's leg, with no room open)."""

    def work(client: Client, call: Call) -> dict[str, object]:
        room = conference.find_room(client, call.id)
        conference.end_room(client, room, call.call_sid)
        return {"room": room is not None}

    return _operate(call_id, staff_id, operation, CallEventKind.ENDED_BY_STAFF, work)


# Supervisor listen and coach


def enqueue_supervise_call(call_id: int, staff_id: int, mode: str) -> str:
    """A supervisor listens (muted) or coaches the counsellor; returns the operation id."""
    if mode not in SUPERVISE_KINDS:
        raise OperationError("Listen or coach.")
    call = _check(call_id, staff_id, supervisors_only=True)
    operations.supervisor_phone(db.session, staff_id)
    if mode == conference.COACH:
        operations.counsellor_leg(get_redis(), call)
    operation = operations.new_operation()
    enqueue_job(supervise_call, call_id, staff_id, mode, operation)
    return operation


def supervise_call(call_id: int, staff_id: int, mode: str, operation: str) -> bool:
    """Dial the supervisor into the room, or change their mode if they are there."""

    def work(client: Client, call: Call) -> dict[str, object]:
        phone = operations.supervisor_phone(db.session, staff_id)
        coached = operations.counsellor_leg(get_redis(), call) if mode == conference.COACH else None
        room = _room(client, call.id)
        dialled = conference.supervise(settings(), room, staff_id, phone, mode, coached)
        return {"mode": mode, "dialled": dialled, "counsellor_id": call.counsellor_id}

    kind = SUPERVISE_KINDS[mode]
    return _operate(call_id, staff_id, operation, kind, work, supervisors_only=True)


# Warm transfer


def enqueue_transfer(
    call_id: int, staff_id: int, *, to_staff_id: int | None = None, language: str | None = None
) -> Leg:
    """Reserve the counsellor to transfer to and ring them soon (OperationError if none)."""
    leg = operations.plan_transfer(
        db.session,
        get_redis(),
        live.reservations(),
        live.policy(),
        call_id,
        staff_id,
        to_staff_id=to_staff_id,
        language=language,
    )
    db.session.commit()
    enqueue_ring_leg(leg)
    return leg


def enqueue_hand_over_call(call_id: int, staff_id: int) -> None:
    enqueue_job(hand_over_call, call_id, staff_id)


def hand_over_call(call_id: int, staff_id: int) -> bool:
    """The transfer's counsellor accepted: the first may leave, the room stays open."""
    call = db.session.get(Call, call_id)
    if call is None or call.ended_at is not None or call.counsellor_id in (None, staff_id):
        return False
    previous = offers.leg_sids(get_redis(), call_id, [call.counsellor_id or 0])
    try:
        with _rest() as client:
            room = conference.find_room(client, call_id)
            if room is None:
                return False
            if previous:
                conference.keep_open(room, previous[0])
    except TwilioRestException as error:
        if error.status != conference.NOT_FOUND:  # not found: the first one has left
            log.warning("hand-over of call %s failed: %s", call_id, error.status)
            return False
    operations.hand_over(db.session, call, staff_id)
    db.session.commit()
    return True
