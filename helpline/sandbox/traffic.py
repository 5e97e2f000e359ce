"""Simulated traffic for the telephony sandbox: `helpline demo-traffic`.

Callers in many languages ring the helpline through a running sandbox's control API, at
random (Poisson) arrival times, each following a script in the `helpline simulate` syntax.
It has two halves:

- Planning, pure and deterministic for a seed: `FlowKeys.from_flow` reads from the flow
  the keys a caller presses (language menu, remember-language question, topic menu,
  callback or message, emergency key); `plan_traffic` draws who calls, when, in which
  language, about what, and what they do (`KINDS`), with the weights of a `Mix`.
- Running (`run_traffic`): registers staff phones with behaviours, places each call when
  its time comes, follows the calls, prints one line per call as it ends, and a tally.

Rules:
- Never print or log a phone number: lines name the call's place in the run, its language,
  topic and what happened.
- Caller numbers are fresh on every run (they are not drawn from the seed), so the same
  seed never meets callers the helpline remembers from an earlier run; the seed fixes
  everything else.
- Arrival times are in real (wall-clock) time; what happens inside a call runs at the
  sandbox's own speed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import random
import re
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import click

if TYPE_CHECKING:
    from helpline.ivr.model import Flow

DEFAULT_URL = "http://127.0.0.1:8183"
REQUEST_TIMEOUT = 10.0
POLL_SECONDS = 0.5

# What a caller does (the plan's `kind`), in the order the tally lists them.
KINDS = (
    "topic",  # chooses a language and a topic, hears what comes next, hangs up
    "callback",  # ... then asks to be called back
    "message",  # ... then leaves a recorded message
    "gives-up",  # chooses a language, then hangs up at the topic menu
    "early-hangup",  # hangs up before choosing a language
    "silent",  # says nothing, holds on a while, hangs up
    "emergency",  # presses the emergency key
)


@dataclass(frozen=True)
class Mix:
    """How callers are spread: weights (any positive scale) and probabilities."""

    # Like a Social Service Centre line in Turkey: Arabic and Turkish most, then Farsi,
    # Pashto, Kurmanji and English. A flow's other languages get `other_language`.
    languages: Mapping[str, float] = field(
        default_factory=lambda: {"ar": 34, "tr": 30, "fa": 14, "ps": 9, "ku": 7, "en": 6}
    )
    other_language: float = 2.0
    topics: Mapping[str, float] = field(
        default_factory=lambda: {
            "psychosocial": 28,
            "social_assistance": 26,
            "violence": 14,
            "child_protection": 12,
            "elderly_disability": 10,
        }
    )
    other_topic: float = 5.0
    kinds: Mapping[str, float] = field(
        default_factory=lambda: {
            "topic": 45,
            "callback": 15,
            "message": 7,
            "gives-up": 8,
            "early-hangup": 10,
            "silent": 12,
            "emergency": 3,
        }
    )
    withheld: float = 0.06  # callers whose number is withheld
    remember_yes: float = 0.6  # say yes to "shall we remember your language?"
    impatient: float = 0.25  # press the language key while the welcome still plays
    # The duty line, for an emergency call: answers mostly, sometimes not.
    duty_answers: float = 0.8
    duty_busy: float = 0.1  # the rest rings out (no answer)
    # Other staff phones: answer after a few seconds mostly, sometimes not.
    staff_answers: float = 0.8
    staff_busy: float = 0.1

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown caller kinds: {', '.join(sorted(unknown))}")
        for name in ("languages", "topics", "kinds"):
            weights: Mapping[str, float] = getattr(self, name)
            if any(not math.isfinite(w) or w < 0 for w in weights.values()):
                raise ValueError(f"{name} weights must be zero or more")
        for name in ("withheld", "remember_yes", "impatient", "duty_answers", "staff_answers"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a probability, from 0 to 1")


@dataclass(frozen=True)
class FlowKeys:
    """The keys a caller presses in a flow, read from the flow itself."""

    languages: Mapping[str, str]  # language -> its key at the language menu
    remember: tuple[str, str] | None  # (yes, no) of the question right after that menu
    topics: Mapping[str, str]  # topic -> its key at the topic menu
    callback: tuple[str, str] | None  # (menu key, yes key) to ask for a callback
    message: str | None  # menu key to leave a message
    emergency: str  # the emergency key, in any menu

    @classmethod
    def from_flow(cls, flow: Flow) -> FlowKeys:
        language_menu = flow.nodes.get(flow.language_node)
        languages: dict[str, str] = {}
        remember = None
        if language_menu is not None and language_menu.type == "language_menu":
            languages = {language: key for key, language in sorted(language_menu.languages.items())}
            question = flow.nodes.get(language_menu.next or "")
            if question is not None and question.type == "consent":
                remember = (question.yes_key, question.no_key)
        topics: dict[str, str] = {}
        callback = None
        message = None
        for node in flow.nodes.values():
            if node.type != "menu":
                continue
            chosen = {
                str(choice.assign["topic"]): key
                for key, choice in node.choices.items()
                if "topic" in choice.assign
            }
            if chosen and not topics:
                topics = chosen
            for key, choice in node.choices.items():
                target = flow.nodes.get(choice.goto)
                if target is None:
                    continue
                if target.type == "callback_request" and callback is None:
                    callback = (key, target.yes_key)
                if target.type == "voicemail" and message is None:
                    message = key
        return cls(
            languages=languages,
            remember=remember,
            topics=topics,
            callback=callback,
            message=message,
            emergency=flow.global_keys.emergency,
        )


@dataclass(frozen=True)
class CallPlan:
    """One simulated caller: when they call (seconds after the start), and what they do."""

    at: float
    caller: str  # the number, or "anonymous"; never printed
    kind: str
    language: str | None  # the language they choose; None when they choose none
    topic: str | None  # the topic they choose; None when they choose none
    script: str
    duty: dict[str, object] | None = None  # the duty line's behaviour, for an emergency

    @property
    def withheld(self) -> bool:
        return self.caller == "anonymous"


# Parsing the command line


def parse_rate(text: str) -> float:
    """Calls a second from `6/min`, `0.5/s`, `120/h` or `6` (a minute)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*(s|sec|min|m|h|hour))?\s*", text)
    if not match:
        raise ValueError("a rate is a number of calls per s, min or h, such as 6/min")
    per = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600}[match[2] or "min"]
    rate = float(match[1]) / per
    if not 0 < rate <= 100:
        raise ValueError("the rate must be more than 0 and at most 100 calls a second")
    return rate


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `5m`, `1h` or `1h30m`."""
    match = re.fullmatch(
        r"\s*(?:([0-9]+)h)?\s*(?:([0-9]+)m)?\s*(?:([0-9]+(?:\.[0-9]+)?)s?)?\s*", text
    )
    if not match or not any(match.groups()):
        raise ValueError("a duration is like 90s, 5m, 1h or 1h30m")
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 0 < total <= 7 * 86400:
        raise ValueError("the duration must be more than 0 and at most a week")
    return total


# Planning


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str | None:
    names = [name for name, weight in weights.items() if weight > 0]
    if not names:
        return None
    return rng.choices(names, [weights[name] for name in names])[0]


def _seconds(rng: random.Random, low: float, high: float) -> str:
    return f"{round(rng.uniform(low, high))}"


# Mobile prefixes and how many digits follow: Turkish lines (most refugees' phones), and the
# Syrian, Iranian and Afghan lines some callers still use.
TURKISH_MOBILE = (
    tuple(f"+9053{d}" for d in "0123456789")
    + tuple(f"+9054{d}" for d in "123456")
    + tuple(f"+9055{d}" for d in "1235"),
    7,
)
ABROAD = {
    "ar": (tuple(f"+9639{d}" for d in "345689"), 7),
    "fa": (tuple(f"+989{d}" for d in ("10", "12", "13", "15", "19", "35", "36", "37")), 7),
    "ps": (tuple(f"+937{d}" for d in "02789"), 7),
}


def caller_number(language: str | None, numbers: random.Random) -> str:
    """A made-up mobile number: mostly Turkish, sometimes from the caller's first country."""
    prefixes, digits = TURKISH_MOBILE
    if language in ABROAD and numbers.random() < 0.2:
        prefixes, digits = ABROAD[language]
    return numbers.choice(prefixes) + "".join(numbers.choice("0123456789") for _ in range(digits))


