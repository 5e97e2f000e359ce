"""Cases: opened from a contact record, worked by one case worker, closed with a reason.

Rules:
- A counsellor opens a case from a contact record they may read, for a person the
  record's number is linked to (links are explicit: `persons.link_*`). The record joins
  the case; the opener is its case worker, at their centre.
- Later contacts of that person (any of their linked numbers) join the case one by one.
- Status moves only along `TRANSITIONS`; closing names a `ClosureReason` and cancels the
  plan's open actions (and their pending callbacks); reopening is a status of its own.
- A closed case changes only by being reopened.
- Assignment and transfer, status, needs, risk, linked persons and notes are each kept
  as rows (the case's timeline) and audited; reading a case is audited too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.cases import plan
from helpline.cases.access import (
    CaseError,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    Problem,
    allows,
    log,
    person_subject,
    readable_record,
    require_case,
    require_writable,
)
from helpline.cases.persons import get_person, linked_caller_ids, touch
from helpline.models import (
    Case,
    CaseAction,
    CaseAssignment,
    CaseGoal,
    CaseNote,
    CasePerson,
    CaseRisk,
    CaseStatusChange,
    ContactRecord,
    Person,
    Staff,
)
from helpline.models.base import DbSession
from helpline.models.enums import (
    CaseNeed,
    CaseStatus,
    ClosureReason,
    Relationship,
    RiskLevel,
    Role,
)

S = CaseStatus
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.OPEN: frozenset({S.ACTIVE, S.ON_HOLD, S.CLOSED}),
    S.ACTIVE: frozenset({S.ON_HOLD, S.CLOSED}),
    S.ON_HOLD: frozenset({S.ACTIVE, S.CLOSED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ACTIVE, S.ON_HOLD, S.CLOSED}),
}
# Cases still being worked: "My cases", caseloads.
WORKED = (S.OPEN.value, S.ACTIVE.value, S.ON_HOLD.value, S.REOPENED.value)
NOTE_MAX = 20_000
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
REFERENCE_LENGTH = 8


def allowed_moves(status: str) -> frozenset[CaseStatus]:
    """Where a case in this status may go next (pure)."""
    return TRANSITIONS.get(CaseStatus(status), frozenset())


def check_move(status: str, to: str, reason: str | None) -> list[Problem]:
    """Why a case in `status` may not move to `to` with this closure reason (pure)."""
    if to not in {s.value for s in CaseStatus}:
        return [Problem("status", "Choose one of the listed statuses.")]
    if CaseStatus(to) not in allowed_moves(status):
        return [Problem("status", f"A case that is {status} cannot become {to}.")]
    if to == S.CLOSED and reason not in {r.value for r in ClosureReason}:
        return [Problem("closure_reason", "Choose why the case is closed.")]
    if to != S.CLOSED and reason is not None:
        return [Problem("closure_reason", "Only a closure has a reason.")]
    return []


def new_reference() -> str:
    """A case's reference: random, short, easy to read out on the phone (CS-XXXX-XXXX)."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"CS-{code[:4]}-{code[4:]}"


# --- finding ----------------------------------------------------------------------------


def get_case(session: DbSession, case_id: int, *, for_update: bool = False) -> Case:
    query = sa.select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update()
    case = session.scalars(query).one_or_none()
    if case is None:
        raise CaseNotFound("There is no such case.")
    return case


def find_by_reference(session: DbSession, reference: str) -> Case | None:
    return session.scalars(
        sa.select(Case).where(Case.reference == reference.strip().upper())
    ).one_or_none()


def list_person_cases(session: DbSession, person_id: int) -> list[Case]:
    """The person's own cases, newest first."""
    return list(
        session.scalars(
            sa.select(Case)
            .where(Case.person_id == person_id)
            .order_by(Case.opened_at.desc(), Case.id.desc())
        )
    )


