"""Retention: how long each kind of personal data is kept, and its destruction.

The periods live in `retention.yaml` in the data folder (`HELPLINE_DATA_PATH`, see
data/README.md). `load_policy` checks the file; `cutoffs` is pure; `preview` counts what
a purge would destroy now without changing anything; `purge` destroys it in the caller's
transaction, writes one `DestructionLog` row per kind and one `data_destroyed` audit entry.

What each kind means, and what destroying it does:

- `recordings`: a call's recordings, by when they were made. The reference (the URL at
  the provider) is blanked and `purged_at` set; the row stays, so the call detail can say
  a recording existed and was destroyed. The purge job then deletes the audio at the
  provider (`tasks/retention.py`, with `privacy/provider_audio.py`), and sets
  `provider_deleted_at` once it is gone; one the provider could not delete is tried
  again at the next run.
- `notes`: a contact record's free text (the summary, in every version, and referral
  destinations), by when the record was created. Codes stay: categories, risk level,
  referral kinds, so the statistics still add up.
- `referral_notes`: a referral's free text (each step's note, such as a decline's
  reason, and the note of the service provided), by when the referral was made. The
  referral and its steps stay (kind, statuses, dates, who took each step, what service),
  so the loop's figures still add up; the destination's name goes with `notes`.
- `caller_numbers`: a caller's phone number (encrypted) and its blind index, by when the
  caller last called. The caller row stays without a number, so past calls and
  callbacks keep their history; a later call from that number starts a new caller.
  Callers with a callback still pending are left until it is done.
- `audit`: audit entries by when they were written. Only a prefix of the chain can go:
  `audit.purge_through` appends an `audit_purged` entry naming the last destroyed entry
  and its hash, moves the head's anchor there, and deletes the entries before it;
  `helpline audit verify` checks the chain from the anchor on.
- `cases`: closed cases, by when they were closed. The case goes with everything kept
  for it: status, risk and assignment histories, linked persons, its plan, notes and
  wellbeing measures; its contact records stay (their own kinds apply) without it.
- `persons`: person profiles with no case of their own and no link to any case, by
  their last activity (`Person.updated_at`). The profile goes with its numbers' links,
  consents and wellbeing measures; the callers stay (`caller_numbers` applies).
- the destruction log itself is kept `destruction_log_days` (at least three years).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.ivr.yamlsource import LineMap, load_schema_1
from helpline.models import (
    AuditEntry,
    AuditHead,
    CallbackRequest,
    Caller,
    Case,
    CasePerson,
    ContactRecord,
    ContactRecordVersion,
    DestructionLog,
    Person,
    Recording,
    Referral,
    ReferralStep,
)
from helpline.models.base import DbSession
from helpline.models.enums import CallbackStatus, CaseStatus

FILE = "retention.yaml"
KINDS = ("recordings", "notes", "referral_notes", "caller_numbers", "cases", "persons", "audit")
LOG_KIND = "destruction_log"
PROVIDER_KIND = "provider_recordings"  # audio deleted at the provider, after the purge
MAX_PURGE_INTERVAL_DAYS = 183  # KVKK: periodic destruction at most every six months
MIN_LOG_DAYS = 3 * 365  # KVKK: destruction logs kept three years
PURGED_INDEX = "purged:"  # a destroyed number's blind index: "purged:<caller id>"
LABELS = {
    "recordings": "Call recordings",
    "notes": "Contact record notes",
    "referral_notes": "Referral notes",
    "caller_numbers": "Caller phone numbers",
    "cases": "Closed cases (plan, notes, wellbeing)",
    "persons": "Person profiles without a case",
    "audit": "Audit log entries",
    LOG_KIND: "Destruction log rows",
    PROVIDER_KIND: "Recording audio at the provider",
}


class RetentionError(ValueError):
    """retention.yaml cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Policy:
    periods: Mapping[str, int]  # kind -> days kept
    purge_every_days: int
    destruction_log_days: int


def _days(data: LineMap, key: str, path: Path, low: int, high: int | None = None) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise RetentionError(f"{path}:{data.line_of(key)}: `{key}:` must be whole days >= {low}")
    if high is not None and value > high:
        raise RetentionError(
            f"{path}:{data.line_of(key)}: `{key}:` must be at most {high} days "
            "(KVKK: destruction at intervals of no more than six months)"
        )
    return value


