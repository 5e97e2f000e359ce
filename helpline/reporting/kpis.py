"""The line's performance figures, as pure functions of call and callback facts.

Nothing here reads the database or the clock: the supervisor's views load the facts
(streamed, so a long period costs no memory) and pass them in; tests pass plain values.
Every figure is defined once, in `DEFINITIONS`, and the page shows that text beside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from helpline.models.enums import CallbackStatus, CallOutcome
from helpline.reporting import erlang

# Ways of leaving the queue unanswered that the line itself offered, so they are not
# abandons: the caller asked for a callback, left a voicemail, or was put through to
# the duty line.
LEFT_FOR_ANOTHER_SERVICE = frozenset(
    {CallOutcome.CALLBACK_REQUESTED, CallOutcome.VOICEMAIL, CallOutcome.EMERGENCY_TRANSFER}
)

UNKNOWN = "(none)"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What counts as a short abandon, and the service level's answer time (seconds)."""

    short_abandon_seconds: float = 5.0
    answer_seconds: float = 20.0

    def __post_init__(self) -> None:
        if self.short_abandon_seconds < 0 or self.answer_seconds < 0:
            raise ValueError("thresholds must not be negative")


@dataclasses.dataclass(frozen=True)
class CallFacts:
    """What the figures need of one call. Times are aware UTC datetimes."""

    started_at: dt.datetime
    queued_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    wrap_up_ended_at: dt.datetime | None = None
    outcome: str = CallOutcome.IN_PROGRESS.value
    language: str | None = None
    topic: str | None = None
    site: str | None = None


@dataclasses.dataclass(frozen=True)
class CallbackFacts:
    created_at: dt.datetime
    status: str
    completed_at: dt.datetime | None = None


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds()


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


@dataclasses.dataclass(frozen=True)
class CallKpis:
    calls: int
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    waiting: int
    left_for_another_service: int
    answered_in_time: int
    abandoned_in_time: int
    wait_total: float
    wait_count: int
    handle_total: float
    handle_count: int

    @property
    def counted(self) -> int:
        """The denominator of the rates: offered, less short abandons and calls still waiting."""
        return self.offered - self.short_abandoned - self.waiting

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_in_time, self.counted)

    @property
    def service_level_abandons_met(self) -> float | None:
        return _ratio(self.answered_in_time + self.abandoned_in_time, self.counted)

    @property
    def abandon_rate(self) -> float | None:
        return _ratio(self.abandoned - self.short_abandoned, self.counted)

    @property
    def asa_seconds(self) -> float | None:
        return _mean(self.wait_total, self.wait_count)

    @property
    def aht_seconds(self) -> float | None:
        return _mean(self.handle_total, self.handle_count)


@dataclasses.dataclass
class _Tally:
    """A running count for one group of calls; constant memory however many calls."""

    calls: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    waiting: int = 0
    left_for_another_service: int = 0
    answered_in_time: int = 0
    abandoned_in_time: int = 0
    wait_total: float = 0.0
    wait_count: int = 0
    handle_total: float = 0.0
    handle_count: int = 0

    def add(self, call: CallFacts, limits: Thresholds) -> None:
        self.calls += 1
        if call.answered_at is not None:
            self.answered += 1
            end = call.ended_at
            if end is not None:
                if call.wrap_up_ended_at is not None:
                    end = max(end, call.wrap_up_ended_at)
                self.handle_total += _seconds(call.answered_at, end)
                self.handle_count += 1
        if call.queued_at is None:
            return
        self.offered += 1
        if call.answered_at is not None:
            wait = _seconds(call.queued_at, call.answered_at)
            self.wait_total += wait
            self.wait_count += 1
            if wait <= limits.answer_seconds:
                self.answered_in_time += 1
        elif call.ended_at is None:
            self.waiting += 1
        elif call.outcome in LEFT_FOR_ANOTHER_SERVICE:
            self.left_for_another_service += 1
        else:
            self.abandoned += 1
            waited = _seconds(call.queued_at, call.ended_at)
            if waited <= limits.short_abandon_seconds:
                self.short_abandoned += 1
            elif waited <= limits.answer_seconds:
                self.abandoned_in_time += 1

    def freeze(self) -> CallKpis:
        return CallKpis(**dataclasses.asdict(self))


