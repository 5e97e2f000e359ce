"""Jobs of the maintenance queue."""

from __future__ import annotations

import redis
from rq import Retry

from helpline.auth import sessions
from helpline.extensions import db, get_queue
from helpline.journal.store import Journal
from helpline.tasks.dispatch import free_stuck_staff
from helpline.tasks.periodic import enqueue_once
from helpline.telephony.client import rest_client
from helpline.web import settings

STAFF_RECONCILE_KEY = "helpline:maintenance:staff-reconcile"
STAFF_RECONCILE_SECONDS = 60
JOURNAL_REPLAY_KEY = "helpline:maintenance:journal-replay"
JOURNAL_REPLAY_SECONDS = 15


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


def reconcile_staff() -> None:
    """Free staff whose live state is stuck: in a call the database has ended, or kept
    for an offer whose leg is over. A status callback that came while Redis was briefly
    unreachable is lost, and a Redis that kept its data is never rebuilt; this runs every
    STAFF_RECONCILE_SECONDS (`enqueue_staff_reconcile`), and asks the provider only about
    the legs of staff who look stuck."""
    client = rest_client(settings())
    try:
        free_stuck_staff(client)
    finally:
        client.http_client.session.close()


def enqueue_staff_reconcile(connection: redis.Redis) -> bool:
    """Queue `reconcile_staff` unless one was queued in the last STAFF_RECONCILE_SECONDS
    (by any worker, between its jobs)."""
    return enqueue_once(
        connection, STAFF_RECONCILE_KEY, STAFF_RECONCILE_SECONDS, reconcile_staff, "reconcile-staff"
    )


def replay_journal() -> int:
    """Replay the outage journal (helpline/journal) into the call log: every process's
    file in this instance's journal folder. Returns how many entries were written."""
    from flask import current_app

    from helpline.journal import replay

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return replay.replay(app).written


def enqueue_journal_replay(connection: redis.Redis, journal: Journal) -> bool:
    """Queue `replay_journal` when the journal holds anything, at most once every
    JOURNAL_REPLAY_SECONDS (by any worker, between its jobs)."""
    if not journal.has_files():
        return False
    return enqueue_once(
        connection, JOURNAL_REPLAY_KEY, JOURNAL_REPLAY_SECONDS, replay_journal, "replay-journal"
    )
