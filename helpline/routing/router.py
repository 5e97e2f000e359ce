"""The pure router: which waiting caller goes to which available staff, now.

No I/O: the caller passes the waiting calls, the staff on duty and the time; the result
is a list of proposed matches that a reservation must still confirm atomically (see
reservation.py). Rules:

- Callers are served by priority (higher first), then by arrival.
- Each caller's stage follows from their wait and the policy's widening targets. A stage
  widens: it takes whoever its own match or an earlier stage's would take (an Arabic
  caller at the interpreter stage still goes to a free Arabic counsellor). A stage that
  nobody on duty could ever satisfy (nobody with those skills is logged in, whatever
  their state) is skipped at once rather than waited out.
- The closest fit first (the topic skill, then the language, then a counsellor with an
  interpreter); within it, the one idle longest.
- The interpreter stage reserves a counsellor in the bridge language and an interpreter
  for the caller's language together, or neither.
- Age: a caller whose age group has a rule in the policy (callers under 18) needs, while
  they have waited less than the rule's `until`, a counsellor who also has the rule's
  skill (a topic skill, such as child protection) at every stage. Like a stage, the
  requirement is dropped at once when no counsellor logged in has it for any stage the
  caller could still reach.
- Emergency callers (their duty line did not answer) come first, by the policy's
  `emergency` priority, and skip the stages: the closest fit among the free counsellors
  (the topic skill, then the language, then a counsellor in the bridge language with an
  interpreter), else any free counsellor whatever their language, alone (an interpreter
  joins later, when one is free: offers.needing_interpreter). Such a caller can wait
  whenever any counsellor at all is logged in.
- Nobody is proposed for two callers in one decision.
- A refusal excludes only its pair: whoever declined a call lately (`declined`) is never
  proposed for it, and counts as not logged in for it alone; they stay free for the
  callers behind it, who are considered in the same order as ever.

Speed: `decide` indexes the staff once per decision, by skill (a counsellor's language,
language and topic, and with an age group's skill; an interpreter's language, with the
bridge language), and keeps the
free staff of each skill in longest-idle order, passing over those taken meanwhile. A
decision costs O(S log S + C log C + K) for S staff, C callers and K (skill, available
member) pairs, instead of O(C x S).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence, Set
from operator import attrgetter

from helpline.routing.policy import MATCHES, Policy

# A skill: ("counsel",) (any counsellor), ("counsel", language), ("counsel", language,
# topic), ("counsel", language, topic, age_skill) or ("interpret", language). An age
# skill is a topic skill.
Skill = tuple[str, ...]
ANY_COUNSELLOR: Skill = ("counsel",)
EMERGENCY = "emergency"  # the stage name of an emergency caller's match
# What a member of staff can do: is_counsellor, is_interpreter, languages, topics.
Profile = tuple[bool, bool, frozenset[str], frozenset[str]]


@dataclasses.dataclass(frozen=True)
class WaitingCall:
    call_id: int
    language: str
    topic: str | None
    priority: int
    queued_at: dt.datetime
    age_group: str | None = None
    is_emergency: bool = False  # for any counsellor, whatever their language


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
    stage: int  # index into the policy's stages (0 for an emergency caller)
    is_emergency: bool = False


def needs_interpreter(language: str | None, counsellor_languages: Set[str]) -> bool:
    """A connected caller needs an interpreter when their counsellor does not speak their
    language (an emergency caller may be given any counsellor)."""
    return language is not None and language not in counsellor_languages


def stage_name(match: Match, policy: Policy) -> str:
    """What the match was made for: its stage's match, or `emergency`."""
    return EMERGENCY if match.is_emergency else policy.stages[match.stage].match


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What to do for one waiting call now."""

    call_id: int
    stage: int | None  # None once past every stage
    offer_callback: bool
    give_up: bool  # past max_wait: voicemail and a callback


def _skills_of(member: StaffMember, bridge: str, age_skills: Set[str]) -> Iterator[Skill]:
    """Every skill a member of staff has: what the stages below ask for."""
    if member.is_counsellor:
        yield ANY_COUNSELLOR
        both = age_skills & member.topics
        for language in member.languages:
            yield ("counsel", language)
            for topic in member.topics:
                yield ("counsel", language, topic)
                for age_skill in both:
                    if age_skill != topic:
                        yield ("counsel", language, topic, age_skill)
    if member.is_interpreter and bridge in member.languages:
        for language in member.languages:
            yield ("interpret", language)


def _profile(member: StaffMember) -> Profile:
    return (member.is_counsellor, member.is_interpreter, member.languages, member.topics)


def _skill_table(staff: Sequence[StaffMember], policy: Policy) -> dict[Profile, tuple[Skill, ...]]:
    """The skills of each kind of member logged in.

    There are few kinds however many members, so each skill is made once, not once per
    member: a decision allocates little, which keeps garbage-collection pauses out of it.
    """
    bridge = policy.bridge_language
    age_skills = frozenset(rule.skill for rule in policy.age_groups.values())
    table: dict[Profile, tuple[Skill, ...]] = {}
    for member in staff:
        profile = _profile(member)
        if profile not in table:
            table[profile] = tuple(_skills_of(member, bridge, age_skills))
    return table


def _logged_in(table: Mapping[Profile, tuple[Skill, ...]]) -> set[Skill]:
    return {skill for skills in table.values() for skill in skills}


def _counsellor_skill(call: WaitingCall, match: str, bridge: str, age: str | None) -> Skill:
    """The skill a counsellor needs for this match, with the age skill `age` if one."""
    if match == "language_and_topic" and call.topic is not None:
        if age is None or age == call.topic:
            return ("counsel", call.language, call.topic)
        return ("counsel", call.language, call.topic, age)
    language = call.language if match in ("language_and_topic", "language") else bridge
    return ("counsel", language) if age is None else ("counsel", language, age)


def _possible(
    match: str, call: WaitingCall, logged_in: Set[Skill], bridge: str, age: str | None
) -> bool:
    """Could anyone logged in ever satisfy this match (busy or not)?"""
    if _counsellor_skill(call, match, bridge, age) not in logged_in:
        return False
    if match == "interpreter":
        # A bridge-language caller needs no interpreter.
        return call.language != bridge and ("interpret", call.language) in logged_in
    return True


def _matches_up_to(policy: Policy, index: int) -> tuple[str, ...]:
    """What stage `index` takes: its match and every earlier stage's, closest fit first."""
    wanted = {stage.match for stage in policy.stages[: index + 1]}
    return tuple(match for match in MATCHES if match in wanted)


