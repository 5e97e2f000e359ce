"""REST calls on a call's conference room (Twilio, or the sandbox): slow HTTP, for RQ jobs.

- `find_room`: the room in progress for a call, by its FriendlyName (`legs.room_name`).
- `set_hold`: hold the caller's participant with the hold music (HoldUrl is /voice/held,
  a TwiML document, since a HoldUrl is requested like a waitUrl), or resume them.
- `end_room`: end the room for everyone; with no room in progress, end the caller's leg.
- `supervise`: dial a supervisor into the room, muted (listen) or coaching the
  counsellor's leg (heard by them only). The participant's label names the supervisor,
  so a second request finds them there and changes their mode instead of dialling twice.
- `keep_open`: the counsellor's participant no longer ends the room when they leave (a
  warm transfer: the next counsellor stays with the caller).

Each takes a `twilio.rest.Client` from `telephony.client.rest_client`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.api.v2010.account.conference import ConferenceContext

from helpline.config import Settings
from helpline.routing.legs import room_name
from helpline.telephony.client import helpline_number

LISTEN, COACH = "listen", "coach"
NOT_FOUND = 404


def find_room(client: Client, call_id: int) -> ConferenceContext | None:
    """The call's room in progress, or None (not started, or over)."""
    found = client.conferences.list(friendly_name=room_name(call_id), status="in-progress", limit=1)
    return client.conferences(found[0].sid) if found else None


def set_hold(
    settings: Settings, room: ConferenceContext, call_sid: str, call_id: int, on: bool
) -> None:
    """Hold the participant with the hold music, or take them off hold."""
    participant = room.participants(call_sid)
    if on:
        query = urlencode({"c": call_id})
        participant.update(
            hold=True, hold_url=f"{settings.public_base_url}/voice/held?{query}", hold_method="POST"
        )
    else:
        participant.update(hold=False)


def end_room(client: Client, room: ConferenceContext | None, caller_sid: str) -> None:
    """End the room (everyone leaves); without one, hang up the caller's leg."""
    if room is not None:
        room.update(status="completed")
    else:
        client.calls(caller_sid).update(status="completed")


def supervisor_label(staff_id: int) -> str:
    return f"supervisor-{staff_id}"


def supervise(
    settings: Settings,
    room: ConferenceContext,
    staff_id: int,
    phone: str,
    mode: str,
    coached_sid: str | None,
) -> bool:
    """Put the supervisor in the room in `mode`; True if their phone was dialled now.

    `coached_sid` (the counsellor's leg) is needed to coach.
    """
    coaching = mode == COACH
    coached: str | object = coached_sid if coaching and coached_sid else values.unset
    participant = room.participants(supervisor_label(staff_id))
    try:
        participant.fetch()
    except TwilioRestException as error:
        if error.status != NOT_FOUND:
            raise
    else:  # already there (or on the way): change the mode
        participant.update(muted=not coaching, coaching=coaching, call_sid_to_coach=coached)
        return False
    room.participants.create(
        from_=helpline_number(settings),
        to=phone,
        label=supervisor_label(staff_id),
        beep="false",
        end_conference_on_exit=False,
        muted=not coaching,
        coaching=coaching,
        call_sid_to_coach=coached,
    )
    return True


def keep_open(room: ConferenceContext, call_sid: str) -> None:
    """This participant leaving no longer ends the room."""
    room.participants(call_sid).update(end_conference_on_exit=False)