def load_policy(path: Path) -> Policy:
    """Read retention.yaml; RetentionError naming the file and line if it is unusable."""
    data = load_schema_1(path, RetentionError, "the retention periods")
    unknown = set(data) - {"schema", "periods", "purge_every_days", "destruction_log_days"}
    if unknown:
        raise RetentionError(f"{path}:1: unknown key(s): {', '.join(sorted(unknown))}")
    periods = data.get("periods")
    if not isinstance(periods, LineMap):
        raise RetentionError(f"{path}:{data.line_of('periods')}: `periods:` maps kinds to days")
    extra = set(periods) - set(KINDS)
    missing = set(KINDS) - set(periods)
    if extra or missing:
        raise RetentionError(
            f"{path}:{data.line_of('periods')}: `periods:` needs exactly {', '.join(KINDS)}"
            + (f" (unknown: {', '.join(sorted(extra))})" if extra else "")
            + (f" (missing: {', '.join(sorted(missing))})" if missing else "")
        )
    return Policy(
        periods={kind: _days(periods, kind, path, 1) for kind in KINDS},
        purge_every_days=_days(data, "purge_every_days", path, 1, MAX_PURGE_INTERVAL_DAYS),
        destruction_log_days=_days(data, "destruction_log_days", path, MIN_LOG_DAYS),
    )


def cutoffs(policy: Policy, now: dt.datetime) -> dict[str, dt.datetime]:
    """For each kind (and the destruction log), the instant before which it is past due."""
    found = {kind: now - dt.timedelta(days=days) for kind, days in policy.periods.items()}
    found[LOG_KIND] = now - dt.timedelta(days=policy.destruction_log_days)
    return found


def kept_days(policy: Policy) -> dict[str, int]:
    """How long each row of the preview is kept, in days."""
    return {
        **policy.periods,
        LOG_KIND: policy.destruction_log_days,
        PROVIDER_KIND: policy.periods["recordings"],
    }


