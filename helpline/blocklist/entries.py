"""The block list's entries: callers who abuse the line are refused for a while.

An entry names a number by its blind index (the number is kept only encrypted, never
logged) and expires by itself after the duration chosen for it. The database is the
truth; `blocklist.mirror` keeps the active entries in Redis for the incoming webhook.

Functions take the session, the acting member of staff and the time; the caller commits,
then calls `mirror.mirror_entry` (after the commit, so Redis never holds what did not
commit).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.models import BlockedNumber
from helpline.models.base import DbSession
from helpline.privacy import crypto as privacy

# The durations a supervisor chooses from, in hours; a day unless they choose otherwise.
DURATIONS_HOURS = (1, 6, 24, 72, 168, 720)
DEFAULT_HOURS = 24
REASON_MAX = 200


class BlockError(ValueError):
    """A block or removal that cannot be made; the message is safe to show."""


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
