"""The timeline of a case and of a person: every kind of entry, newest first, paged by
(time, kind, id) without loss or repeat; reading it is audited."""

from __future__ import annotations

import dataclasses

import pytest

from helpline.cases import cases, plan, timeline, wellbeing
from helpline.cases.access import CaseForbidden, CaseInvalid
from helpline.cases.timeline import Cursor, Entry
from helpline.models import Referral, ReferralStep
from tests.cases import DAY, HOUR, NUMBER, T0, actions, contact, line, person_with_case
from tests.factories import Factory

NOTE = "Spoke with the school counsellor; the boy attends again"


def _all(page_of: object, size: int) -> list[Entry]:
    """Every entry, following the pages of `size`."""
    found: list[Entry] = []
    after: Cursor | None = None
    while True:
        page = page_of(after, size)  # type: ignore[operator]
        found += page.entries
        if page.next_after is None:
            return found
        after = page.next_after


def test_case_timeline_has_every_kind_newest_first(factory: Factory) -> None:
    """Calls, contact records, callbacks, referrals and their steps, plan changes, notes,
    status, risk, assignment and wellbeing entries of the case, newest first; a note
    shows its text."""
    staff = line(factory)
    session = factory.session
    _, case, record = person_with_case(factory, staff.worker)
    step = ReferralStep(status="proposed", at=T0 + HOUR, by_id=staff.worker.id)
    referral = Referral(kind="health", province="Ankara", created_at=T0 + HOUR, steps=[step])
    record.referrals.append(referral)
    session.commit()
    plan.add_action(
        session, case, "Call back", owner_id=staff.worker.id, due_at=T0 + 3 * DAY,
        by=staff.worker, now=T0 + 2 * HOUR, call=plan.CallInput(consent=True),
    )  # fmt: skip
    cases.add_note(session, case, NOTE, by=staff.worker, now=T0 + 3 * HOUR)
    cases.change_status(session, case, "active", by=staff.worker, now=T0 + 4 * HOUR)
    cases.assess_risk(session, case, "low", by=staff.worker, now=T0 + 5 * HOUR)
    wellbeing.record_measure(
        session, case, [3, 3, 2, 2, 3], occasion="intake", language="ar",
        by=staff.worker, now=T0 + 6 * HOUR,
    )  # fmt: skip
    session.commit()
    page = timeline.case_timeline(session, case, by=staff.worker, now=T0 + DAY)
    kinds = [entry.kind for entry in page.entries]
    assert set(kinds) == timeline.KINDS
    assert kinds[0] == "wellbeing"
    assert [e.at for e in page.entries] == sorted((e.at for e in page.entries), reverse=True)
    [note] = [e for e in page.entries if e.kind == "note"]
    assert note.text == NOTE
    assert page.next_after is None
    assert actions(factory).count("case_timeline_viewed") == 1


def test_pages_follow_each_other_without_loss_or_repeat(factory: Factory) -> None:
    """Many entries at the same instant page out exactly once each, whatever the size."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    for n in range(7):
        cases.add_note(session, case, f"note {n}", by=staff.worker, now=T0 + HOUR)
        cases.assess_risk(session, case, "low", by=staff.worker, now=T0 + HOUR)
    session.commit()
    whole = timeline.case_timeline(session, case, by=staff.worker, now=T0 + DAY, limit=200)
    for size in (1, 2, 3, 5, 8):
        paged = _all(
            lambda after, n: timeline.case_timeline(
                session, case, by=staff.worker, now=T0 + DAY, after=after, limit=n
            ),
            size,
        )
        assert [e.cursor for e in paged] == [e.cursor for e in whole.entries]
    cursor = whole.entries[3].cursor
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(CaseInvalid):
        Cursor.decode("yesterday~note~1")


def test_person_timeline_spans_cases_and_respects_who_reads(factory: Factory) -> None:
    """A person's timeline holds their cases' entries and their numbers' calls; a contact
    record outside any case shows only to the counsellor who wrote it; a colleague with
    no case of the person sees nothing."""
    staff = line(factory)
    session = factory.session
    person, case, _ = person_with_case(factory, staff.worker)
    others = contact(factory, staff.colleague, NUMBER, T0 + DAY)  # not in the case
    mine = timeline.person_timeline(session, person.id, by=staff.worker, now=T0 + 2 * DAY)
    records = {e.id for e in mine.entries if e.kind == "contact_record"}
    assert others.id not in records
    assert others.call_id in {e.id for e in mine.entries if e.kind == "call"}
    assert {e.case_id for e in mine.entries if e.kind == "status"} == {case.id}
    with pytest.raises(CaseForbidden):
        timeline.person_timeline(session, person.id, by=staff.colleague, now=T0 + 2 * DAY)
    supervised = timeline.person_timeline(session, person.id, by=staff.supervisor, now=T0 + 2 * DAY)
    assert [dataclasses.astuple(e) for e in supervised.entries if e.kind != "call"] == [
        dataclasses.astuple(e) for e in mine.entries if e.kind != "call"
    ]
    with pytest.raises(CaseForbidden):
        timeline.case_timeline(session, case, by=staff.interpreter, now=T0)
