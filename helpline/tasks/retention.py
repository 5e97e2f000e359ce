"""The retention purge on the maintenance queue, scheduled to repeat.

RQ's scheduler (started with every worker) runs jobs at a time. Each purge schedules the
next one `purge_every_days` later, and every worker, when it starts, makes sure one is
scheduled (at once when none ran for longer than that), so the periodic destruction
never lapses while a worker runs. A job's id names its due minute, so two workers
starting together schedule it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from http import HTTPStatus

from flask import current_app
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.registry import ScheduledJobRegistry
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from helpline.audit import chain as audit
from helpline.extensions import db, get_queue
from helpline.models import utcnow
from helpline.privacy import provider_audio, retention
from helpline.telephony.client import rest_client
from helpline.web import settings

log = logging.getLogger(__name__)

JOB_PREFIX = "maintenance-retention-purge-"
ACTOR = audit.Actor("retention purge")


def policy() -> retention.Policy:
    found: retention.Policy = current_app.extensions["helpline.retention"]
    return found


def run_purge(actor: audit.Actor, now: dt.datetime) -> tuple[retention.Run, int]:
    """Destroy what is past its retention and log it, then delete the recordings' audio at
    the provider; the run, and how many recordings the provider deleted."""
    run = retention.purge(db.session, policy(), now, actor)
    db.session.commit()
    log.info("retention purge %s destroyed %d item(s)", run.run_id, run.total)
    return run, delete_at_provider(run.run_id, now, actor=actor)


def purge_retention() -> int:
    """The scheduled purge: run it, then schedule the next one."""
    now = utcnow()
    run, deleted = run_purge(ACTOR, now)
    schedule_purge(now + dt.timedelta(days=policy().purge_every_days))
    return run.total + deleted


def _delete_one(client: Client, recording_sid: str) -> bool:
    """Ask the provider to delete one recording; True once it is gone (404: already)."""
    try:
        client.recordings(recording_sid).delete()
    except TwilioRestException as error:
        return bool(error.status == HTTPStatus.NOT_FOUND)
    except TwilioException:
        return False
    return True


def delete_at_provider(
    run_id: str, now: dt.datetime, batch: int = 500, *, actor: audit.Actor = ACTOR
) -> int:
    """Delete at the provider the audio of every recording destroyed here; each one the
    provider confirms is marked, and logged as one destruction-log row for the run.
    Returns how many were deleted; those that failed wait for the next run."""
    try:
        client = rest_client(settings())
    except ValueError:
        log.warning("recordings not deleted at the provider: no Twilio credentials")
        return 0
    deleted = failed = 0
    last = 0
    try:
        while rows := provider_audio.list_waiting(db.session, last, batch):
            for recording_id, recording_sid in rows:
                last = recording_id
                if not _delete_one(client, recording_sid):
                    failed += 1
                    continue
                provider_audio.mark_deleted(db.session, recording_id, now)
                deleted += 1
            db.session.commit()
    finally:
        client.http_client.session.close()
    provider_audio.log_run(db.session, policy(), run_id, now, actor, deleted=deleted, failed=failed)
    db.session.commit()
    if failed:
        log.warning("%d recording(s) not deleted at the provider; retried next run", failed)
    return deleted


def _job_id(when: dt.datetime) -> str:
    return JOB_PREFIX + when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M")


def schedule_purge(when: dt.datetime) -> str:
    """Schedule a purge at `when` (at once if it is past); returns the job id."""
    queue = get_queue("maintenance")
    job_id = _job_id(when)
    if when <= utcnow():
        queue.enqueue(purge_retention, job_id=job_id, retry=Retry(max=3, interval=60))
    else:
        queue.enqueue_at(when, purge_retention, job_id=job_id, retry=Retry(max=3, interval=60))
    return job_id


def _registry() -> ScheduledJobRegistry:
    return ScheduledJobRegistry(queue=get_queue("maintenance"))  # type: ignore[no-untyped-call]


def pending_purges() -> list[str]:
    """The ids of purge jobs waiting: scheduled, or queued to run now."""
    queue = get_queue("maintenance")
    scheduled = _registry().get_job_ids()
    waiting = [
        job_id for job_id in (*scheduled, *queue.get_job_ids()) if job_id.startswith(JOB_PREFIX)
    ]
    return sorted(waiting)


def ensure_purge_scheduled() -> str | None:
    """At worker start: schedule the next purge unless one is waiting. Returns its id."""
    waiting = pending_purges()
    if waiting:
        return None
    due = retention.next_due(policy(), retention.last_run(db.session), utcnow())
    db.session.rollback()  # release the read's connection before the worker forks
    return schedule_purge(due)


def scheduled_at(job_id: str) -> dt.datetime | None:
    """When a waiting purge job is due (None if it is queued to run now)."""
    try:
        return _registry().get_scheduled_time(job_id)
    except NoSuchJobError:
        return None