def plan_call(
    keys: FlowKeys,
    mix: Mix,
    rng: random.Random,
    at: float,
    numbers: random.Random,
) -> CallPlan:
    """One caller, drawn from `rng`; their number from `numbers`."""
    kind = _weighted(rng, mix.kinds) or "silent"
    language_weights = {
        code: mix.languages.get(code, mix.other_language) for code in keys.languages
    }
    language = _weighted(rng, language_weights)
    topic = _weighted(rng, {name: mix.topics.get(name, mix.other_topic) for name in keys.topics})
    withheld = rng.random() < mix.withheld
    remember_yes = rng.random() < mix.remember_yes
    impatient = rng.random() < mix.impatient

    if language is None and kind not in ("silent", "early-hangup"):
        kind = "silent"  # a flow without a language menu: nothing this plan knows to press
    if kind == "callback" and (keys.callback is None or withheld):
        kind = "message"  # a withheld number cannot be called back
    if kind == "message" and keys.message is None:
        kind = "topic"
    if kind in ("topic", "callback", "message") and topic is None:
        kind = "gives-up"

    steps: list[str] = []
    chose_language = chose_topic = False
    if kind == "silent":
        steps = [f"wait {_seconds(rng, 20, 120)}", "hangup"]
    elif kind == "early-hangup":
        steps = [f"wait {_seconds(rng, 2, 12)}", "hangup"]
    elif kind == "emergency" and rng.random() < 0.3:  # at once, in the language menu
        steps = [f"wait {_seconds(rng, 1, 5)}", f"press {keys.emergency}"]
    elif language is not None:
        chose_language = True
        if impatient:
            steps.append(f"wait {_seconds(rng, 1, 3)}")
        steps.append(f"press {keys.languages[language]}")
        if keys.remember is not None and not withheld:
            steps.append(f"press {keys.remember[0] if remember_yes else keys.remember[1]}")
        if kind == "emergency":  # during the notices, before the topic menu
            steps += [f"wait {_seconds(rng, 1, 5)}", f"press {keys.emergency}"]
        elif kind == "gives-up" or topic is None:
            steps.append("hangup")
        else:
            chose_topic = True
            steps.append(f"press {keys.topics[topic]}")
            steps += _after_topic(kind, keys, rng)
    duty = None
    if kind == "emergency":
        duty = _phone_behaviour(rng, mix.duty_answers, mix.duty_busy, (3, 12), (20, 120))
    caller = "anonymous" if withheld else caller_number(language, numbers)
    return CallPlan(
        at=round(at, 3),
        caller=caller,
        kind=kind,
        language=language if chose_language else None,
        topic=topic if chose_topic else None,
        script="; ".join(steps),
        duty=duty,
    )


