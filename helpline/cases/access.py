"""Who may do what to a case or a person: the rules' subjects, and the domain's errors.

A case's owner is its case worker; its site is the case's site. A person's owner is
whoever works one of their cases (as its person or a linked person) or made the profile,
and their site the site of such a case at the actor's own centre, if any.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.models import Case, CasePerson, ContactRecord, Person, Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import CaseStatus
from helpline.records import service as records


class CaseError(Exception):
    """An action on a case or profile was refused; the message is safe to show and log."""


class CaseNotFound(CaseError):
    """No such case, person, record or number (or not one this member of staff may know of)."""


class CaseForbidden(CaseError):
    """It exists, but this member of staff may not do that to it."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """A field that stops a change, named as a form would name it."""

    field: str
    message: str


class CaseInvalid(CaseError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} field(s) need attention")


def actor(staff: Staff) -> audit.Actor:
    return audit.Actor(label=staff.username, staff_id=staff.id)


def allows(action: str, staff: Staff, what: permissions.What, now: dt.datetime) -> bool:
    return permissions.allows(permissions.rules(), action, permissions.who(staff), what, now)


def case_subject(session: DbSession, case: Case) -> permissions.What:
    """A case as the rules see it: its worker, its site and the site's province."""
    site = session.get(Site, case.site_id) if case.site_id is not None else None
    return permissions.What(
        owner_id=case.worker_id,
        site_id=case.site_id,
        province=site.province if site is not None else None,
    )


def require_case(
    session: DbSession, action: str, case: Case, staff: Staff, now: dt.datetime
) -> None:
    if not allows(action, staff, case_subject(session, case), now):
        raise CaseForbidden("This case is not yours to do that with.")


def require_writable(
    session: DbSession, case: Case, by: Staff, now: dt.datetime, action: str = "case.write"
) -> None:
    """`by` may do `action` to the case, and the case is not closed."""
    require_case(session, action, case, by, now)
    if case.status == CaseStatus.CLOSED:
        raise CaseForbidden("This case is closed: reopen it first.")


def log(
    session: DbSession,
    action: str,
    target: Case | Person,
    by: Staff,
    details: dict[str, Any] | None,
    request: audit.RequestInfo | None,
) -> None:
    """Audit an action on a case or a person (details name ids and codes, never text)."""
    audit.record(
        session,
        action,
        actor(by),
        target_type="case" if isinstance(target, Case) else "person",
        target_id=target.id,
        details=details,
        request=request,
    )


def readable_record(
    session: DbSession, record_id: int, by: Staff, now: dt.datetime, *, for_update: bool = False
) -> ContactRecord:
    """A contact record `by` may read (the records' own rule), to build on."""
    try:
        record = records.get_record(session, record_id, for_update=for_update)
    except records.RecordNotFound:
        raise CaseNotFound("There is no such record.") from None
    if not records.can_read(record, by, now):
        raise CaseForbidden("This record belongs to another counsellor.")
    return record


def cases_of(person_id: int) -> sa.Select[int, int, int | None]:
    """(case id, worker, site) of every case about the person, as its person or linked.

    The ids are one UNION, each part by an index: an OR of the two conditions made
    PostgreSQL read every case (60 ms among 200,000, docs/BENCHMARKS.md)."""
    ids = sa.union(
        sa.select(Case.id).where(Case.person_id == person_id),
        sa.select(CasePerson.case_id).where(
            CasePerson.person_id == person_id, CasePerson.unlinked_at.is_(None)
        ),
    )
    return sa.select(Case.id, Case.worker_id, Case.site_id).where(Case.id.in_(ids))


def person_subject(session: DbSession, person: Person, staff: Staff) -> permissions.What:
    """A person as the rules see them, from this member of staff's side: they own the
    profile if they made it or work one of its cases; its site is their own centre if a
    case of the person is there."""
    rows = session.execute(cases_of(person.id)).all()
    owns = person.created_by_id == staff.id or any(worker == staff.id for _, worker, _ in rows)
    sites = {site for _, _, site in rows if site is not None}
    site_id = staff.site_id if staff.site_id in sites else next(iter(sorted(sites)), None)
    site = session.get(Site, site_id) if site_id is not None else None
    return permissions.What(
        owner_id=staff.id if owns else None,
        site_id=site_id,
        province=site.province if site is not None else None,
    )


def require_person(
    session: DbSession, action: str, person: Person, staff: Staff, now: dt.datetime
) -> None:
    if not allows(action, staff, person_subject(session, person, staff), now):
        raise CaseForbidden("This profile is not yours to do that with.")