def summarise_calls(calls: Iterable[CallFacts], limits: Thresholds | None = None) -> CallKpis:
    """The figures over all the given calls."""
    tally, rules = _Tally(), limits or Thresholds()
    for call in calls:
        tally.add(call, rules)
    return tally.freeze()


@dataclasses.dataclass(frozen=True)
class CallbackKpis:
    due: int
    completed: int
    delay_total: float
    delay_count: int

    @property
    def completion_rate(self) -> float | None:
        return _ratio(self.completed, self.due)

    @property
    def average_delay_seconds(self) -> float | None:
        return _mean(self.delay_total, self.delay_count)


def summarise_callbacks(callbacks: Iterable[CallbackFacts]) -> CallbackKpis:
    """Completion rate and time to callback over callbacks due in a period."""
    due = completed = delay_count = 0
    delay_total = 0.0
    for callback in callbacks:
        due += 1
        if callback.status != CallbackStatus.COMPLETED:
            continue
        completed += 1
        if callback.completed_at is not None:
            delay_total += _seconds(callback.created_at, callback.completed_at)
            delay_count += 1
    return CallbackKpis(due, completed, delay_total, delay_count)


# The breakdowns: a name, and how to find a call's group.
def _hour(zone: ZoneInfo) -> Callable[[CallFacts], str]:
    return lambda call: f"{call.started_at.astimezone(zone).hour:02d}:00"


BREAKDOWNS = ("language", "topic", "hour", "site")


@dataclasses.dataclass(frozen=True)
class Report:
    """The overall figures, each breakdown, and what the Erlang C suggestion needs."""

    overall: CallKpis
    by: Mapping[str, Mapping[str, CallKpis]]
    # offered calls per (language, local hour of day), for the busiest-hour rate
    offered_by_language_hour: Mapping[tuple[str, int], int]


def build_report(
    calls: Iterable[CallFacts], zone: ZoneInfo, limits: Thresholds | None = None
) -> Report:
    """Every figure and breakdown in one pass over the calls."""
    rules = limits or Thresholds()
    keys: dict[str, Callable[[CallFacts], str]] = {
        "language": lambda call: call.language or UNKNOWN,
        "topic": lambda call: call.topic or UNKNOWN,
        "hour": _hour(zone),
        "site": lambda call: call.site or UNKNOWN,
    }
    overall = _Tally()
    groups: dict[str, dict[str, _Tally]] = {name: {} for name in BREAKDOWNS}
    offered_by_hour: dict[tuple[str, int], int] = {}
    for call in calls:
        overall.add(call, rules)
        for name, key in keys.items():
            groups[name].setdefault(key(call), _Tally()).add(call, rules)
        if call.queued_at is not None:
            slot = (call.language or UNKNOWN, call.queued_at.astimezone(zone).hour)
            offered_by_hour[slot] = offered_by_hour.get(slot, 0) + 1
    return Report(
        overall=overall.freeze(),
        by={
            name: {group: tally.freeze() for group, tally in sorted(found.items())}
            for name, found in groups.items()
        },
        offered_by_language_hour=offered_by_hour,
    )


@dataclasses.dataclass(frozen=True)
class StaffingTarget:
    """Answer `level` (0 to 1) of calls within `within` seconds."""

    level: float = 0.8
    within: float = 20.0

    def __post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise ValueError("the target level must be above 0 and below 1")
        if self.within < 0:
            raise ValueError("the target time must not be negative")


@dataclasses.dataclass(frozen=True)
class Staffing:
    """An Erlang C suggestion for one language."""

    language: str
    offered: int
    aht_seconds: float | None
    average_rate: float  # offered calls per hour over the whole period
    busiest_hour: int | None  # local hour of day with the most offered calls per day
    busiest_rate: float  # offered calls per hour in that hour, averaged over the days
    agents_average: int | None
    agents_busiest: int | None


