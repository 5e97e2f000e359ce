"""Cases: opening from a contact, contacts, status moves, assignment, needs, risk, linked
persons, notes; who may do what, and the audit of each change and reading."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helpline.cases import cases, persons, plan
from helpline.cases.access import CaseForbidden, CaseInvalid
from helpline.models import CaseAssignment, CaseStatusChange, ContactRecord
from helpline.models.enums import CaseStatus
from tests.cases import (
    DAY,
    HOUR,
    NUMBER,
    OTHER_NUMBER,
    T0,
    actions,
    audit_text,
    contact,
    line,
    person_with_case,
)
from tests.factories import Factory

NOTE = "Her landlord threatens eviction on Friday; the children sleep at a neighbour's"


@pytest.mark.parametrize(
    ("status", "to", "reason", "fields"),
    [
        ("open", "active", None, []),
        ("open", "on_hold", None, []),
        ("active", "on_hold", None, []),
        ("on_hold", "active", None, []),
        ("active", "closed", "goals_met", []),
        ("closed", "reopened", None, []),
        ("reopened", "active", None, []),
        ("open", "closed", None, ["closure_reason"]),
        ("open", "closed", "bored", ["closure_reason"]),
        ("active", "active", None, ["status"]),
        ("active", "open", None, ["status"]),
        ("closed", "active", None, ["status"]),
        ("active", "on_hold", "goals_met", ["closure_reason"]),
        ("active", "archived", None, ["status"]),
    ],
)
def test_check_move_allows_only_the_transitions(
    status: str, to: str, reason: str | None, fields: list[str]
) -> None:
    """Open, active and on hold move among themselves and close with a reason; a closed
    case only reopens."""
    assert [p.field for p in cases.check_move(status, to, reason)] == fields


def test_reference_is_short_and_unambiguous() -> None:
    """A reference reads out on the phone: CS-XXXX-XXXX without 0, O, 1 or I."""
    found = {cases.new_reference() for _ in range(200)}
    assert len(found) == 200
    for reference in found:
        assert reference.startswith("CS-")
        assert len(reference) == 12
        assert not set(reference[3:].replace("-", "")) & set("01OI")


def test_open_a_case_from_a_contact_and_add_later_contacts(factory: Factory) -> None:
    """The opener becomes the case worker at their centre; the record joins the case, with
    its risk; a later contact from one of the person's numbers joins, one from a number
    not linked to them is refused until it is linked."""
    staff = line(factory)
    session = factory.session
    person, case, first = person_with_case(factory, staff.worker)
    assert (case.worker_id, case.site_id, case.status, case.risk_level) == (
        staff.worker.id, staff.site.id, "open", "none",
    )  # fmt: skip
    assert first.case_id == case.id
    assert case.reference.startswith("CS-")
    assert cases.find_by_reference(session, case.reference.lower()) is case

    later = contact(factory, staff.worker, NUMBER, T0 + DAY)
    cases.add_contact(session, case, later.id, by=staff.worker, now=T0 + DAY)
    cases.add_contact(session, case, later.id, by=staff.worker, now=T0 + DAY)  # no change
    elsewhere = contact(factory, staff.worker, OTHER_NUMBER, T0 + 2 * DAY)
    with pytest.raises(CaseInvalid, match="1 field"):
        cases.add_contact(session, case, elsewhere.id, by=staff.worker, now=T0 + 2 * DAY)
    persons.link_caller_of_record(session, person, elsewhere.id, by=staff.worker, now=T0)
    cases.add_contact(session, case, elsewhere.id, by=staff.worker, now=T0 + 2 * DAY)
    session.commit()
    ids = session.scalars(
        sa.select(ContactRecord.id).where(ContactRecord.case_id == case.id).order_by("id")
    ).all()
    assert ids == [first.id, later.id, elsewhere.id]
    with pytest.raises(CaseInvalid, match="1 field"):
        cases.open_case(session, first.id, person.id, by=staff.worker, now=T0)
    assert actions(factory, "case") == ["case_opened", "case_contact_added", "case_contact_added"]


def test_only_counsellors_who_may_read_the_record_open_cases(factory: Factory) -> None:
    """Opening needs the case.open rule and the record's read rule: a colleague cannot
    open a case from another counsellor's record; supervisors and interpreters open none."""
    staff = line(factory)
    session = factory.session
    record = contact(factory, staff.worker)
    person = persons.create_from_record(session, record.id, consent=True, by=staff.worker, now=T0)
    for outsider in (staff.colleague, staff.supervisor, staff.interpreter):
        with pytest.raises(CaseForbidden):
            cases.open_case(session, record.id, person.id, by=outsider, now=T0)


