"""Routing decisions at scale: 10,000 staff online and 5,000 callers waiting.

Three measurements, one after the other, in one process:

- `decide` alone: one decision is one call of the pure router over everyone, timed with
  perf_counter (p50, p99, decisions/s);
- a reservation decision: `decide`, then `Reservations.reserve` in real Redis for every
  match it proposes, as a dispatcher would (reservations/s over the whole round, decide
  included; p50 and p99 of each reserve call; p99 of a round);
- the reference: after each round, the staff set free again and the same matches reserved
  again with no decision in front of them, so both see the same Redis and the same load.

The staff and callers are drawn from a seed with the line's mix of languages and topics
(`helpline.sandbox.traffic.Mix`, the topics of ivr_flows/default.yaml): most counsellors
speak Turkish, the bridge language, and often a second language; interpreters speak
Turkish and one caller language; some staff are busy, in wrap-up or on a break. The
staff's Redis hashes are written by `presence.set_state` itself, and deleted afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
import statistics
import time
from collections.abc import Iterator, Sequence

import redis
from sqlalchemy.orm import Session

from bench import sections
from helpline.config import DEFAULT_FLOWS_PATH
from helpline.models.enums import PresenceState
from helpline.routing import presence
from helpline.routing.policy import Policy, load_policy
from helpline.routing.reservation import KEY, Reservations
from helpline.routing.router import Match, StaffMember, WaitingCall, decide
from helpline.sandbox.traffic import Mix

STAFF = 10_000
CALLERS = 5_000
INTERPRETERS = 0.2  # of the staff online
AVAILABLE = 0.6  # the rest are busy, in wrap-up or on a break
HEADING = "## Routing decisions"


@dataclasses.dataclass(frozen=True)
class Scenario:
    staff: list[StaffMember]
    calls: list[WaitingCall]
    now: dt.datetime


@dataclasses.dataclass(frozen=True)
class Result:
    staff: int
    callers: int
    available: int  # mean over the scenarios
    matches: float  # mean matches proposed per decision
    decisions: int
    decide_p50_ms: float
    decide_p99_ms: float
    decide_max_ms: float
    decisions_per_second: float
    collected: int  # decisions during which Python ran a full garbage collection
    uncollected_p99_ms: float  # p99 of the other decisions
    objects: int  # what such a collection walks: the objects the process holds
    scenarios: int  # distinct sets of staff and callers, used in turn
    rounds: int
    reservations: int
    refused: int  # reserve calls that found someone already taken: should be none
    reservations_per_second: float
    reserve_p50_ms: float
    reserve_p99_ms: float
    round_p99_ms: float
    reference_reservations: int
    reference_per_second: float
    reference_p50_ms: float
    reference_p99_ms: float


def _pick(rng: random.Random, weights: dict[str, float], besides: str | None = None) -> str:
    names = [name for name in weights if name != besides]
    return rng.choices(names, [weights[name] for name in names])[0]


def scenario(seed: int, policy: Policy, staff: int = STAFF, callers: int = CALLERS) -> Scenario:
    """Staff online and callers waiting, drawn from the line's mix for one seed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    mix = Mix()
    languages, topics = dict(mix.languages), dict(mix.topics)
    bridge = policy.bridge_language
    now = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
    members = []
    for staff_id in range(1, staff + 1):
        is_interpreter = rng.random() < INTERPRETERS
        second = _pick(rng, languages, besides=bridge)
        speaks = {bridge, second}
        if not is_interpreter:
            roll = rng.random()
            if roll < 0.45:
                speaks = {bridge}  # the bridge language only
            elif roll < 0.5:
                speaks = {second}  # without the bridge language
        skills = set() if is_interpreter else {_pick(rng, topics) for _ in range(rng.randint(1, 3))}
        members.append(
            StaffMember(
                staff_id=staff_id,
                is_counsellor=not is_interpreter,
                is_interpreter=is_interpreter,
                languages=frozenset(speaks),
                topics=frozenset(skills),
                is_available=rng.random() < AVAILABLE,
                idle_since=now - dt.timedelta(seconds=rng.randint(0, 3600)),  # ties happen
            )
        )
    calls = []
    for call_id in range(1, callers + 1):
        topic = None if rng.random() < 0.05 else _pick(rng, topics)
        is_emergency = rng.random() < 0.03
        age_group = "child" if rng.random() < 0.1 else None  # callers who said under 18
        waited = rng.uniform(0, policy.max_wait + 60)  # every stage, and some past the last
        calls.append(
            WaitingCall(
                call_id=call_id,
                language=_pick(rng, languages),
                topic=topic,
                priority=policy.priority_of(topic, is_emergency, age_group),
                queued_at=now - dt.timedelta(seconds=waited),
                age_group=age_group,
            )
        )
    rng.shuffle(calls)
    return Scenario(members, calls, now)


