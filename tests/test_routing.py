"""The pure router, the routing policy, and the atomic reservation in real Redis."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis

from helpline.config import DEFAULT_FLOWS_PATH
from helpline.ivr.model import AGE_GROUPS
from helpline.routing.policy import (
    MATCHES,
    AgeRule,
    Policy,
    PolicyError,
    Stage,
    load_policy,
)
from helpline.routing.reservation import Reservations
from helpline.routing.router import (
    Match,
    StaffMember,
    Verdict,
    WaitingCall,
    _Free,
    decide,
    stage_for,
    stages_for,
)

POLICY = load_policy(DEFAULT_FLOWS_PATH / "routing.yaml")
NOW = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)


def call(
    call_id: int,
    language: str,
    waited: int,
    topic: str | None = None,
    priority: int = 0,
    age_group: str | None = None,
) -> WaitingCall:
    queued_at = NOW - dt.timedelta(seconds=waited)
    return WaitingCall(call_id, language, topic, priority, queued_at, age_group)


def member(staff_id: int, languages: str, *, topics: str = "", interpreter: bool = False,
           available: bool = True, idle: int = 0) -> StaffMember:  # fmt: skip
    return StaffMember(
        staff_id=staff_id,
        is_counsellor=not interpreter,
        is_interpreter=interpreter,
        languages=frozenset(languages.split(",")),
        topics=frozenset(t for t in topics.split(",") if t),
        is_available=available,
        idle_since=NOW - dt.timedelta(seconds=idle),
    )


def both(staff_id: int, languages: str, idle: int = 0) -> StaffMember:
    """A member of staff who counsels and interprets."""
    return dataclasses.replace(member(staff_id, languages, idle=idle), is_interpreter=True)


@pytest.mark.parametrize(
    ("calls", "staff", "expected"),
    [
        # An Arabic caller reaches an Arabic-speaking counsellor.
        (
            [call(1, "ar", 5, "psychosocial")],
            [member(10, "tr"), member(11, "ar,tr", topics="psychosocial")],
            [Match(1, 11, None, 0)],
        ),
        # No topic skill logged in: the topic stage is skipped at once.
        (
            [call(1, "ar", 5, "violence")],
            [member(11, "ar,tr", topics="psychosocial")],
            [Match(1, 11, None, 1)],
        ),
        # The topic expert is busy: wait at the first stage (no match yet).
        (
            [call(1, "ar", 5, "violence")],
            [
                member(11, "ar", topics="psychosocial"),
                member(12, "ar", topics="violence", available=False),
            ],
            [],
        ),
        # ... until 30 s, then any Arabic counsellor.
        (
            [call(1, "ar", 31, "violence")],
            [
                member(11, "ar", topics="psychosocial"),
                member(12, "ar", topics="violence", available=False),
            ],
            [Match(1, 11, None, 1)],
        ),
        # Pashto, no Pashto counsellor on duty: a Turkish counsellor and a Pashto interpreter.
        (
            [call(1, "ps", 5)],
            [member(10, "tr"), member(20, "ps,tr", interpreter=True)],
            [Match(1, 10, 20, 2)],
        ),
        # Both or neither: no interpreter available, no match.
        (
            [call(1, "ps", 5)],
            [member(10, "tr"), member(20, "ps,tr", interpreter=True, available=False)],
            [],
        ),
        # Longest idle first.
        (
            [call(1, "tr", 5)],
            [member(10, "tr", idle=60), member(11, "tr", idle=600)],
            [Match(1, 11, None, 0)],
        ),
        # Priority first, then arrival; nobody is proposed twice.
        (
            [call(1, "tr", 50), call(2, "tr", 10, "violence", priority=3), call(3, "tr", 40)],
            [member(10, "tr", idle=100), member(11, "tr", idle=50)],
            [Match(2, 10, None, 1), Match(1, 11, None, 1)],
        ),
        # A counsellor who also interprets is never their own interpreter.
        (
            [call(1, "ps", 5)],
            [both(10, "tr", idle=600), member(20, "ps,tr", interpreter=True, idle=10)],
            [Match(1, 10, 20, 2)],
        ),
        # ... who speaks the caller's language takes the call alone, at any stage.
        (
            [call(1, "ps", 100), call(2, "tr", 10)],
            [both(10, "tr,ps", idle=600)],
            [Match(1, 10, None, 2)],
        ),
        # Stages widen: past 90 s, an Arabic caller still goes to a free Arabic counsellor.
        (
            [call(1, "ar", 200)],
            [member(10, "tr"), member(11, "ar")],
            [Match(1, 11, None, 2)],
        ),
        # A child caller goes to a counsellor with the child-protection skill, even one
        # idle for less time.
        (
            [call(1, "ar", 5, "psychosocial", age_group="child")],
            [
                member(10, "ar", topics="psychosocial", idle=900),
                member(11, "ar", topics="psychosocial,child_protection", idle=10),
            ],
            [Match(1, 11, None, 0)],
        ),
        # ... waits for that counsellor while the age rule holds (90 s) ...
        (
            [call(1, "ar", 40, "psychosocial", age_group="child")],
            [
                member(10, "ar", topics="psychosocial"),
                member(11, "ar", topics="child_protection", available=False),
            ],
            [],
        ),
        # ... and then takes any Arabic counsellor.
        (
            [call(1, "ar", 95, "psychosocial", age_group="child")],
            [
                member(10, "ar", topics="psychosocial"),
                member(11, "ar", topics="child_protection", available=False),
            ],
            [Match(1, 10, None, 2)],
        ),
        # Nobody with the skill logged in: the age rule is dropped at once.
        (
            [call(1, "ar", 5, "psychosocial", age_group="child")],
            [member(10, "ar", topics="psychosocial")],
            [Match(1, 10, None, 0)],
        ),
        # The child-protection counsellor speaks only Turkish: with an interpreter.
        (
            [call(1, "ps", 5, age_group="child")],
            [
                member(10, "tr", idle=900),
                member(11, "tr", topics="child_protection", idle=10),
                member(20, "ps,tr", interpreter=True),
            ],
            [Match(1, 11, 20, 2)],
        ),
        # An adult caller has no age rule; the child is served first (the policy gives
        # children priority 3).
        (
            [
                call(1, "tr", 50, age_group="adult"),
                call(
                    2,
                    "tr",
                    5,
                    priority=POLICY.priority_of(None, age_group="child"),
                    age_group="child",
                ),
            ],
            [member(10, "tr", topics="child_protection")],
            [Match(2, 10, None, 0)],
        ),
        # ... and the closest fit first: the Arabic counsellor before an interpreter pair.
        (
            [call(1, "ar", 200)],
            [
                member(10, "tr", idle=900),
                member(20, "ar,tr", interpreter=True, idle=900),
                member(11, "ar", idle=10),
            ],
            [Match(1, 11, None, 2)],
        ),
    ],
)
def test_router_decides(
    calls: list[WaitingCall], staff: list[StaffMember], expected: list[Match]
) -> None:
    assert decide(calls, staff, NOW, POLICY) == expected


@pytest.mark.parametrize(
    ("calls", "staff", "declined", "expected"),
    [
        # Issue 15: the only Kurmanji counsellor declined A; B, behind A, is offered to them.
        (
            [call(1, "ku", 60), call(2, "ku", 5)],
            [member(10, "ku,tr")],
            {1: {10}},
            [Match(2, 10, None, 0)],
        ),
        # A takes the next longest idle; the one who declined A goes to B.
        (
            [call(1, "tr", 60), call(2, "tr", 5)],
            [member(10, "tr", idle=900), member(11, "tr", idle=10)],
            {1: {10}},
            [Match(1, 11, None, 1), Match(2, 10, None, 0)],
        ),
        # Priority still comes first: the urgent caller who was not declined is served first.
        (
            [call(1, "tr", 60), call(2, "tr", 5, "violence", priority=3), call(3, "tr", 30)],
            [member(10, "tr", idle=900)],
            {2: {10}},
            [Match(1, 10, None, 1)],
        ),
        # A pair is a call and a person: the interpreter who declined A interprets for B,
        # and A gets the other interpreter with the counsellor idle longest.
        (
            [call(1, "ps", 60), call(2, "ps", 5)],
            [
                member(10, "tr", idle=900),
                member(11, "tr", idle=10),
                member(20, "ps,tr", interpreter=True, idle=900),
                member(21, "ps,tr", interpreter=True, idle=10),
            ],
            {1: {20}},
            [Match(1, 10, 21, 2), Match(2, 11, 20, 2)],
        ),
        # Both or neither: with its only interpreter declined, A waits and frees the
        # counsellor for a Turkish caller.
        (
            [call(1, "ps", 60), call(2, "tr", 5)],
            [member(10, "tr"), member(20, "ps,tr", interpreter=True)],
            {1: {20}},
            [Match(2, 10, None, 0)],
        ),
        # For A, the only Kurmanji counsellor who declined is as if not logged in: A goes
        # at once to a Turkish counsellor with an interpreter, B to the Kurmanji counsellor.
        (
            [call(1, "ku", 60), call(2, "ku", 5)],
            [member(10, "ku"), member(11, "tr"), member(20, "ku,tr", interpreter=True)],
            {1: {10}},
            [Match(1, 11, 20, 2), Match(2, 10, None, 0)],
        ),
        # A refusal of someone busy anyway, or of another call, changes nothing.
        (
            [call(1, "tr", 60)],
            [member(10, "tr", available=False), member(11, "tr")],
            {1: {10}, 99: {11}},
            [Match(1, 11, None, 1)],
        ),
    ],
)
def test_router_decide_excludes_only_the_declined_pair(
    calls: list[WaitingCall],
    staff: list[StaffMember],
    declined: dict[int, set[int]],
    expected: list[Match],
) -> None:
    """A refusal keeps that member of staff from that call only: the callers behind it are
    still offered to them, in the router's order (priority, then arrival)."""
    assert decide(calls, staff, NOW, POLICY, declined) == expected