@dataclasses.dataclass(frozen=True)
class LinkedPerson:
    person_id: int
    relationship: str
    linked_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class CaseView:
    """What a case's page shows besides its timeline."""

    case: Case
    person: Person
    linked: tuple[LinkedPerson, ...]
    goals: tuple[CaseGoal, ...]
    actions: tuple[CaseAction, ...]
    overdue: tuple[int, ...]  # ids of overdue actions
    contact_record_ids: tuple[int, ...]


def view_case(
    session: DbSession,
    case_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CaseView:
    """A case with its person, linked persons and plan, for its page; audited."""
    case = get_case(session, case_id)
    require_case(session, "case.read", case, by, now)
    linked = session.execute(
        sa.select(CasePerson.person_id, CasePerson.relationship, CasePerson.linked_at)
        .where(CasePerson.case_id == case.id, CasePerson.unlinked_at.is_(None))
        .order_by(CasePerson.linked_at, CasePerson.id)
    ).all()
    actions = plan.list_actions(session, case)
    records_ids = session.scalars(
        sa.select(ContactRecord.id)
        .where(ContactRecord.case_id == case.id)
        .order_by(ContactRecord.created_at.desc(), ContactRecord.id.desc())
    ).all()
    log(
        session,
        "case_viewed",
        case,
        by,
        {"own": True} if case.worker_id == by.id else None,
        request,
    )
    return CaseView(
        case=case,
        person=get_person(session, case.person_id),
        linked=tuple(LinkedPerson(p, r, at) for p, r, at in linked),
        goals=tuple(plan.list_goals(session, case)),
        actions=tuple(actions),
        overdue=tuple(a.id for a in actions if plan.is_overdue(a, now)),
        contact_record_ids=tuple(records_ids),
    )


# --- opening, contacts ------------------------------------------------------------------


def _require_person_number(session: DbSession, record: ContactRecord, person: Person) -> None:
    """A record joins a person's case only if its number is linked to the person."""
    if record.caller_id is not None and record.caller_id not in linked_caller_ids(
        session, person.id
    ):
        raise CaseInvalid(
            [Problem("person", "This contact's number is not linked to this person; link it.")]
        )


def check_needs(needs: tuple[str, ...]) -> list[Problem]:
    unknown = sorted(set(needs) - {n.value for n in CaseNeed})
    return [Problem("needs", f"Unknown needs: {', '.join(unknown)}.")] if unknown else []


def open_case(
    session: DbSession,
    record_id: int,
    person_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    needs: tuple[str, ...] = (),
    request: audit.RequestInfo | None = None,
) -> Case:
    """Open a case for a person from a contact record; `by` becomes its case worker."""
    if not allows("case.open", by, permissions.What(), now):
        raise CaseForbidden("Only counsellors open cases.")
    record = readable_record(session, record_id, by, now, for_update=True)
    if record.case_id is not None:
        raise CaseInvalid([Problem("contact_record", "This contact belongs to a case already.")])
    person = get_person(session, person_id)
    _require_person_number(session, record, person)
    problems = check_needs(needs)
    if problems:
        raise CaseInvalid(problems)
    risk = record.risk_level if record.risk_level in {r.value for r in RiskLevel} else "none"
    case = _insert_case(session, person, record, by, now, sorted(set(needs)), risk)
    session.add_all(
        [
            CaseStatusChange(
                case_id=case.id, from_status=None, to_status=S.OPEN.value,
                changed_by_id=by.id, changed_at=now,
            ),
            CaseAssignment(
                case_id=case.id, worker_id=by.id, site_id=by.site_id,
                assigned_by_id=by.id, assigned_at=now,
            ),
            CaseRisk(case_id=case.id, risk_level=risk, assessed_by_id=by.id, assessed_at=now),
        ]
    )  # fmt: skip
    record.case_id = case.id
    touch(person, now)
    log(
        session,
        "case_opened",
        case,
        by,
        {"person_id": person.id, "contact_record_id": record.id, "site_id": by.site_id},
        request,
    )
    session.flush()
    return case


def _insert_case(
    session: DbSession,
    person: Person,
    record: ContactRecord,
    by: Staff,
    now: dt.datetime,
    needs: list[str],
    risk: str,
) -> Case:
    """Insert the case under a fresh reference (another on the rare collision)."""
    for _ in range(5):
        case = Case(
            reference=new_reference(),
            person_id=person.id,
            worker_id=by.id,
            site_id=by.site_id,
            status=S.OPEN.value,
            needs=needs,
            risk_level=risk,
            opened_from_record_id=record.id,
            opened_by_id=by.id,
            opened_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError:
            continue
        return case
    raise CaseError("Could not give the case a reference; try again.")


def add_contact(
    session: DbSession,
    case: Case,
    record_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Add a contact record of the case's person to the case (nothing if it is there)."""
    require_writable(session, case, by, now)
    record = readable_record(session, record_id, by, now, for_update=True)
    if record.case_id == case.id:
        return
    if record.case_id is not None:
        raise CaseInvalid([Problem("contact_record", "This contact belongs to another case.")])
    _require_person_number(session, record, get_person(session, case.person_id))
    record.case_id = case.id
    case.updated_at = now
    touch(get_person(session, case.person_id), now)
    log(session, "case_contact_added", case, by, {"contact_record_id": record.id}, request)
    session.flush()


# --- assignment -------------------------------------------------------------------------


def assign(
    session: DbSession,
    case: Case,
    worker_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Give the case to another case worker (a transfer): the case moves to their centre,
    and the plan's open actions of the former worker become theirs."""
    require_writable(session, case, by, now, action="case.assign")
    worker = session.get(Staff, worker_id)
    if worker is None or not worker.is_active or not worker.has_role(Role.COUNSELLOR):
        raise CaseInvalid([Problem("worker", "Choose an active counsellor.")])
    if worker.id == case.worker_id:
        return
    former, former_site = case.worker_id, case.site_id
    case.worker_id = worker.id
    case.site_id = worker.site_id if worker.site_id is not None else case.site_id
    case.updated_at = now
    session.add(
        CaseAssignment(
            case_id=case.id,
            worker_id=worker.id,
            site_id=case.site_id,
            assigned_by_id=by.id,
            assigned_at=now,
        )
    )
    plan.hand_over(session, case, former, worker.id, now)
    log(
        session,
        "case_assigned",
        case,
        by,
        {
            "from_worker_id": former,
            "to_worker_id": worker.id,
            "from_site_id": former_site,
            "to_site_id": case.site_id,
        },
        request,
    )
    session.flush()


# --- status, needs, risk ----------------------------------------------------------------


def change_status(
    session: DbSession,
    case: Case,
    to: str,
    *,
    by: Staff,
    now: dt.datetime,
    reason: str | None = None,
    request: audit.RequestInfo | None = None,
) -> None:
    """Move the case along `TRANSITIONS`; a closure needs a reason and cancels open actions."""
    require_case(session, "case.write", case, by, now)
    problems = check_move(case.status, to, reason)
    if problems:
        raise CaseInvalid(problems)
    before = case.status
    if to == S.CLOSED:
        plan.cancel_open_actions(session, case, by, now)
        case.closed_at = now
        case.closure_reason = reason
    elif before == S.CLOSED:
        case.closed_at = None
        case.closure_reason = None
    case.status = to
    case.updated_at = now
    session.add(
        CaseStatusChange(
            case_id=case.id,
            from_status=before,
            to_status=to,
            closure_reason=reason,
            changed_by_id=by.id,
            changed_at=now,
        )
    )
    log(
        session,
        "case_status_changed",
        case,
        by,
        {"from": before, "to": to, "reason": reason},
        request,
    )
    session.flush()


def set_needs(
    session: DbSession,
    case: Case,
    needs: tuple[str, ...],
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Replace the case's needs; audited with those added and removed."""
    require_writable(session, case, by, now)
    problems = check_needs(needs)
    if problems:
        raise CaseInvalid(problems)
    wanted = sorted(set(needs))
    added = sorted(set(wanted) - set(case.needs))
    removed = sorted(set(case.needs) - set(wanted))
    if not added and not removed:
        return
    case.needs = wanted
    case.updated_at = now
    log(session, "case_needs_changed", case, by, {"added": added, "removed": removed}, request)
    session.flush()


def assess_risk(
    session: DbSession,
    case: Case,
    level: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CaseRisk:
    """Record a risk assessment; the newest is the case's risk level."""
    require_writable(session, case, by, now)
    if level not in {r.value for r in RiskLevel}:
        raise CaseInvalid([Problem("risk_level", "Choose one of the listed risk levels.")])
    risk = CaseRisk(case_id=case.id, risk_level=level, assessed_by_id=by.id, assessed_at=now)
    session.add(risk)
    before, case.risk_level, case.updated_at = case.risk_level, level, now
    session.flush()
    log(session, "case_risk_assessed", case, by, {"from": before, "to": level}, request)
    return risk


def risk_history(session: DbSession, case: Case) -> list[CaseRisk]:
    """The case's risk assessments, oldest first (the risk over time)."""
    return list(
        session.scalars(
            sa.select(CaseRisk)
            .where(CaseRisk.case_id == case.id)
            .order_by(CaseRisk.assessed_at, CaseRisk.id)
        )
    )


# --- linked persons, notes --------------------------------------------------------------


def link_person(
    session: DbSession,
    case: Case,
    person_id: int,
    relationship: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CasePerson:
    """Link another person (a child, spouse, parent) to the case, with their relationship."""
    require_writable(session, case, by, now)
    if relationship not in {r.value for r in Relationship}:
        raise CaseInvalid([Problem("relationship", "Choose one of the listed relationships.")])
    person = get_person(session, person_id)
    if person.id == case.person_id:
        raise CaseInvalid([Problem("person", "This is the case's own person.")])
    if not _may_link(session, case, person, by, now):
        # Linking makes the case worker an owner of the profile: only a profile they may
        # read already, or one on a phone the case's person uses (a family's), is offered.
        raise CaseForbidden("This profile is not yours to link.")
    if _current_link(session, case.id, person.id) is not None:
        raise CaseInvalid([Problem("person", "This person is linked to the case already.")])
    link = CasePerson(
        case_id=case.id,
        person_id=person.id,
        relationship=relationship,
        linked_by_id=by.id,
        linked_at=now,
    )
    session.add(link)
    touch(person, now)
    session.flush()
    log(
        session,
        "case_person_linked",
        case,
        by,
        {"person_id": person.id, "relationship": relationship},
        request,
    )
    return link


def _may_link(session: DbSession, case: Case, person: Person, by: Staff, now: dt.datetime) -> bool:
    if allows("person.read", by, person_subject(session, person, by), now):
        return True
    shared = set(linked_caller_ids(session, case.person_id))
    return not shared.isdisjoint(linked_caller_ids(session, person.id))


def _current_link(session: DbSession, case_id: int, person_id: int) -> CasePerson | None:
    return session.scalars(
        sa.select(CasePerson).where(
            CasePerson.case_id == case_id,
            CasePerson.person_id == person_id,
            CasePerson.unlinked_at.is_(None),
        )
    ).one_or_none()


def unlink_person(
    session: DbSession,
    case: Case,
    person_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    require_writable(session, case, by, now)
    link = _current_link(session, case.id, person_id)
    if link is None:
        raise CaseNotFound("This person is not linked to the case.")
    link.unlinked_at = now
    log(session, "case_person_unlinked", case, by, {"person_id": person_id}, request)
    session.flush()


def add_note(
    session: DbSession,
    case: Case,
    text: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CaseNote:
    """A note on the case (encrypted); the audit entry names the note, not its text."""
    require_writable(session, case, by, now)
    body = text.strip()
    if not body:
        raise CaseInvalid([Problem("text", "Write the note.")])
    if len(body) > NOTE_MAX:
        raise CaseInvalid([Problem("text", f"Keep the note under {NOTE_MAX} characters.")])
    note = CaseNote(case_id=case.id, text_encrypted=body, written_by_id=by.id, written_at=now)
    session.add(note)
    case.updated_at = now
    session.flush()
    log(session, "case_note_added", case, by, {"note_id": note.id}, request)
    return note