def suggest_staffing(
    report: Report,
    since: dt.datetime,
    until: dt.datetime,
    target: StaffingTarget,
) -> list[Staffing]:
    """Agents needed per language, at the period's average and at its busiest hour.

    None where there were no answered calls to take a handle time from.
    """
    hours = (until - since).total_seconds() / 3600.0
    if hours <= 0:
        raise ValueError("the period must not be empty")
    days = hours / 24.0
    suggestions = []
    for language, kpis in report.by["language"].items():
        if kpis.offered == 0:
            continue
        per_hour = {
            hour: count
            for (lang, hour), count in report.offered_by_language_hour.items()
            if lang == language
        }
        busiest = max(sorted(per_hour), key=lambda hour: per_hour[hour]) if per_hour else None
        # A period shorter than a day still has each hour of day at most once.
        busiest_rate = per_hour[busiest] / max(days, 1.0) if busiest is not None else 0.0
        average_rate = kpis.offered / hours
        aht = kpis.aht_seconds
        suggestions.append(
            Staffing(
                language=language,
                offered=kpis.offered,
                aht_seconds=aht,
                average_rate=average_rate,
                busiest_hour=busiest,
                busiest_rate=busiest_rate,
                agents_average=_agents(average_rate, aht, target),
                agents_busiest=_agents(busiest_rate, aht, target),
            )
        )
    return suggestions


def _agents(rate: float, aht: float | None, target: StaffingTarget) -> int | None:
    if aht is None:
        return None
    return erlang.agents_needed(rate, aht, target.level, target.within)


def definitions(limits: Thresholds | None = None) -> dict[str, str]:
    """The definition of every figure, as the page shows it next to the figure."""
    limits = limits or Thresholds()
    short, answer = f"{limits.short_abandon_seconds:g}", f"{limits.answer_seconds:g}"
    return {
        "calls": "Calls that started in the period (by their start time).",
        "offered": "Calls that reached the queue hand-off (a queue time is recorded).",
        "answered": "Calls a member of staff answered (an answer time is recorded).",
        "abandoned": (
            "Offered calls that ended in the queue without an answer because the caller "
            "hung up. Asking for a callback, leaving a voicemail or being put through to "
            "the duty line is not an abandon."
        ),
        "short_abandoned": (
            f"Abandons within {short} s of queueing: too quick to have been answerable, so "
            "left out of every rate below."
        ),
        "waiting": "Offered calls still waiting in the queue; left out of the rates.",
        "left_for_another_service": (
            "Offered calls that left the queue unanswered for a service the line offered: "
            "a callback request, a voicemail or the duty line. They stay in the rates, as "
            "not answered in time."
        ),
        "service_level": (
            f"Calls answered within {answer} s of queueing, divided by offered calls less "
            "short abandons and calls still waiting."
        ),
        "service_level_abandons_met": (
            f"As the service level, but abandons within {answer} s count as met."
        ),
        "abandon_rate": (
            "Abandons (short ones excluded) divided by offered calls less short abandons "
            "and calls still waiting."
        ),
        "asa": "Average speed of answer: the mean time from queueing to answer of answered calls.",
        "aht": (
            "Average handle time: the mean time from answer to the end of the call, plus "
            "wrap-up until it ended, over answered calls that have ended."
        ),
        "callback_completion": (
            "Callbacks completed, divided by all callbacks due in the period (due from a "
            "time inside it), whatever their status."
        ),
        "callback_delay": (
            "Average time to callback: the mean time from the request to its completion, "
            "over completed callbacks due in the period."
        ),
        "staffing": (
            "Erlang C: the fewest people answering that language's calls who would meet the "
            "target, from the arrival rate of offered calls and the language's handle time. "
            "It assumes random arrivals and that nobody hangs up, so treat it as a floor."
        ),
    }
