"""Helpers of the case tests: a line with two centres and its staff, contacts of a caller,
and a person with an open case, all made through the domain functions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from helpline.cases import cases, persons
from helpline.models import AuditEntry, Call, Caller, Case, ContactRecord, Person, Site, Staff
from helpline.privacy import crypto as privacy
from helpline.records import service as records
from tests.factories import Factory

T0 = dt.datetime(2030, 3, 3, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
NUMBER = "0532 111 22 33"
OTHER_NUMBER = "0532 444 55 66"
NAME = "Amina Haddad"  # never in an audit entry


@dataclasses.dataclass
class Line:
    """Site A (Ankara): counsellors ayse and yusuf, supervisor elif, interpreter omar.
    Site B (Hatay): counsellor deniz, supervisor hakan."""

    site: Site
    far_site: Site
    worker: Staff
    colleague: Staff
    supervisor: Staff
    interpreter: Staff
    far_worker: Staff
    far_supervisor: Staff


def line(factory: Factory) -> Line:
    site = factory.site("ANK-1", "Ankara")
    far = factory.site("HAT-1", "Hatay")

    def staff(name: str, role: str, at: Site) -> Staff:
        return factory.staff(name, roles=(role,), languages=("tr", "ar"), site=at, password=None)

    return Line(
        site=site,
        far_site=far,
        worker=staff("ayse", "counsellor", site),
        colleague=staff("yusuf", "counsellor", site),
        supervisor=staff("elif", "supervisor", site),
        interpreter=staff("omar", "interpreter", site),
        far_worker=staff("deniz", "counsellor", far),
        far_supervisor=staff("hakan", "supervisor", far),
    )


def contact(
    factory: Factory,
    counsellor: Staff,
    number: str | None = NUMBER,
    at: dt.datetime = T0,
    language: str = "ar",
) -> ContactRecord:
    """A call from `number` that `counsellor` answered at `at`, and its draft record."""
    caller = None
    if number is not None:
        caller = _caller(factory, number, language)
    call = factory.call(
        caller, counsellor_id=counsellor.id, language=language, started_at=at, answered_at=at
    )
    record = records.create_draft(factory.session, by=counsellor, now=at, call=call)
    record.created_at = at
    factory.session.commit()
    return record


def _caller(factory: Factory, number: str, language: str) -> Caller:
    index = privacy.keyring().blind_index(privacy.normalise_number(number))
    found = factory.session.scalars(sa.select(Caller).where(Caller.number_index == index)).first()
    return found if found is not None else factory.caller(number, language=language)


def person_with_case(
    factory: Factory, worker: Staff, at: dt.datetime = T0, number: str = NUMBER
) -> tuple[Person, Case, ContactRecord]:
    """A person made from a contact of `worker`'s (consenting to a profile), and a case
    opened for them from it."""
    record = contact(factory, worker, number, at)
    person = persons.create_from_record(factory.session, record.id, consent=True, by=worker, now=at)
    case = cases.open_case(factory.session, record.id, person.id, by=worker, now=at)
    factory.session.commit()
    return person, case, record


def actions(factory: Factory, target_type: str | None = None) -> list[str]:
    """The audit log's actions, oldest first (optionally on one kind of target)."""
    query = sa.select(AuditEntry.action).order_by(AuditEntry.seq)
    if target_type is not None:
        query = query.where(AuditEntry.target_type == target_type)
    return list(factory.session.scalars(query))


def audit_text(factory: Factory) -> str:
    """Every audit entry's details, as one text (to check nothing personal is in it)."""
    factory.session.expire_all()
    return " ".join(str(e.details) for e in factory.session.scalars(sa.select(AuditEntry)))


def call_of(factory: Factory, record: ContactRecord) -> Call:
    call = factory.session.get(Call, record.call_id)
    assert call is not None
    return call
