"""Erlang C: how many people a queue needs to answer calls within a target time.

Callers arrive at random (Poisson) at a steady rate, handle times are exponential and
nobody gives up. The traffic in Erlangs is the arrival rate times the average handle
time. Pure functions, no I/O.
"""

from __future__ import annotations

import math


def traffic(calls_per_hour: float, handle_seconds: float) -> float:
    """Offered traffic in Erlangs: how many people would be busy all the time."""
    return calls_per_hour * handle_seconds / 3600.0


def erlang_b(traffic: float, agents: int) -> float:
    """The probability that a call finds every agent busy, with no queue (Erlang B).

    By the usual recursion B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)), which stays
    accurate for hundreds of agents where the factorial formula overflows.
    """
    if traffic < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def erlang_c(traffic: float, agents: int) -> float:
    """The probability that a call has to wait (Erlang C); 1 when agents cannot keep up."""
    if traffic < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(traffic, agents)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(traffic: float, agents: int, handle_seconds: float, within: float) -> float:
    """The share of calls answered within `within` seconds."""
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waiting = erlang_c(traffic, agents)
    return 1.0 - waiting * math.exp(-(agents - traffic) * within / handle_seconds)


def average_speed_of_answer(traffic: float, agents: int, handle_seconds: float) -> float:
    """The mean wait over all calls, in seconds; infinite when agents cannot keep up."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * handle_seconds / (agents - traffic)


def agents_needed(
    calls_per_hour: float,
    handle_seconds: float,
    target_level: float,
    within: float,
    limit: int = 10_000,
) -> int:
    """The fewest agents that answer `target_level` (0 to 1) of calls within `within` seconds.

    Raises ValueError for a target of 1 or more (no finite staff guarantees every call),
    or when `limit` agents are not enough.
    """
    if not 0 <= target_level < 1:
        raise ValueError("the target must be at least 0 and below 1")
    if calls_per_hour < 0 or handle_seconds < 0 or within < 0:
        raise ValueError("rates and times must not be negative")
    load = traffic(calls_per_hour, handle_seconds)
    if load == 0:
        return 0
    agents = max(1, math.floor(load) + 1)
    while service_level(load, agents, handle_seconds, within) < target_level:
        agents += 1
        if agents > limit:
            raise ValueError(f"more than {limit} agents would be needed")
    return agents
