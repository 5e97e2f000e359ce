"""One timeline of a case, or of a person: calls, contact records, callbacks, referrals
and each of their steps, plan changes, notes, status, risk and assignment changes and
wellbeing measures, newest first, a page at a time.

Each kind of entry comes from its own table by an index on (case or caller, time); a
page takes at most `limit` rows from each, merges them and keeps the newest `limit`.
Pages are keyed by (time, kind, id), so every entry appears exactly once however many
share a time.

A person's timeline is the timelines of their cases that `by` may read, with the calls
from the person's numbers (times and outcomes, no content) and the contact records about
those numbers that `by` wrote. Reading either timeline is audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.cases.access import (
    CaseInvalid,
    Problem,
    actor,
    allows,
    case_subject,
    require_case,
    require_person,
)
from helpline.cases.persons import get_person, linked_caller_ids
from helpline.models import (
    Call,
    CallbackRequest,
    Case,
    CaseAction,
    CaseAssignment,
    CaseNote,
    CasePlanChange,
    CaseRisk,
    CaseStatusChange,
    ContactRecord,
    Referral,
    ReferralStep,
    Staff,
    WellbeingMeasure,
)
from helpline.models.base import DbSession

PAGE = 50
PAGE_MAX = 200


@dataclasses.dataclass(frozen=True, order=True)
class Cursor:
    """Where a page ends: the last entry's time, kind and id."""

    at: dt.datetime
    kind: str
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.kind}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            at, kind, number = text.split("~")
            moment = dt.datetime.fromisoformat(at)
            if moment.tzinfo is None or kind not in KINDS:
                raise ValueError(text)
            return cls(moment, kind, int(number))
        except ValueError:
            raise CaseInvalid([Problem("after", "This page no longer exists.")]) from None


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of a timeline. `data` holds codes and ids; `text` a note's text."""

    at: dt.datetime
    kind: str
    id: int
    case_id: int | None
    staff_id: int | None
    data: dict[str, Any]
    text: str | None = None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.id)


