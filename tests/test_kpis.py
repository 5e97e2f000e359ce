"""The KPI definitions, table-driven, without Flask or a database."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpline.models.enums import CallbackStatus, CallOutcome
from helpline.reporting import kpis
from helpline.reporting.kpis import CallbackFacts, CallFacts, Thresholds

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # 12:00 in Istanbul
ISTANBUL = ZoneInfo("Europe/Istanbul")


def at(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else T0 + dt.timedelta(seconds=seconds)


def call(
    queued: float | None = None,
    answered: float | None = None,
    ended: float | None = None,
    wrap: float | None = None,
    outcome: str | None = None,
    start: float = 0,
    **labels: Any,
) -> CallFacts:
    """A call by seconds after its start, which is `start` seconds after T0.

    The outcome is what the call log would settle on.
    """
    if outcome is None:
        if ended is None:
            outcome = CallOutcome.IN_PROGRESS
        elif answered is not None:
            outcome = CallOutcome.ANSWERED
        elif queued is not None:
            outcome = CallOutcome.ABANDONED_QUEUE
        else:
            outcome = CallOutcome.ABANDONED_IVR
    begin = T0 + dt.timedelta(seconds=start)

    def when(seconds: float | None) -> dt.datetime | None:
        return None if seconds is None else begin + dt.timedelta(seconds=seconds)

    return CallFacts(
        started_at=begin,
        queued_at=when(queued),
        answered_at=when(answered),
        ended_at=when(ended),
        wrap_up_ended_at=when(wrap),
        outcome=outcome,
        **labels,
    )


NOTHING = {
    "calls": 0,
    "offered": 0,
    "answered": 0,
    "abandoned": 0,
    "short_abandoned": 0,
    "waiting": 0,
    "service_level": None,
    "service_level_abandons_met": None,
    "abandon_rate": None,
    "asa_seconds": None,
    "aht_seconds": None,
}


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        pytest.param([], NOTHING, id="no calls"),
        pytest.param(
            [call(ended=30), call(ended=4)],
            {**NOTHING, "calls": 2},
            id="hung up in the IVR: never offered",
        ),
        pytest.param(
            [call(queued=10, ended=40), call(queued=10, ended=100), call(queued=10, ended=28)],
            {
                **NOTHING,
                "calls": 3,
                "offered": 3,
                "abandoned": 3,
                "service_level": 0.0,
                "service_level_abandons_met": 1 / 3,  # the one that left after 18 s
                "abandon_rate": 1.0,
            },
            id="all abandoned",
        ),
        pytest.param(
            [call(queued=10, ended=12), call(queued=10, ended=15)],
            {**NOTHING, "calls": 2, "offered": 2, "abandoned": 2, "short_abandoned": 2},
            id="only short abandons: no rate can be given",
        ),
        pytest.param(
            [
                call(queued=10, answered=30, ended=130),  # answered at exactly 20 s: met
                call(queued=10, answered=31, ended=91, wrap=151),  # 21 s: missed; 120 s handled
                call(queued=10, ended=15),  # short abandon, exactly 5 s
                call(queued=10, ended=16),  # abandoned after 6 s, within 20 s
                call(queued=10, ended=70),  # abandoned after a minute
                call(queued=10, ended=50, outcome=CallOutcome.CALLBACK_REQUESTED),
                call(queued=10),  # still waiting
                call(ended=20),  # left in the IVR
            ],
            {
                "calls": 8,
                "offered": 7,
                "answered": 2,
                "abandoned": 3,
                "short_abandoned": 1,
                "waiting": 1,
                # counted: 7 offered - 1 short - 1 waiting = 5
                "service_level": 1 / 5,
                "service_level_abandons_met": 2 / 5,
                "abandon_rate": 2 / 5,
                "asa_seconds": (20 + 21) / 2,
                "aht_seconds": (100 + 120) / 2,
            },
            id="a mixed day",
        ),
        pytest.param(
            [call(answered=5, ended=65)],
            {**NOTHING, "calls": 1, "answered": 1, "aht_seconds": 60.0},
            id="answered without a queue: handled, but not offered",
        ),
        pytest.param(
            [call(queued=0, answered=10)],
            {
                **NOTHING,
                "calls": 1,
                "offered": 1,
                "answered": 1,
                "service_level": 1.0,
                "service_level_abandons_met": 1.0,
                "abandon_rate": 0.0,
                "asa_seconds": 10.0,
            },
            id="answered and still talking: no handle time yet",
        ),
        pytest.param(
            [call(queued=0, answered=10, ended=70, wrap=40)],
            {
                **NOTHING,
                "calls": 1,
                "offered": 1,
                "answered": 1,
                "service_level": 1.0,
                "service_level_abandons_met": 1.0,
                "abandon_rate": 0.0,
                "asa_seconds": 10.0,
                "aht_seconds": 60.0,
            },
            id="a wrap-up time before the end adds nothing",
        ),
    ],
)
def test_summarise_calls(calls: list[CallFacts], expected: dict[str, Any]) -> None:
    """Each figure as its definition says."""
    found = kpis.summarise_calls(calls)
    for name, value in expected.items():
        assert getattr(found, name) == pytest.approx(value), name


@pytest.mark.parametrize(
    ("limits", "service_level", "short"),
    [
        (Thresholds(), 1 / 3, 1),  # 5 s and 20 s
        (Thresholds(short_abandon_seconds=0, answer_seconds=20), 1 / 4, 0),
        (Thresholds(short_abandon_seconds=5, answer_seconds=60), 2 / 3, 1),
    ],
)
def test_thresholds_change_what_is_met_and_what_is_short(
    limits: Thresholds, service_level: float, short: int
) -> None:
    """The short-abandon and answer thresholds are parameters, not constants."""
    calls = [
        call(queued=0, answered=15, ended=100),
        call(queued=0, answered=45, ended=100),
        call(queued=0, ended=3),
        call(queued=0, ended=90),
    ]
    found = kpis.summarise_calls(calls, limits)
    assert found.service_level == pytest.approx(service_level)
    assert found.short_abandoned == short


def test_thresholds_refuse_negative_seconds() -> None:
    with pytest.raises(ValueError, match="negative"):
        Thresholds(short_abandon_seconds=-1)


DAY = 86400.0


@pytest.mark.parametrize(
    ("callbacks", "due", "completed", "rate", "delay"),
    [
        ([], 0, 0, None, None),
        (
            [
                CallbackFacts(T0, CallbackStatus.COMPLETED, at(3600)),
                CallbackFacts(T0, CallbackStatus.COMPLETED, at(2 * 3600)),
                CallbackFacts(T0, CallbackStatus.EXPIRED),
                CallbackFacts(T0, CallbackStatus.PENDING),
            ],
            4,
            2,
            0.5,
            5400.0,
        ),
        ([CallbackFacts(T0, CallbackStatus.FAILED)] * 3, 3, 0, 0.0, None),
        ([CallbackFacts(T0, CallbackStatus.COMPLETED, at(DAY))], 1, 1, 1.0, DAY),
    ],
)
def test_summarise_callbacks(
    callbacks: list[CallbackFacts],
    due: int,
    completed: int,
    rate: float | None,
    delay: float | None,
) -> None:
    """Completed over all due, whatever their status; delay over completed ones."""
    found = kpis.summarise_callbacks(callbacks)
    assert (found.due, found.completed) == (due, completed)
    assert found.completion_rate == pytest.approx(rate)
    assert found.average_delay_seconds == pytest.approx(delay)


def test_build_report_breaks_down_by_language_topic_local_hour_and_site() -> None:
    """One pass gives the overall figures and each breakdown; hours are the line's."""
    calls = [
        call(queued=5, answered=10, ended=70, language="ar", topic="violence", site="ANK"),
        call(queued=5, ended=60, language="ar", topic="psychosocial", site=None),
        call(queued=5, answered=10, ended=70, start=3600, language="fa", site="ANK"),
        call(ended=10, start=3600, language=None),
    ]
    report = kpis.build_report(calls, ISTANBUL)
    assert report.overall.calls == 4
    assert {k: v.offered for k, v in report.by["language"].items()} == {
        "(none)": 0,
        "ar": 2,
        "fa": 1,
    }
    assert list(report.by["language"]) == ["(none)", "ar", "fa"]  # sorted for the page
    assert report.by["language"]["ar"].abandoned == 1
    assert {k: v.calls for k, v in report.by["topic"].items()} == {
        "(none)": 2,
        "psychosocial": 1,
        "violence": 1,
    }
    assert {k: v.calls for k, v in report.by["hour"].items()} == {"12:00": 2, "13:00": 2}
    assert {k: v.answered for k, v in report.by["site"].items()} == {"(none)": 0, "ANK": 2}
    assert report.offered_by_language_hour == {("ar", 12): 2, ("fa", 13): 1}


