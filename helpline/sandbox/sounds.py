"""What the caller hears from Say, Play and Pause, and how long it takes in simulated time.

Rules: speech takes about 13 characters a second; audio its real length when the sandbox
measures it (`audio.AudioLengths`), else a fixed 5 s;
`loop="0"` repeats until hangup (Twilio stops at about 1000); a Play of DTMF `digits` takes
half a second a tone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from helpline.sandbox.audio import AudioLengths
from helpline.sandbox.transcript import Heard
from helpline.telephony import twiml

SAY_CHARS_PER_SECOND = 13.0
PLAY_SECONDS = 5.0
TONE_SECONDS = 0.5
BEEP_SECONDS = 0.5
HOLD_SECONDS = 30.0  # one round of the default hold music, or of silence
LOOP_FOREVER = 1000
HOLD_MUSIC = "https://twimlets.com/holdmusic?Bucket=com.twilio.music.classical"
TONES = re.compile(r"[0-9*#wW]+")


@dataclass(frozen=True)
class Sound:
    heard: Heard | None  # None is silence
    once: float  # seconds for one pass
    times: int = 1
    why: str = "pause"  # what a silence is

    @property
    def seconds(self) -> float:
        return self.once * self.times


BEEP = Sound(Heard(0.0, "beep"), BEEP_SECONDS)
HOLD = Sound(Heard(0.0, "play", url=HOLD_MUSIC), HOLD_SECONDS)
HOLD_SILENCE = Sound(None, HOLD_SECONDS, why="waiting in the queue")


def sound(verb: Element, document: str, audio: AudioLengths | None = None) -> Sound:
    """The sound of a Say, Play or Pause; relative audio URLs resolve against `document`."""
    times = twiml.integer(verb, "loop", 1) or LOOP_FOREVER
    if verb.tag == "Say":
        words = twiml.text(verb)
        language, voice = verb.get("language", "en-US"), verb.get("voice", "man")
        heard = Heard(0.0, "say", words, language=language, voice=voice, times=times)
        return Sound(heard, round(len(words) / SAY_CHARS_PER_SECOND, 1), times)
    if verb.tag == "Play":
        tones = verb.get("digits")
        if tones is not None:
            if not TONES.fullmatch(tones):
                raise twiml.TwimlError(f"<Play digits={tones!r}> may hold only 0-9, *, # and w")
            return Sound(Heard(0.0, "digits", tones), TONE_SECONDS * len(tones))
        source = twiml.text(verb)
        if not source:
            raise twiml.TwimlError("<Play> needs an audio URL or digits")
        url = twiml.resolve(source, document)
        heard = Heard(0.0, "play", url=url, times=times)
        measured = audio.seconds(url) if audio is not None else None
        return Sound(heard, round(measured, 2) if measured else PLAY_SECONDS, times)
    if verb.tag == "Pause":
        return Sound(None, twiml.integer(verb, "length", 1))
    raise twiml.TwimlError(f"<{verb.tag}> cannot be nested in <Gather>")
