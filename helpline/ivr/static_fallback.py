"""A static TwiML document for Twilio's Voice Fallback URL, hosted apart from the app.

When the app cannot answer at all (its host down, its certificate expired, a bad deploy),
Twilio requests the number's Voice Fallback URL. A document served by the app would share
its fate, so `helpline fallback-twiml` writes one to host elsewhere (a TwiML Bin or any
static host): the app's own fallback words (`connecting_duty` in every language of the
flows, spoken where Twilio has a voice, else played from a recording hosted beside the
document), a `<Dial>` ringing every duty number together, then `duty_unavailable` (which
says to call 112 in danger) if nobody answers.

The greeting leaves out the fallback's apology (`technical_problem`): six languages of it
would hold a caller in crisis another half minute before anything rings.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from twilio.twiml.voice_response import VoiceResponse

from helpline.ivr import engine
from helpline.ivr.model import Catalog
from helpline.ivr.twiml import FALLBACK_LANGUAGES, Renderer, Urls

BEFORE_DIAL = ("connecting_duty",)
AFTER_DIAL = ("duty_unavailable",)
DIAL_SECONDS = 30
MAX_NUMBERS = 10  # Twilio rings at most ten <Number>s at once
DOCUMENT = "fallback.xml"


class FallbackError(ValueError):
    """The document cannot be made as asked (no duty number, a missing recording...)."""


@dataclasses.dataclass(frozen=True)
class StaticUrls(Urls):
    """Audio beside the document, at <base>/<language>/<file>, instead of the app's URLs."""

    def audio(self, language: str, file: str) -> str:
        return f"{self.base}/{quote(language)}/{quote(file)}"


@dataclasses.dataclass(frozen=True)
class StaticFallback:
    document: str
    audio: tuple[tuple[str, str], ...]  # (language, file name) of every recording it plays


def languages_of(catalog: Catalog) -> list[str]:
    """Every language of the flows, in the flows' order, those the fallback uses first."""
    ordered = [code for code in FALLBACK_LANGUAGES if code in catalog.languages]
    for flow in catalog.flows.values():
        ordered.extend(code for code in flow.languages if code not in ordered)
    ordered.extend(code for code in catalog.languages if code not in ordered)
    return ordered


def _recordings(catalog: Catalog, languages: Sequence[str]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for code in languages:
        language = catalog.languages[code]
        for key in (*BEFORE_DIAL, *AFTER_DIAL):
            prompt = language.prompts.get(key)
            if prompt is None:
                raise FallbackError(f"language {code} has no prompt {key!r}")
            file = prompt.audio_file({})
            if file is not None:
                found.append((code, file))
            elif language.tts is None:
                raise FallbackError(f"prompt {key!r} of {code} has neither voice nor recording")
    return tuple(found)


def build(
    catalog: Catalog, duty_numbers: Sequence[str], audio_base_url: str, caller_id: str | None
) -> StaticFallback:
    """The document, for these duty numbers, playing recordings from audio_base_url."""
    if not duty_numbers:
        raise FallbackError(
            "no duty number is configured: set DUTY_LINE_NUMBER (several numbers "
            "separated by commas)"
        )
    if len(duty_numbers) > MAX_NUMBERS:
        raise FallbackError(f"Twilio rings at most {MAX_NUMBERS} numbers at once")
    languages = languages_of(catalog)
    recordings = _recordings(catalog, languages)
    if recordings and not audio_base_url.startswith(("https://", "http://")):
        raise FallbackError("the audio base URL must be an http(s) URL")
    renderer = Renderer(catalog, StaticUrls(audio_base_url.rstrip("/")), {}, caller_id)
    response = VoiceResponse()
    for code in languages:
        for key in BEFORE_DIAL:
            renderer.speak(response, engine.PromptRef(key, code))
    dial = response.dial(timeout=DIAL_SECONDS, caller_id=caller_id)
    for number in duty_numbers:
        dial.number(number)
    for code in languages:
        for key in AFTER_DIAL:
            renderer.speak(response, engine.PromptRef(key, code))
    response.hangup()
    return StaticFallback(str(response), recordings)


def write(fallback: StaticFallback, catalog: Catalog, folder: Path) -> list[Path]:
    """Write the document and the recordings it plays into folder; the paths written."""
    written = []
    for code, file in fallback.audio:
        source = Path(catalog.root) / "audio" / code / file
        if not source.is_file():
            raise FallbackError(f"recording {code}/{file} is missing from the flows' audio")
        target = folder / code / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / DOCUMENT
    document.write_text(fallback.document + "\n", encoding="utf-8")
    return [document, *written]
