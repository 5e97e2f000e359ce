"""Read ivr_flows/ into the flow model, collecting every schema problem with file and line.

Layout: flows are the top-level `*.yaml` files with a `flow:` key; `schedules.yaml` holds
opening hours that any flow may name; `prompts/<lang>.yaml` the prompts of a language;
`audio/<lang>/` their recordings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpline.ivr import model
from helpline.ivr.yamlsource import LineMap, SourceError, load

NODE_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULES_FILE = "schedules.yaml"
ROUTING_FILE = "routing.yaml"
STAFF_PROMPTS_FILE = "staff_prompts.yaml"  # what staff hear: helpline/routing/whisper.py
DATA_FILES = frozenset(
    {SCHEDULES_FILE, ROUTING_FILE, STAFF_PROMPTS_FILE}
)  # top-level files that are not flows


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """Something wrong in ivr_flows/, where it is, and which check found it."""

    path: str
    line: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} [{self.kind}]"


class _Collector:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def add(self, path: Path | str, line: int, kind: str, message: str) -> None:
        shown = str(path)
        if isinstance(path, Path):
            try:
                shown = str(path.relative_to(self.root.parent))
            except ValueError:
                shown = str(path)
        self.problems.append(Problem(shown, line, kind, message))


def _mapping(value: Any) -> LineMap | None:
    return value if isinstance(value, LineMap) else None


def load_catalog(root: Path) -> tuple[model.Catalog, list[Problem]]:
    """Load every flow, language and schedule under root; return them and all problems."""
    out = _Collector(root)
    schedules = _load_schedules(root / SCHEDULES_FILE, out)
    languages: dict[str, model.Language] = {}
    for path in sorted((root / "prompts").glob("*.yaml")):
        language = _load_language(path, out)
        if language is not None:
            languages[language.code] = language
    if not languages:
        out.add(root / "prompts", 0, "schema", "no prompt files found")
    flows: dict[str, model.Flow] = {}
    schedules_bytes = (
        (root / SCHEDULES_FILE).read_bytes() if (root / SCHEDULES_FILE).exists() else b""
    )
    for path in sorted(root.glob("*.yaml")):
        if path.name in DATA_FILES:
            continue
        flow = _load_flow(path, schedules_bytes, out)
        if flow is None:
            continue
        if flow.id in flows:
            out.add(path, 1, "schema", f"flow id {flow.id!r} is used by two files")
            continue
        flows[flow.id] = flow
    catalog = model.Catalog(flows=flows, languages=languages, schedules=schedules, root=str(root))
    return catalog, sorted(set(out.problems))


# --- schedules --------------------------------------------------------------------------


def _time_range(text: str) -> tuple[dt.time, dt.time]:
    start_text, end_text = (part.strip() for part in text.split("-", 1))
    start = dt.time.fromisoformat(start_text)
    end = dt.time.max if end_text in ("24:00", "24:00:00") else dt.time.fromisoformat(end_text)
    if end <= start:
        raise ValueError("the end must come after the start")
    return start, end


def _load_schedules(path: Path, out: _Collector) -> dict[str, model.Schedule]:
    if not path.exists():
        return {}
    try:
        data = _mapping(load(path))
    except SourceError as error:
        out.add(path, error.line, "schema", error.message)
        return {}
    if data is None or _mapping(data.get("schedules")) is None:
        out.add(path, 1, "schema", "expected a `schedules:` mapping")
        return {}
    found: dict[str, model.Schedule] = {}
    entries = data["schedules"]
    for name, spec in entries.items():
        line = entries.line_of(name)
        spec_map = _mapping(spec)
        if spec_map is None:
            out.add(path, line, "schema", f"schedule {name!r} must be a mapping")
            continue
        zone = str(spec_map.get("timezone", "Europe/Istanbul"))
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            out.add(path, spec_map.line_of("timezone"), "schema", f"unknown time zone {zone!r}")
            continue
        hours: dict[int, tuple[tuple[dt.time, dt.time], ...]] = {}
        week = _mapping(spec_map.get("hours"))
        if week is None:
            out.add(path, line, "schema", f"schedule {name!r} needs `hours:` per weekday")
            continue
        for days, ranges in week.items():
            day_line = week.line_of(days)
            try:
                indexes = _days(str(days))
                spans = tuple(_time_range(str(r)) for r in _as_list(ranges))
            except ValueError as error:
                out.add(path, day_line, "schema", f"hours {days!r}: {error}")
                continue
            for index in indexes:
                hours[index] = hours.get(index, ()) + spans
        holidays: set[dt.date] = set()
        for value in _as_list(spec_map.get("holidays", [])):
            try:
                holidays.add(
                    value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
                )
            except ValueError:
                out.add(
                    path, spec_map.line_of("holidays"), "schema", f"holiday {value!r} is not a date"
                )
        found[str(name)] = model.Schedule(str(name), zone, hours, frozenset(holidays))
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _days(text: str) -> list[int]:
    """`mon`, `mon-fri`, `sat,sun` or `daily` to weekday numbers."""
    if text == "daily":
        return list(range(7))
    result: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (WEEKDAYS.index(p.strip()) for p in part.split("-", 1))
            result += list(range(first, last + 1))
        elif part in WEEKDAYS:
            result.append(WEEKDAYS.index(part))
        else:
            raise ValueError(f"{part!r} is not a weekday (mon..sun, a range, or daily)")
    return result


# --- prompts ----------------------------------------------------------------------------


def _load_language(path: Path, out: _Collector) -> model.Language | None:
    try:
        data = _mapping(load(path))
    except SourceError as error:
        out.add(path, error.line, "schema", error.message)
        return None
    if data is None:
        out.add(path, 1, "schema", "expected a mapping")
        return None
    code = str(data.get("language", ""))
    if not LANGUAGE_CODE.match(code) or code != path.stem:
        out.add(
            path,
            data.line_of("language"),
            "schema",
            f"`language:` must be the file's name ({path.stem})",
        )
        return None
    if data.get("schema") != model.SCHEMA_VERSION:
        out.add(path, data.line_of("schema"), "schema", f"`schema:` must be {model.SCHEMA_VERSION}")
    tts_map = _mapping(data.get("tts"))
    tts = None
    if tts_map is not None:
        tts = model.Voice(
            voice=str(tts_map.get("voice", "")) or None,
            language=str(tts_map.get("language", "")) or None,
        )
        if tts.voice is None or tts.language is None:
            out.add(path, data.line_of("tts"), "schema", "`tts:` needs a voice and a language")
    elif data.get("tts") is not None:
        out.add(path, data.line_of("tts"), "schema", "`tts:` is a mapping, or null for audio only")
    prompts: dict[str, model.Prompt] = {}
    lines: dict[str, int] = {}
    entries = _mapping(data.get("prompts"))
    if entries is None:
        out.add(path, data.line, "schema", "expected a `prompts:` mapping")
        entries = LineMap()
        entries.key_lines = {}
    for key, spec in entries.items():
        line = entries.line_of(key)
        spec_map = _mapping(spec)
        if spec_map is None or not isinstance(spec_map.get("text"), str):
            out.add(path, line, "schema", f"prompt {key!r} needs a `text:`")
            continue
        audio = spec_map.get("audio")
        prompts[str(key)] = model.Prompt(
            key=str(key),
            text=str(spec_map["text"]).strip(),
            audio=str(audio) if audio else None,
            is_placeholder=bool(spec_map.get("placeholder", False)),
            is_reviewed=bool(spec_map.get("reviewed", True)),
        )
        lines[str(key)] = line
    return model.Language(
        code=code,
        name=str(data.get("name", code)),
        english_name=str(data.get("english_name", code)),
        tts=tts,
        prompts=prompts,
        path=str(path),
        lines=lines,
    )


# --- flows ------------------------------------------------------------------------------


class _FlowReader:
    """Turn one flow file's mapping into nodes, reporting what does not fit the schema."""

    def __init__(self, path: Path, out: _Collector) -> None:
        self.path = path
        self.out = out

    def problem(self, line: int, message: str, kind: str = "schema") -> None:
        self.out.add(self.path, line, kind, message)

    def node_ref(self, spec: LineMap, key: str, required: bool = False) -> str | None:
        value = spec.get(key)
        if value is None:
            if required:
                self.problem(spec.line, f"needs `{key}:`")
            return None
        if not isinstance(value, str) or not NODE_ID.match(value):
            self.problem(spec.line_of(key), f"`{key}:` must name a node")
            return None
        return value

    def integer(self, spec: LineMap, key: str, default: int, low: int, high: int) -> int:
        value = spec.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.problem(spec.line_of(key), f"`{key}:` must be a whole number from {low} to {high}")
            return default
        return value

    def key(self, value: Any, line: int) -> str | None:
        text = str(value)
        if len(text) != 1 or text not in model.KEYS:
            self.problem(line, f"{value!r} is not a phone key (0-9, * or #)")
            return None
        return text

    def optional_mapping(self, value: Any, line: int, problem: str) -> LineMap:
        """`value` as a mapping: empty when absent, or when it is not one (the problem)."""
        if value is None:
            return LineMap()
        spec = _mapping(value)
        if spec is None:
            self.problem(line, problem)
            return LineMap()
        return spec

    def assignments(self, value: Any, line: int) -> dict[str, str | int]:
        spec = self.optional_mapping(value, line, "`set:` must be a mapping of variables")
        result: dict[str, str | int] = {}
        for name, val in spec.items():
            if name not in model.VARIABLES:
                self.problem(
                    spec.line_of(name),
                    f"unknown variable {name!r} (known: {', '.join(sorted(model.VARIABLES))})",
                )
            elif name in model.FLAGS and not isinstance(val, bool):
                self.problem(spec.line_of(name), f"variable {name!r} takes true or false")
            elif name not in model.FLAGS and (
                not isinstance(val, (str, int)) or isinstance(val, bool)
            ):
                self.problem(spec.line_of(name), f"variable {name!r} takes text or a number")
            elif name == "age_group" and val not in model.AGE_GROUPS:
                known = ", ".join(model.AGE_GROUPS)
                self.problem(spec.line_of(name), f"`age_group` is one of {known}, not {val!r}")
            else:
                result[str(name)] = val
        return result

    def consents(self, value: Any, line: int) -> dict[str, bool]:
        spec = self.optional_mapping(
            value, line, "`consent:` must map consent kinds to true or false"
        )
        result: dict[str, bool] = {}
        for name, val in spec.items():
            if name not in model.CONSENT_KINDS or not isinstance(val, bool):
                self.problem(
                    spec.line_of(name), f"consent {name!r}: a known kind set to true or false"
                )
            else:
                result[str(name)] = val
        return result

    def input_spec(self, spec: LineMap, defaults: Mapping[str, int]) -> model.InputSpec | None:
        on_timeout = self.node_ref(spec, "on_timeout")
        on_invalid = self.node_ref(spec, "on_invalid")
        if on_timeout is None:
            self.problem(spec.line, "an input node must say where to go `on_timeout:`", "input")
        if on_invalid is None:
            self.problem(spec.line, "an input node must say where to go `on_invalid:`", "input")
        if "retries" not in spec and "retries" not in defaults:
            self.problem(spec.line, "an input node needs a bounded `retries:`", "input")
        timeout = self.integer(spec, "timeout", defaults.get("timeout", 6), 1, 60)
        retries = self.integer(spec, "retries", defaults.get("retries", 2), 0, 5)
        if on_timeout is None or on_invalid is None:
            return None
        return model.InputSpec(
            timeout=timeout, retries=retries, on_timeout=on_timeout, on_invalid=on_invalid
        )

    def prompts(self, spec: LineMap) -> tuple[str, ...]:
        value = spec.get("prompts", [])
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            self.problem(spec.line_of("prompts"), "`prompts:` is a list of prompt names")
            return ()
        return tuple(items)

    def node(self, node_id: str, spec: LineMap, defaults: Mapping[str, int]) -> model.Node | None:
        kind = spec.get("type")
        if kind not in model.NODE_TYPES:
            self.problem(
                spec.line_of("type"),
                f"node {node_id!r}: `type:` must be one of {', '.join(model.NODE_TYPES)}",
            )
            return None
        fields: dict[str, Any] = {
            "id": node_id,
            "type": kind,
            "line": spec.line,
            "prompts": self.prompts(spec),
        }
        builder: Callable[[LineMap, dict[str, Any], Mapping[str, int]], None] = getattr(
            self, f"_{kind}"
        )
        builder(spec, fields, defaults)
        known = {"type", "prompts", *_ALLOWED[kind]}
        for extra in set(spec) - known:
            self.problem(spec.line_of(extra), f"node {node_id!r} ({kind}) has no field {extra!r}")
        return model.Node(**fields)

    def _say(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        fields["next"] = self.node_ref(spec, "next", required=True)
        if not fields["prompts"]:
            self.problem(spec.line, "a say node needs `prompts:`")

    def _set(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        fields["next"] = self.node_ref(spec, "next", required=True)
        fields["assign"] = self.assignments(spec.get("set"), spec.line_of("set"))

    def _schedule(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        schedule = spec.get("schedule")
        if not isinstance(schedule, str):
            self.problem(spec.line, "a schedule node names a schedule from schedules.yaml")
        fields["schedule"] = schedule if isinstance(schedule, str) else None
        fields["open"] = self.node_ref(spec, "open", required=True)
        fields["closed"] = self.node_ref(spec, "closed", required=True)

    def _language_menu(self, spec: LineMap, fields: dict[str, Any], d: Mapping[str, int]) -> None:
        fields["input"] = self.input_spec(spec, d)
        fields["next"] = self.node_ref(spec, "next", required=True)
        fields["remembered"] = self.node_ref(spec, "remembered")
        options = spec.get("options")
        languages: dict[str, str] = {}
        if not isinstance(options, list) or not options:
            self.problem(spec.line, "a language menu needs `options:`, a list of {key, language}")
        else:
            for option in options:
                option_map = _mapping(option)
                if option_map is None:
                    self.problem(
                        spec.line_of("options"), "each option is {key: ..., language: ...}"
                    )
                    continue
                key = self.key(option_map.get("key"), option_map.line)
                language = str(option_map.get("language", ""))
                if key is None:
                    continue
                if key in languages:
                    self.problem(option_map.line, f"key {key} is used twice")
                languages[key] = language
        fields["languages"] = languages

    def _menu(self, spec: LineMap, fields: dict[str, Any], d: Mapping[str, int]) -> None:
        fields["input"] = self.input_spec(spec, d)
        options = _mapping(spec.get("options"))
        choices: dict[str, model.Choice] = {}
        if options is None or not options:
            self.problem(spec.line, "a menu needs `options:`, a mapping of keys")
        else:
            for raw_key, option in options.items():
                line = options.line_of(raw_key)
                key = self.key(raw_key, line)
                option_map = _mapping(option)
                if option_map is None:
                    self.problem(line, f"option {raw_key!r} is a mapping with `goto:`")
                    continue
                goto = self.node_ref(option_map, "goto", required=True)
                if key is None or goto is None:
                    continue
                choices[key] = model.Choice(
                    goto=goto,
                    assign=self.assignments(option_map.get("set"), option_map.line_of("set")),
                    consent=self.consents(option_map.get("consent"), option_map.line_of("consent")),
                    line=line,
                )
        fields["choices"] = choices
        if not fields["prompts"]:
            self.problem(spec.line, "a menu needs `prompts:`")

    def _yes_no(self, spec: LineMap, fields: dict[str, Any], d: Mapping[str, int]) -> None:
        fields["input"] = self.input_spec(spec, d)
        fields["next"] = self.node_ref(spec, "next", required=True)
        fields["declined"] = self.node_ref(spec, "declined", required=True)
        fields["unavailable"] = self.node_ref(spec, "unavailable", required=True)
        fields["yes_key"] = self.key(spec.get("yes_key", "1"), spec.line_of("yes_key")) or "1"
        fields["no_key"] = self.key(spec.get("no_key", "2"), spec.line_of("no_key")) or "2"
        if fields["yes_key"] == fields["no_key"]:
            self.problem(spec.line, "yes_key and no_key must differ")
        if not fields["prompts"]:
            self.problem(spec.line, f"a {spec.get('type')} node needs `prompts:` (the question)")

    def _consent(self, spec: LineMap, fields: dict[str, Any], d: Mapping[str, int]) -> None:
        self._yes_no(spec, fields, d)
        kind = spec.get("consent")
        if kind not in model.CONSENT_KINDS:
            self.problem(
                spec.line_of("consent"),
                f"`consent:` must be one of {', '.join(sorted(model.CONSENT_KINDS))}",
            )
        fields["consent"] = kind if kind in model.CONSENT_KINDS else None

    def _callback_request(
        self, spec: LineMap, fields: dict[str, Any], d: Mapping[str, int]
    ) -> None:
        self._yes_no(spec, fields, d)
        reason = spec.get("reason")
        if not isinstance(reason, str):
            self.problem(spec.line, "a callback request needs `reason:` (or $callback_reason)")
        fields["reason"] = reason if isinstance(reason, str) else None

    def _queue(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        fields["busy"] = self.node_ref(spec, "busy", required=True)
        # The rest are needed once callers really wait; without them the queue is only
        # ever "busy" (the flow predates live routing) and the engine says so.
        for name in ("unavailable", "callback", "on_max_wait", "next"):
            fields[name] = self.node_ref(spec, name)
        waits = [
            name for name in ("unavailable", "callback", "on_max_wait", "next") if fields[name]
        ]
        if waits and len(waits) != 4:
            missing = sorted({"unavailable", "callback", "on_max_wait", "next"} - set(waits))
            self.problem(spec.line, f"a queue callers wait in also needs {', '.join(missing)}")
        raw = spec.get("cut_off_consent")
        if raw is not None:
            key = self.key(raw, spec.line_of("cut_off_consent"))
            if key == "1":
                self.problem(
                    spec.line_of("cut_off_consent"), "`cut_off_consent:` cannot be 1 (a callback)"
                )
            fields["cut_off_consent"] = key if key != "1" else None
        emergency = spec.get("emergency", False)
        if not isinstance(emergency, bool):
            self.problem(spec.line_of("emergency"), "`emergency:` is true or false")
        elif emergency and not fields["next"]:
            self.problem(spec.line, "an emergency queue is one callers wait in (`next:` etc.)")
        fields["emergency"] = emergency is True

    def _voicemail(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        fields["next"] = self.node_ref(spec, "next", required=True)
        fields["on_empty"] = self.node_ref(spec, "on_empty", required=True)
        fields["max_length"] = self.integer(spec, "max_length", 120, 5, 600)

    def _dial(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        number = spec.get("number")
        if number not in model.NAMED_NUMBERS:
            self.problem(
                spec.line_of("number"),
                "`number:` must be one of the named numbers: "
                f"{', '.join(sorted(model.NAMED_NUMBERS))} (set in the configuration)",
            )
        fields["number"] = number if number in model.NAMED_NUMBERS else None
        fields["dial_timeout"] = self.integer(spec, "timeout", 30, 5, 120)
        fields["on_failure"] = self.node_ref(spec, "on_failure", required=True)

    def _hangup(self, spec: LineMap, fields: dict[str, Any], _d: Mapping[str, int]) -> None:
        return None


_INPUT_FIELDS = frozenset({"timeout", "retries", "on_timeout", "on_invalid"})
_YES_NO_FIELDS = _INPUT_FIELDS | {"yes_key", "no_key", "next", "declined", "unavailable"}
_ALLOWED: dict[str, frozenset[str]] = {
    "say": frozenset({"next"}),
    "set": frozenset({"next", "set"}),
    "schedule": frozenset({"schedule", "open", "closed"}),
    "language_menu": _INPUT_FIELDS | {"options", "next", "remembered"},
    "menu": _INPUT_FIELDS | {"options"},
    "consent": _YES_NO_FIELDS | {"consent"},
    "callback_request": _YES_NO_FIELDS | {"reason"},
    "queue": frozenset(
        {"busy", "unavailable", "callback", "on_max_wait", "next", "cut_off_consent", "emergency"}
    ),
    "voicemail": frozenset({"next", "on_empty", "max_length"}),
    "dial": frozenset({"number", "timeout", "on_failure"}),
    "hangup": frozenset(),
}


def _load_flow(path: Path, schedules_bytes: bytes, out: _Collector) -> model.Flow | None:
    try:
        data = _mapping(load(path))
    except SourceError as error:
        out.add(path, error.line, "schema", error.message)
        return None
    if data is None or "flow" not in data:
        out.add(path, 1, "schema", "a flow file needs `flow:` (its id) and `nodes:`")
        return None
    reader = _FlowReader(path, out)
    if data.get("schema") != model.SCHEMA_VERSION:
        reader.problem(data.line_of("schema"), f"`schema:` must be {model.SCHEMA_VERSION}")
    flow_id = str(data["flow"])
    if not NODE_ID.match(flow_id):
        reader.problem(data.line_of("flow"), "`flow:` is a lower-case id such as `default`")
    languages = tuple(str(code) for code in _as_list(data.get("languages")))
    if not languages:
        reader.problem(data.line, "`languages:` lists the flow's languages")
    default_language = str(data.get("default_language", languages[0] if languages else ""))
    if default_language not in languages:
        reader.problem(
            data.line_of("default_language"), "`default_language:` must be in `languages:`"
        )

    keys_map = _mapping(data.get("global_keys"))
    keys: dict[str, str] = {}
    for name in model.GLOBAL_KEY_NAMES:
        raw = keys_map.get(name) if keys_map else None
        if raw is None:
            reader.problem(
                keys_map.line if keys_map else data.line,
                f"`global_keys:` needs `{name}:`",
                "emergency" if name == "emergency" else "schema",
            )
            continue
        key = reader.key(raw, keys_map.line_of(name) if keys_map else data.line)
        if key is not None:
            keys[name] = key
    if len(set(keys.values())) != len(keys):
        reader.problem(keys_map.line if keys_map else data.line, "global keys must all differ")

    defaults_map = _mapping(data.get("input")) or LineMap()
    defaults = {
        k: v for k, v in defaults_map.items() if k in ("timeout", "retries") and isinstance(v, int)
    }

    nodes: dict[str, model.Node] = {}
    nodes_map = _mapping(data.get("nodes"))
    if nodes_map is None or not nodes_map:
        reader.problem(data.line, "a flow needs `nodes:`")
        return None
    for node_id, spec in nodes_map.items():
        spec_map = _mapping(spec)
        if not NODE_ID.match(str(node_id)):
            reader.problem(
                nodes_map.line_of(node_id), f"node id {node_id!r}: lower-case letters, digits, _"
            )
            continue
        if spec_map is None:
            reader.problem(nodes_map.line_of(node_id), f"node {node_id!r} must be a mapping")
            continue
        node = reader.node(str(node_id), spec_map, defaults)
        if node is not None:
            nodes[str(node_id)] = node

    for node in nodes.values():
        if node.cut_off_consent is not None and node.cut_off_consent == keys.get("emergency"):
            reader.problem(
                nodes_map.line_of(node.id),
                "`cut_off_consent:` cannot be the emergency key",
                "emergency",
            )
    start = reader.node_ref(data, "start", required=True)
    emergency_node = reader.node_ref(data, "emergency_node", required=True)
    language_node = reader.node_ref(data, "language_node", required=True)
    if emergency_node is None:
        reader.problem(data.line, "`emergency_node:` is where the emergency key leads", "emergency")
    digest = hashlib.sha256(path.read_bytes() + b"\0" + schedules_bytes).hexdigest()[:12]
    return model.Flow(
        id=flow_id,
        version=digest,
        title=str(data.get("title", flow_id)),
        start=start or "",
        languages=languages,
        default_language=default_language,
        global_keys=model.GlobalKeys(
            emergency=keys.get("emergency", ""),
            repeat=keys.get("repeat", ""),
            back=keys.get("back", ""),
            change_language=keys.get("change_language", ""),
        ),
        emergency_node=emergency_node or "",
        language_node=language_node or "",
        nodes=nodes,
        path=str(path),
    )
