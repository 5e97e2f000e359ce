"""Jobs of the maintenance queue."""

from __future__ import annotations

from rq import Retry

from helpline.auth import sessions
from helpline.extensions import db, get_queue


def purge_login_sessions() -> int:
    """Delete console sessions that ended more than 30 days ago."""
    purged = sessions.purge_expired(db.session)
    db.session.commit()
    return purged


def enqueue_purge_login_sessions() -> str:
    job = get_queue("maintenance").enqueue(
        purge_login_sessions, job_id="maintenance-purge-login-sessions", retry=Retry(max=3)
    )
    return str(job.id)