def _first_stage(
    call: WaitingCall, current: int, logged_in: Set[Skill], policy: Policy, age: str | None
) -> int | None:
    """The first stage from `current` on that someone logged in could serve."""
    for index in range(current, len(policy.stages)):
        if any(
            _possible(match, call, logged_in, policy.bridge_language, age)
            for match in _matches_up_to(policy, index)
        ):
            return index
    return None


def _verdict(
    call: WaitingCall, logged_in: Set[Skill], now: dt.datetime, policy: Policy
) -> tuple[Verdict, str | None]:
    """The caller's verdict, and the age skill their counsellor needs now (if any)."""
    if call.is_emergency:  # no stages: any counsellor logged in may take them
        return Verdict(call.call_id, 0 if ANY_COUNSELLOR in logged_in else None, False, False), None
    waited = (now - call.queued_at).total_seconds()
    if waited >= policy.max_wait:
        return Verdict(call.call_id, None, True, True), None
    current = next((i for i, s in enumerate(policy.stages) if waited < s.until), None)
    if current is None:
        return Verdict(call.call_id, None, True, False), None
    age = policy.age_skill(call.age_group, waited)
    index = None if age is None else _first_stage(call, current, logged_in, policy, age)
    if index is None:
        age = None
        index = _first_stage(call, current, logged_in, policy, None)
    if index is None:
        return Verdict(call.call_id, None, True, False), None
    offer_callback = policy.stages[current].offer_callback or policy.stages[index].offer_callback
    return Verdict(call.call_id, index, offer_callback, False), age


