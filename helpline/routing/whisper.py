"""What staff hear when the helpline rings them: ivr_flows/staff_prompts.yaml.

Each member of staff hears the offer in their console language (`Staff.ui_language`),
falling back to the file's default. The whisper names the caller's language, topic and
wait, nothing personal. Pure once loaded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpline.ivr.loader import STAFF_PROMPTS_FILE
from helpline.ivr.yamlsource import LineMap, load_schema_1
from helpline.routing.legs import INTERPRETER, TRANSFER

FILE = STAFF_PROMPTS_FILE
TEXTS = (
    "offer",
    "interpreter_offer",
    "transfer_offer",
    "callback_offer",
    "accepted",
    "declined",
    "gone",
    "failed",
    "no_topic",
    "young_caller",
    "presence_menu",
    "presence_set",
    "presence_refused",
    "alert",  # the duty supervisor's phone, for an alert nobody acknowledged
)
PHONE_STATES = ("available", "break", "offline")
# The whisper text for each role a staff leg can have (routing/legs.py); a counsellor
# hears `offer`.
WHISPERS = {
    INTERPRETER: "interpreter_offer",
    TRANSFER: "transfer_offer",
}  # keys 1, 2, 3 of the presence menu


class WhisperError(ValueError):
    """staff_prompts.yaml cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class StaffVoice:
    voice: str
    language: str
    texts: Mapping[str, str]
    language_names: Mapping[str, str]
    topic_names: Mapping[str, str]
    state_names: Mapping[str, str]

    def presence_set(self, state: str) -> str:
        return self.texts["presence_set"].format(state=self.state_names.get(state, state))

    def offer(
        self,
        *,
        role: str,
        language: str,
        topic: str | None,
        waited_seconds: int,
        age_group: str | None = None,
        callback: bool = False,
    ) -> str:
        """The whisper for a counsellor (`offer`, or `callback_offer` when the helpline is
        to call the caller back), an interpreter (`interpreter_offer`) or a counsellor
        taking over a call (`transfer_offer`), saying first that the caller is under 18
        when they said so."""
        default = "callback_offer" if callback else "offer"
        template = self.texts[WHISPERS.get(role, default)]
        text = template.format(
            language=self.language_names.get(language, language),
            topic=self.topic_names.get(topic or "", self.texts["no_topic"]),
            minutes=max(1, math.ceil(waited_seconds / 60)),
        )
        return f"{self.texts['young_caller']} {text}" if age_group == "child" else text


@dataclasses.dataclass(frozen=True)
class StaffPrompts:
    default: str
    voices: Mapping[str, StaffVoice]

    def for_language(self, code: str | None) -> StaffVoice:
        return self.voices.get(code or "", self.voices[self.default])


def _strings(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, LineMap) or not all(isinstance(v, str) for v in raw.values()):
        raise WhisperError(f"{where}: a mapping of names")
    return {str(k): str(v) for k, v in raw.items()}


def load_staff_prompts(root: Path) -> StaffPrompts:
    path = root / FILE
    data = load_schema_1(path, WhisperError, "`default:` and `languages:`")
    languages = data.get("languages")
    if not isinstance(languages, LineMap) or not languages:
        raise WhisperError(f"{path}:{data.line_of('languages')}: `languages:` by console language")
    voices: dict[str, StaffVoice] = {}
    for code, spec in languages.items():
        where = f"{path}:{languages.line_of(code)}"
        if not isinstance(spec, LineMap):
            raise WhisperError(f"{where}: language {code!r} needs its texts")
        tts = spec.get("tts")
        if not isinstance(tts, LineMap) or not tts.get("voice") or not tts.get("language"):
            raise WhisperError(f"{where}: language {code!r} needs `tts:` voice and language")
        missing = [name for name in TEXTS if not isinstance(spec.get(name), str)]
        if missing:
            raise WhisperError(f"{where}: language {code!r} lacks {', '.join(missing)}")
        texts = {name: str(spec[name]) for name in TEXTS}
        for name in ("offer", "interpreter_offer", "callback_offer"):
            try:
                texts[name].format(language="", topic="", minutes=1)
            except (KeyError, IndexError, ValueError):
                raise WhisperError(
                    f"{where}: `{name}` may use only {{language}}, {{topic}} and {{minutes}}"
                ) from None
        voices[str(code)] = StaffVoice(
            voice=str(tts["voice"]),
            language=str(tts["language"]),
            texts=texts,
            language_names=_strings(spec.get("languages"), where),
            topic_names=_strings(spec.get("topics"), where),
            state_names=_strings(spec.get("states"), where),
        )
        unnamed = [state for state in PHONE_STATES if state not in voices[str(code)].state_names]
        if unnamed:
            raise WhisperError(
                f"{where}: language {code!r} needs `states:` for {', '.join(unnamed)}"
            )
        try:
            voices[str(code)].presence_set("available")
        except (KeyError, IndexError, ValueError):
            raise WhisperError(f"{where}: `presence_set` may use only {{state}}") from None
    default = str(data.get("default", ""))
    if default not in voices:
        raise WhisperError(
            f"{path}:{data.line_of('default')}: `default:` names one of the languages"
        )
    return StaffPrompts(default, voices)