def next_due(policy: Policy, last_run: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the next purge must run: an interval after the last one, or now."""
    if last_run is None:
        return now
    return max(now, last_run + dt.timedelta(days=policy.purge_every_days))


# --- what is past due, as queries ---------------------------------------------------------


def _recordings(cutoff: dt.datetime) -> sa.Select[int]:
    return sa.select(Recording.id).where(
        Recording.created_at < cutoff, Recording.purged_at.is_(None)
    )


def _notes(cutoff: dt.datetime) -> sa.Select[int]:
    with_text = sa.or_(
        ContactRecord.summary_encrypted.is_not(None),
        sa.exists().where(
            ContactRecordVersion.contact_record_id == ContactRecord.id,
            ContactRecordVersion.summary_encrypted.is_not(None),
        ),
        sa.exists().where(
            Referral.contact_record_id == ContactRecord.id, Referral.destination.is_not(None)
        ),
    )
    return sa.select(ContactRecord.id).where(ContactRecord.created_at < cutoff, with_text)


def _referral_notes(cutoff: dt.datetime) -> sa.Select[int]:
    with_text = sa.or_(
        Referral.service_note_encrypted.is_not(None),
        sa.exists().where(
            ReferralStep.referral_id == Referral.id, ReferralStep.note_encrypted.is_not(None)
        ),
    )
    return sa.select(Referral.id).where(Referral.created_at < cutoff, with_text)


def _caller_numbers(cutoff: dt.datetime) -> sa.Select[int]:
    pending = sa.exists().where(
        CallbackRequest.caller_id == Caller.id,
        CallbackRequest.status.in_([CallbackStatus.PENDING.value, CallbackStatus.CLAIMED.value]),
    )
    return sa.select(Caller.id).where(
        Caller.last_seen_at < cutoff,
        Caller.number_index.not_like(f"{PURGED_INDEX}%"),
        ~pending,
    )


def _cases(cutoff: dt.datetime) -> sa.Select[int]:
    return sa.select(Case.id).where(Case.status == CaseStatus.CLOSED.value, Case.closed_at < cutoff)


def _persons(cutoff: dt.datetime) -> sa.Select[int]:
    own = sa.exists().where(Case.person_id == Person.id)
    linked = sa.exists().where(CasePerson.person_id == Person.id)
    return sa.select(Person.id).where(Person.updated_at < cutoff, ~own, ~linked)


def _audit_through(session: DbSession, cutoff: dt.datetime) -> tuple[int, int]:
    """(from, through): the audit entries past due, as a range of seq; empty if from > through.

    Only a prefix of the chain can go, so it ends before the first entry still within its
    period, even if a later one (a clock set back) is older."""
    head = session.get(AuditHead, 1)
    start = (head.purged_through if head is not None else 0) + 1
    first_kept = session.scalar(
        sa.select(AuditEntry.seq)
        .where(AuditEntry.seq >= start, AuditEntry.occurred_at >= cutoff)
        .order_by(AuditEntry.seq)
        .limit(1)
    )
    if first_kept is not None:
        return start, int(first_kept) - 1
    return start, int(session.scalar(sa.select(sa.func.max(AuditEntry.seq))) or 0)


def at_provider() -> sa.Select[int, str]:
    """Recordings destroyed here whose audio the provider has not yet confirmed deleted."""
    return (
        sa.select(Recording.id, Recording.recording_sid)
        .where(Recording.purged_at.is_not(None), Recording.provider_deleted_at.is_(None))
        .order_by(Recording.id)
    )


def _log_rows(cutoff: dt.datetime) -> sa.Select[int]:
    return sa.select(DestructionLog.id).where(DestructionLog.performed_at < cutoff)


@dataclasses.dataclass(frozen=True)
class Due:
    kind: str
    cutoff: dt.datetime
    count: int

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def _count(session: DbSession, query: sa.Select[int]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def preview(session: DbSession, policy: Policy, now: dt.datetime) -> list[Due]:
    """What a purge run now would destroy, kind by kind; changes nothing."""
    cut = cutoffs(policy, now)
    start, through = _audit_through(session, cut["audit"])
    return [
        Due("recordings", cut["recordings"], _count(session, _recordings(cut["recordings"]))),
        Due("notes", cut["notes"], _count(session, _notes(cut["notes"]))),
        Due(
            "referral_notes",
            cut["referral_notes"],
            _count(session, _referral_notes(cut["referral_notes"])),
        ),
        Due(
            "caller_numbers",
            cut["caller_numbers"],
            _count(session, _caller_numbers(cut["caller_numbers"])),
        ),
        Due("cases", cut["cases"], _count(session, _cases(cut["cases"]))),
        Due("persons", cut["persons"], _count(session, _persons(cut["persons"]))),
        Due("audit", cut["audit"], max(0, through - start + 1)),
        Due(LOG_KIND, cut[LOG_KIND], _count(session, _log_rows(cut[LOG_KIND]))),
        Due(
            PROVIDER_KIND,
            cut["recordings"],
            _count(session, _recordings(cut["recordings"]))
            + int(
                session.scalar(sa.select(sa.func.count()).select_from(at_provider().subquery()))
                or 0
            ),
        ),
    ]


def _ids(session: DbSession, query: sa.Select[int]) -> list[int]:
    return list(session.scalars(query))


def _destroy_recordings(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    ids = _ids(session, _recordings(cutoff))
    if ids:
        session.execute(
            sa.update(Recording).where(Recording.id.in_(ids)).values(url="", purged_at=now)
        )
    return len(ids)


def _destroy_notes(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    ids = _ids(session, _notes(cutoff))
    if ids:
        session.execute(
            sa.update(ContactRecord).where(ContactRecord.id.in_(ids)).values(summary_encrypted=None)
        )
        session.execute(
            sa.update(ContactRecordVersion)
            .where(ContactRecordVersion.contact_record_id.in_(ids))
            .values(summary_encrypted=None)
        )
        session.execute(
            sa.update(Referral).where(Referral.contact_record_id.in_(ids)).values(destination=None)
        )
    return len(ids)


def _destroy_referral_notes(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    ids = _ids(session, _referral_notes(cutoff))
    if ids:
        session.execute(
            sa.update(Referral).where(Referral.id.in_(ids)).values(service_note_encrypted=None)
        )
        session.execute(
            sa.update(ReferralStep)
            .where(ReferralStep.referral_id.in_(ids))
            .values(note_encrypted=None)
        )
    return len(ids)


def _destroy_numbers(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    ids = _ids(session, _caller_numbers(cutoff))
    for caller_id in ids:
        session.execute(
            sa.update(Caller)
            .where(Caller.id == caller_id)
            .values(number_index=f"{PURGED_INDEX}{caller_id}", number_encrypted="")
        )
    return len(ids)


def _destroy_cases(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Delete closed cases; their histories, plan, notes and measures go by ON DELETE
    CASCADE, and their contact records lose the link (SET NULL)."""
    ids = _ids(session, _cases(cutoff))
    if ids:
        session.execute(
            sa.delete(Case).where(Case.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)


def _destroy_persons(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Delete profiles without cases; links, consents and measures go by CASCADE."""
    ids = _ids(session, _persons(cutoff))
    if ids:
        session.execute(
            sa.delete(Person).where(Person.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)


def _destroy_log_rows(session: DbSession, cutoff: dt.datetime, now: dt.datetime) -> int:
    deleted = session.execute(sa.delete(DestructionLog).where(DestructionLog.performed_at < cutoff))
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]


_DESTROY = {
    "recordings": _destroy_recordings,
    "notes": _destroy_notes,
    "referral_notes": _destroy_referral_notes,
    "caller_numbers": _destroy_numbers,
    "cases": _destroy_cases,
    "persons": _destroy_persons,
    LOG_KIND: _destroy_log_rows,
}


@dataclasses.dataclass(frozen=True)
class Run:
    run_id: str
    performed_at: dt.datetime
    destroyed: tuple[Due, ...]  # every kind, with how many were destroyed

    @property
    def total(self) -> int:
        return sum(due.count for due in self.destroyed)


def purge(session: DbSession, policy: Policy, now: dt.datetime, actor: audit.Actor) -> Run:
    """Destroy everything past its retention; the caller commits.

    One DestructionLog row per kind (kinds with nothing to destroy too, so the log shows
    that the periodic destruction ran), and one `data_destroyed` audit entry."""
    run_id = secrets.token_hex(8)
    cut = cutoffs(policy, now)
    destroyed: list[Due] = []
    details: dict[str, dict[str, Any]] = {kind: {} for kind in (*KINDS, LOG_KIND)}
    # The older destruction-log rows go first, so this run's own rows are never counted.
    destroyed.append(Due(LOG_KIND, cut[LOG_KIND], _destroy_log_rows(session, cut[LOG_KIND], now)))
    # Cases before persons: a profile whose last case goes now can go in the same run.
    for kind in ("recordings", "notes", "referral_notes", "caller_numbers", "cases", "persons"):
        destroyed.append(Due(kind, cut[kind], _DESTROY[kind](session, cut[kind], now)))
    start, through = _audit_through(session, cut["audit"])
    audit_count = 0
    if through >= start:
        audit_count = audit.purge_through(session, through, actor, cutoff=cut["audit"])
        details["audit"] = {"from_seq": start, "through_seq": through}
    destroyed.append(Due("audit", cut["audit"], audit_count))
    for due in destroyed:
        session.add(
            DestructionLog(
                run_id=run_id,
                kind=due.kind,
                performed_at=now,
                cutoff=due.cutoff,
                count=due.count,
                actor_label=actor.label[:120],
                details=details[due.kind],
            )
        )
    audit.record(
        session,
        "data_destroyed",
        actor,
        target_type="destruction_log",
        target_id=run_id,
        details={due.kind: due.count for due in destroyed},
    )
    session.flush()
    return Run(run_id=run_id, performed_at=now, destroyed=tuple(destroyed))


def last_run(session: DbSession) -> dt.datetime | None:
    """When the newest purge ran (any kind), from the destruction log."""
    found: dt.datetime | None = session.scalar(sa.select(sa.func.max(DestructionLog.performed_at)))
    return found


def list_log(session: DbSession, limit: int = 200) -> list[DestructionLog]:
    return list(
        session.scalars(
            sa.select(DestructionLog)
            .order_by(DestructionLog.performed_at.desc(), DestructionLog.id.desc())
            .limit(limit)
        )
    )
