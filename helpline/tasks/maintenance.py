"""Jobs of the maintenance queue."""

from __future__ import annotations

import logging

import redis
from rq import Retry
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from helpline.auth import sessions
from helpline.extensions import db, get_queue, get_redis
from helpline.journal.store import Journal
from helpline.models import Call, utcnow
from helpline.models.enums import PresenceState
from helpline.routing import live, offers, presence, rebuild
from helpline.routing.legs import end_leg
from helpline.tasks.dispatch import enqueue_finish_wrap_up
from helpline.tasks.periodic import enqueue_once
from helpline.telephony.client import rest_client
from helpline.voice.params import TERMINAL_STATUSES
from helpline.web import settings

log = logging.getLogger(__name__)
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


def reconcile_calls() -> int:
    """Ask the telephony provider about every call the database thinks is live, and end
    those that are over (their status callback was lost, or came while Redis was down).
    Returns how many were ended."""
    from helpline.voice import calls

    client = rest_client(settings())
    ended = 0
    try:
        for call_id, call_sid in rebuild.live_call_sids(db.session):
            try:
                status = client.calls(call_sid).fetch().status
            except TwilioException:
                continue  # unknown to the provider: leave it for a person to look at
            if str(status) not in TERMINAL_STATUSES:
                continue
            call = db.session.get(Call, call_id)
            if call is None:
                continue
            calls.end_call(db.session, call, utcnow())
            offers.abandon(db.session, live.reservations(), call.id)
            db.session.commit()
            ended += 1
        _free_staff(client)
    finally:
        client.http_client.session.close()
    return ended


def reconcile_staff() -> None:
    """Free staff whose live state is stuck: in a call the database has ended, or kept
    for an offer whose leg is over. A status callback that came while Redis was briefly
    unreachable is lost, and a Redis that kept its data is never rebuilt; this runs every
    STAFF_RECONCILE_SECONDS (`enqueue_staff_reconcile`), and asks the provider only about
    the legs of staff who look stuck."""
    client = rest_client(settings())
    try:
        _free_staff(client)
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


def _free_staff(client: Client) -> None:
    _free_staff_of_ended_calls(client)
    _free_staff_of_ended_offers(client)


def _on_the_line(client: Client, sid: str) -> bool:
    """Does the provider say this leg is still going? (Unknown to it: nothing is.)"""
    try:
        return str(client.calls(sid).fetch().status) not in TERMINAL_STATUSES
    except TwilioException:
        return False


def _free_staff_of_ended_calls(client: Client) -> None:
    """Staff still marked in a call that has ended: hang up their leg if the provider says
    it is still on the line (its status callback then sends them to wrap-up, as after any
    call); if it is over, send them to wrap-up now."""
    connection = get_redis()
    wrap_up = live.policy().wrap_up_seconds
    for staff_id, call_id in rebuild.busy_in_ended_calls(db.session, connection):
        sid = rebuild.leg_sid(db.session, call_id, staff_id)
        if sid is not None and _on_the_line(client, sid):
            end_leg(client, sid)
            continue
        presence.set_state(
            connection,
            db.session,
            staff_id,
            PresenceState.WRAP_UP,
            reason="after_call",
            system=True,
        )
        db.session.commit()
        since = presence.live_state(connection, staff_id).get("since", "")
        enqueue_finish_wrap_up(staff_id, since, wrap_up)


def _free_staff_of_ended_offers(client: Client) -> None:
    """Staff kept from calls while an offer's leg may still be on their phone: free them
    when the provider says that leg is over (its status callback was lost, or came while
    Redis was down); a leg still on the line frees them when it ends."""
    connection = get_redis()
    for staff_id, call_id, offer in rebuild.lingering_offers(connection):
        sid = rebuild.leg_sid(db.session, call_id, staff_id)
        if sid is not None and _on_the_line(client, sid):
            continue
        live.reservations().hung_up(call_id, staff_id, offer=offer)


def enqueue_reconcile_calls() -> None:
    try:
        get_queue("maintenance").enqueue(
            reconcile_calls, job_id="maintenance-reconcile-calls", retry=Retry(max=2)
        )
    except redis.RedisError:
        log.warning("reconciling calls with the provider not enqueued: Redis unreachable")
