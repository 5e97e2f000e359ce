"""Retention of cases and person profiles: closed cases past their period go with their
plan, notes and measures; profiles left without a case go after theirs; both are in the
destruction log."""

from __future__ import annotations

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.cases import cases, persons, plan, wellbeing
from helpline.models import (
    Caller,
    Case,
    CaseNote,
    CasePerson,
    ContactRecord,
    DestructionLog,
    Person,
    PersonNumber,
    WellbeingMeasure,
)
from helpline.privacy import retention
from tests.cases import DAY, T0, contact, line, person_with_case
from tests.factories import Factory

POLICY = retention.Policy(
    periods={
        "recordings": 90,
        "notes": 3650,
        "referral_notes": 3650,
        "caller_numbers": 3650,
        "cases": 730,
        "persons": 730,
        "audit": 3650,
    },
    purge_every_days=30,
    destruction_log_days=1095,
)
NOW = T0 + 1000 * DAY  # cut-off for cases and persons: T0 + 270 days


def _count(factory: Factory, model: type[object]) -> int:
    return int(factory.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_purge_destroys_old_closed_cases_and_profiles_left_without_one(factory: Factory) -> None:
    """A case closed before the cut-off goes with its notes, plan and measures; its records
    stay without it, and its person (now without a case) goes in the same run, with their
    numbers' links but not the callers. A case closed later, an open case, a person
    linked to an open case and a recently active profile stay."""
    staff = line(factory)
    session = factory.session
    w = staff.worker
    gone_person, gone, gone_record = person_with_case(factory, w, T0, "0532 000 00 31")
    cases.add_note(session, gone, "private words", by=w, now=T0)
    plan.add_goal(session, gone, "A goal", by=w, now=T0)
    wellbeing.record_measure(session, gone, [2] * 5, occasion="intake", language="tr", by=w, now=T0)
    cases.change_status(session, gone, "closed", reason="goals_met", by=w, now=T0 + 10 * DAY)
    kept_person, kept, _ = person_with_case(factory, w, T0, "0532 000 00 32")
    cases.change_status(session, kept, "closed", reason="moved_away", by=w, now=T0 + 500 * DAY)
    _, still_open, open_record = person_with_case(factory, w, T0, "0532 000 00 33")
    child = persons.create_from_record(session, open_record.id, consent=True, by=w, now=T0)
    cases.link_person(session, still_open, child.id, "child", by=w, now=T0)
    alone = persons.create_from_record(
        session, contact(factory, w, "0532 000 00 34").id, consent=True, by=w, now=T0
    )
    recent = persons.create_from_record(
        session, contact(factory, w, "0532 000 00 35").id, consent=True, by=w, now=T0 + 900 * DAY
    )
    session.commit()
    ids = {
        "gone": gone.id, "kept": kept.id, "open": still_open.id,
        "gone_person": gone_person.id, "alone": alone.id, "kept_person": kept_person.id,
        "child": child.id, "recent": recent.id, "gone_record": gone_record.id,
    }  # fmt: skip
    gone_caller = gone_record.caller_id

    counted = {due.kind: due.count for due in retention.preview(session, POLICY, NOW)}
    assert (counted["cases"], counted["persons"]) == (1, 1)  # `alone`; the rest once cases go

    run = retention.purge(session, POLICY, NOW, audit.Actor("tests"))
    session.commit()
    session.expire_all()
    assert {d.kind: d.count for d in run.destroyed if d.kind in ("cases", "persons")} == {
        "cases": 1,
        "persons": 2,
    }
    assert session.get(Case, ids["gone"]) is None
    assert session.get(Case, ids["kept"]) is not None
    assert session.get(Case, ids["open"]) is not None
    assert session.scalars(sa.select(CaseNote)).all() == []
    assert session.scalars(sa.select(WellbeingMeasure)).all() == []
    record = session.get(ContactRecord, ids["gone_record"])
    assert record is not None
    assert record.case_id is None
    assert session.get(Person, ids["gone_person"]) is None
    assert session.get(Person, ids["alone"]) is None
    for name in ("kept_person", "child", "recent"):
        assert session.get(Person, ids[name]) is not None
    assert _count(factory, CasePerson) == 1
    linked = session.scalars(sa.select(PersonNumber.person_id)).all()
    assert ids["gone_person"] not in linked
    assert session.get(Caller, gone_caller) is not None
    logged = {
        row.kind: row.count
        for row in session.scalars(
            sa.select(DestructionLog).where(DestructionLog.run_id == run.run_id)
        )
    }
    assert (logged["cases"], logged["persons"]) == (1, 2)
    again = retention.purge(session, POLICY, NOW, audit.Actor("tests"))
    assert again.total == 0


def test_shipped_policy_keeps_cases_and_profiles() -> None:
    """data/retention.yaml gives cases and persons a period of their own."""
    from helpline.config import DEFAULT_DATA_PATH

    policy = retention.load_policy(DEFAULT_DATA_PATH / retention.FILE)
    assert policy.periods["cases"] >= 365
    assert policy.periods["persons"] >= 365
