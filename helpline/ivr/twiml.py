"""Render an engine step as TwiML, with the official twilio library.

Prompts become `<Say>` in the language's text-to-speech voice, or `<Play>` of the
prompt's recording (served by GET from /voice/audio/, so Twilio caches it). Every
waiting verb is followed by a `<Redirect>` carrying what happened, because Twilio falls
through to the next verb when a `<Gather>` gets no key or a `<Record>` stays empty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from helpline.ivr import engine
from helpline.ivr.model import Catalog

ALL_KEYS = "0123456789*#"
QUEUE_PREFIX = "helpline-"


def queue_name(language: str) -> str:
    """The Twilio queue callers of one language wait in (our own order lives in Redis)."""
    return f"{QUEUE_PREFIX}{language}"[:64]


FALLBACK_LANGUAGES = ("tr", "en")


@dataclasses.dataclass(frozen=True)
class Urls:
    """Where the app answers: built from PUBLIC_BASE_URL, which Twilio signs."""

    base: str

    def step(self, node: str, turn: int, event: str) -> str:
        return f"{self.base}/voice/step?{urlencode({'n': node, 't': turn, 'e': event})}"

    def wait(self) -> str:
        return f"{self.base}/voice/wait"

    def recording(self, *, voicemail: bool = False, urgent: bool = False) -> str:
        """The recording status callback; a voicemail's says so (and whether it is urgent),
        so the message is filed as one whether or not the IVR step that recorded it has
        arrived yet (Twilio signs the query string)."""
        if not voicemail:
            return f"{self.base}/voice/recording"
        query = {"for": "voicemail", **({"urgent": "1"} if urgent else {})}
        return f"{self.base}/voice/recording?{urlencode(query)}"

    def audio(self, language: str, file: str) -> str:
        return f"{self.base}/voice/audio/{quote(language)}/{quote(file)}"


class Renderer:
    """Steps as TwiML. `numbers` names what a dial node may dial: each name is one or more
    numbers (`duty_line`: every DUTY_LINE_NUMBER), rung together by one `<Dial>`, the
    first to answer taking the call."""

    def __init__(
        self,
        catalog: Catalog,
        urls: Urls,
        numbers: Mapping[str, Sequence[str]],
        caller_id: str | None,
    ) -> None:
        self.catalog = catalog
        self.urls = urls
        self.numbers = numbers
        self.caller_id = caller_id

    def _speak(self, target: VoiceResponse | Gather, prompt: engine.PromptRef) -> None:
        params = dict(prompt.params)
        language = self.catalog.languages.get(prompt.language)
        entry = language.prompts.get(prompt.key) if language else None
        if language is None or entry is None:
            # The linter prevents this; if it happens anyway, say it in English.
            language = self.catalog.languages.get("en")
            entry = language.prompts.get(prompt.key) if language else None
            if language is None or entry is None:
                return
        file = entry.audio_file(params)
        if file is not None:
            target.play(self.urls.audio(language.code, file))
        elif language.tts is not None:
            target.say(
                entry.render_text(params), voice=language.tts.voice, language=language.tts.language
            )

    def render(self, step: engine.Step) -> str:
        response = VoiceResponse()
        action = step.action
        state = step.state
        node, turn = state.node, state.turn
        if isinstance(action, engine.Ask):
            gather = Gather(
                input="dtmf",
                num_digits=1,
                timeout=action.timeout,
                finish_on_key="",
                action=self.urls.step(node, turn, "digits"),
                method="POST",
            )
            for prompt in action.prompts:
                self._speak(gather, prompt)
            response.append(gather)
            response.redirect(self.urls.step(node, turn, "timeout"), method="POST")
        elif isinstance(action, engine.Record):
            for prompt in action.prompts:
                self._speak(response, prompt)
            response.record(
                action=self.urls.step(node, turn, "record"),
                method="POST",
                max_length=action.max_length,
                play_beep=True,
                timeout=5,
                finish_on_key=ALL_KEYS,
                trim="trim-silence",
                recording_status_callback=self.urls.recording(
                    voicemail=True, urgent=bool(state.vars.get("urgent"))
                ),
                recording_status_callback_event="completed",
            )
            response.redirect(self.urls.step(node, turn, "record_empty"), method="POST")
        elif isinstance(action, engine.Dial):
            for prompt in action.prompts:
                self._speak(response, prompt)
            numbers = self.numbers.get(action.number, ())
            if numbers:
                dial = response.dial(
                    action=self.urls.step(node, turn, "dial"),
                    method="POST",
                    timeout=action.timeout,
                    caller_id=self.caller_id,
                    answer_on_bridge=True,
                )
                for number in numbers:  # rung together: the first to answer wins
                    dial.number(number)
            else:
                # No number configured: the Dial "fails" at once, down the on_failure path.
                response.redirect(self.urls.step(node, turn, "dial"), method="POST")
        elif isinstance(action, engine.Enqueue):
            for prompt in action.prompts:
                self._speak(response, prompt)
            response.enqueue(
                queue_name(action.queue),
                action=self.urls.step(node, turn, "queue"),
                method="POST",
                wait_url=self.urls.wait(),
                wait_url_method="POST",
            )
        elif isinstance(action, engine.Leave):
            for prompt in action.prompts:
                self._speak(response, prompt)
            response.leave()
        elif isinstance(action, engine.Ack):
            for prompt in action.prompts:
                self._speak(response, prompt)
        else:
            for prompt in action.prompts:
                self._speak(response, prompt)
            response.hangup()
        return str(response)

    def speak(self, target: VoiceResponse | Gather, prompt: engine.PromptRef) -> None:
        """Add one prompt to a document being built elsewhere (the hold announcements)."""
        self._speak(target, prompt)

    def fallback(self, language: str | None) -> str:
        """Safe TwiML for when anything goes wrong: an apology, then the duty line."""
        response = VoiceResponse()
        languages = (
            [language]
            if language is not None and language in self.catalog.languages
            else list(FALLBACK_LANGUAGES)
        )
        for code in languages:
            self._speak(response, engine.PromptRef("technical_problem", code))
        duty = self.numbers.get("duty_line", ())
        if duty:
            for code in languages:
                self._speak(response, engine.PromptRef("connecting_duty", code))
            dial = response.dial(timeout=30, caller_id=self.caller_id)
            for number in duty:
                dial.number(number)
        for code in languages:
            self._speak(response, engine.PromptRef("duty_unavailable", code))
        response.hangup()
        return str(response)