def test_policy_priority_of_takes_the_higher_of_topic_and_age_group() -> None:
    """A caller's priority is their topic's or their age group's, whichever is higher;
    an emergency outranks both."""
    assert POLICY.priority_of(None, age_group="child") == 3
    assert POLICY.priority_of("psychosocial", age_group="adult") == 0
    assert POLICY.priority_of("psychosocial", age_group="child") == 3
    assert POLICY.priority_of("violence", age_group=None) == 3
    assert POLICY.priority_of(None, is_emergency=True, age_group="child") == 10
    assert POLICY.age_skill("child", 89) == "child_protection"
    assert POLICY.age_skill("child", 90) is None
    assert POLICY.age_skill("adult", 0) is None


def test_callback_is_offered_late_and_voicemail_at_the_maximum_wait() -> None:
    staff = [
        member(10, "tr", available=False),
        member(20, "ku,tr", interpreter=True, available=False),
    ]
    assert not stage_for(call(1, "ku", 100), staff, NOW, POLICY).offer_callback
    assert stage_for(call(1, "ku", 300), staff, NOW, POLICY).offer_callback
    assert stage_for(call(1, "ku", 900), staff, NOW, POLICY).give_up
    # Nobody at all for Kurmanji: every stage is skipped, a callback is offered at once.
    nobody = stage_for(call(1, "ku", 1), [member(10, "ar")], NOW, POLICY)
    assert nobody.stage is None
    assert nobody.offer_callback


