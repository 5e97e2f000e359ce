"""After a purge: the recordings whose audio the provider must still delete, and the record
of each run's deletions. The deleting itself (Twilio's REST API) is the purge job's
(`tasks/retention.py`); everything here takes the session and leaves the commit to it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.models import DestructionLog, Recording
from helpline.models.base import DbSession
from helpline.privacy.retention import PROVIDER_KIND, Policy, at_provider, cutoffs


def list_waiting(session: DbSession, after_id: int, limit: int) -> list[tuple[int, str]]:
    """The next destroyed recordings (id, RecordingSid) after `after_id` still at the provider."""
    rows = session.execute(at_provider().where(Recording.id > after_id).limit(limit)).all()
    return [(int(row[0]), str(row[1])) for row in rows]


def mark_deleted(session: DbSession, recording_id: int, now: dt.datetime) -> None:
    """The provider confirmed that the recording's audio is gone."""
    session.execute(
        sa.update(Recording)
        .where(Recording.id == recording_id, Recording.provider_deleted_at.is_(None))
        .values(provider_deleted_at=now)
    )


def log_run(
    session: DbSession,
    policy: Policy,
    run_id: str,
    now: dt.datetime,
    actor: audit.Actor,
    *,
    deleted: int,
    failed: int,
) -> None:
    """One destruction-log row for the run's deletions at the provider, and its audit entry."""
    session.add(
        DestructionLog(
            run_id=run_id,
            kind=PROVIDER_KIND,
            performed_at=now,
            cutoff=cutoffs(policy, now)["recordings"],
            count=deleted,
            actor_label=actor.label[:120],
            details={"failed": failed} if failed else {},
        )
    )
    audit.record(
        session,
        "recordings_deleted_at_provider",
        actor,
        target_type="destruction_log",
        target_id=run_id,
        details={"deleted": deleted, "failed": failed},
    )
