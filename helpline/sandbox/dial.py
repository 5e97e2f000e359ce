"""Decide how a `<Dial>` ends from the dialled parties' behaviour, and what Twilio posts after.

Rules:
- All nouns ring at once; the first that answers wins (document order here).
- With nobody answering: one shared status if all agree, else no-answer if anyone rang out,
  else busy.
- No answer costs the Dial's `timeout`; busy and failed end within seconds.
- An answered party talks for its `seconds`, cut at `timeLimit`.
- Defaults: numbers, clients and conferences answer and talk for 60 s; a queue is empty, so
  dialling it rings out.
- After a conference, DialCallStatus is `answered` and there is no DialCallSid or
  DialCallDuration (TWILIO.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from helpline.sandbox.ids import new_sid, recording_url
from helpline.sandbox.script import DialOutcome, DialStatus
from helpline.telephony import twiml

NOUNS = frozenset(
    {"Number", "Client", "Conference", "Queue", "Sip", "Sim", "Application", "WhatsApp"}
)
RING_SECONDS = 4.0
BUSY_SECONDS = 2.0
FAILED_SECONDS = 1.0
ANSWER = DialOutcome("answered", 60.0)
EMPTY_QUEUE = DialOutcome("no-answer")


@dataclass(frozen=True)
class Target:
    kind: str  # the noun in lower case: number, client, conference, queue, sip, ...
    value: str

    @property
    def label(self) -> str:
        """How behaviours are keyed: the number or SIP URI as is, otherwise `kind:value`."""
        return self.value if self.kind in ("number", "sip") else f"{self.kind}:{self.value}"


def targets(verb: Element) -> list[Target]:
    """The nouns of a `<Dial>`; a bare text body is a number."""
    if len(verb) == 0:
        body = twiml.text(verb)
        if not body:
            raise twiml.TwimlError("<Dial> has nothing to dial")
        return [Target("number", body)]
    found = []
    for noun in verb:
        if noun.tag not in NOUNS:
            raise twiml.TwimlError(f"<{noun.tag}> cannot be nested in <Dial>")
        value = twiml.text(noun)
        if not value:
            raise twiml.TwimlError(f"<{noun.tag}> inside <Dial> is empty")
        found.append(Target(noun.tag.lower(), value))
    return found


def nouns(verb: Element) -> list[tuple[Target, Element]]:
    """The nouns of a `<Dial>` with their elements; a bare body is a number (the verb itself)."""
    if len(verb) == 0:
        return [(target, verb) for target in targets(verb)]
    return list(zip(targets(verb), verb, strict=True))


@dataclass(frozen=True)
class DialVerb:
    """What a `<Dial>` asks for (TWILIO.md §2)."""

    action: str | None
    method: str
    timeout: int
    time_limit: int
    record: str
    hangup_on_star: bool
    caller_id: str | None

    @classmethod
    def read(cls, verb: Element, document: str) -> DialVerb:
        return cls(
            action=twiml.url(verb, "action", document),
            method=twiml.method(verb),
            timeout=twiml.integer(verb, "timeout", 30, minimum=1),
            time_limit=twiml.integer(verb, "timeLimit", 14400, minimum=1),
            record=verb.get("record", "do-not-record"),
            hangup_on_star=twiml.boolean(verb, "hangupOnStar", False),
            caller_id=verb.get("callerId") or None,
        )

    @property
    def recorded(self) -> bool:
        return self.record != "do-not-record"


def behaviour(target: Target, outcomes: Mapping[str, DialOutcome]) -> DialOutcome:
    """The configured outcome for a target, else the default for its kind."""
    return outcomes.get(target.label) or (EMPTY_QUEUE if target.kind == "queue" else ANSWER)


@dataclass(frozen=True)
class DialResult:
    status: DialStatus
    answered_by: Target | None
    seconds: float  # simulated time the Dial takes
    talk: float  # seconds connected

    def action_params(self, account_sid: str, recorded: bool) -> dict[str, str]:
        """The parameters of the Dial action request."""
        conference = self.answered_by is not None and self.answered_by.kind == "conference"
        dial_status: str = self.status
        if self.status == "answered" and not conference:
            dial_status = "completed"
        params = {
            "DialCallStatus": dial_status,
            "DialBridged": str(self.status == "answered").lower(),
        }
        if conference:
            return params
        params["DialCallSid"] = new_sid("CA")
        if self.status == "answered":
            params["DialCallDuration"] = str(round(self.talk))
            if recorded:
                sid = new_sid("RE")
                params |= {
                    "RecordingUrl": recording_url(account_sid, sid),
                    "RecordingSid": sid,
                    "RecordingDuration": str(round(self.talk)),
                }
        return params


def settle(
    dialled: Sequence[Target], outcomes: Sequence[DialOutcome], timeout: float, time_limit: float
) -> DialResult:
    """Combine each target's outcome into how the Dial ends."""
    for target, outcome in zip(dialled, outcomes, strict=True):
        if outcome.status == "answered":
            ring = min(RING_SECONDS, timeout)
            talk = min(outcome.seconds, time_limit)
            return DialResult("answered", target, ring + talk, talk)
    statuses = {outcome.status for outcome in outcomes}
    status: DialStatus
    if len(statuses) == 1:
        (status,) = statuses
    else:
        status = "no-answer" if "no-answer" in statuses else "busy"
    seconds = {"no-answer": timeout, "busy": BUSY_SECONDS}.get(status, FAILED_SECONDS)
    return DialResult(status, None, seconds, 0.0)