def test_policy_loads_and_refuses_bad_files(tmp_path: Path) -> None:
    assert [s.match for s in POLICY.stages][:3] == ["language_and_topic", "language", "interpreter"]
    assert isinstance(POLICY, Policy)
    bad = tmp_path / "routing.yaml"
    bad.write_text(
        "schema: 1\nstages:\n  - {until: 30, match: language}\n  - {until: 10, match: language}\n"
    )
    with pytest.raises(PolicyError, match=r"routing\.yaml:4: stages must widen"):
        load_policy(bad)
    bad.write_text("schema: 1\nstages:\n  - {until: 30, match: telepathy}\n")
    with pytest.raises(PolicyError, match=r"routing\.yaml:3"):
        load_policy(bad)
    stages = "schema: 1\nstages:\n  - {until: 30, match: language}\n"
    bad.write_text(stages + "age_groups:\n  toddler: {skill: x, until: 5}\n")
    with pytest.raises(PolicyError, match=r"routing\.yaml:5: unknown age group 'toddler'"):
        load_policy(bad)
    bad.write_text(stages + "age_groups:\n  child: {until: 5}\n")
    with pytest.raises(PolicyError, match=r"routing\.yaml:5: an age group has `skill:`"):
        load_policy(bad)
    bad.write_text(stages + "age_groups:\n  child: {skill: x, until: 0}\n")
    with pytest.raises(PolicyError, match=r"`until:` must be a whole number >= 1"):
        load_policy(bad)


