"""A caller's script, parsed from "press 1; wait 3; hangup" or from a YAML list of steps.

Steps:
- `press <digits>`: type keys (0-9, *, #) at the next Gather, or end a Record.
- `wait <seconds>`: stay silent that long, counted from the next point where the call listens.
- `say nothing`: let the next Gather time out (or the next Record end empty).
- `record <seconds>`: speak into the next Record, then stop it by key or silence.
- `hangup`: hang up at the next point where the call listens.
- `dial <answered [seconds] | busy | no-answer | failed>`: how the next `<Dial>` ends.

A list step is a string or a mapping with one key: `{press: 12}` is `press 12`. YAML reads
`press: 0123` as a number; quote digit strings that start with 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

DialStatus = Literal["answered", "busy", "no-answer", "failed"]
DIAL_STATUSES: tuple[str, ...] = get_args(DialStatus)
MAX_SECONDS = 86_400.0
KEYS = re.compile(r"[0-9*#]+")
STEPS = "press <digits>, wait <seconds>, say nothing, record <seconds>, hangup, dial <outcome>"

ScriptSource = str | Sequence[str | Mapping[str, object]]


class ScriptError(ValueError):
    """The script cannot be read; the message names the step."""


@dataclass(frozen=True)
class Press:
    digits: str

    def __str__(self) -> str:
        return f"press {self.digits}"


@dataclass(frozen=True)
class Wait:
    seconds: float

    def __str__(self) -> str:
        return f"wait {self.seconds:g}"


@dataclass(frozen=True)
class SayNothing:
    def __str__(self) -> str:
        return "say nothing"


@dataclass(frozen=True)
class Speak:
    seconds: float

    def __str__(self) -> str:
        return f"record {self.seconds:g}"


@dataclass(frozen=True)
class HangUp:
    def __str__(self) -> str:
        return "hangup"


@dataclass(frozen=True)
class DialOutcome:
    """How a dialled party answers: `answered` talks for `seconds`, then hangs up."""

    status: DialStatus = "answered"
    seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.status not in DIAL_STATUSES:
            raise ValueError(f"dial status must be one of {', '.join(DIAL_STATUSES)}")
        if not 0 <= self.seconds <= MAX_SECONDS:
            raise ValueError("dial seconds must be between 0 and a day")

    def __str__(self) -> str:
        return (
            f"dial answered {self.seconds:g}"
            if self.status == "answered"
            else f"dial {self.status}"
        )


Action = Press | Wait | SayNothing | Speak | HangUp | DialOutcome


@dataclass(frozen=True)
class Script:
    actions: tuple[Action, ...] = ()

    @classmethod
    def parse(cls, source: Script | ScriptSource | None) -> Script:
        """Read a script from a `;`- or newline-separated string or a list of steps."""
        if source is None:
            return cls()
        if isinstance(source, Script):
            return source
        if isinstance(source, str):
            steps: list[object] = list(_split(source))
        elif isinstance(source, Sequence):
            steps = list(source)
        else:
            raise ScriptError(
                f"a script is a string or a list of steps, not {type(source).__name__}"
            )
        return cls(tuple(_action(step, number) for number, step in enumerate(steps, 1)))

    def __str__(self) -> str:
        return "; ".join(str(action) for action in self.actions)


def _split(source: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;\n]", source) if part.strip()]


def _action(step: object, number: int) -> Action:
    text = _step_text(step, number)
    try:
        return _parse_step(text)
    except ScriptError as error:
        raise ScriptError(f"script step {number} ({text!r}): {error}") from None


def _step_text(step: object, number: int) -> str:
    if isinstance(step, str):
        return step.strip()
    if isinstance(step, Mapping) and len(step) == 1:
        ((key, value),) = step.items()
        if isinstance(key, str) and value is None:
            return key.strip()
        if (
            isinstance(key, str)
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        ):
            return f"{key.strip()} {value}"
    raise ScriptError(
        f"script step {number} must be a string or a mapping with one key, like "
        f"{{press: 1}}; got {step!r}"
    )


def _parse_step(text: str) -> Action:
    verb, *args = text.lower().split() or [""]
    if verb == "press" and len(args) == 1 and KEYS.fullmatch(args[0]):
        return Press(args[0])
    if verb == "press":
        raise ScriptError("press takes one run of keys: 0-9, * and #")
    if verb == "wait" and len(args) == 1:
        return Wait(_seconds(args[0]))
    if verb == "record" and len(args) == 1:
        return Speak(_seconds(args[0]))
    if (verb, args) in (("hangup", []), ("hang", ["up"])):
        return HangUp()
    if (verb, args) == ("say", ["nothing"]):
        return SayNothing()
    if verb == "dial" and len(args) == 1 and args[0] in DIAL_STATUSES:
        return DialOutcome(cast(DialStatus, args[0]))
    if verb == "dial" and len(args) == 2 and args[0] == "answered":
        return DialOutcome("answered", _seconds(args[1]))
    if verb in ("wait", "record", "hangup", "hang", "say", "dial"):
        raise ScriptError(f"bad arguments; the steps are: {STEPS}")
    raise ScriptError(f"unknown step {verb!r}; the steps are: {STEPS}")


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ScriptError(f"{raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise ScriptError(f"{raw!r} seconds must be more than 0 and at most a day")
    return value
