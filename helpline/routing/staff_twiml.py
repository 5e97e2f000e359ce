"""TwiML spoken to a member of staff in their console language (routing/whisper.py).

Shared by the staff-facing webhooks (voice/offers.py, voice/staffline.py) and the jobs
that ring staff (tasks/alerts.py).
"""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from helpline.routing.whisper import StaffVoice


def say_to_staff(voice: StaffVoice, text: str, *, hang_up: bool = True) -> VoiceResponse:
    """Words to a member of staff in their console language (then, by default, goodbye)."""
    response = VoiceResponse()
    response.say(text, voice=voice.voice, language=voice.language)
    if hang_up:
        response.hangup()
    return response


def ask_staff(voice: StaffVoice, text: str, action: str, timeout: int) -> VoiceResponse:
    """A one-key question to a member of staff; the key goes to `action`."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf", num_digits=1, timeout=timeout, finish_on_key="", action=action, method="POST"
    )
    gather.say(text, voice=voice.voice, language=voice.language)
    response.append(gather)
    return response
