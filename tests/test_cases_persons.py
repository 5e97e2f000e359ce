"""Person profiles: made from a contact, kept with consent, numbers linked by hand, audited."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from helpline.cases import persons
from helpline.cases.access import CaseForbidden, CaseInvalid, CaseNotFound
from helpline.cases.persons import ProfileInput
from helpline.models import Person, PersonConsent, PersonNumber
from tests.cases import NAME, NUMBER, OTHER_NUMBER, T0, actions, audit_text, contact, line
from tests.factories import Factory

FULL = ProfileInput(
    name=NAME,
    gender="female",
    birth_year=1991,
    nationality="SY",
    legal_status="temporary_protection",
    province="Ankara",
    disability={"seeing": "no_difficulty", "walking": "a_lot_of_difficulty"},
    languages=("ar", "tr"),
    household_size=5,
    declined=frozenset({"wg_remembering"}),
)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (FULL, []),
        (ProfileInput(), []),
        (ProfileInput(declined=frozenset(persons.FIELDS)), []),
        (dataclasses.replace(FULL, gender="unsure"), ["gender"]),
        (dataclasses.replace(FULL, birth_year=1850), ["birth_year"]),
        (dataclasses.replace(FULL, birth_year=2031), ["birth_year"]),
        (dataclasses.replace(FULL, nationality="Syria"), ["nationality"]),
        (dataclasses.replace(FULL, nationality="stateless"), []),
        (dataclasses.replace(FULL, legal_status="tourist"), ["legal_status"]),
        (dataclasses.replace(FULL, disability={"seeing": "blind"}), ["wg_seeing"]),
        (dataclasses.replace(FULL, disability={"smelling": "no_difficulty"}), ["disability"]),
        (dataclasses.replace(FULL, languages=("Arabic",)), ["languages"]),
        (dataclasses.replace(FULL, household_size=0), ["household_size"]),
        (dataclasses.replace(FULL, declined=frozenset({"gender"})), ["gender"]),
        (dataclasses.replace(FULL, declined=frozenset({"shoe_size"})), ["declined"]),
        (dataclasses.replace(FULL, name="x" * 201), ["name"]),
    ],
)
def test_check_profile_vocabularies_and_ranges(data: ProfileInput, fields: list[str]) -> None:
    """Every field is optional; answers come from the vocabularies (WG-SS answers for the
    six questions); a field is answered or declined, never both."""
    assert sorted(p.field for p in persons.check_profile(data, T0)) == sorted(fields)


def test_person_from_a_contact_keeps_a_profile_only_with_consent(factory: Factory) -> None:
    """A person made from a contact gets its number; details are kept while the latest
    answer to the profile consent is yes; a no erases them. The name is encrypted at rest
    and no audit entry holds it."""
    staff = line(factory)
    session = factory.session
    record = contact(factory, staff.worker)
    person = persons.create_from_record(session, record.id, consent=False, by=staff.worker, now=T0)
    session.commit()
    assert persons.linked_caller_ids(session, person.id) == [record.caller_id]
    with pytest.raises(CaseForbidden, match="not agreed"):
        persons.update_profile(session, person, FULL, by=staff.worker, now=T0)

    persons.record_consent(session, person, granted=True, by=staff.worker, now=T0)
    changed = persons.update_profile(session, person, FULL, by=staff.worker, now=T0)
    session.commit()
    assert "name" in changed
    assert "wg_walking" in changed
    assert "declined" in changed
    stored = session.execute(
        sa.text("SELECT name_encrypted FROM person WHERE id = :id"), {"id": person.id}
    ).scalar_one()
    assert NAME not in stored
    session.expire_all()
    again = session.get(Person, person.id)
    assert again is not None
    assert (again.name_encrypted, again.wg_walking, again.declined) == (
        NAME, "a_lot_of_difficulty", ["wg_remembering"],
    )  # fmt: skip
    assert persons.update_profile(session, again, FULL, by=staff.worker, now=T0) == []

    persons.record_consent(session, again, granted=False, by=staff.worker, now=T0)
    session.commit()
    session.expire_all()
    erased = session.get(Person, person.id)
    assert erased is not None
    assert (erased.name_encrypted, erased.gender, erased.languages, erased.declined) == (
        None, None, [], [],
    )  # fmt: skip
    answers = session.scalars(sa.select(PersonConsent.is_granted).order_by(PersonConsent.id)).all()
    assert answers == [False, True, False]
    assert NAME not in audit_text(factory)
    assert actions(factory, "person") == [
        "person_created",
        "person_consent_recorded",
        "person_profile_updated",
        "person_consent_recorded",
    ]


def test_numbers_link_and_unlink_explicitly(factory: Factory) -> None:
    """Another number joins a person only when linked by hand, and leaves when unlinked
    (the row stays, ended); one number may be linked to two persons (a family's phone);
    each link and unlink is audited without the number."""
    staff = line(factory)
    session = factory.session
    record = contact(factory, staff.worker)
    mother = persons.create_from_record(session, record.id, consent=True, by=staff.worker, now=T0)
    child = persons.create_from_record(session, record.id, consent=True, by=staff.worker, now=T0)
    session.commit()
    assert persons.list_persons_of_caller(session, record.caller_id or 0) == [mother.id, child.id]

    second = persons.link_number(session, mother, OTHER_NUMBER, by=staff.worker, now=T0)
    same = persons.link_number(session, mother, OTHER_NUMBER, by=staff.worker, now=T0)
    session.commit()
    assert same.id == second.id
    assert persons.linked_caller_ids(session, mother.id) == [record.caller_id, second.caller_id]
    with pytest.raises(CaseInvalid):
        persons.link_number(session, mother, "not a number", by=staff.worker, now=T0)

    persons.unlink_number(session, mother, second.caller_id, by=staff.worker, now=T0)
    session.commit()
    assert persons.linked_caller_ids(session, mother.id) == [record.caller_id]
    rows = session.scalars(sa.select(PersonNumber).where(PersonNumber.person_id == mother.id)).all()
    assert len(rows) == 2
    with pytest.raises(CaseNotFound):
        persons.unlink_number(session, mother, second.caller_id, by=staff.worker, now=T0)

    text = audit_text(factory)
    assert "5324445566" not in text
    assert "444 55 66" not in text
    assert actions(factory, "person").count("person_number_linked") == 1
    assert actions(factory, "person").count("person_number_unlinked") == 1


def test_profile_access_follows_the_rules(factory: Factory) -> None:
    """The counsellor who made the profile reads and changes it; a colleague, a supervisor
    of another centre and an interpreter cannot; every reading is audited."""
    staff = line(factory)
    session = factory.session
    record = contact(factory, staff.worker, NUMBER)
    person = persons.create_from_record(session, record.id, consent=True, by=staff.worker, now=T0)
    session.commit()
    profile = persons.view_profile(session, person.id, by=staff.worker, now=T0)
    assert profile.has_consent
    assert [n.caller_id for n in profile.numbers] == [record.caller_id]
    assert profile.numbers[0].masked == "+90 5** *** ** 33"
    for outsider in (staff.colleague, staff.far_supervisor, staff.interpreter):
        with pytest.raises(CaseForbidden):
            persons.view_profile(session, person.id, by=outsider, now=T0)
        with pytest.raises(CaseForbidden):
            persons.link_number(session, person, OTHER_NUMBER, by=outsider, now=T0)
    with pytest.raises(CaseForbidden):
        persons.create_from_record(session, record.id, consent=True, by=staff.colleague, now=T0)
    with pytest.raises(CaseForbidden):
        persons.create_from_record(session, record.id, consent=True, by=staff.interpreter, now=T0)
    session.commit()
    assert actions(factory).count("person_viewed") == 1


def test_a_withheld_number_makes_a_person_without_one(factory: Factory) -> None:
    """A contact from a withheld number still makes a person (with no number linked),
    and a case can be opened for them from it."""
    from helpline.cases import cases

    staff = line(factory)
    session = factory.session
    record = contact(factory, staff.worker, number=None)
    person = persons.create_from_record(session, record.id, consent=True, by=staff.worker, now=T0)
    case = cases.open_case(session, record.id, person.id, by=staff.worker, now=T0)
    session.commit()
    assert persons.linked_caller_ids(session, person.id) == []
    assert record.case_id == case.id
