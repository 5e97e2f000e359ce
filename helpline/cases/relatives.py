"""A family member the case concerns who has no profile yet (a child, a spouse without a
phone of their own): a new profile, made from the case and linked to it at once.

Rules: only the case worker, on a case that is not closed; the relationship is one of
the listed ones; the answer to keeping the profile (given by the person, or for a child
by the case's person) is recorded as for any profile, and a no keeps no details. Audited
as `person_created` (naming the case, never a name) and `case_person_linked`.
"""

from __future__ import annotations

import datetime as dt

from helpline.audit import chain as audit
from helpline.cases import cases
from helpline.cases.access import CaseInvalid, Problem, log, require_writable
from helpline.cases.persons import record_consent
from helpline.models import Case, Person, Staff
from helpline.models.base import DbSession
from helpline.models.enums import Relationship


def add_relative(
    session: DbSession,
    case: Case,
    relationship: str,
    *,
    consent: bool,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> Person:
    """A new profile for someone the case concerns, linked to the case as `relationship`."""
    require_writable(session, case, by, now)
    if relationship not in {r.value for r in Relationship}:
        raise CaseInvalid([Problem("relationship", "Choose one of the listed relationships.")])
    person = Person(created_by_id=by.id, created_at=now, updated_at=now, languages=[], declined=[])
    session.add(person)
    session.flush()
    details = {"case_id": case.id, "relationship": relationship, "consent": consent}
    log(session, "person_created", person, by, details, request)
    record_consent(session, person, granted=consent, by=by, now=now, request=request)
    cases.link_person(session, case, person.id, relationship, by=by, now=now, request=request)
    return person