@pytest.fixture
def reservations(redis_url: str) -> Iterator[Reservations]:
    """Reservations on an empty Redis database, emptied again afterwards."""
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield Reservations(connection)
    connection.flushdb()


def _available(connection: redis.Redis, *staff_ids: int) -> None:
    for staff_id in staff_ids:
        connection.hset(f"helpline:staff:{staff_id}", mapping={"state": "available", "since": 0})


def test_reserve_takes_all_or_none(reservations: Reservations) -> None:
    _available(reservations.redis, 1, 2)
    reservations.redis.hset("helpline:staff:3", mapping={"state": "busy"})
    assert not reservations.reserve(100, [1, 3], hold_seconds=20)
    assert reservations.redis.hget("helpline:staff:1", "state") == b"available"
    assert reservations.reserve(100, [1, 2], hold_seconds=20)
    assert not reservations.reserve(101, [2], hold_seconds=20)
    assert reservations.confirm(100, [1, 2])
    assert reservations.redis.hget("helpline:staff:2", "state") == b"busy"


def test_unconfirmed_reservation_lapses_and_release_is_owned(reservations: Reservations) -> None:
    _available(reservations.redis, 1)
    assert reservations.reserve(100, [1], hold_seconds=20, now=1000.0)
    assert not reservations.reserve(101, [1], hold_seconds=20, now=1010.0)
    assert reservations.release(999, [1]) == 0  # not ours
    assert reservations.reserve(101, [1], hold_seconds=20, now=1021.0)  # lapsed
    assert not reservations.confirm(100, [1])
    assert reservations.release(101, [1]) == 1


def _race(redis_url: str, seed: int, attempts: int, staff: int) -> None:
    connection = redis.Redis.from_url(redis_url)
    reservations = Reservations(connection)
    rng = random.Random(seed)
    for attempt in range(attempts):
        call_id = seed * 100_000 + attempt
        picked = rng.sample(range(1, staff + 1), rng.choice((1, 2)))
        if reservations.reserve(call_id, picked, hold_seconds=3600):
            connection.rpush("race:won", f"{call_id}:{','.join(map(str, picked))}")
    connection.close()


def test_no_double_booking_across_many_processes(
    redis_url: str, reservations: Reservations
) -> None:
    """Eight processes race for 40 staff; every staff member is won at most once."""
    staff = 40
    _available(reservations.redis, *range(1, staff + 1))
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_race, args=(redis_url, seed, 300, staff)) for seed in range(1, 9)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    raw = reservations.redis.lrange("race:won", 0, -1)
    won = [e.decode() if isinstance(e, bytes) else str(e) for e in raw]
    booked = [int(s) for entry in won for s in entry.split(":")[1].split(",")]
    assert len(booked) == len(set(booked)), "a staff member was reserved for two calls"
    assert len(set(booked)) >= staff - 1  # nearly everyone was taken by someone
    for staff_id in set(booked):
        assert reservations.redis.hget(f"helpline:staff:{staff_id}", "state") == b"reserved"


# The property test: the router against the documented rules, written out the obvious way.

LANGUAGES = ("tr", "ar", "fa", "ps", "ku", "en")
TOPICS = ("psychosocial", "child_protection", "violence", "elderly_disability", "social_assistance")


def reference_matches(policy: Policy, index: int) -> list[str]:
    """What stage `index` takes: its own match and every earlier one, closest fit first."""
    wanted = {stage.match for stage in policy.stages[: index + 1]}
    return [match for match in MATCHES if match in wanted]


def reference_verdict(
    call: WaitingCall, staff: Sequence[StaffMember], now: dt.datetime, policy: Policy
) -> Verdict:
    return reference_verdict_and_age(call, staff, now, policy)[0]