def _after_topic(kind: str, keys: FlowKeys, rng: random.Random) -> list[str]:
    """What a caller does once past the topic menu (where the line offers a callback)."""
    if kind == "callback" and keys.callback is not None:
        return [f"press {keys.callback[0]}", f"press {keys.callback[1]}"]
    if kind == "message" and keys.message is not None:
        return [f"press {keys.message}", f"record {_seconds(rng, 8, 60)}"]
    return ["hangup"]


def _phone_behaviour(
    rng: random.Random,
    answers: float,
    busy: float,
    after: tuple[float, float],
    talk: tuple[float, float],
) -> dict[str, object]:
    draw = rng.random()
    if draw < answers:
        return {
            "kind": "answer",
            "after": float(round(rng.uniform(*after))),
            "talk": float(round(rng.uniform(*talk))),
        }
    return {"kind": "busy" if draw < answers + busy else "no-answer"}


def arrivals(
    rng: random.Random, rate: float, duration: float | None, count: int | None
) -> list[float]:
    """Poisson arrival times (seconds from the start) until `duration` or `count`."""
    if duration is None and count is None:
        raise ValueError("give a duration or a number of calls")
    times: list[float] = []
    moment = 0.0
    while count is None or len(times) < count:
        moment += rng.expovariate(rate)
        if duration is not None and moment > duration:
            break
        times.append(moment)
    return times