@dataclasses.dataclass(frozen=True)
class Page:
    entries: tuple[Entry, ...]
    next_after: Cursor | None


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a timeline covers: the contact records (a condition), the cases (ids), the
    calls from these numbers, and the person whose wellbeing measures count."""

    records: sa.ColumnElement[bool]
    case_ids: tuple[int, ...]
    caller_ids: tuple[int, ...] = ()
    person_id: int | None = None


@dataclasses.dataclass(frozen=True)
class Source:
    kind: str
    at: Any  # the time column
    id: Any  # the id column
    query: Callable[[Scope], sa.Select[Any]]
    entry: Callable[[Any], Entry]


def _case_records(scope: Scope) -> sa.Select[int]:
    return sa.select(ContactRecord.id).where(scope.records)


_CALL_COLUMNS: tuple[Any, ...] = (
    Call.id, Call.started_at, Call.direction, Call.outcome, Call.counsellor_id,
    Call.duration_seconds, Call.language,
)  # fmt: skip
_RECORD_COLUMNS: tuple[Any, ...] = (
    ContactRecord.id, ContactRecord.created_at, ContactRecord.case_id,
    ContactRecord.counsellor_id, ContactRecord.status, ContactRecord.call_type,
    ContactRecord.risk_level, ContactRecord.categories, ContactRecord.call_id,
)  # fmt: skip
_CALLBACK_COLUMNS: tuple[Any, ...] = (
    CallbackRequest.id, CallbackRequest.created_at, CallbackRequest.reason,
    CallbackRequest.status, CallbackRequest.outcome, CallbackRequest.due_from,
    CallbackRequest.preferred_staff_id,
)  # fmt: skip
_REFERRAL_COLUMNS: tuple[Any, ...] = (
    Referral.id, Referral.created_at, Referral.kind, Referral.status, Referral.province,
    ContactRecord.case_id, ContactRecord.counsellor_id, Referral.contact_record_id,
)  # fmt: skip


def _calls(scope: Scope) -> sa.Select[Any]:
    """The scope's calls: of its records, the attempts of its actions' callbacks, and
    from its numbers. One UNION of ids, each part by an index, rather than an OR."""
    action_callbacks = sa.select(CaseAction.callback_request_id).where(
        CaseAction.case_id.in_(scope.case_ids), CaseAction.callback_request_id.is_not(None)
    )
    parts: list[sa.Select[Any]] = [
        sa.select(ContactRecord.call_id).where(scope.records, ContactRecord.call_id.is_not(None)),
        sa.select(Call.id).where(Call.callback_request_id.in_(action_callbacks)),
    ]
    if scope.caller_ids:
        parts.append(sa.select(Call.id).where(Call.caller_id.in_(scope.caller_ids)))
    return sa.select(*_CALL_COLUMNS).where(Call.id.in_(sa.union(*parts)))


def _call_entry(row: Any) -> Entry:
    data = {"direction": row.direction, "outcome": row.outcome, "language": row.language}
    data["duration_seconds"] = row.duration_seconds
    return Entry(row.started_at, "call", row.id, None, row.counsellor_id, data)


def _records(scope: Scope) -> sa.Select[Any]:
    return sa.select(*_RECORD_COLUMNS).where(scope.records)


def _record_entry(row: Any) -> Entry:
    data = {
        "status": row.status,
        "call_type": row.call_type,
        "risk_level": row.risk_level,
        "categories": list(row.categories),
        "call_id": row.call_id,
    }
    return Entry(row.created_at, "contact_record", row.id, row.case_id, row.counsellor_id, data)


def _callbacks(scope: Scope) -> sa.Select[Any]:
    """The callbacks of the scope's records and of its call actions (a UNION of ids)."""
    ids: sa.CompoundSelect[Any] = sa.union(
        sa.select(CallbackRequest.id).where(
            CallbackRequest.contact_record_id.in_(_case_records(scope))
        ),
        sa.select(CaseAction.callback_request_id).where(
            CaseAction.case_id.in_(scope.case_ids), CaseAction.callback_request_id.is_not(None)
        ),
    )
    return sa.select(*_CALLBACK_COLUMNS).where(CallbackRequest.id.in_(ids))


def _callback_entry(row: Any) -> Entry:
    data = {
        "reason": row.reason,
        "status": row.status,
        "outcome": row.outcome,
        "due_from": row.due_from.isoformat(),
    }
    return Entry(row.created_at, "callback", row.id, None, row.preferred_staff_id, data)


def _referrals(scope: Scope) -> sa.Select[Any]:
    return (
        sa.select(*_REFERRAL_COLUMNS)
        .join(ContactRecord, ContactRecord.id == Referral.contact_record_id)
        .where(scope.records)
    )


def _referral_entry(row: Any) -> Entry:
    data = {
        "kind": row.kind,
        "status": row.status,
        "province": row.province,
        "contact_record_id": row.contact_record_id,
    }
    return Entry(row.created_at, "referral", row.id, row.case_id, row.counsellor_id, data)


_STEP_COLUMNS: tuple[Any, ...] = (
    ReferralStep.id, ReferralStep.at, ReferralStep.status, ReferralStep.by_id,
    Referral.id.label("referral_id"), Referral.kind, ContactRecord.case_id,
)  # fmt: skip


def _referral_steps(scope: Scope) -> sa.Select[Any]:
    """Each step of the scope's referrals (consented, sent, accepted, the service...)."""
    return (
        sa.select(*_STEP_COLUMNS)
        .join(Referral, Referral.id == ReferralStep.referral_id)
        .join(ContactRecord, ContactRecord.id == Referral.contact_record_id)
        .where(scope.records)
    )