def test_status_history_closure_and_reopening(factory: Factory) -> None:
    """Each move is a history row and an audit entry; closing needs a reason, cancels the
    plan's open actions and freezes the case until it is reopened."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    plan.add_action(
        session, case, "Visit the SSC with her", owner_id=staff.worker.id,
        due_at=T0 + 3 * DAY, by=staff.worker, now=T0,
    )  # fmt: skip
    cases.change_status(session, case, "active", by=staff.worker, now=T0 + HOUR)
    with pytest.raises(CaseInvalid):
        cases.change_status(session, case, "closed", by=staff.worker, now=T0 + 2 * HOUR)
    cases.change_status(
        session, case, "closed", reason="referred_on", by=staff.worker, now=T0 + 2 * HOUR
    )
    session.commit()
    assert (case.status, case.closure_reason, case.closed_at) == (
        "closed", "referred_on", T0 + 2 * HOUR,
    )  # fmt: skip
    assert case.next_due_at is None
    assert [a.status for a in plan.list_actions(session, case)] == ["cancelled"]
    with pytest.raises(CaseForbidden, match="closed"):
        cases.add_note(session, case, NOTE, by=staff.worker, now=T0 + 3 * HOUR)
    cases.change_status(session, case, "reopened", by=staff.worker, now=T0 + 4 * HOUR)
    session.commit()
    assert (case.status, case.closure_reason, case.closed_at) == ("reopened", None, None)
    moves = session.execute(
        sa.select(CaseStatusChange.from_status, CaseStatusChange.to_status)
        .where(CaseStatusChange.case_id == case.id)
        .order_by(CaseStatusChange.id)
    ).all()
    assert [tuple(m) for m in moves] == [
        (None, "open"), ("open", "active"), ("active", "closed"), ("closed", "reopened"),
    ]  # fmt: skip
    assert actions(factory, "case").count("case_status_changed") == 3


def test_transfer_moves_the_case_its_site_and_open_actions(factory: Factory) -> None:
    """A transfer to a worker at another centre moves the case there, hands over the
    former worker's open actions and their pending callback, and is audited with both
    workers; the former worker then loses access. Only an active counsellor takes a case."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    action = plan.add_action(
        session, case, "Call her about the appointment", owner_id=staff.worker.id,
        due_at=T0 + DAY, by=staff.worker, now=T0, call=plan.CallInput(consent=True),
    )  # fmt: skip
    with pytest.raises(CaseInvalid):
        cases.assign(session, case, staff.supervisor.id, by=staff.worker, now=T0)
    with pytest.raises(CaseForbidden):
        cases.assign(session, case, staff.colleague.id, by=staff.far_supervisor, now=T0)
    cases.assign(session, case, staff.far_worker.id, by=staff.supervisor, now=T0 + HOUR)
    session.commit()
    session.expire_all()
    assert (case.worker_id, case.site_id) == (staff.far_worker.id, staff.far_site.id)
    assert session.get(type(action), action.id).owner_id == staff.far_worker.id  # type: ignore[union-attr]
    from helpline.models import CallbackRequest

    callback = session.get(CallbackRequest, action.callback_request_id)
    assert callback is not None
    assert callback.preferred_staff_id == staff.far_worker.id
    history = session.execute(
        sa.select(CaseAssignment.worker_id, CaseAssignment.assigned_by_id)
        .where(CaseAssignment.case_id == case.id)
        .order_by(CaseAssignment.id)
    ).all()
    assert [tuple(h) for h in history] == [
        (staff.worker.id, staff.worker.id), (staff.far_worker.id, staff.supervisor.id),
    ]  # fmt: skip
    [entry] = factory.audit_entries("case_assigned")
    assert entry.details == {
        "from_worker_id": staff.worker.id,
        "to_worker_id": staff.far_worker.id,
        "from_site_id": staff.site.id,
        "to_site_id": staff.far_site.id,
    }
    with pytest.raises(CaseForbidden):
        cases.view_case(session, case.id, by=staff.worker, now=T0 + 2 * HOUR)
    cases.view_case(session, case.id, by=staff.far_worker, now=T0 + 2 * HOUR)


