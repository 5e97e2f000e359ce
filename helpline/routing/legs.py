"""The REST calls routing makes to Twilio (or the sandbox): slow HTTP, so RQ jobs make them.

- `ring_staff`: call a member of staff from the helpline's number. Their leg runs the
  whisper at /voice/offer; its status callback at /voice/offer/status tells how it ended.
- `move_caller`: take a waiting caller out of the queue into the call's conference room
  (/voice/connect); Twilio then posts the Enqueue action with QueueResult=redirected. Or
  back from the room into the queue (/voice/requeue), when the counsellor left first.
- `end_leg`: hang up a staff leg that is no longer wanted (the caller hung up).

Every URL carries the call, the member of staff, their role and the offer id; Twilio signs
each request, so these cannot be forged.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from twilio.rest import Client

from helpline.config import Settings
from helpline.telephony.client import helpline_number

COUNSELLOR, INTERPRETER = "counsellor", "interpreter"
TRANSFER = "transfer"  # a counsellor rung to take over a connected call (a warm transfer)
ROLES = (COUNSELLOR, INTERPRETER, TRANSFER)


@dataclasses.dataclass(frozen=True)
class Leg:
    """One member of staff being offered one call."""

    call_id: int
    staff_id: int
    role: str  # counsellor | interpreter | transfer
    offer: str

    def query(self) -> str:
        return urlencode({"c": self.call_id, "s": self.staff_id, "r": self.role, "o": self.offer})


def room_name(call_id: int) -> str:
    """The conference room of one call."""
    return f"helpline-call-{call_id}"


def ring_staff(client: Client, settings: Settings, leg: Leg, to: str, timeout: int) -> str:
    """Ring a staff phone with the whisper; returns the leg's CallSid."""
    base = settings.public_base_url
    call = client.calls.create(
        to=to,
        from_=helpline_number(settings),
        url=f"{base}/voice/offer?{leg.query()}",
        method="POST",
        status_callback=f"{base}/voice/offer/status?{leg.query()}",
        status_callback_event=["completed"],
        status_callback_method="POST",
        timeout=timeout,
    )
    return str(call.sid)


def move_caller(
    client: Client, settings: Settings, call_sid: str, call_id: int, *, requeue: bool = False
) -> None:
    """Into the call's room (/voice/connect), or back into the queue (/voice/requeue)."""
    path = "requeue" if requeue else "connect"
    client.calls(call_sid).update(
        url=f"{settings.public_base_url}/voice/{path}?{urlencode({'c': call_id})}", method="POST"
    )


def end_leg(client: Client, call_sid: str) -> None:
    client.calls(call_sid).update(status="completed")