def reference_verdict_and_age(
    call: WaitingCall, staff: Sequence[StaffMember], now: dt.datetime, policy: Policy
) -> tuple[Verdict, str | None]:
    """The rules of router.py's docstring, read literally: every stage against all staff,
    first with the age group's skill (while it applies), then without it."""
    bridge = policy.bridge_language

    def serves(match: str, age: str | None) -> bool:
        counsellors = [m for m in staff if counsels(m, call, match, bridge, age)]
        if match != "interpreter":
            return bool(counsellors)
        interpreters = [m for m in staff if interprets(m, call, bridge)]
        return call.language != bridge and bool(counsellors) and bool(interpreters)

    waited = (now - call.queued_at).total_seconds()
    if waited >= policy.max_wait:
        return Verdict(call.call_id, None, offer_callback=True, give_up=True), None
    reached = [i for i, stage in enumerate(policy.stages) if waited < stage.until]
    if not reached:
        return Verdict(call.call_id, None, offer_callback=True, give_up=False), None
    rule = policy.age_groups.get(call.age_group or "")
    requirements = [rule.skill, None] if rule is not None and waited < rule.until else [None]
    for age in requirements:
        for index in range(reached[0], len(policy.stages)):
            if any(serves(match, age) for match in reference_matches(policy, index)):
                callback = policy.stages[reached[0]].offer_callback
                callback = callback or policy.stages[index].offer_callback
                return Verdict(call.call_id, index, offer_callback=callback, give_up=False), age
    return Verdict(call.call_id, None, offer_callback=True, give_up=False), None


def counsels(
    member: StaffMember, call: WaitingCall, match: str, bridge: str, age: str | None = None
) -> bool:
    if not member.is_counsellor or (age is not None and age not in member.topics):
        return False
    if match == "interpreter":
        return bridge in member.languages
    if call.language not in member.languages:
        return False
    return match == "language" or call.topic is None or call.topic in member.topics


def interprets(member: StaffMember, call: WaitingCall, bridge: str) -> bool:
    return member.is_interpreter and {call.language, bridge} <= member.languages


def reference_decide(
    waiting: Sequence[WaitingCall],
    staff: Sequence[StaffMember],
    now: dt.datetime,
    policy: Policy,
    declined: dict[int, set[int]] | None = None,
) -> list[Match]:
    """Every caller, in order, against a fresh list of every free member of staff who did
    not decline them (for whom those who declined are not logged in at all)."""
    bridge = policy.bridge_language
    taken: set[int] = set()
    matches: list[Match] = []
    for c in sorted(waiting, key=lambda c: (-c.priority, c.queued_at, c.call_id)):
        refused = (declined or {}).get(c.call_id, set())
        theirs = [m for m in staff if m.staff_id not in refused]
        verdict, age = reference_verdict_and_age(c, theirs, now, policy)
        index = verdict.stage
        if index is None:
            continue
        free = sorted(
            (m for m in theirs if m.is_available and m.staff_id not in taken),
            key=lambda m: (m.idle_since, m.staff_id),
        )
        for match in reference_matches(policy, index):
            if match == "interpreter" and c.language == bridge:
                continue
            counsellor = next((m for m in free if counsels(m, c, match, bridge, age)), None)
            if counsellor is None:
                continue
            interpreter = None
            if match == "interpreter":
                interpreter = next(
                    (m for m in free if m is not counsellor and interprets(m, c, bridge)), None
                )
                if interpreter is None:
                    continue
                taken.add(interpreter.staff_id)
            taken.add(counsellor.staff_id)
            interpreter_id = None if interpreter is None else interpreter.staff_id
            matches.append(Match(c.call_id, counsellor.staff_id, interpreter_id, index))
            break
    return matches


def random_policy(rng: random.Random) -> Policy:
    """The line's own policy, or another order of stages, bridge language and deadlines."""
    if rng.random() < 0.5:
        return POLICY
    untils = sorted(rng.sample(range(1, 700), rng.randint(1, 4)))
    stages = tuple(
        Stage(until, rng.choice(MATCHES), offer_callback=rng.random() < 0.3) for until in untils
    )
    max_wait = untils[-1] + rng.choice((0, 1, 200))
    ages = {}
    if rng.random() < 0.7:
        ages["child"] = AgeRule(rng.choice(TOPICS), rng.choice((*untils, max_wait + 1)), 3)
    return Policy(stages, max_wait, rng.choice(("tr", "tr", "ar")), priorities={}, age_groups=ages)