def stage_for(
    call: WaitingCall, staff: Sequence[StaffMember], now: dt.datetime, policy: Policy
) -> Verdict:
    """The stage a caller is at: by wait, skipping stages nobody on duty can serve."""
    logged_in = _logged_in(_skill_table(staff, policy))
    return _verdict(call, logged_in, now, policy)[0]


def stages_for(
    calls: Sequence[WaitingCall], staff: Sequence[StaffMember], now: dt.datetime, policy: Policy
) -> dict[int, Verdict]:
    """`stage_for` of many callers at once, indexing the staff once."""
    logged_in = _logged_in(_skill_table(staff, policy))
    return {call.call_id: _verdict(call, logged_in, now, policy)[0] for call in calls}


class _Free:
    """The free staff with one skill, longest idle first.

    Members taken by earlier matches are passed over when met, for good: `taken` only grows
    during a decision, so each entry is looked at a bounded number of times.
    """

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.start = 0

    def first(
        self, taken: Set[int], besides: int | None = None, excluded: Set[int] = frozenset()
    ) -> int | None:
        """The longest idle who is not taken, not `besides` and not `excluded`, or None.

        `besides` and `excluded` are set aside for this look-up only: passed over, never
        dropped (another caller may still take them).
        """
        ids, start = self.ids, self.start
        end = len(ids)
        while start < end and ids[start] in taken:
            start += 1
        self.start = start
        if start == end or (ids[start] != besides and ids[start] not in excluded):
            return ids[start] if start < end else None
        kept: list[int] = []
        after = start
        while after < end and (
            ids[after] in taken or ids[after] == besides or ids[after] in excluded
        ):
            if ids[after] not in taken:
                kept.append(ids[after])
            after += 1
        # Only those set aside are still free before `after`: keep them there, drop the rest.
        self.start = after - len(kept)
        ids[self.start : after] = kept
        return ids[after] if after < end else None


def _free_staff(
    staff: Sequence[StaffMember], table: Mapping[Profile, tuple[Skill, ...]]
) -> dict[Skill, _Free]:
    """The available staff of each skill, longest idle first."""
    free: dict[Skill, _Free] = {}
    # Sorted on one attribute at a time (the sort is stable), so no key tuple is made.
    available = sorted((m for m in staff if m.is_available), key=attrgetter("staff_id"))
    available.sort(key=attrgetter("idle_since"))
    for member in available:
        for skill in table[_profile(member)]:
            queue = free.get(skill)
            if queue is None:
                queue = free[skill] = _Free()
            queue.ids.append(member.staff_id)
    return free


def _holders(
    staff: Sequence[StaffMember], table: Mapping[Profile, tuple[Skill, ...]]
) -> dict[Skill, int]:
    """How many members logged in have each skill."""
    count: dict[Skill, int] = {}
    for member in staff:
        for skill in table[_profile(member)]:
            count[skill] = count.get(skill, 0) + 1
    return count


def _logged_in_without(
    logged_in: Set[Skill],
    holders: Mapping[Skill, int],
    table: Mapping[Profile, tuple[Skill, ...]],
    gone: Sequence[StaffMember],
) -> Set[Skill]:
    """The skills still held by someone logged in once the members `gone` are left out."""
    lost: dict[Skill, int] = {}
    for member in gone:
        for skill in table[_profile(member)]:
            lost[skill] = lost.get(skill, 0) + 1
    return logged_in - {skill for skill, n in lost.items() if n >= holders[skill]}


