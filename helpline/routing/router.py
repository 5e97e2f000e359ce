"""The pure router: which waiting caller goes to which available staff, now.

No I/O: the caller passes the waiting calls, the staff on duty and the time; the result
is a list of proposed matches that a reservation must still confirm atomically (see
reservation.py). Rules:

- Callers are served by priority (higher first), then by arrival.
- Each caller's stage follows from their wait and the policy's widening targets. A
  stage whose match nobody on duty could ever satisfy (nobody with that skill is logged
  in, whatever their state) is skipped at once rather than waited out.
- Among eligible staff, the one idle longest goes first.
- The interpreter stage reserves a counsellor in the bridge language and an interpreter
  for the caller's language together, or neither.
- Nobody is proposed for two callers in one decision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

from helpline.routing.policy import Policy, Stage


@dataclasses.dataclass(frozen=True)
class WaitingCall:
    call_id: int
    language: str
    topic: str | None
    priority: int
    queued_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class StaffMember:
    staff_id: int
    is_counsellor: bool
    is_interpreter: bool
    languages: frozenset[str]
    topics: frozenset[str]
    is_available: bool
    idle_since: dt.datetime


@dataclasses.dataclass(frozen=True)
class Match:
    call_id: int
    counsellor_id: int
    interpreter_id: int | None
    stage: int  # index into the policy's stages


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What to do for one waiting call now."""

    call_id: int
    stage: int | None  # None once past every stage
    offer_callback: bool
    give_up: bool  # past max_wait: voicemail and a callback


def _speaks(member: StaffMember, language: str) -> bool:
    return language in member.languages


def _can_counsel(member: StaffMember, call: WaitingCall, stage: Stage, bridge: str) -> bool:
    if not member.is_counsellor:
        return False
    if stage.match == "language_and_topic":
        return _speaks(member, call.language) and (
            call.topic is None or call.topic in member.topics
        )
    if stage.match == "language":
        return _speaks(member, call.language)
    return _speaks(member, bridge)


def _can_interpret(member: StaffMember, call: WaitingCall, bridge: str) -> bool:
    return member.is_interpreter and _speaks(member, call.language) and _speaks(member, bridge)


def _stage_possible(
    stage: Stage, call: WaitingCall, staff: Sequence[StaffMember], bridge: str
) -> bool:
    """Could anyone logged in ever satisfy this stage (busy or not)?"""
    if stage.match == "interpreter":
        if call.language == bridge:
            return False  # a bridge-language caller needs no interpreter
        return any(_can_counsel(m, call, stage, bridge) for m in staff) and any(
            _can_interpret(m, call, bridge) for m in staff
        )
    return any(_can_counsel(m, call, stage, bridge) for m in staff)


def stage_for(
    call: WaitingCall, staff: Sequence[StaffMember], now: dt.datetime, policy: Policy
) -> Verdict:
    """The stage a caller is at: by wait, skipping stages nobody on duty can serve."""
    waited = (now - call.queued_at).total_seconds()
    if waited >= policy.max_wait:
        return Verdict(call.call_id, None, True, True)
    current = next((i for i, s in enumerate(policy.stages) if waited < s.until), None)
    if current is None:
        return Verdict(call.call_id, None, True, False)
    offer_callback = policy.stages[current].offer_callback
    for index in range(current, len(policy.stages)):
        stage = policy.stages[index]
        if _stage_possible(stage, call, staff, policy.bridge_language):
            return Verdict(call.call_id, index, offer_callback or stage.offer_callback, False)
    return Verdict(call.call_id, None, True, False)


def _longest_idle(candidates: Iterable[StaffMember]) -> StaffMember | None:
    return min(candidates, key=lambda m: (m.idle_since, m.staff_id), default=None)


def decide(
    waiting: Sequence[WaitingCall],
    staff: Sequence[StaffMember],
    now: dt.datetime,
    policy: Policy,
) -> list[Match]:
    """Propose matches for as many waiting callers as the available staff allow."""
    taken: set[int] = set()
    matches: list[Match] = []
    for call in sorted(waiting, key=lambda c: (-c.priority, c.queued_at, c.call_id)):
        verdict = stage_for(call, staff, now, policy)
        if verdict.stage is None:
            continue
        stage = policy.stages[verdict.stage]
        free = [m for m in staff if m.is_available and m.staff_id not in taken]
        counsellor = _longest_idle(
            m for m in free if _can_counsel(m, call, stage, policy.bridge_language)
        )
        if counsellor is None:
            continue
        interpreter_id: int | None = None
        if stage.match == "interpreter":
            bridge = policy.bridge_language
            interpreter = _longest_idle(
                m
                for m in free
                if m.staff_id != counsellor.staff_id and _can_interpret(m, call, bridge)
            )
            if interpreter is None:
                continue  # both or neither
            interpreter_id = interpreter.staff_id
            taken.add(interpreter.staff_id)
        taken.add(counsellor.staff_id)
        matches.append(Match(call.call_id, counsellor.staff_id, interpreter_id, verdict.stage))
    return matches