def test_suggest_staffing_per_language() -> None:
    """Erlang C per language, from its offered calls per hour and its handle time."""
    # 200 calls an hour of 180 s each, all in one hour of one day: the textbook case.
    calls = [
        call(queued=i * 18, answered=i * 18 + 1, ended=i * 18 + 181, language="ar")
        for i in range(200)
    ]
    calls.append(call(queued=0, ended=30, language="fa"))  # offered, never answered
    report = kpis.build_report(calls, ISTANBUL)
    since, until = T0 - dt.timedelta(hours=12), T0 + dt.timedelta(hours=12)
    rows = {
        s.language: s for s in kpis.suggest_staffing(report, since, until, kpis.StaffingTarget())
    }
    ar = rows["ar"]
    assert ar.aht_seconds == pytest.approx(180.0)
    assert ar.average_rate == pytest.approx(200 / 24)
    assert ar.busiest_hour == 12
    assert ar.busiest_rate == pytest.approx(200.0)
    assert ar.agents_busiest == 14
    assert ar.agents_average == 2
    assert rows["fa"].agents_busiest is None  # no answered call: no handle time to use


def test_suggest_staffing_over_several_days_averages_the_busiest_hour() -> None:
    """The busiest hour's rate is its offered calls divided by the days in the period."""
    calls = [
        call(queued=0, answered=5, ended=65, start=day * DAY, language="tr")
        for day in range(7)
        for _ in range(10)
    ]
    report = kpis.build_report(calls, ISTANBUL)
    since = T0 - dt.timedelta(hours=12)
    rows = kpis.suggest_staffing(report, since, since + dt.timedelta(days=7), kpis.StaffingTarget())
    assert rows[0].busiest_rate == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("level", "within"),
    [(0.0, 20), (1.0, 20), (0.8, -1)],
)
def test_staffing_target_refuses_impossible_values(level: float, within: float) -> None:
    with pytest.raises(ValueError, match="target"):
        kpis.StaffingTarget(level, within)


def test_every_figure_has_a_definition_with_its_thresholds() -> None:
    """The page shows a definition next to each figure, with the thresholds in use."""
    texts = kpis.definitions(Thresholds(short_abandon_seconds=7, answer_seconds=30))
    assert "7 s" in texts["short_abandoned"]
    assert "30 s" in texts["service_level"]
    for name in ("offered", "answered", "abandoned", "asa", "aht", "callback_completion"):
        assert texts[name]
