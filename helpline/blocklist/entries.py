"""The block list: callers who abuse the line are refused for a while, then let back in.

An entry names a number by its blind index (the number is kept only encrypted, never
logged) and expires by itself after the duration chosen for it. The database is the
truth; Redis mirrors the active entries so that `/voice/incoming` checks a number with
one `EXISTS`:

- `helpline:blocked:<index>` exists while an entry for that number is active (its TTL is
  the entry's remaining time);
- `helpline:blocked:loaded` says the mirror is complete. It lives for an hour, so the
  mirror is reloaded from the database at least hourly, and at once after Redis restarts
  empty.

A hit in Redis is confirmed in the database (blocked callers are rare, so this costs
nothing on the common path, and an entry removed a moment ago never blocks). When Redis
cannot answer, the database answers alone: the IVR must still pick up.

Functions take the session, the acting member of staff and the time; the caller commits,
then calls `mirror_*` (after the commit, so Redis never holds what did not commit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import redis
import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.models import BlockedNumber
from helpline.models.base import DbSession
from helpline.privacy import crypto as privacy

log = logging.getLogger(__name__)

KEY_PREFIX = "helpline:blocked:"
LOADED_KEY = "helpline:blocked:loaded"
LOADED_SECONDS = 3600
# The durations a supervisor chooses from, in hours; a day unless they choose otherwise.
DURATIONS_HOURS = (1, 6, 24, 72, 168, 720)
DEFAULT_HOURS = 24
REASON_MAX = 200


class BlockError(ValueError):
    """A block or removal that cannot be made; the message is safe to show."""


@dataclasses.dataclass(frozen=True)
class Check:
    """The answer for one incoming number, and where it came from (for the tests)."""

    is_blocked: bool
    source: str  # "redis", "database" (Redis down or confirming a hit) or "none"


def _key(index: str) -> str:
    return KEY_PREFIX + index


def active_entry(session: DbSession, index: str, now: dt.datetime) -> BlockedNumber | None:
    """The active entry for a number's blind index, if any (the latest to expire)."""
    return session.scalars(
        sa.select(BlockedNumber)
        .where(
            BlockedNumber.number_index == index,
            BlockedNumber.expires_at > now,
            BlockedNumber.removed_at.is_(None),
        )
        .order_by(BlockedNumber.expires_at.desc())
        .limit(1)
    ).first()


def list_active(session: DbSession, now: dt.datetime) -> list[BlockedNumber]:
    """Every active entry, the soonest to expire first."""
    return list(
        session.scalars(
            sa.select(BlockedNumber)
            .where(BlockedNumber.expires_at > now, BlockedNumber.removed_at.is_(None))
            .order_by(BlockedNumber.expires_at, BlockedNumber.id)
        )
    )


def _clean_reason(reason: str | None) -> str | None:
    text = " ".join((reason or "").split())
    if len(text) > REASON_MAX:
        raise BlockError(f"The reason is too long: at most {REASON_MAX} characters.")
    return text or None


def block(
    session: DbSession,
    e164: str,
    hours: int,
    who: audit.Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    call_id: int | None = None,
    request: audit.RequestInfo | None = None,
) -> BlockedNumber:
    """Block a normalised number for `hours`; an active entry is extended, not repeated."""
    if hours not in DURATIONS_HOURS:
        raise BlockError("Choose how long the block lasts from the list.")
    text = _clean_reason(reason)
    index = privacy.keyring().blind_index(e164)
    expires = now + dt.timedelta(hours=hours)
    entry = active_entry(session, index, now)
    if entry is None:
        entry = BlockedNumber(
            number_index=index,
            number_encrypted=e164,
            reason=text,
            call_id=call_id,
            created_by_id=who.staff_id,
            created_at=now,
            expires_at=expires,
        )
        session.add(entry)
    else:
        entry.expires_at = max(entry.expires_at, expires)
        entry.reason = text or entry.reason
    session.flush()
    audit.record(
        session,
        "number_blocked",
        who,
        target_type="blocked_number",
        target_id=entry.id,
        details={
            "hours": hours,
            "expires_at": entry.expires_at.isoformat(timespec="seconds"),
            "call_id": call_id,
            "number": privacy.keyring().pseudonym(e164),
        },
        request=request,
    )
    return entry


def unblock(
    session: DbSession,
    entry_id: int,
    who: audit.Actor,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> BlockedNumber:
    """End an entry before it expires; LookupError if there is no active entry of that id."""
    entry = session.get(BlockedNumber, entry_id)
    if entry is None or not entry.is_active(now):
        raise LookupError(entry_id)
    entry.removed_at = now
    entry.removed_by_id = who.staff_id
    audit.record(
        session,
        "number_unblocked",
        who,
        target_type="blocked_number",
        target_id=entry.id,
        details={"was_to_expire_at": entry.expires_at.isoformat(timespec="seconds")},
        request=request,
    )
    return entry


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
