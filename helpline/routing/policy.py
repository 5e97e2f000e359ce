"""The routing policy, read from ivr_flows/routing.yaml."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from helpline.ivr.model import AGE_GROUPS
from helpline.ivr.yamlsource import LineMap, load_schema_1

MATCHES = ("language_and_topic", "language", "interpreter")


class PolicyError(ValueError):
    """routing.yaml cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Stage:
    until: int
    match: str
    offer_callback: bool = False


@dataclasses.dataclass(frozen=True)
class AgeRule:
    """What an age group needs: a counsellor with `skill` (a topic skill) while the caller
    has waited less than `until` seconds, and at least `priority`."""

    skill: str
    until: int
    priority: int = 0


WHISPER_SECONDS = 30  # time to hear the whisper and press a key, beyond the ringing


@dataclasses.dataclass(frozen=True)
class Policy:
    stages: tuple[Stage, ...]
    max_wait: int
    bridge_language: str
    priorities: dict[str, int]
    wrap_up_seconds: int = 60
    offer_timeout_seconds: int = 20
    no_answer_limit: int = 3
    announce_seconds: int = 30
    age_groups: dict[str, AgeRule] = dataclasses.field(default_factory=dict)

    @property
    def offer_leg_seconds(self) -> int:
        """The longest a staff leg of an offer lasts unanswered: ringing, then the whisper."""
        return self.offer_timeout_seconds + WHISPER_SECONDS

    def priority_of(
        self, topic: str | None, is_emergency: bool = False, age_group: str | None = None
    ) -> int:
        if is_emergency:
            return self.priorities.get("emergency", 10)
        rule = self.age_groups.get(age_group or "")
        return max(self.priorities.get(topic or "", 0), rule.priority if rule else 0)

    def age_skill(self, age_group: str | None, waited: float) -> str | None:
        """The skill a caller of this age group needs after waiting this long, if any."""
        rule = self.age_groups.get(age_group or "")
        return rule.skill if rule is not None and waited < rule.until else None


def _int(data: LineMap, key: str, default: int, path: Path, low: int = 0) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise PolicyError(f"{path}:{data.line_of(key)}: `{key}:` must be a whole number >= {low}")
    return value


def load_policy(path: Path) -> Policy:
    data = load_schema_1(path, PolicyError, "the routing settings")
    stages_raw = data.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise PolicyError(f"{path}:{data.line_of('stages')}: `stages:` is a non-empty list")
    stages: list[Stage] = []
    for raw in stages_raw:
        if not isinstance(raw, LineMap) or raw.get("match") not in MATCHES:
            line = raw.line if isinstance(raw, LineMap) else data.line_of("stages")
            raise PolicyError(
                f"{path}:{line}: each stage has `until:` and `match:` ({', '.join(MATCHES)})"
            )
        until = _int(raw, "until", 0, path, low=1)
        if stages and until <= stages[-1].until:
            raise PolicyError(f"{path}:{raw.line}: stages must widen in order of `until:`")
        stages.append(Stage(until, str(raw["match"]), bool(raw.get("offer_callback", False))))
    max_wait = _int(data, "max_wait", stages[-1].until, path, low=1)
    if max_wait < stages[-1].until:
        raise PolicyError(
            f"{path}:{data.line_of('max_wait')}: `max_wait:` comes after the last stage"
        )
    priorities_raw = data.get("priorities") or LineMap()
    priorities = {str(k): int(v) for k, v in dict(priorities_raw).items()}
    return Policy(
        stages=tuple(stages),
        max_wait=max_wait,
        bridge_language=str(data.get("bridge_language", "tr")),
        priorities=priorities,
        wrap_up_seconds=_int(data, "wrap_up_seconds", 60, path),
        offer_timeout_seconds=_int(data, "offer_timeout_seconds", 20, path, low=5),
        no_answer_limit=_int(data, "no_answer_limit", 3, path, low=1),
        announce_seconds=_int(data, "announce_seconds", 30, path, low=10),
        age_groups=_age_groups(data, path),
    )


def _age_groups(data: LineMap, path: Path) -> dict[str, AgeRule]:
    raw = data.get("age_groups")
    if raw is None:
        return {}
    if not isinstance(raw, LineMap):
        raise PolicyError(f"{path}:{data.line_of('age_groups')}: `age_groups:` is a mapping")
    rules: dict[str, AgeRule] = {}
    for group, spec in raw.items():
        line = raw.line_of(group)
        if group not in AGE_GROUPS:
            raise PolicyError(
                f"{path}:{line}: unknown age group {group!r} (known: {', '.join(AGE_GROUPS)})"
            )
        skill = spec.get("skill") if isinstance(spec, LineMap) else None
        if not isinstance(spec, LineMap) or not isinstance(skill, str) or not skill:
            raise PolicyError(
                f"{path}:{line}: an age group has `skill:` (a topic), `until:` and `priority:`"
            )
        rules[str(group)] = AgeRule(
            skill=skill,
            until=_int(spec, "until", 0, path, low=1),
            priority=_int(spec, "priority", 0, path),
        )
    return rules