def plan_traffic(
    keys: FlowKeys,
    mix: Mix,
    rng: random.Random,
    *,
    rate: float,
    duration: float | None = None,
    count: int | None = None,
    numbers: random.Random | None = None,
) -> list[CallPlan]:
    """Every caller of a run, in order of arrival."""
    numbers = numbers or random.Random(secrets.randbits(64))  # noqa: S311 - not for security
    times = arrivals(rng, rate, duration, count)
    plans = [plan_call(keys, mix, rng, at, numbers) for at in times]
    seen: set[str] = set()
    unique = []
    for plan in plans:  # each run's callers are first-time callers
        while plan.caller != "anonymous" and plan.caller in seen:
            plan = dataclasses.replace(plan, caller=caller_number(plan.language, numbers))
        seen.add(plan.caller)
        unique.append(plan)
    return unique


def staff_behaviours(
    numbers: Iterable[str], mix: Mix, rng: random.Random
) -> dict[str, dict[str, object]]:
    """A behaviour for each staff phone: answers after a few seconds mostly."""
    return {
        number: _phone_behaviour(rng, mix.staff_answers, mix.staff_busy, (2, 10), (60, 300))
        for number in numbers
    }


# Reading what happened


@dataclass
class Outcome:
    """What one call did, read from its events in the control API."""

    plan: CallPlan
    sid: str | None = None
    refused: str | None = None  # why the sandbox would not place it
    path: list[str] = field(default_factory=list)  # flow nodes the app was asked about
    end: str = ""
    seconds: float = 0.0  # simulated
    statuses: list[int | None] = field(default_factory=list)  # the app's answers
    dial: str | None = None  # how the last transfer (a <Dial>) went: answered, busy, ...
    errors: list[str] = field(default_factory=list)
    ended: bool = False

    def read(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Take in more events of the call."""
        for event in events:
            kind = event.get("kind")
            if kind == "request":
                node = _node_of(str(event.get("detail", "")))
                if node and (not self.path or self.path[-1] != node):
                    self.path.append(node)
                self.statuses.append(_status_of(str(event.get("detail", ""))))
            elif kind == "dialed":
                self.dial = _dial_result(str(event.get("detail", "")))
            elif kind == "error":
                self.errors.append(str(event.get("text", "")))
            elif kind == "ended":
                self.end = str(event.get("text", ""))
                self.seconds = float(event.get("at") or 0.0)

    @property
    def refused_requests(self) -> list[int | None]:
        return [status for status in self.statuses if status != 200]


_REQUEST = re.compile(r"^→ (?P<method>[A-Z]+) (?P<url>\S+).*\] (?P<status>[0-9]{3}|no answer)$")


def _node_of(detail: str) -> str | None:
    match = _REQUEST.match(detail)
    if not match:
        return None
    nodes = parse_qs(urlsplit(match["url"]).query).get("n")
    return nodes[0] if nodes else None


def _dial_result(detail: str) -> str:
    """`dials +90…: connected for 30.2s` → `answered`; `…: busy` → `busy`."""
    result = detail.rsplit(": ", 1)[-1]
    return "answered" if result.startswith("connected") else result


def _status_of(detail: str) -> int | None:
    match = _REQUEST.match(detail)
    if not match or match["status"] == "no answer":
        return None
    return int(match["status"])


ENDINGS = {
    "hangup by TwiML": "the line hung up",
    "hangup by caller": "the caller hung up",
    "script ended, caller hung up": "the caller hung up",
    "the other party hung up": "the other party hung up",
}


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def describe(number: int, outcome: Outcome) -> str:
    """One line for a finished call; never the caller's number."""
    plan = outcome.plan
    head = (
        f"#{number:<4} {plan.language or '-':<3} {plan.topic or '-':<19} "
        f"{plan.kind + (' (withheld)' if plan.withheld else ''):<24}"
    )
    if outcome.refused:
        return f"{head} not placed: {outcome.refused}"
    what = [f"transfer {outcome.dial}"] if outcome.dial else []
    ending = ENDINGS.get(outcome.end, outcome.end or "still going")
    what.append(f"{ending} after {_clock(outcome.seconds)}")
    if outcome.errors:
        what.append(f"error: {outcome.errors[-1]}")
    refused = outcome.refused_requests
    if refused:
        what.append(f"the app answered {', '.join(str(s) for s in refused)}")
    path = " > ".join(outcome.path) or "-"
    return f"{head} {', '.join(what)}; path: {path}"


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def lines(self) -> list[str]:
        placed = [o for o in self.outcomes if o.sid is not None]
        ended = [o for o in placed if o.ended]
        refused = [o for o in self.outcomes if o.refused]
        requests = [status for o in placed for status in o.statuses]
        bad = Counter(str(status or "no answer") for status in requests if status != 200)
        lines = [
            f"calls: {len(placed)} placed, {len(ended)} ended, "
            f"{len(refused)} not placed by the sandbox",
            "languages: " + _counts(o.plan.language or "none" for o in placed),
            "topics: " + _counts(o.plan.topic or "none" for o in placed),
            "callers: " + _counts((o.plan.kind for o in placed), KINDS),
            "endings: " + _counts(ENDINGS.get(o.end, o.end or "still going") for o in placed),
        ]
        dials = [o.dial for o in placed if o.dial]
        if dials:
            lines.append("transfers (the duty line): " + _counts(dials))
        if bad:
            lines.append(
                f"requests: {len(requests)}, {sum(bad.values())} not answered 200 "
                f"({_counts(bad.elements())}); a 403 means the sandbox and the helpline "
                "do not share TWILIO_AUTH_TOKEN, or PUBLIC_BASE_URL is not the URL it calls"
            )
        else:
            lines.append(f"requests: {len(requests)}, all answered 200")
        errors = sum(len(o.errors) for o in placed)
        if errors:
            lines.append(f"errors in calls: {errors}")
        if ended:
            mean = sum(o.seconds for o in ended) / len(ended)
            lines.append(f"mean call length: {_clock(mean)} (in the sandbox's time)")
        return lines


def _counts(values: Iterable[str], order: Sequence[str] = ()) -> str:
    """`a 3, b 1`: in `order` when given, else most frequent first."""
    counted = Counter(values)
    if not counted:
        return "none"
    if order:
        names = [name for name in order if name in counted]
        names += sorted(name for name in counted if name not in order)
    else:
        names = [name for name, _ in counted.most_common()]
    return ", ".join(f"{name} {counted[name]}" for name in names)


# Talking to the sandbox


class SandboxError(Exception):
    """The sandbox could not be reached, or answered with an error."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ControlClient:
    """The sandbox's control API (see emulator/control.py), over urllib."""

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SandboxError(f"the sandbox URL must be http(s)://host:port, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.base_url + path, data=data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            with error:
                try:
                    message = json.loads(error.read()).get("error") or error.reason
                except (ValueError, AttributeError):
                    message = error.reason
            raise SandboxError(str(message), error.code) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SandboxError(f"cannot reach the sandbox at {self.base_url}: {reason}") from None

    def place_call(self, caller: str, script: str) -> str:
        body = self.request("POST", "/sandbox/api/calls", {"from": caller, "script": script})
        return str(body["sid"])

    def call(self, sid: str, after: int) -> dict[str, Any]:
        body: dict[str, Any] = self.request("GET", f"/sandbox/api/calls/{quote(sid)}?after={after}")
        return body

    def hang_up(self, sid: str) -> None:
        self.request("POST", f"/sandbox/api/calls/{quote(sid)}/hangup")

    def phones(self) -> list[dict[str, Any]]:
        body = self.request("GET", "/sandbox/api/phones")
        return list(body["phones"])

    def set_phone(self, number: str, behaviour: Mapping[str, object]) -> None:
        self.request("POST", "/sandbox/api/phones", {"number": number, "behaviour": behaviour})


@dataclass
class _Live:
    number: int
    outcome: Outcome
    last: int = -1


def run_traffic(
    client: ControlClient,
    plans: Sequence[CallPlan],
    out: Callable[[str], None],
    *,
    duty_line: str | None = None,
    phones: Mapping[str, Mapping[str, object]] | None = None,
    drain: float = 600.0,
    poll: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Tally:
    """Place the calls at their times, follow them to their end, print a line for each.

    Phones that a person answers (the `human` behaviour, set on the practice phone) are
    left as they are. Ctrl-C stops placing calls and hangs up the live ones.
    """
    tally = Tally()
    human = {p["number"] for p in client.phones() if p["behaviour"]["kind"] == "human"}
    for phone, behaviour in (phones or {}).items():
        if phone not in human:
            client.set_phone(phone, behaviour)
    pending = list(enumerate(plans, 1))
    pending.reverse()
    live: dict[str, _Live] = {}
    start = clock()
    last_placed = start
    try:
        while pending or live:
            now = clock() - start
            while pending and pending[-1][1].at <= now:
                number, plan = pending.pop()
                outcome = Outcome(plan)
                if plan.duty is not None and duty_line and duty_line not in human:
                    client.set_phone(duty_line, plan.duty)
                try:
                    outcome.sid = client.place_call(plan.caller, plan.script)
                except SandboxError as error:
                    if not error.status:
                        raise
                    outcome.refused = str(error)
                    tally.add(outcome)
                    out(describe(number, outcome))
                    continue
                last_placed = clock()
                live[outcome.sid] = _Live(number, outcome)
            for sid, follow in list(live.items()):
                try:
                    body = client.call(sid, follow.last)
                except SandboxError as error:
                    if not error.status:
                        raise
                    # Forgotten by the sandbox (restarted, or too long ago): done here.
                    body = {"ended": True, "events": [], "last": follow.last}
                    follow.outcome.errors.append(f"the sandbox lost the call: {error}")
                follow.outcome.read(body["events"])
                follow.last = int(body["last"])
                if body["ended"]:
                    follow.outcome.ended = True
                    del live[sid]
                    tally.add(follow.outcome)
                    out(describe(follow.number, follow.outcome))
            if not pending and live and clock() - last_placed > drain:
                out(f"{len(live)} call(s) still going after {drain:g}s: hanging up")
                _hang_up(client, live, tally, out)
                break
            wait = poll if not pending else min(poll, max(0.0, pending[-1][1].at - now))
            if live or pending:
                sleep(wait)
    except KeyboardInterrupt:
        out(f"interrupted: {len(pending)} call(s) not placed; hanging up {len(live)}")
        _hang_up(client, live, tally, out)
    return tally


def _hang_up(
    client: ControlClient, live: dict[str, _Live], tally: Tally, out: Callable[[str], None]
) -> None:
    for sid, follow in live.items():
        with contextlib.suppress(SandboxError):  # it ended meanwhile
            client.hang_up(sid)
        tally.add(follow.outcome)
        out(describe(follow.number, follow.outcome))
    live.clear()


# The command


def _demo_staff_phones() -> list[str]:
    from helpline.staff.demo import STAFF

    return [spec.phone for spec in STAFF if spec.phone]


@click.command("demo-traffic")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The sandbox's URL.")
@click.option("--rate", default="6/min", show_default=True, help="Arrivals: 6/min, 0.5/s, 90/h.")
@click.option("--duration", help="How long calls keep coming: 90s, 10m, 1h (default 5m).")
@click.option("--calls", "count", type=click.IntRange(1, 100_000), help="Stop after this many.")
@click.option("--seed", type=int, help="Replay a run: the same callers, doing the same.")
@click.option(
    "--flows",
    "flows_path",
    envvar="IVR_FLOWS_PATH",
    type=click.Path(file_okay=False, exists=True),
    help="The ivr_flows folder (default: IVR_FLOWS_PATH, else the checkout's).",
)
@click.option(
    "--flow",
    "flow_id",
    envvar="IVR_FLOW",
    default="default",
    show_default=True,
    help="The flow whose keys callers press (default: IVR_FLOW).",
)
@click.option(
    "--duty-line",
    envvar="DUTY_LINE_NUMBER",
    help="The duty line's number (default: DUTY_LINE_NUMBER, else the sandbox's).",
)
@click.option("--no-phones", is_flag=True, help="Register no staff phones.")
@click.option(
    "--drain",
    type=click.FloatRange(0, 86_400),
    default=600.0,
    show_default=True,
    help="Seconds to wait for calls to end once the last is placed.",
)
def demo_traffic(
    url: str,
    rate: str,
    duration: str | None,
    count: int | None,
    seed: int | None,
    flows_path: str | None,
    flow_id: str,
    duty_line: str | None,
    no_phones: bool,
    drain: float,
) -> None:
    """Play simulated callers against a running telephony sandbox.

    Callers arrive at random at --rate, in Arabic, Turkish, Farsi, Pashto, Kurmanji and
    English, about the flow's topics; some stay silent, hang up early, ask for a callback,
    leave a message, or press the emergency key. Staff phones answer after a few seconds
    mostly, sometimes not. One line per call as it ends (never a phone number), then a
    tally. The sandbox must be running, with the helpline behind it.
    """
    from pathlib import Path

    from helpline.config import DEFAULT_FLOWS_PATH
    from helpline.ivr.loader import load_catalog
    from helpline.sandbox.local import SANDBOX_DUTY_LINE

    try:
        arrival_rate = parse_rate(rate)
        seconds = parse_duration(duration) if duration else None
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if seconds is None and count is None:
        seconds = 300.0
    catalog, problems = load_catalog(Path(flows_path or DEFAULT_FLOWS_PATH))
    flow = catalog.flows.get(flow_id)
    if flow is None:
        raise click.ClickException(
            f"no flow {flow_id!r} in {flows_path or DEFAULT_FLOWS_PATH}"
            + (f" ({len(problems)} problem(s): run helpline flows check)" if problems else "")
        )
    keys = FlowKeys.from_flow(flow)
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    rng = random.Random(seed)  # noqa: S311 - simulated callers, not security
    mix = Mix()
    plans = plan_traffic(keys, mix, rng, rate=arrival_rate, duration=seconds, count=count)
    duty = duty_line or SANDBOX_DUTY_LINE
    phones = {} if no_phones else staff_behaviours(_demo_staff_phones(), mix, rng)
    if not no_phones:
        phones[duty] = {"kind": "answer", "after": 6.0, "talk": 60.0}
    limit = f"{count} calls" if count is not None else ""
    if seconds is not None:
        limit = f"{limit} within {_clock(seconds)}" if limit else f"for {_clock(seconds)}"
    click.echo(
        f"demo traffic: {arrival_rate * 60:g} calls/min {limit} (seed {seed}), "
        f"flow {flow.id}, to the sandbox at {url}; {len(plans)} callers planned"
    )
    try:
        client = ControlClient(url)
        tally = run_traffic(client, plans, click.echo, duty_line=duty, phones=phones, drain=drain)
    except SandboxError as error:
        raise click.ClickException(str(error)) from None
    click.echo("")
    for line in tally.lines():
        click.echo(line)
