"""A family member without a profile: a new profile made from the case and linked to it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helpline.cases import cases, persons, relatives
from helpline.cases.access import CaseForbidden, CaseInvalid
from helpline.models import CasePerson
from tests.cases import HOUR, T0, actions, line, person_with_case
from tests.factories import Factory


def test_add_relative_makes_a_linked_profile_with_its_answer(factory: Factory) -> None:
    """The case worker adds a child: a new profile, its consent recorded, linked to the
    case as a child; audited as made and linked, naming the case, not a name."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    child = relatives.add_relative(
        session, case, "child", consent=True, by=staff.worker, now=T0 + HOUR
    )
    session.commit()
    link = session.scalars(sa.select(CasePerson).where(CasePerson.person_id == child.id)).one()
    assert (link.case_id, link.relationship) == (case.id, "child")
    assert persons.has_profile_consent(session, child.id)
    assert actions(factory, "person")[-2:] == ["person_created", "person_consent_recorded"]
    assert actions(factory, "case")[-1] == "case_person_linked"
    without = relatives.add_relative(
        session, case, "spouse", consent=False, by=staff.worker, now=T0 + 2 * HOUR
    )
    assert not persons.has_profile_consent(session, without.id)


def test_add_relative_refused(factory: Factory) -> None:
    """Another counsellor may not; an unknown relationship is a field; a closed case
    takes none; nothing is made."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    with pytest.raises(CaseForbidden):
        relatives.add_relative(session, case, "child", consent=True, by=staff.colleague, now=T0)
    with pytest.raises(CaseInvalid) as refused:
        relatives.add_relative(session, case, "cousin", consent=True, by=staff.worker, now=T0)
    assert [p.field for p in refused.value.problems] == ["relationship"]
    cases.change_status(session, case, "closed", reason="duplicate", by=staff.worker, now=T0)
    with pytest.raises(CaseForbidden):
        relatives.add_relative(session, case, "child", consent=True, by=staff.worker, now=T0)
    session.rollback()
    assert session.scalars(sa.select(CasePerson)).all() == []
