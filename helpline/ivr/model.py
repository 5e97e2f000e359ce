"""The flow model: what a flow file means once loaded. Immutable, and free of I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1

# The node types a flow file may use.
NODE_TYPES = (
    "say",
    "set",
    "schedule",
    "language_menu",
    "menu",
    "consent",
    "queue",
    "callback_request",
    "voicemail",
    "dial",
    "hangup",
)
# Nodes that wait for the caller's keys, and so declare timeout and invalid handling.
INPUT_TYPES = frozenset({"language_menu", "menu", "consent", "callback_request"})
# Nodes after which the call is out of the flow's hands (a transfer) or over.
TERMINAL_TYPES = frozenset({"hangup", "dial"})
KEYS = frozenset("0123456789*#")
GLOBAL_KEY_NAMES = ("emergency", "repeat", "back", "change_language")
VARIABLES = frozenset({"topic", "priority", "callback_reason", "age_group", "urgent"})
# Variables that take true or false (the others take text or a number). `urgent` flags the
# voicemail that follows as urgent (the emergency path's last resort).
FLAGS = frozenset({"urgent"})
# What `age_group` may be set to: callers under 18, and those who are not (routing.yaml
# gives each a rule); a caller who does not answer has none.
AGE_GROUPS = ("child", "adult")
CONSENT_KINDS = frozenset({"remember_language", "callback", "recording", "follow_up"})
NAMED_NUMBERS = frozenset({"duty_line"})


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """How an input node waits: seconds, re-prompts, and where to go when they run out."""

    timeout: int
    retries: int
    on_timeout: str
    on_invalid: str


@dataclasses.dataclass(frozen=True)
class Choice:
    """One key of a menu: variables and consents it sets, and the node it leads to."""

    goto: str
    assign: Mapping[str, str | int] = dataclasses.field(default_factory=dict)
    consent: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    line: int = 0


@dataclasses.dataclass(frozen=True)
class Node:
    """A node of a flow. Which fields matter depends on `type` (see docs/ivr.md)."""

    id: str
    type: str
    line: int
    prompts: tuple[str, ...] = ()
    next: str | None = None
    input: InputSpec | None = None
    # language_menu: key -> language; menu: key -> Choice
    languages: Mapping[str, str] = dataclasses.field(default_factory=dict)
    choices: Mapping[str, Choice] = dataclasses.field(default_factory=dict)
    remembered: str | None = None  # language_menu: where a remembered caller goes
    assign: Mapping[str, str | int] = dataclasses.field(default_factory=dict)  # set
    schedule: str | None = None  # schedule
    open: str | None = None
    closed: str | None = None
    consent: str | None = None  # consent
    yes_key: str = "1"
    no_key: str = "2"
    declined: str | None = None  # consent, callback_request: where "no" leads
    unavailable: str | None = None  # consent, callback_request: number withheld
    reason: str | None = None  # callback_request: a reason, or "$callback_reason"
    busy: str | None = None  # queue: nobody logged in could take the call
    callback: str | None = None  # queue: key 1 while waiting (the caller keeps their place)
    on_max_wait: str | None = None  # queue: waited the policy's maximum
    # queue: a key while waiting that agrees to a callback should the call drop
    cut_off_consent: str | None = None
    # queue: the emergency queue. The caller goes to the front (the policy's `emergency`
    # priority) and is offered to every counsellor, whatever their language; `busy` then
    # means that no counsellor at all is logged in.
    emergency: bool = False
    max_length: int = 120  # voicemail
    on_empty: str | None = None  # voicemail
    number: str | None = None  # dial: a named number
    dial_timeout: int = 30
    on_failure: str | None = None  # dial

    @property
    def is_input(self) -> bool:
        return self.type in INPUT_TYPES

    def targets(self) -> dict[str, str]:
        """Every node this one can lead to, by the edge's label."""
        edges: dict[str, str] = {}
        for label in (
            "next",
            "remembered",
            "open",
            "closed",
            "declined",
            "unavailable",
            "busy",
            "callback",
            "on_max_wait",
            "on_empty",
            "on_failure",
        ):
            target = getattr(self, label)
            if target:
                edges[label] = target
        if self.input is not None:
            edges["timeout"] = self.input.on_timeout
            edges["invalid"] = self.input.on_invalid
        for key, choice in self.choices.items():
            edges[f"key {key}"] = choice.goto
        return edges


@dataclasses.dataclass(frozen=True)
class GlobalKeys:
    emergency: str
    repeat: str
    back: str
    change_language: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Flow:
    id: str
    version: str
    title: str
    start: str
    languages: tuple[str, ...]
    default_language: str
    global_keys: GlobalKeys
    emergency_node: str
    language_node: str
    nodes: Mapping[str, Node]
    path: str = ""

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Opening hours per weekday (0 = Monday) in a time zone, and closed dates."""

    name: str
    timezone: str
    hours: Mapping[int, tuple[tuple[dt.time, dt.time], ...]]
    holidays: frozenset[dt.date]

    def is_open(self, at: dt.datetime) -> bool:
        from zoneinfo import ZoneInfo

        local = at.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.hours.get(local.weekday(), ()))


@dataclasses.dataclass(frozen=True)
class Voice:
    """How a language is spoken: a Twilio TTS voice, or None for recorded audio only."""

    voice: str | None
    language: str | None


@dataclasses.dataclass(frozen=True)
class Prompt:
    key: str
    text: str
    audio: str | None = None  # file name under ivr_flows/audio/<lang>/, may hold {key}
    is_placeholder: bool = False
    is_reviewed: bool = True

    def render_text(self, params: Mapping[str, str]) -> str:
        return self.text.format_map(dict(params)) if params else self.text

    def audio_file(self, params: Mapping[str, str]) -> str | None:
        if self.audio is None:
            return None
        return self.audio.format_map(dict(params)) if params else self.audio


@dataclasses.dataclass(frozen=True)
class Language:
    code: str
    name: str
    english_name: str
    tts: Voice | None
    prompts: Mapping[str, Prompt]
    path: str = ""
    lines: Mapping[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Catalog:
    """Everything in ivr_flows/: flows, prompts per language, and shared schedules."""

    flows: Mapping[str, Flow]
    languages: Mapping[str, Language]
    schedules: Mapping[str, Schedule]
    root: str = ""


def flow_to_json(flow: Flow) -> dict[str, object]:
    """A flow as plain JSON, to pin a version in the database."""
    return dataclasses.asdict(flow)


def flow_from_json(data: Mapping[str, Any]) -> Flow:
    """Rebuild a flow pinned with flow_to_json."""
    raw = dict(data)
    nodes: dict[str, Node] = {}
    for node_id, spec in dict(raw.pop("nodes")).items():
        fields = dict(spec)
        if fields.get("input") is not None:
            fields["input"] = InputSpec(**fields["input"])
        fields["choices"] = {k: Choice(**v) for k, v in fields.get("choices", {}).items()}
        fields["prompts"] = tuple(fields.get("prompts", ()))
        nodes[node_id] = Node(**fields)
    keys = GlobalKeys(**dict(raw.pop("global_keys")))
    languages = tuple(str(code) for code in raw.pop("languages"))
    return Flow(nodes=nodes, global_keys=keys, languages=languages, **raw)