def decide(
    waiting: Sequence[WaitingCall],
    staff: Sequence[StaffMember],
    now: dt.datetime,
    policy: Policy,
    declined: Mapping[int, Set[int]] | None = None,
) -> list[Match]:
    """Propose matches for as many waiting callers as the available staff allow.

    `declined`: per call, the staff who refused it lately. Such a pair is never proposed,
    and for that call alone they count as not logged in (a stage only they could serve is
    skipped); they stay free for every other caller.
    """
    bridge = policy.bridge_language
    table = _skill_table(staff, policy)
    logged_in, free = _logged_in(table), _free_staff(staff, table)
    refusals = {
        call.call_id: declined[call.call_id]
        for call in waiting
        if declined and declined.get(call.call_id)
    }
    # Only with refusals: the plain decision pays nothing for them.
    holders = _holders(staff, table) if refusals else {}
    by_id = {member.staff_id: member for member in staff} if refusals else {}
    nobody = _Free()
    no_one: Set[int] = frozenset()
    taken: set[int] = set()
    matches: list[Match] = []
    # By (-priority, queued_at, call_id), one attribute at a time, as in _free_staff.
    order = sorted(waiting, key=attrgetter("call_id"))
    order.sort(key=attrgetter("queued_at"))
    order.sort(key=attrgetter("priority"), reverse=True)  # reverse keeps ties in order
    for call in order:
        excluded = refusals.get(call.call_id, no_one)
        known: Set[Skill] = logged_in
        if excluded:
            gone = [by_id[staff_id] for staff_id in excluded if staff_id in by_id]
            known = _logged_in_without(logged_in, holders, table, gone)
        verdict, age = _verdict(call, known, now, policy)
        if verdict.stage is None:
            continue
        if call.is_emergency:
            found = _emergency_match(call, free, taken, bridge, excluded)
            if found is not None:
                taken.update(
                    p for p in (found.counsellor_id, found.interpreter_id) if p is not None
                )
                matches.append(found)
            continue
        for match in _matches_up_to(policy, verdict.stage):
            if match == "interpreter" and call.language == bridge:
                continue
            skill = _counsellor_skill(call, match, bridge, age)
            counsellor = free.get(skill, nobody).first(taken, excluded=excluded)
            if counsellor is None:
                continue
            interpreter: int | None = None
            if match == "interpreter":
                helper = ("interpret", call.language)
                interpreter = free.get(helper, nobody).first(
                    taken, besides=counsellor, excluded=excluded
                )
                if interpreter is None:
                    continue  # both or neither
                taken.add(interpreter)
            taken.add(counsellor)
            matches.append(Match(call.call_id, counsellor, interpreter, verdict.stage))
            break
    return matches


def _emergency_match(
    call: WaitingCall,
    free: Mapping[Skill, _Free],
    taken: Set[int],
    bridge: str,
    excluded: Set[int],
) -> Match | None:
    """The closest fit among the free counsellors for an emergency caller, else anyone
    (never one who declined this caller lately)."""
    nobody = _Free()
    fits: list[Skill] = [("counsel", call.language)]
    if call.topic is not None:
        fits.insert(0, ("counsel", call.language, call.topic))
    for skill in fits:
        counsellor = free.get(skill, nobody).first(taken, excluded=excluded)
        if counsellor is not None:
            return Match(call.call_id, counsellor, None, 0, is_emergency=True)
    if call.language != bridge:
        counsellor = free.get(("counsel", bridge), nobody).first(taken, excluded=excluded)
        if counsellor is not None:
            helper = free.get(("interpret", call.language), nobody)
            interpreter = helper.first(taken, besides=counsellor, excluded=excluded)
            if interpreter is not None:
                return Match(call.call_id, counsellor, interpreter, 0, is_emergency=True)
    counsellor = free.get(ANY_COUNSELLOR, nobody).first(taken, excluded=excluded)
    if counsellor is None:
        return None
    return Match(call.call_id, counsellor, None, 0, is_emergency=True)