def test_needs_risk_linked_persons_and_notes(factory: Factory) -> None:
    """Needs come from the vocabulary; each risk assessment is kept (the risk over time);
    a linked person has a relationship and is linked once; a note is encrypted and its
    text is in no audit entry."""
    staff = line(factory)
    session = factory.session
    person, case, record = person_with_case(factory, staff.worker)
    cases.set_needs(session, case, ("shelter", "psychosocial"), by=staff.worker, now=T0)
    with pytest.raises(CaseInvalid):
        cases.set_needs(session, case, ("unicorns",), by=staff.worker, now=T0)
    cases.assess_risk(session, case, "high", by=staff.worker, now=T0 + HOUR)
    cases.assess_risk(session, case, "medium", by=staff.worker, now=T0 + DAY)
    with pytest.raises(CaseInvalid):
        cases.assess_risk(session, case, "severe", by=staff.worker, now=T0 + DAY)
    child = persons.create_from_record(session, record.id, consent=True, by=staff.worker, now=T0)
    cases.link_person(session, case, child.id, "child", by=staff.worker, now=T0)
    with pytest.raises(CaseInvalid):
        cases.link_person(session, case, child.id, "child", by=staff.worker, now=T0)
    with pytest.raises(CaseInvalid):
        cases.link_person(session, case, person.id, "spouse", by=staff.worker, now=T0)
    note = cases.add_note(session, case, NOTE, by=staff.worker, now=T0 + HOUR)
    session.commit()
    assert case.needs == ["psychosocial", "shelter"]
    assert case.risk_level == "medium"
    assert [r.risk_level for r in cases.risk_history(session, case)] == ["none", "high", "medium"]
    view = cases.view_case(session, case.id, by=staff.worker, now=T0 + DAY)
    assert [(p.person_id, p.relationship) for p in view.linked] == [(child.id, "child")]
    stored = session.execute(
        sa.text("SELECT text_encrypted FROM case_note WHERE id = :id"), {"id": note.id}
    ).scalar_one()
    assert "landlord" not in stored
    cases.unlink_person(session, case, child.id, by=staff.worker, now=T0 + DAY)
    session.commit()
    assert cases.view_case(session, case.id, by=staff.worker, now=T0 + DAY).linked == ()
    text = audit_text(factory)
    assert "landlord" not in text
    assert "eviction" not in text


def test_linking_a_person_never_opens_a_stranger_profile(factory: Factory) -> None:
    """Linking makes the case worker an owner of the linked profile, so a case worker may
    link only a profile they may read already or one on a phone the case's person uses
    (a family's): never any profile by its id."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    strangers = contact(factory, staff.colleague, OTHER_NUMBER, T0 + HOUR)
    stranger = persons.create_from_record(
        session, strangers.id, consent=True, by=staff.colleague, now=T0 + HOUR
    )
    family = contact(factory, staff.colleague, NUMBER, T0 + HOUR)
    relative = persons.create_from_record(
        session, family.id, consent=True, by=staff.colleague, now=T0 + HOUR
    )
    session.commit()
    with pytest.raises(CaseForbidden):
        cases.link_person(session, case, stranger.id, "spouse", by=staff.worker, now=T0 + DAY)
    session.rollback()
    with pytest.raises(CaseForbidden):
        persons.view_profile(session, stranger.id, by=staff.worker, now=T0 + DAY)
    cases.link_person(session, case, relative.id, "parent", by=staff.worker, now=T0 + DAY)
    session.commit()
    assert persons.view_profile(session, relative.id, by=staff.worker, now=T0 + DAY)


def test_case_access_by_role_and_centre(factory: Factory) -> None:
    """The case worker and the supervisor of the case's centre read it (each reading
    audited); a colleague, another centre's supervisor and an interpreter do not; only
    the worker changes it."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    cases.view_case(session, case.id, by=staff.worker, now=T0)
    cases.view_case(session, case.id, by=staff.supervisor, now=T0)
    for outsider in (staff.colleague, staff.far_supervisor, staff.interpreter):
        with pytest.raises(CaseForbidden):
            cases.view_case(session, case.id, by=outsider, now=T0)
    for not_worker in (staff.supervisor, staff.colleague, staff.interpreter):
        with pytest.raises(CaseForbidden):
            cases.add_note(session, case, NOTE, by=not_worker, now=T0)
        with pytest.raises(CaseForbidden):
            cases.change_status(session, case, CaseStatus.ACTIVE, by=not_worker, now=T0)
    session.commit()
    viewed = factory.audit_entries("case_viewed")
    assert [(e.actor_id, e.details) for e in viewed] == [
        (staff.worker.id, {"own": True}), (staff.supervisor.id, {}),
    ]  # fmt: skip