def _referral_step_entry(row: Any) -> Entry:
    data = {"referral_id": row.referral_id, "kind": row.kind, "status": row.status}
    return Entry(row.at, "referral_step", row.id, row.case_id, row.by_id, data)


def _plan(scope: Scope) -> sa.Select[Any]:
    return sa.select(CasePlanChange).where(CasePlanChange.case_id.in_(scope.case_ids))


def _plan_entry(row: Any) -> Entry:
    change: CasePlanChange = row[0]
    data = {"kind": change.kind, "goal_id": change.goal_id, "action_id": change.action_id}
    return Entry(
        change.changed_at, "plan_change", change.id, change.case_id, change.changed_by_id, data
    )


def _notes(scope: Scope) -> sa.Select[Any]:
    return sa.select(CaseNote).where(CaseNote.case_id.in_(scope.case_ids))


def _note_entry(row: Any) -> Entry:
    note: CaseNote = row[0]
    return Entry(
        note.written_at, "note", note.id, note.case_id, note.written_by_id, {}, note.text_encrypted
    )


def _statuses(scope: Scope) -> sa.Select[Any]:
    return sa.select(CaseStatusChange).where(CaseStatusChange.case_id.in_(scope.case_ids))


def _status_entry(row: Any) -> Entry:
    change: CaseStatusChange = row[0]
    data = {"from": change.from_status, "to": change.to_status, "reason": change.closure_reason}
    return Entry(change.changed_at, "status", change.id, change.case_id, change.changed_by_id, data)


def _risks(scope: Scope) -> sa.Select[Any]:
    return sa.select(CaseRisk).where(CaseRisk.case_id.in_(scope.case_ids))


def _risk_entry(row: Any) -> Entry:
    risk: CaseRisk = row[0]
    data = {"risk_level": risk.risk_level}
    return Entry(risk.assessed_at, "risk", risk.id, risk.case_id, risk.assessed_by_id, data)


def _assignments(scope: Scope) -> sa.Select[Any]:
    return sa.select(CaseAssignment).where(CaseAssignment.case_id.in_(scope.case_ids))


def _assignment_entry(row: Any) -> Entry:
    given: CaseAssignment = row[0]
    data = {"worker_id": given.worker_id, "site_id": given.site_id}
    return Entry(
        given.assigned_at, "assignment", given.id, given.case_id, given.assigned_by_id, data
    )


def _wellbeing(scope: Scope) -> sa.Select[Any]:
    mine: sa.ColumnElement[bool] = WellbeingMeasure.case_id.in_(scope.case_ids)
    if scope.person_id is not None:  # and those taken outside any case
        outside = sa.and_(
            WellbeingMeasure.person_id == scope.person_id, WellbeingMeasure.case_id.is_(None)
        )
        mine = sa.or_(mine, outside)
    return sa.select(WellbeingMeasure).where(mine)


def _wellbeing_entry(row: Any) -> Entry:
    measure: WellbeingMeasure = row[0]
    data = {
        "occasion": measure.occasion,
        "raw_score": measure.raw_score,
        "percentage": measure.percentage,
    }
    return Entry(
        measure.taken_at, "wellbeing", measure.id, measure.case_id, measure.taken_by_id, data
    )


SOURCES: tuple[Source, ...] = (
    Source("assignment", CaseAssignment.assigned_at, CaseAssignment.id, _assignments,
           _assignment_entry),
    Source("call", Call.started_at, Call.id, _calls, _call_entry),
    Source("callback", CallbackRequest.created_at, CallbackRequest.id, _callbacks, _callback_entry),
    Source("contact_record", ContactRecord.created_at, ContactRecord.id, _records, _record_entry),
    Source("note", CaseNote.written_at, CaseNote.id, _notes, _note_entry),
    Source("plan_change", CasePlanChange.changed_at, CasePlanChange.id, _plan, _plan_entry),
    Source("referral", Referral.created_at, Referral.id, _referrals, _referral_entry),
    Source("referral_step", ReferralStep.at, ReferralStep.id, _referral_steps,
           _referral_step_entry),
    Source("risk", CaseRisk.assessed_at, CaseRisk.id, _risks, _risk_entry),
    Source("status", CaseStatusChange.changed_at, CaseStatusChange.id, _statuses, _status_entry),
    Source("wellbeing", WellbeingMeasure.taken_at, WellbeingMeasure.id, _wellbeing,
           _wellbeing_entry),
)  # fmt: skip
KINDS = frozenset(source.kind for source in SOURCES)


