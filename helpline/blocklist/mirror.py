"""The block list's Redis mirror, so that `/voice/incoming` checks a number with one `EXISTS`.

- `helpline:blocked:<index>` exists while an entry for that number is active (its TTL is
  the entry's remaining time);
- `helpline:blocked:loaded` says the mirror is complete. It lives for an hour, so the
  mirror is reloaded from the database at least hourly, and at once after Redis restarts
  empty.

A hit in Redis is confirmed in the database (blocked callers are rare, so this costs
nothing on the common path, and an entry removed a moment ago never blocks). When Redis
cannot answer, the database answers alone: the IVR must still pick up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import redis

from helpline.blocklist.entries import active_entry, list_active
from helpline.models import BlockedNumber
from helpline.models.base import DbSession
from helpline.privacy import crypto as privacy

log = logging.getLogger(__name__)

KEY_PREFIX = "helpline:blocked:"
LOADED_KEY = "helpline:blocked:loaded"
LOADED_SECONDS = 3600


@dataclasses.dataclass(frozen=True)
class Check:
    """The answer for one incoming number, and where it came from (for the tests)."""

    is_blocked: bool
    source: str  # "redis", "database" (Redis down or confirming a hit) or "none"


def _key(index: str) -> str:
    return KEY_PREFIX + index


def mirror_entry(connection: redis.Redis, entry: BlockedNumber, now: dt.datetime) -> None:
    """After the commit: make Redis agree with one entry (set with its TTL, or delete).

    When Redis is down the mirror is only forgotten (the check falls back to the
    database, and the mirror is reloaded within the hour).
    """
    try:
        remaining = int((entry.expires_at - now).total_seconds())
        if entry.is_active(now) and remaining > 0:
            connection.set(_key(entry.number_index), "1", ex=remaining)
        else:
            connection.delete(_key(entry.number_index))
    except redis.RedisError:
        log.warning("block list: Redis unreachable; the mirror will be reloaded")


def load_mirror(session: DbSession, connection: redis.Redis, now: dt.datetime) -> int:
    """Write every active entry to Redis, then mark the mirror complete; returns the count."""
    entries = list_active(session, now)
    pipe = connection.pipeline(transaction=False)
    for entry in entries:
        remaining = int((entry.expires_at - now).total_seconds())
        if remaining > 0:
            pipe.set(_key(entry.number_index), "1", ex=remaining)
    pipe.set(LOADED_KEY, now.isoformat(), ex=LOADED_SECONDS)
    pipe.execute()
    return len(entries)


def check(
    session: DbSession, connection: redis.Redis, raw_number: str | None, now: dt.datetime
) -> Check:
    """Is this incoming number blocked now? Redis first; the database when Redis cannot say."""
    e164 = privacy.try_normalise_number(raw_number)
    if e164 is None:
        return Check(False, "none")  # a withheld number cannot be on the list
    index = privacy.keyring().blind_index(e164)
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.exists(LOADED_KEY)
        pipe.exists(_key(index))
        loaded, hit = pipe.execute()
        if not loaded:
            load_mirror(session, connection, now)
        elif not hit:
            return Check(False, "redis")
    except redis.RedisError:
        log.warning("block list: Redis unreachable; checking the database")
    return Check(active_entry(session, index, now) is not None, "database")