def _seed_presence(connection: redis.Redis, staff: Sequence[StaffMember]) -> None:
    """Write every member's live state with presence.set_state; the audit rows are dropped."""
    states = [PresenceState.BUSY, PresenceState.WRAP_UP, PresenceState.BREAK]
    pipe = connection.pipeline(transaction=False)
    with Session() as audit:  # never bound: set_state's PresenceChange rows go nowhere
        for member in staff:
            state = PresenceState.AVAILABLE if member.is_available else states[member.staff_id % 3]
            moment = member.idle_since.timestamp()
            presence.set_state(pipe, audit, member.staff_id, state, "bench", now=moment)
    pipe.execute()


def _milliseconds(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _members(match: Match) -> list[int]:
    if match.interpreter_id is None:
        return [match.counsellor_id]
    return [match.counsellor_id, match.interpreter_id]


def _cycle(scenarios: Sequence[Scenario], count: int) -> Iterator[Scenario]:
    for number in range(count):
        yield scenarios[number % len(scenarios)]


def _time_decide(
    scenarios: Sequence[Scenario], policy: Policy, decisions: int
) -> tuple[list[float], list[float], list[int]]:
    """Seconds per decision, the same for decisions that ran no full garbage collection,
    and the matches proposed."""
    full: list[int] = []  # one entry for each full garbage collection

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    times, uncollected, matches = [], [], []
    gc.callbacks.append(count)
    try:
        for case in _cycle(scenarios, decisions):
            collections = len(full)
            started = time.perf_counter()
            proposed = decide(case.calls, case.staff, case.now, policy)
            times.append(time.perf_counter() - started)
            matches.append(len(proposed))
            if len(full) == collections:
                uncollected.append(times[-1])
    finally:
        gc.callbacks.remove(count)
    return times, uncollected, matches


def _reserve_all(
    reservations: Reservations, matches: Sequence[Match], hold: float
) -> tuple[list[float], int]:
    """Reserve every match's staff; seconds per reservation, and how many were refused."""
    times, refused = [], 0
    for match in matches:
        before = time.perf_counter()
        refused += not reservations.reserve(match.call_id, _members(match), hold)
        times.append(time.perf_counter() - before)
    return times, refused


def _time_reservations(
    reservations: Reservations, scenarios: Sequence[Scenario], policy: Policy, rounds: int
) -> tuple[list[float], list[float], int, list[float]]:
    """Seconds per round (decide, then reserve every match), per reservation, refusals; and
    per reservation of the same matches again with no decision in front (the reference)."""
    hold = policy.offer_timeout_seconds
    round_times, reserve_times, refused, reference = [], [], 0, []
    for case in _cycle(scenarios, rounds):
        _seed_presence(reservations.redis, case.staff)
        started = time.perf_counter()
        matches = decide(case.calls, case.staff, case.now, policy)
        times, refusals = _reserve_all(reservations, matches, hold)
        round_times.append(time.perf_counter() - started)
        reserve_times += times
        refused += refusals
        _seed_presence(reservations.redis, case.staff)
        reference += _reserve_all(reservations, matches, hold)[0]
    return round_times, reserve_times, refused, reference


def run(connection: redis.Redis, decisions: int = 300, rounds: int = 20, seeds: int = 4) -> Result:
    """Measure decide alone, decide plus reservations, and reserve alone."""
    policy = load_policy(DEFAULT_FLOWS_PATH / "routing.yaml")
    scenarios = [scenario(seed, policy) for seed in range(1, seeds + 1)]
    decide(scenarios[0].calls, scenarios[0].staff, scenarios[0].now, policy)  # warm up
    decide_times, uncollected, matches = _time_decide(scenarios, policy, decisions)
    reservations = Reservations(connection)
    try:
        round_times, reserve_times, refused, reference = _time_reservations(
            reservations, scenarios, policy, rounds
        )
    finally:
        connection.delete(*(KEY.format(m.staff_id) for m in scenarios[0].staff))
    return Result(
        staff=STAFF,
        callers=CALLERS,
        available=round(statistics.mean(sum(m.is_available for m in s.staff) for s in scenarios)),
        matches=statistics.mean(matches),
        decisions=decisions,
        decide_p50_ms=_milliseconds(decide_times, 0.5),
        decide_p99_ms=_milliseconds(decide_times, 0.99),
        decide_max_ms=max(decide_times) * 1000,
        decisions_per_second=decisions / sum(decide_times),
        collected=decisions - len(uncollected),
        uncollected_p99_ms=_milliseconds(uncollected, 0.99),
        objects=len(gc.get_objects()),
        scenarios=seeds,
        rounds=rounds,
        reservations=len(reserve_times),
        refused=refused,
        reservations_per_second=len(reserve_times) / sum(round_times),
        reserve_p50_ms=_milliseconds(reserve_times, 0.5),
        reserve_p99_ms=_milliseconds(reserve_times, 0.99),
        round_p99_ms=_milliseconds(round_times, 0.99),
        reference_reservations=len(reference),
        reference_per_second=len(reference) / sum(reference),
        reference_p50_ms=_milliseconds(reference, 0.5),
        reference_p99_ms=_milliseconds(reference, 0.99),
    )


def section(result: Result, measured: str, command: str) -> str:
    """The routing section of docs/BENCHMARKS.md."""
    r = result
    ratio = r.reservations_per_second / r.reference_per_second
    return "\n".join(
        [
            *sections.head(HEADING, measured, command, needs="Redis"),
            f"{r.staff:,} staff online (about {r.available:,} available) and {r.callers:,} "
            f"callers waiting, in the line's mix of languages and topics; "
            f"{r.matches:,.0f} matches proposed per decision on average. One decision is one "
            "call of the pure router over all of them; a reservation decision adds "
            "`Reservations.reserve` in real Redis for each match it proposes.",
            "",
            "| measurement | rate | p50 ms | p99 ms | samples |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| `decide` alone | {r.decisions_per_second:,.1f} decisions/s | "
            f"{r.decide_p50_ms:.1f} | {r.decide_p99_ms:.1f} | {r.decisions:,} decisions |",
            f"| reservation decision: decide + reserve each match | "
            f"{r.reservations_per_second:,.0f} reservations/s | {r.reserve_p50_ms:.3f} | "
            f"{r.reserve_p99_ms:.3f} | {r.reservations:,} reservations in {r.rounds} rounds |",
            f"| reference: the same reservations, no decision | {r.reference_per_second:,.0f} "
            f"reservations/s | {r.reference_p50_ms:.3f} | {r.reference_p99_ms:.3f} | "
            f"{r.reference_reservations:,} reservations |",
            "",
            f"The slowest decision took {r.decide_max_ms:.0f} ms. {r.collected} of the "
            f"{r.decisions} decisions ran a full garbage collection, which walks every object "
            f"the process holds ({r.objects:,} here, most of them the staff and callers of "
            f"the {r.scenarios} scenarios used in turn); the p99 of the other decisions is "
            f"{r.uncollected_p99_ms:.1f} ms.",
            "",
            "In the reservation rows the rate counts reservations over all the time spent "
            "(for the first, decide included) and p50 and p99 are those of one `reserve` "
            f"call. A whole round (decide, then every reservation) took {r.round_p99_ms:.0f} "
            f"ms at p99; reservation decisions reach {ratio:.2f} of the rate of the same "
            f"reservations alone. {r.refused} reservations were refused (there should be "
            "none: every proposal was free).",
            "",
        ]
    )
