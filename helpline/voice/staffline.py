"""Staff set their presence by phone: they call the line from their registered number.

`/voice/incoming` hands a call from a counsellor's or interpreter's registered phone here
before the callers' flow: a one-key menu in their console language (1 available, 2 a
break, 3 offline; 0 the line's own menu, as any caller). The change is the same as the
console's: live in Redis, kept in `presence_change` (reason `phone`). Such a call is not
a helpline call and is not in the call log.
"""

from __future__ import annotations

import redis
from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from helpline.calls.params import VoiceParams
from helpline.extensions import csrf, db, get_redis
from helpline.models import Staff
from helpline.routing import live, presence
from helpline.routing.staff_twiml import ask_staff, say_to_staff
from helpline.routing.whisper import PHONE_STATES
from helpline.tasks.dispatch import enqueue_dispatch
from helpline.voice.common import renderer, twiml
from helpline.voice.webhook import staff_webhook
from helpline.web import settings

bp = Blueprint("voice_staff", __name__, url_prefix="/voice")
csrf.exempt(bp)
MENU_TIMEOUT = 8


def routed_staff(staff: Staff | None) -> Staff | None:
    """Staff whose calls to the line are for presence: counsellors and interpreters."""
    return staff if staff is not None and staff.roles & presence.ROUTED_ROLES else None


def menu(staff: Staff) -> Response:
    """The presence menu, for /voice/incoming."""
    voice = live.whispers().for_language(staff.ui_language)
    base = settings().public_base_url
    response = ask_staff(
        voice, voice.texts["presence_menu"], f"{base}/voice/staff/presence", MENU_TIMEOUT
    )
    response.hangup()
    return twiml(str(response))


@staff_webhook(bp, "/staff/presence")
def set_presence() -> Response:
    """The key of the presence menu."""
    from helpline.staff import accounts as staffing

    params = VoiceParams.parse(request.form)
    staff = routed_staff(staffing.find_by_phone(db.session, params.caller))
    if staff is None:
        return twiml(renderer().fallback(None))
    if params.digits == "0":  # not about presence: the line's menu, as any caller
        response = VoiceResponse()
        response.redirect(f"{settings().public_base_url}/voice/incoming?as=caller", method="POST")
        return twiml(str(response))
    voice = live.whispers().for_language(staff.ui_language)
    keys = {str(n): state for n, state in enumerate(PHONE_STATES, start=1)}
    state = keys.get(params.digits or "")
    if state is None:
        return menu(staff)
    try:
        presence.set_state(get_redis(), db.session, staff.id, state, reason="phone")
    except presence.PresenceError:
        db.session.rollback()
        return twiml(str(say_to_staff(voice, voice.texts["presence_refused"])))
    except redis.RedisError:
        db.session.rollback()
        return twiml(renderer().fallback(staff.ui_language))
    db.session.commit()
    if state == "available":
        enqueue_dispatch()
    return twiml(str(say_to_staff(voice, voice.presence_set(state))))
