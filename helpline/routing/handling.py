"""How long a counsellor's call takes, learned from the line's own calls.

A waiting caller's expected wait (announce.py) is the callers ahead shared among those who
can serve them, times the handle time: talk time plus the policy's wrap-up. Until a
language has enough answered calls in the last week, a default stands in. The learned
figures are kept in Redis for a few minutes, so the dispatcher reads the database for them
at most that often, whatever the traffic.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import redis
import sqlalchemy as sa

from helpline.models import Call, utcnow
from helpline.models.base import DbSession
from helpline.routing.announce import DEFAULT_HANDLE_SECONDS, OTHER_LANGUAGES
from helpline.routing.policy import Policy

WINDOW = dt.timedelta(days=7)
MINIMUM_CALLS = 20  # fewer answered calls in the window: the default stands
SAMPLE = 5000  # the most recent answered calls read, at most
CACHE_KEY = "helpline:handle_seconds"
CACHE_SECONDS = 600
DEFAULT = OTHER_LANGUAGES  # the field for languages with too few calls


def handle_seconds(
    talks: Iterable[tuple[str, float]], wrap_up: int, minimum: int = MINIMUM_CALLS
) -> dict[str, int]:
    """Mean talk time plus wrap-up for each language with at least `minimum` calls.

    `talks` are (language, seconds from answer to end) of answered calls.
    """
    by_language: dict[str, list[float]] = defaultdict(list)
    for language, seconds in talks:
        if seconds >= 0:
            by_language[language].append(seconds)
    return {
        language: round(statistics.fmean(seconds)) + wrap_up
        for language, seconds in by_language.items()
        if len(seconds) >= minimum
    }


def recent_talks(session: DbSession, now: dt.datetime) -> list[tuple[str, float]]:
    """(language, talk seconds) of the most recent answered calls of the last week."""
    rows = session.execute(
        sa.select(Call.language, Call.answered_at, Call.ended_at)
        .where(
            Call.started_at >= now - WINDOW,
            Call.answered_at.is_not(None),
            Call.ended_at.is_not(None),
            Call.language.is_not(None),
        )
        .order_by(Call.started_at.desc())
        .limit(SAMPLE)
    ).all()
    return [
        (row.language, (row.ended_at - row.answered_at).total_seconds())
        for row in rows
        if row.language and row.ended_at and row.answered_at
    ]


def learned(session: DbSession, connection: redis.Redis, policy: Policy) -> Mapping[str, int]:
    """The handle time of each language (DEFAULT for the rest), from Redis or, once it has
    expired there, from the database."""
    cached = connection.hgetall(CACHE_KEY)
    if cached:
        return {k.decode(): int(v) for k, v in cached.items()}  # type: ignore[union-attr]
    found: dict[str, int] = {
        DEFAULT: DEFAULT_HANDLE_SECONDS,
        **handle_seconds(recent_talks(session, utcnow()), policy.wrap_up_seconds),
    }
    pipe = connection.pipeline()
    fields: Mapping[Any, Any] = found  # redis-py's mapping types are invariant
    pipe.hset(CACHE_KEY, mapping=fields)
    pipe.expire(CACHE_KEY, CACHE_SECONDS)
    pipe.execute()
    return found
