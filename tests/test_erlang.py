"""Erlang B and C against textbook values; the staffing search at its edges."""

from __future__ import annotations

import math

import pytest

from helpline.reporting import erlang


@pytest.mark.parametrize(
    ("traffic", "agents", "expected"),
    [
        (1.0, 1, 0.5),  # one server, one Erlang: half the calls blocked
        (5.0, 10, 0.018385),  # the Erlang B table: 5 Erlangs on 10 lines, 1.84 %
        (0.0, 3, 0.0),
        (2.0, 0, 1.0),
    ],
)
def test_erlang_b_matches_tables(traffic: float, agents: int, expected: float) -> None:
    """Blocking probability as Erlang B tables give it."""
    assert erlang.erlang_b(traffic, agents) == pytest.approx(expected, abs=5e-6)


@pytest.mark.parametrize(
    ("traffic", "agents", "expected"),
    [
        (0.5, 1, 0.5),  # M/M/1: the probability of waiting is the utilisation
        (1.0, 2, 1 / 3),  # M/M/2 at 50 % utilisation u: 2u²/(1+u)
        (10.0, 11, 0.6821),  # 100 calls in 30 minutes, 3-minute calls, 11 agents
        (10.0, 12, 0.4494),
        (10.0, 13, 0.2853),
        (10.0, 14, 0.1741),
        (0.0, 1, 0.0),
        (10.0, 10, 1.0),  # as many agents as Erlangs: the queue grows without end
        (10.0, 9, 1.0),
    ],
)
def test_erlang_c_matches_textbook_values(traffic: float, agents: int, expected: float) -> None:
    """The probability that a call waits."""
    assert erlang.erlang_c(traffic, agents) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(
    ("agents", "level", "asa"),
    [
        # The textbook example: 10 Erlangs, 180 s handle time, 20 s target.
        (11, 0.3896, 122.8),
        (12, 0.6402, 40.4),
        (13, 0.7956, 17.1),
        (14, 0.8884, 7.8),
    ],
)
def test_service_level_and_asa_of_the_textbook_example(
    agents: int, level: float, asa: float
) -> None:
    """Service level 1 - C·e^(-(N-A)·T/AHT) and ASA C·AHT/(N-A)."""
    assert erlang.service_level(10.0, agents, 180, 20) == pytest.approx(level, abs=5e-5)
    assert erlang.average_speed_of_answer(10.0, agents, 180) == pytest.approx(asa, abs=0.05)


def test_overloaded_queue_meets_nothing() -> None:
    """With no more agents than Erlangs nobody is answered in time, and waits are unbounded."""
    assert erlang.service_level(10.0, 10, 180, 20) == 0.0
    assert math.isinf(erlang.average_speed_of_answer(10.0, 10, 180))


@pytest.mark.parametrize(
    ("calls_per_hour", "handle", "level", "within", "expected"),
    [
        (200, 180, 0.80, 20, 14),  # the textbook example: 13 agents give 79.6 %, 14 give 88.8 %
        (200, 180, 0.70, 20, 13),
        (200, 180, 0.30, 20, 11),
        (0, 180, 0.80, 20, 0),  # no calls, nobody needed
        (1, 300, 0.80, 20, 1),  # a trickle still needs one person
        (200, 180, 0.0, 20, 11),  # any target needs more agents than Erlangs
    ],
)
def test_agents_needed_is_the_fewest_that_meet_the_target(
    calls_per_hour: float, handle: float, level: float, within: float, expected: int
) -> None:
    """The smallest number of agents whose service level reaches the target."""
    agents = erlang.agents_needed(calls_per_hour, handle, level, within)
    assert agents == expected
    if agents:
        load = erlang.traffic(calls_per_hour, handle)
        assert erlang.service_level(load, agents, handle, within) >= level
        if agents - 1 > load:
            assert erlang.service_level(load, agents - 1, handle, within) < level


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((200, 180, 1.0, 20), "below 1"),
        ((200, 180, -0.1, 20), "below 1"),
        ((-1, 180, 0.8, 20), "negative"),
    ],
)
def test_agents_needed_refuses_impossible_targets(
    arguments: tuple[float, float, float, float], message: str
) -> None:
    """A target of 100 % or a negative rate has no answer."""
    with pytest.raises(ValueError, match=message):
        erlang.agents_needed(*arguments)


def test_erlang_stays_finite_for_large_centres() -> None:
    """Hundreds of agents: the recursion does not overflow as factorials would."""
    assert 0 < erlang.erlang_c(450.0, 480) < 1
    assert erlang.agents_needed(9000, 180, 0.8, 20) > 450