def random_scenario(
    rng: random.Random, policy: Policy
) -> tuple[list[WaitingCall], list[StaffMember]]:
    """Few staff and callers, drawn so that ties, shortages and every stage come up."""
    ids = rng.sample(range(1, 500), rng.randint(0, 40))
    idles = rng.sample(range(0, 3600), 4)  # few distinct idle times: many ties
    staff = []
    for staff_id in ids:
        kind = rng.random()
        speaks = rng.sample(LANGUAGES, rng.randint(1, 3))
        if rng.random() < 0.6:
            speaks.append(policy.bridge_language)
        staff.append(
            StaffMember(
                staff_id=staff_id,
                is_counsellor=kind < 0.8,
                is_interpreter=kind > 0.6,  # some are both, a few neither
                languages=frozenset(speaks),
                topics=frozenset(rng.sample(TOPICS, rng.randint(0, 3))),
                is_available=rng.random() < 0.6,
                idle_since=NOW - dt.timedelta(seconds=rng.choice(idles)),
            )
        )
    edges = [s.until for s in policy.stages] + [policy.max_wait]
    edges += [rule.until for rule in policy.age_groups.values()]
    waits = [*edges, *(e - 1 for e in edges), 0, 5, 45, 150, 400, 1000]
    calls = [
        WaitingCall(
            call_id,
            rng.choice(LANGUAGES),
            rng.choice((None, *TOPICS)),
            rng.choice((0, 0, 1, 3, 10)),
            NOW - dt.timedelta(seconds=rng.choice(waits)),
            rng.choice((None, None, *AGE_GROUPS)),
        )
        for call_id in rng.sample(range(1, 10_000), rng.randint(0, 40))
    ]
    return calls, staff


@pytest.mark.parametrize("seed", range(400))
def test_router_decide_agrees_with_the_rules_written_out(seed: int) -> None:
    """decide and stage_for give what the documented rules give, read naively, for any mix.

    Random staff (counsellors, interpreters, both), languages, topics, availability and
    tied idle times; callers of every priority and age group at every stage's edge and
    age rule's end; the line's policy and others, with and without an age rule; and
    again with some callers declined lately by some of the staff.
    """
    rng = random.Random(seed)
    policy = random_policy(rng)
    calls, staff = random_scenario(rng, policy)
    assert decide(calls, staff, NOW, policy) == reference_decide(calls, staff, NOW, policy)
    ids = [m.staff_id for m in staff]
    declined = {
        c.call_id: set(rng.sample(ids, rng.randint(1, min(3, len(ids)))))
        for c in calls
        if ids and rng.random() < 0.4
    }
    expected = reference_decide(calls, staff, NOW, policy, declined)
    assert decide(calls, staff, NOW, policy, declined) == expected
    for c in calls:
        assert stage_for(c, staff, NOW, policy) == reference_verdict(c, staff, NOW, policy)
    assert stages_for(calls, staff, NOW, policy) == {
        c.call_id: reference_verdict(c, staff, NOW, policy) for c in calls
    }


def test_router_free_queue_passes_over_taken_but_keeps_the_one_set_aside() -> None:
    """Looking past `besides` drops the taken members met, never `besides` itself."""
    twice = _Free()
    twice.ids = [7, 7, 8]  # the same member listed twice is set aside both times
    assert twice.first(set(), besides=7) == 8
    queue = _Free()
    queue.ids = [7, 1, 2, 8]
    assert queue.first({1, 2}, besides=7) == 8
    assert queue.first({1, 2}) == 7
    assert queue.first({1, 2, 7}, besides=8) is None
    assert queue.first({1, 2, 7}) == 8


def test_router_free_queue_sets_aside_the_excluded_for_one_look_up() -> None:
    """Those who declined a call are passed over for it, and still there for the next."""
    queue = _Free()
    queue.ids = [5, 6, 1, 7, 8]
    assert queue.first({1}, excluded={5, 6}) == 7
    assert queue.first({1}, besides=7, excluded={5, 6}) == 8
    assert queue.first({1}) == 5
    assert queue.first({1, 5}, excluded={6, 7, 8}) is None
    assert queue.first({1, 5}) == 6