def _before(source: Source, after: Cursor) -> sa.ColumnElement[bool]:
    """The source's rows that come after the cursor in (time, kind, id) descending order."""
    if source.kind > after.kind:
        return sa.and_(source.at < after.at)
    if source.kind < after.kind:
        return sa.and_(source.at <= after.at)
    return sa.or_(source.at < after.at, sa.and_(source.at == after.at, source.id < after.id))


def assemble(session: DbSession, scope: Scope, after: Cursor | None, limit: int) -> Page:
    """A page of the scope's timeline, newest first (no permission check, no audit)."""
    limit = max(1, min(limit, PAGE_MAX))
    found: list[Entry] = []
    for source in SOURCES:
        query = source.query(scope)
        if after is not None:
            query = query.where(_before(source, after))
        query = query.order_by(source.at.desc(), source.id.desc()).limit(limit + 1)
        found += [source.entry(row) for row in session.execute(query).all()]
    found.sort(key=lambda entry: entry.cursor, reverse=True)
    entries = tuple(found[:limit])
    more = len(found) > limit
    return Page(entries, entries[-1].cursor if more else None)


def case_timeline(
    session: DbSession,
    case: Case,
    *,
    by: Staff,
    now: dt.datetime,
    after: Cursor | None = None,
    limit: int = PAGE,
    request: audit.RequestInfo | None = None,
) -> Page:
    """A case's timeline, newest first; audited."""
    require_case(session, "case.read", case, by, now)
    scope = Scope(records=ContactRecord.case_id == case.id, case_ids=(case.id,))
    page = assemble(session, scope, after, limit)
    _audit(session, "case_timeline_viewed", "case", case.id, by, page, request)
    return page


def readable_cases(
    session: DbSession, person_id: int, by: Staff, now: dt.datetime
) -> tuple[int, ...]:
    """The person's own cases `by` may read."""
    cases = session.scalars(sa.select(Case).where(Case.person_id == person_id)).all()
    return tuple(
        case.id for case in cases if allows("case.read", by, case_subject(session, case), now)
    )


def person_timeline(
    session: DbSession,
    person_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    after: Cursor | None = None,
    limit: int = PAGE,
    request: audit.RequestInfo | None = None,
) -> Page:
    """A person's timeline across the cases `by` may read, newest first; audited."""
    person = get_person(session, person_id)
    require_person(session, "person.read", person, by, now)
    case_ids = readable_cases(session, person.id, by, now)
    callers: Sequence[int] = linked_caller_ids(session, person.id)
    own = sa.and_(ContactRecord.caller_id.in_(callers), ContactRecord.counsellor_id == by.id)
    scope = Scope(
        records=sa.or_(ContactRecord.case_id.in_(case_ids), own),
        case_ids=case_ids,
        caller_ids=tuple(callers),
        person_id=person.id,
    )
    page = assemble(session, scope, after, limit)
    _audit(session, "person_timeline_viewed", "person", person.id, by, page, request)
    return page


def _audit(
    session: DbSession,
    action: str,
    target_type: str,
    target_id: int,
    by: Staff,
    page: Page,
    request: audit.RequestInfo | None,
) -> None:
    audit.record(
        session,
        action,
        actor(by),
        target_type=target_type,
        target_id=target_id,
        details={"entries": len(page.entries)},
        request=request,
    )
