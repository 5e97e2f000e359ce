"""Simulated phones: how the person (or machine) at a number answers.

Behaviours (`Behaviour.kind`):
- `answer`: picks up after `after` seconds, presses `keys` at the first Gather it hears (a
  whisper asking to accept), talks for `talk` seconds, then hangs up (None: never).
- `no-answer`: rings until the caller gives up. `busy` and `failed` end within seconds.
- `voicemail`: a machine picks up after `after` seconds (AnsweredBy `machine_start`, or
  `machine_end_beep` once its `greeting` has played), listens for `talk` seconds.
- `human`: rings until someone answers or declines through the control API; then keys
  come from the control API too, and the person hangs up there.

A number nobody registered answers as `DEFAULT` says: after 4 s of ringing, talks for
60 s, presses nothing (the same default as `helpline simulate`).

A phone takes one call at a time: while it rings or is in a call, another call gets busy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from helpline.sandbox.dial import BUSY_SECONDS, FAILED_SECONDS, RING_SECONDS
from helpline.sandbox.script import KEYS, DialOutcome

Kind = Literal["answer", "no-answer", "busy", "failed", "voicemail", "human"]
KINDS: tuple[str, ...] = get_args(Kind)
PhoneState = Literal["idle", "ringing", "in-call"]
MAX_SECONDS = 86_400.0
GREETING_SECONDS = 8.0


class BehaviourError(ValueError):
    """A behaviour that cannot be used; the message says what is allowed."""


@dataclass(frozen=True)
class Behaviour:
    kind: Kind = "answer"
    after: float = RING_SECONDS  # seconds of ringing before picking up
    talk: float | None = 60.0  # seconds connected before hanging up; None: never
    keys: str = ""  # pressed at the first Gather (a whisper)
    greeting: float = GREETING_SECONDS  # a voicemail's greeting, before its beep

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BehaviourError(f"kind must be one of {', '.join(KINDS)}")
        for name, value in (("after", self.after), ("greeting", self.greeting)):
            if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
                raise BehaviourError(f"{name} must be between 0 and {MAX_SECONDS:g} seconds")
        if self.talk is not None and not (
            math.isfinite(self.talk) and 0 < self.talk <= MAX_SECONDS
        ):
            raise BehaviourError(f"talk must be more than 0 and at most {MAX_SECONDS:g} seconds")
        if self.keys and not KEYS.fullmatch(self.keys):
            raise BehaviourError("keys may hold only 0-9, * and #")

    @property
    def rings_out(self) -> bool:
        return self.kind in ("no-answer", "human")

    @property
    def quick_end(self) -> float | None:
        """Seconds until a busy or failed line ends the attempt; None when it does not."""
        return {"busy": BUSY_SECONDS, "failed": FAILED_SECONDS}.get(self.kind)

    @classmethod
    def parse(cls, raw: object) -> Behaviour:
        """Read `"busy"` or `{"kind": "answer", "after": 2, "talk": 30, "keys": "1"}`."""
        if isinstance(raw, str):
            raw = {"kind": raw}
        if not isinstance(raw, Mapping):
            raise BehaviourError("a behaviour is a kind name or an object with a kind")
        unknown = set(raw) - {"kind", "after", "talk", "keys", "greeting"}
        if unknown:
            raise BehaviourError(
                f"unknown behaviour fields: {', '.join(sorted(map(str, unknown)))}"
            )
        kind = raw.get("kind", "answer")
        if kind not in KINDS:
            raise BehaviourError(f"kind must be one of {', '.join(KINDS)}")
        values: dict[str, object] = {"kind": cast(Kind, kind)}
        for name in ("after", "greeting"):
            if name in raw:
                values[name] = _number(raw[name], name)
        if "talk" in raw:
            values["talk"] = None if raw["talk"] is None else _number(raw["talk"], "talk")
        if "keys" in raw:
            if not isinstance(raw["keys"], str | int) or isinstance(raw["keys"], bool):
                raise BehaviourError("keys must be a string of 0-9, * and #")
            values["keys"] = str(raw["keys"])
        if kind == "human":
            values.setdefault("talk", None)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_outcome(cls, outcome: DialOutcome) -> Behaviour:
        """The behaviour a script's `dial …` step stands for."""
        if outcome.status == "answered":
            return cls("answer", talk=outcome.seconds or None)
        return cls(outcome.status)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "after": self.after,
            "talk": self.talk,
            "keys": self.keys,
            "greeting": self.greeting,
        }


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BehaviourError(f"{name} must be a number of seconds")
    return float(value)


DEFAULT = Behaviour()


@dataclass
class Phone:
    """A registered number and what it is doing; changed under the exchange's lock."""

    number: str
    behaviour: Behaviour
    state: PhoneState = "idle"
    call_sid: str | None = None
    decision: Literal["answer", "decline"] | None = None  # a person's choice while it rings
    history: list[str] = field(default_factory=list)  # call sids, newest last (bounded)

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "behaviour": self.behaviour.to_json(),
            "state": self.state,
            "call_sid": self.call_sid,
        }
