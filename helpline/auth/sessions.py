"""Server-side console sessions.

The browser's signed cookie carries a random token; only its SHA-256 is stored. A
session ends on logout, after an idle period, at an absolute age, or when the account
is deactivated. Each of those revokes the row, so a replayed cookie authenticates nobody.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from helpline.models import LoginSession, Staff, utcnow
from helpline.models.base import DbSession

TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclasses.dataclass(frozen=True)
class Lifetimes:
    idle: dt.timedelta
    absolute: dt.timedelta


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start(
    session: DbSession,
    staff: Staff,
    lifetimes: Lifetimes,
    *,
    ip_address: str | None,
    user_agent: str | None,
) -> str:
    """Create a session for staff and return its token (shown to the browser only)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=token_hash(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetimes.absolute,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    return token


def resume(
    session: DbSession, token: str, lifetimes: Lifetimes, *, touch: bool = True
) -> LoginSession | None:
    """The live session for a token, or None; expires idle and over-age sessions.

    `touch=False` for a page's own background polling: it is not the person's activity,
    so it does not keep an idle session alive.
    """
    row = session.scalars(
        sa.select(LoginSession).where(LoginSession.token_hash == token_hash(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if not row.staff.is_active or now >= row.expires_at or now - row.last_seen_at > lifetimes.idle:
        row.revoked_at = now
        session.commit()
        return None
    if touch and now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return row


def end(session: DbSession, token: str) -> bool:
    """Revoke one session. True if it was live."""
    result = session.execute(
        sa.update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all(session: DbSession, staff_id: int) -> int:
    """Revoke every live session of a member of staff; returns how many."""
    result = session.execute(
        sa.update(LoginSession)
        .where(LoginSession.staff_id == staff_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def purge_expired(session: DbSession, older_than: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Delete sessions that ended long ago; they hold nothing the audit log does not."""
    cutoff = utcnow() - older_than
    result = session.execute(
        sa.delete(LoginSession).where(
            sa.or_(LoginSession.expires_at < cutoff, LoginSession.revoked_at < cutoff)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