def test_reserve_offers_a_call_to_one_counsellor_at_a_time(reservations: Reservations) -> None:
    """While a call's offer rings, no second offer can be made for the same call."""
    _available(reservations.redis, 1, 2)
    assert reservations.reserve(100, [1], hold_seconds=20, now=1000.0, offer="a")
    assert not reservations.reserve(100, [2], hold_seconds=20, now=1005.0, offer="b")
    assert reservations.reserve(100, [2], hold_seconds=20, now=1021.0, offer="b")  # lapsed


def test_confirm_needs_the_same_offer_and_connects_the_call(reservations: Reservations) -> None:
    _available(reservations.redis, 1, 2)
    assert reservations.reserve(100, [1, 2], hold_seconds=60, offer="a")
    assert not reservations.confirm(100, [1], offer="stale", connects=True)
    assert reservations.confirm(100, [1], offer="a", connects=True)
    assert reservations.offer_of(100)["state"] == "connected"
    assert reservations.confirm(100, [2], offer="a")  # the interpreter, later
    assert not reservations.reserve(100, [3], hold_seconds=20, offer="c")  # connected


def test_an_interpreter_joins_only_a_connected_call(reservations: Reservations) -> None:
    _available(reservations.redis, 1, 2)
    assert not reservations.reserve(100, [2], hold_seconds=20, offer="i", joining=True)
    assert reservations.reserve(100, [1], hold_seconds=20, offer="a")
    assert reservations.confirm(100, [1], offer="a", connects=True)
    assert reservations.reserve(100, [2], hold_seconds=20, offer="i", joining=True)
    assert reservations.offer_of(100)["interpreter"] == "2"
    with pytest.raises(ValueError, match="alone"):
        reservations.reserve(100, [1, 2], hold_seconds=20, joining=True)


def test_withdraw_releases_the_offer_or_refuses_once_accepted(reservations: Reservations) -> None:
    """A caller leaving the queue frees who was being rung, and no offer can follow; a
    caller whose counsellor already accepted cannot leave (they are being connected)."""
    _available(reservations.redis, 1, 2, 3)
    assert reservations.reserve(100, [1, 2], hold_seconds=60, offer="a")
    assert reservations.withdraw(100) == 2
    assert reservations.redis.hget("helpline:staff:1", "state") == b"available"
    assert not reservations.confirm(100, [1], offer="a", connects=True)
    assert not reservations.reserve(100, [3], hold_seconds=60, offer="b")
    assert reservations.reserve(200, [3], hold_seconds=60, offer="c")
    assert reservations.confirm(200, [3], offer="c", connects=True)
    assert reservations.withdraw(200) is None
    assert reservations.withdraw(300) == 0  # never offered: nothing to release


def test_reserve_transfer_needs_a_connected_call_and_one_transfer_at_a_time(
    reservations: Reservations,
) -> None:
    """A warm transfer reserves one available counsellor for a connected call, only while
    no other transfer of it rings; a refusal or an acceptance lets the next one ring."""
    _available(reservations.redis, 1, 2, 3)
    assert not reservations.reserve_transfer(100, 2, hold_seconds=20, now=1000.0, offer="t")
    assert reservations.reserve(100, [1], hold_seconds=20, now=1000.0, offer="a")
    assert reservations.confirm(100, [1], offer="a", connects=True)
    assert reservations.reserve_transfer(100, 2, hold_seconds=20, now=1001.0, offer="t")
    assert reservations.offer_of(100)["transfer"] == "2"
    assert not reservations.reserve_transfer(100, 3, hold_seconds=20, now=1002.0, offer="u")
    assert reservations.release(100, [2], now=1003.0, offer="t") == 1
    assert reservations.offer_of(100)["state"] == "connected"
    assert reservations.reserve_transfer(100, 3, hold_seconds=20, now=1004.0, offer="u")
    assert reservations.confirm(100, [3], now=1005.0, offer="u")
    assert reservations.redis.hget("helpline:staff:3", "state") == b"busy"
    assert reservations.reserve_transfer(100, 2, hold_seconds=20, now=1006.0, offer="v")
