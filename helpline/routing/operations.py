"""Operations on a connected call: hold and resume, end, supervisor listen and coach, and
warm transfer. Database and Redis, no HTTP: the REST work is done by the RQ jobs in
tasks/calls.py, which run these checks again, since the call may change meanwhile.

Rules:
- A call is connected from its counsellor's acceptance (the live offer is `connected`)
  until it ends. Nothing is done to a call that is not.
- The call's counsellor or a supervisor may hold, resume, end and transfer it; only a
  supervisor with a phone may listen or coach, and coaching needs the counsellor's leg.
- A warm transfer reserves the target atomically (`Reservations.reserve_transfer`), to a
  named counsellor or the longest-idle one who speaks a language, never the call's own
  counsellor nor anyone who declined it lately, and rings them with the whisper (role
  `transfer`). Once they accept, `hand_over` makes them the call's counsellor; the job has
  first told the room that the previous counsellor leaving no longer ends it.
- Every operation done is a CallEvent with the staff member's id; each request has an
  operation id, so a job run twice records it once (`claim`).
- OperationError's message is safe to show: it never holds a number or a name.
"""

from __future__ import annotations

import secrets

import redis
import sqlalchemy as sa

from helpline.models import Call, CallEvent, Staff
from helpline.models.base import DbSession
from helpline.models.enums import CallEventKind, Role
from helpline.routing import offers, presence
from helpline.routing.legs import TRANSFER, Leg
from helpline.routing.policy import Policy
from helpline.routing.reservation import CALL_TTL_SECONDS, Reservations

DONE_KEY = "helpline:call:{}:done:{}"  # an operation already recorded (call id, operation id)


class OperationError(ValueError):
    """The operation cannot be done now; the message is safe to show."""


def new_operation() -> str:
    """An id for one request, carried by its job."""
    return secrets.token_hex(8)


def connected_call(session: DbSession, reservations: Reservations, call_id: int) -> Call:
    """The call, if it is connected to a counsellor and not over; else OperationError."""
    call = session.get(Call, call_id)
    if call is None:
        raise OperationError("There is no such call.")
    if call.ended_at is not None:
        raise OperationError("The call has ended.")
    if call.counsellor_id is None or reservations.offer_of(call_id).get("state") != "connected":
        raise OperationError("The call is not connected to a counsellor.")
    return call


def check(
    session: DbSession,
    reservations: Reservations,
    call_id: int,
    staff_id: int,
    *,
    supervisors_only: bool = False,
) -> Call:
    """The connected call, if this member of staff may operate on it; else OperationError."""
    call = connected_call(session, reservations, call_id)
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.is_active:
        raise OperationError("There is no such member of staff.")
    supervisor = Role.SUPERVISOR in staff.roles
    if supervisors_only and not supervisor:
        raise OperationError("Only a supervisor may do that.")
    if not supervisor and call.counsellor_id != staff_id:
        raise OperationError("Only the call's counsellor or a supervisor may do that.")
    return call


def supervisor_phone(session: DbSession, staff_id: int) -> str:
    """The supervisor's phone number (decrypted), or OperationError."""
    staff = session.get(Staff, staff_id)
    phone = staff.phone_encrypted if staff is not None else None
    if not phone:
        raise OperationError("You have no phone number on record.")
    return phone


def counsellor_leg(connection: redis.Redis, call: Call) -> str:
    """The CallSid of the counsellor's leg in the room, or OperationError."""
    found = offers.leg_sids(connection, call.id, [call.counsellor_id or 0])
    if not found:
        raise OperationError("The counsellor's line is not known.")
    return found[0]


def claim(connection: redis.Redis, call_id: int, operation: str) -> bool:
    """True the first time an operation is recorded; False when it already was."""
    key = DONE_KEY.format(call_id, operation)
    return bool(connection.set(key, "1", nx=True, ex=CALL_TTL_SECONDS))


def record(
    session: DbSession,
    connection: redis.Redis,
    call_id: int,
    kind: str,
    staff_id: int,
    operation: str,
    data: dict[str, object] | None = None,
) -> bool:
    """The operation's CallEvent, once per operation id (call commit after)."""
    if not claim(connection, call_id, operation):
        return False
    offers.event(session, call_id, kind, staff_id, {"operation": operation, **(data or {})})
    return True


def plan_transfer(
    session: DbSession,
    connection: redis.Redis,
    reservations: Reservations,
    policy: Policy,
    call_id: int,
    staff_id: int,
    *,
    to_staff_id: int | None = None,
    language: str | None = None,
) -> Leg:
    """Reserve the counsellor to transfer to (named, or speaking `language`); call commit.

    OperationError when the call cannot be transferred or nobody fitting is free.
    """
    call = check(session, reservations, call_id, staff_id)
    if (to_staff_id is None) == (language is None):
        raise OperationError("Name one counsellor or one language to transfer to.")
    declined = offers.declined_lately(connection, [call_id])[call_id]
    free = sorted(
        (
            m
            for m in presence.on_duty(connection).members
            if m.is_counsellor
            and m.is_available
            and m.staff_id not in (call.counsellor_id, call.interpreter_id)
            and (m.staff_id == to_staff_id or (language is not None and language in m.languages))
            and (m.staff_id == to_staff_id or m.staff_id not in declined)
        ),
        key=lambda m: (m.idle_since, m.staff_id),
    )
    for member in free:
        offer = secrets.token_hex(8)
        hold = offers.hold_seconds(policy, False)
        if reservations.reserve_transfer(call_id, member.staff_id, hold, offer=offer):
            data: dict[str, object] = {"stage": TRANSFER, "offer": offer, "by": staff_id}
            if language is not None:
                data["language"] = language
            offers.event(session, call_id, CallEventKind.RESERVED, member.staff_id, data)
            return Leg(call_id, member.staff_id, TRANSFER, offer)
    if to_staff_id is not None:
        raise OperationError("That counsellor is not free, or a transfer is already ringing.")
    raise OperationError("Nobody free speaks that language, or a transfer is already ringing.")


def hand_over(session: DbSession, call: Call, staff_id: int) -> int | None:
    """The transfer's counsellor joined: the call is theirs. Returns the previous one.

    A transfer to a language was asked because the caller speaks it: from now on it is
    the call's language (the record, the KPIs and a later requeue go by it). None if the
    call already was theirs (a job run twice). Call commit after.
    """
    previous = call.counsellor_id
    if previous is None or previous == staff_id:
        return None
    call.counsellor_id = staff_id
    data: dict[str, object] = {"to_staff_id": staff_id}
    language = transfer_language(session, call.id, staff_id)
    if language is not None:
        data["from_language"], data["language"] = call.language, language
        call.language = language
    offers.event(session, call.id, CallEventKind.TRANSFERRED, previous, data)
    return previous


def transfer_language(session: DbSession, call_id: int, staff_id: int) -> str | None:
    """The language a call was last transferred to this member of staff for, if any."""
    reserved = session.scalars(
        sa.select(CallEvent)
        .where(
            CallEvent.call_id == call_id,
            CallEvent.kind == CallEventKind.RESERVED,
            CallEvent.staff_id == staff_id,
        )
        .order_by(CallEvent.id.desc())
        .limit(1)
    ).first()
    if reserved is None or reserved.data.get("stage") != TRANSFER:
        return None
    language = reserved.data.get("language")
    return language if isinstance(language, str) else None
