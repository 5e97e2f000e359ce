"""Scenario tests for flows: ivr_flows/tests/*.yaml, run by pytest and `helpline flows test`.

A scenario gives the caller's number, the time, the caller's script (keys and waits), and
what must come of it: the prompts heard in order, the menus passed, the language, topic,
age group and outcome recorded, whether a callback was requested, and how the call ended. It plays
the call through the real webhooks with the telephony simulator, in-process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import Flask

from helpline.ivr.model import Catalog, Prompt
from helpline.ivr.yamlsource import LineMap, SourceError, load
from helpline.privacy import crypto as privacy
from helpline.sandbox.interpreter import CallSimulator
from helpline.sandbox.script import DialOutcome
from helpline.sandbox.transcript import EndReason, Transcript
from helpline.sandbox.transport import FlaskTransport

# A scenario plays the IVR alone: routing is stood in for, as nobody on duty (busy) or
# unreachable (down). Live routing is tested end to end in tests/test_routing_live.py.
ROUTING_STATES = ("busy", "down")
EXPECTATIONS = frozenset(
    {"hears", "path", "language", "topic", "age_group", "outcome", "callback", "urgent", "end"}
)
ENDS = {
    EndReason.TWIML_HANGUP: "hangup",
    EndReason.CALLER_HANGUP: "caller",
    EndReason.SCRIPT_ENDED: "caller",
}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file and line."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    line: int
    caller: str
    at: dt.datetime
    script: tuple[Any, ...]
    remembered_language: str | None
    duty_line: str
    expect: Mapping[str, Any]
    routing: str = "busy"  # who can take a queued call: busy (nobody on duty) or down

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclasses.dataclass(frozen=True)
class Result:
    scenario: Scenario
    failures: tuple[str, ...]
    transcript: Transcript
    heard: tuple[str, ...]
    path: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def load_scenarios(root: Path) -> list[Scenario]:
    """Every scenario in root/tests/*.yaml, in file order."""
    found: list[Scenario] = []
    for path in sorted((root / "tests").glob("*.yaml")):
        found += list(_scenarios_in(path))
    return found


def _scenarios_in(path: Path) -> Iterator[Scenario]:
    try:
        data = load(path)
    except SourceError as error:
        raise ScenarioError(f"{path}:{error.line}: {error.message}") from None
    items = data.get("scenarios") if isinstance(data, LineMap) else None
    if not isinstance(items, list):
        raise ScenarioError(f"{path}:1: expected `scenarios:`, a list")
    for item in items:
        if not isinstance(item, LineMap):
            raise ScenarioError(f"{path}: each scenario is a mapping")
        where = f"{path}:{item.line}"
        name = item.get("name")
        expect = item.get("expect")
        if not isinstance(name, str) or not isinstance(expect, LineMap):
            raise ScenarioError(f"{where}: a scenario needs `name:` and `expect:`")
        unknown = set(expect) - EXPECTATIONS
        if unknown:
            raise ScenarioError(f"{where}: unknown expectation(s): {', '.join(sorted(unknown))}")
        at = item.get("at")
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        if not isinstance(at, dt.datetime) or at.tzinfo is None:
            raise ScenarioError(f"{where}: `at:` is a date and time with its offset")
        script = item.get("script", [])
        yield Scenario(
            name=name,
            path=str(path),
            line=item.line,
            caller=str(item.get("from", "+905321112233")),
            at=at.astimezone(dt.UTC),
            script=tuple(script if isinstance(script, list) else [script]),
            remembered_language=item.get("remembered_language"),
            duty_line=str(item.get("duty_line", "answered")),
            expect=dict(expect),
            routing=_routing(item.get("routing", "busy"), where),
        )


def _routing(value: object, where: str) -> str:
    if value not in ROUTING_STATES:
        raise ScenarioError(f"{where}: `routing:` is one of {', '.join(ROUTING_STATES)}")
    return str(value)


def prompt_variants(catalog: Catalog) -> Iterator[tuple[str, Prompt, dict[str, str]]]:
    """Every prompt of every language, once per digit for prompts that name a {key}."""
    for language in catalog.languages.values():
        for prompt in language.prompts.values():
            if "{key}" in prompt.text:
                for key in "0123456789":
                    yield language.code, prompt, {"key": key}
            else:
                yield language.code, prompt, {}


def prompt_lookup(catalog: Catalog) -> dict[str, str]:
    """What the caller hears (a text or `lang/audio file`) -> the prompt's key."""
    lookup: dict[str, str] = {}
    for code, prompt, params in prompt_variants(catalog):
        lookup[prompt.render_text(params)] = prompt.key
        audio = prompt.audio_file(params)
        if audio:
            lookup[f"{code}/{audio}"] = prompt.key
    return lookup


def _heard_keys(transcript: Transcript, lookup: Mapping[str, str]) -> list[str]:
    keys = []
    for item in transcript.heard():
        if item.kind == "say":
            keys.append(lookup.get(item.text, f"? {item.text[:30]}"))
        elif item.kind == "play":
            tail = "/".join(urlsplit(item.url).path.split("/")[-2:])
            keys.append(lookup.get(tail, f"? {tail}"))
    return keys


def _path(transcript: Transcript) -> list[str]:
    nodes = []
    for request in transcript.requests():
        query = parse_qs(urlsplit(request.url).query)
        if "/voice/step" in request.url and query.get("n"):
            nodes.append(query["n"][0])
    return nodes


def _in_order(wanted: Sequence[str], got: Sequence[str]) -> bool:
    remaining = iter(got)
    return all(any(item == have for have in remaining) for item in wanted)


def run_scenario(app: Flask, scenario: Scenario) -> Result:
    """Play the scenario's call through the app and compare with what it expects."""
    from helpline.extensions import db
    from helpline.models import Call, CallbackRequest, Caller, CallerConsent

    settings = app.extensions["helpline.settings"]
    catalog: Catalog = app.extensions["helpline.flows"].catalog
    app.extensions["helpline.clock"] = lambda: scenario.at
    app.extensions["helpline.queue_status"] = lambda _language, _topic: scenario.routing
    try:
        if scenario.remembered_language:
            with app.app_context():
                e164 = privacy.normalise_number(scenario.caller)
                caller = Caller(
                    number_index=privacy.keyring().blind_index(e164),
                    number_encrypted=e164,
                    preferred_language=scenario.remembered_language,
                )
                db.session.add(caller)
                db.session.flush()
                db.session.add(
                    CallerConsent(caller_id=caller.id, kind="remember_language", is_granted=True)
                )
                db.session.commit()
        # Every duty number rings at once; in a scenario they all answer alike.
        outcomes = {n: DialOutcome(scenario.duty_line) for n in settings.duty_line_numbers}  # type: ignore[arg-type]
        simulator = CallSimulator(
            FlaskTransport(app, settings.public_base_url),
            account_sid=settings.twilio_account_sid or "AC",
            auth_token=settings.twilio_auth_token or "",
            url=f"{settings.public_base_url}/voice/incoming",
            from_=scenario.caller,
            to=settings.helpline_number or "+900000000000",
            script=list(scenario.script),
            status_callback=f"{settings.public_base_url}/voice/status",
            dial_outcomes=outcomes or None,
            started_at=scenario.at,
        )
        transcript = simulator.run()
    finally:
        app.extensions.pop("helpline.clock", None)
        app.extensions.pop("helpline.queue_status", None)

    heard = _heard_keys(transcript, prompt_lookup(catalog))
    path = _path(transcript)
    failures: list[str] = [f"the app failed: {error.message}" for error in transcript.errors()]
    expect = scenario.expect
    with app.app_context():
        call = db.session.scalars(
            sa.select(Call).where(Call.call_sid == transcript.call_sid)
        ).one_or_none()
        if call is None:
            failures.append("no call was recorded")
        else:
            for field in ("language", "topic", "age_group", "outcome"):
                if field in expect and getattr(call, field) != expect[field]:
                    failures.append(
                        f"{field}: expected {expect[field]!r}, got {getattr(call, field)!r}"
                    )
            if "urgent" in expect:  # the flow flagged the message urgent (a `set` node)
                urgent = (call.ivr_state or {}).get("vars", {}).get("urgent") is True
                if urgent != bool(expect["urgent"]):
                    failures.append(f"urgent: expected {expect['urgent']}, got {urgent}")
            if "callback" in expect:
                has_callback = db.session.scalar(
                    sa.select(sa.func.count()).where(CallbackRequest.call_id == call.id)
                )
                if bool(has_callback) != bool(expect["callback"]):
                    failures.append(
                        f"callback: expected {expect['callback']}, got {bool(has_callback)}"
                    )
        db.session.remove()
    if "hears" in expect and not _in_order(list(expect["hears"]), heard):
        failures.append(f"hears: expected {list(expect['hears'])} in order, heard {heard}")
    if "path" in expect and not _in_order(list(expect["path"]), path):
        failures.append(f"path: expected {list(expect['path'])} in order, went {path}")
    if "end" in expect:
        reason = transcript.end_reason
        ended = ENDS.get(reason, str(reason)) if reason else "?"
        if ended != expect["end"]:
            failures.append(f"end: expected {expect['end']!r}, the call ended by {ended!r}")
    return Result(scenario, tuple(failures), transcript, tuple(heard), tuple(path))
