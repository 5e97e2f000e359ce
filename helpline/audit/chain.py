"""Append to the hash-chained audit log, and verify the chain.

Entries are written in the same transaction as the action they describe: if the action
rolls back, so does its entry. Appends lock the single `audit_head` row, so the chain
never forks, however many processes write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from helpline.models import AuditEntry, AuditHead, utcnow
from helpline.models.base import DbSession

GENESIS_HASH = "0" * 64


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who acts: a member of staff, or a named system component."""

    label: str
    staff_id: int | None = None


@dataclasses.dataclass(frozen=True)
class RequestInfo:
    ip_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system")


def entry_digest(entry: AuditEntry) -> str:
    """The SHA-256 over every field of an entry and the hash before it."""
    payload = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "ip_address": entry.ip_address,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def record(
    session: DbSession,
    action: str,
    actor: Actor,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
    request: RequestInfo | None = None,
) -> AuditEntry:
    """Append an entry to the chain. The caller commits (together with the action)."""
    head = session.execute(
        sa.select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:  # a database emptied by hand; the migration creates the row
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
    info = request or RequestInfo()
    entry = AuditEntry(
        seq=head.last_seq + 1,
        occurred_at=utcnow(),
        actor_id=actor.staff_id,
        actor_label=actor.label[:120],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip_address=info.ip_address,
        user_agent=(info.user_agent or "")[:255] or None,
        request_id=info.request_id,
        details=dict(details or {}),
        prev_hash=head.last_hash,
    )
    # Round-trip details through JSON now, so the hash sees what the database returns.
    entry.details = json.loads(json.dumps(entry.details, sort_keys=True))
    entry.entry_hash = entry_digest(entry)
    head.last_seq = entry.seq
    head.last_hash = entry.entry_hash
    session.add(entry)
    session.flush()
    return entry


@dataclasses.dataclass(frozen=True)
class ChainProblem:
    seq: int
    entry_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry seq {self.seq}" + (f" (id {self.entry_id})" if self.entry_id else "")
        return f"{where}: {self.message}"


@dataclasses.dataclass(frozen=True)
class ChainReport:
    checked: int
    problems: tuple[ChainProblem, ...]

    @property
    def is_intact(self) -> bool:
        return not self.problems


def _entries(session: DbSession, after: int = 0, batch: int = 1000) -> Iterator[AuditEntry]:
    last = after
    while True:
        rows = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        for row in rows:  # keep memory flat on long chains
            session.expunge(row)


def verify(session: DbSession) -> ChainReport:
    """Walk the chain and name every entry that was changed, and every gap left by a deletion.

    Entries destroyed by retention (`purge_through`) are not gaps: the walk starts after the
    anchor the head keeps, and the newest `audit_purged` entry must name that anchor."""
    problems: list[ChainProblem] = []
    head = session.get(AuditHead, 1)
    start = head.purged_through if head is not None else 0
    expected_seq, checked = start + 1, 0
    prev_hash = head.purged_through_hash if head is not None else GENESIS_HASH
    if head is not None and start:
        problems.extend(_anchor_problems(session, start, prev_hash))
    for entry in _entries(session, after=start):
        checked += 1
        if entry.seq > expected_seq:
            missing = (
                f"seq {expected_seq}"
                if entry.seq - expected_seq == 1
                else f"seq {expected_seq} to {entry.seq - 1}"
            )
            problems.append(ChainProblem(expected_seq, None, f"deleted ({missing} missing)"))
        recomputed = entry_digest(entry)
        if recomputed != entry.entry_hash:
            problems.append(ChainProblem(entry.seq, entry.id, "changed (its hash does not match)"))
        elif entry.prev_hash != prev_hash and entry.seq == expected_seq:
            problems.append(
                ChainProblem(
                    entry.seq - 1,
                    None,
                    "changed or replaced (the next entry's link does not match it)",
                )
            )
        expected_seq, prev_hash = entry.seq + 1, entry.entry_hash

    if head is not None and head.last_seq >= expected_seq:
        missing = (
            f"seq {expected_seq}"
            if head.last_seq == expected_seq
            else f"seq {expected_seq} to {head.last_seq}"
        )
        problems.append(ChainProblem(expected_seq, None, f"deleted ({missing} missing at the end)"))
    elif head is not None and head.last_seq == expected_seq - 1 and head.last_hash != prev_hash:
        problems.append(
            ChainProblem(head.last_seq, None, "changed (the chain head does not match it)")
        )
    return ChainReport(checked=checked, problems=tuple(problems))


PURGED = "audit_purged"


def _anchor_problems(session: DbSession, through: int, through_hash: str) -> list[ChainProblem]:
    """The head's purge anchor must be the one the newest `audit_purged` entry recorded."""
    newest = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == PURGED, AuditEntry.seq > through)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if newest is None or (
        newest.details.get("through_seq") != through
        or newest.details.get("through_hash") != through_hash
    ):
        return [
            ChainProblem(
                through, None, "the purge anchor matches no audit_purged entry (moved by hand?)"
            )
        ]
    return []


def purge_through(session: DbSession, through: int, actor: Actor, *, cutoff: dt.datetime) -> int:
    """Destroy the entries up to seq `through` (retention), keeping the chain checkable.

    In the caller's transaction: an `audit_purged` entry naming the last destroyed entry
    and its hash is appended first, the head's anchor moves to it, and only then are the
    entries deleted (the database guard lets a DELETE through only up to the anchor).
    Returns how many entries were deleted."""
    head = session.execute(
        sa.select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    if through <= head.purged_through:
        return 0
    last = session.scalars(sa.select(AuditEntry).where(AuditEntry.seq == through)).one()
    record(
        session,
        PURGED,
        actor,
        target_type="audit_entry",
        details={
            "from_seq": head.purged_through + 1,
            "through_seq": through,
            "through_hash": last.entry_hash,
            "cutoff": cutoff.astimezone(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    head.purged_through = through
    head.purged_through_hash = last.entry_hash
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL helpline.audit_purge = 'on'"))
    deleted = session.execute(sa.delete(AuditEntry).where(AuditEntry.seq <= through))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL helpline.audit_purge = 'off'"))
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]
