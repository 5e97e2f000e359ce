"""Lists of cases: "My cases" with overdue work first, the supervisor's search by site,
worker, status and age (paged), and the caseload per worker; each list is audited."""

from __future__ import annotations

import pytest

from helpline.cases import cases, plan, queries
from helpline.cases.access import CaseForbidden, CaseInvalid
from helpline.cases.queries import CaseSearch
from helpline.models import Case, Staff
from helpline.models import cases as case_models
from tests.cases import DAY, T0, actions, line, person_with_case
from tests.factories import Factory

NOW = T0 + 10 * DAY


def _case(factory: Factory, worker: Staff, opened_days_ago: int, number: str) -> Case:
    return person_with_case(factory, worker, NOW - opened_days_ago * DAY, number)[1]


def _due(factory: Factory, case: Case, worker: Staff, in_days: float) -> None:
    plan.add_action(
        factory.session, case, "Next step", owner_id=worker.id,
        due_at=NOW + in_days * DAY, by=worker, now=NOW - 20 * DAY,
    )  # fmt: skip
    factory.session.commit()


def test_my_cases_put_overdue_work_first(factory: Factory) -> None:
    """A worker's cases still being worked: by next due action (overdue first, none last),
    with their overdue counts; closed cases and others' cases are not listed."""
    staff = line(factory)
    session = factory.session
    calm = _case(factory, staff.worker, 9, "0532 000 00 01")
    late = _case(factory, staff.worker, 2, "0532 000 00 02")
    soon = _case(factory, staff.worker, 5, "0532 000 00 03")
    closed = _case(factory, staff.worker, 8, "0532 000 00 04")
    _case(factory, staff.colleague, 1, "0532 000 00 05")
    _due(factory, late, staff.worker, -3)
    _due(factory, late, staff.worker, -1)
    _due(factory, soon, staff.worker, 2)
    cases.change_status(session, closed, "closed", reason="duplicate", by=staff.worker, now=NOW)
    session.commit()
    mine = queries.my_cases(session, by=staff.worker, now=NOW)
    assert [(m.case.id, m.overdue_actions, m.is_overdue) for m in mine] == [
        (late.id, 2, True), (soon.id, 0, False), (calm.id, 0, False),
    ]  # fmt: skip
    assert actions(factory).count("my_cases_viewed") == 1


def test_my_cases_index_holds_exactly_the_cases_being_worked() -> None:
    """The partial index "My cases" reads from lists the statuses the query lists, so
    PostgreSQL can use it (a status added to one and not the other would lose it)."""
    listed = ", ".join(f"'{status}'" for status in cases.WORKED)
    assert f"status IN ({listed})" == case_models.WORKED


def test_supervisor_search_by_site_worker_status_and_age(factory: Factory) -> None:
    """A site supervisor searches their own centre's cases, newest first, by worker,
    status and age, a page at a time; another centre's are refused; counsellors and
    interpreters do not search."""
    staff = line(factory)
    session = factory.session
    old = _case(factory, staff.worker, 9, "0532 000 00 11")
    middle = _case(factory, staff.colleague, 5, "0532 000 00 12")
    new = _case(factory, staff.worker, 1, "0532 000 00 13")
    _case(factory, staff.far_worker, 3, "0532 000 00 14")
    cases.change_status(session, middle, "active", by=staff.colleague, now=NOW)
    session.commit()

    def ids(search: CaseSearch, **kwargs: object) -> list[int]:
        page = queries.search_cases(session, search, by=staff.supervisor, now=NOW, **kwargs)  # type: ignore[arg-type]
        return [case.id for case in page.cases]

    assert ids(CaseSearch()) == [new.id, middle.id, old.id]
    assert ids(CaseSearch(worker_id=staff.worker.id)) == [new.id, old.id]
    assert ids(CaseSearch(status="active")) == [middle.id]
    assert ids(CaseSearch(min_age_days=5)) == [middle.id, old.id]
    assert ids(CaseSearch(max_age_days=5)) == [new.id, middle.id]
    first = queries.search_cases(session, CaseSearch(), by=staff.supervisor, now=NOW, limit=2)
    assert [c.id for c in first.cases] == [new.id, middle.id]
    assert first.next_after == (middle.opened_at, middle.id)
    assert ids(CaseSearch(), after=first.next_after, limit=2) == [old.id]
    with pytest.raises(CaseForbidden):
        ids(CaseSearch(site_id=staff.far_site.id))
    with pytest.raises(CaseInvalid):
        ids(CaseSearch(status="lost"))
    for outsider in (staff.worker, staff.interpreter):
        with pytest.raises(CaseForbidden):
            queries.search_cases(session, CaseSearch(), by=outsider, now=NOW)
    searched = factory.audit_entries("cases_searched")
    assert searched[1].details == {"worker_id": staff.worker.id, "results": 2}


def test_caseload_per_worker(factory: Factory) -> None:
    """Each worker's cases being worked at the centre, by status, with the overdue ones
    and the oldest; heaviest first."""
    staff = line(factory)
    session = factory.session
    a = _case(factory, staff.worker, 9, "0532 000 00 21")
    _case(factory, staff.worker, 4, "0532 000 00 22")
    b = _case(factory, staff.colleague, 6, "0532 000 00 23")
    _case(factory, staff.far_worker, 2, "0532 000 00 24")
    _due(factory, a, staff.worker, -1)
    cases.change_status(session, b, "on_hold", by=staff.colleague, now=NOW)
    session.commit()
    load = queries.caseload(session, by=staff.supervisor, now=NOW)
    assert [(c.worker_id, c.by_status, c.overdue, c.total) for c in load] == [
        (staff.worker.id, {"open": 2}, 1, 2), (staff.colleague.id, {"on_hold": 1}, 0, 1),
    ]  # fmt: skip
    assert load[0].oldest_opened_at == NOW - 9 * DAY
    assert queries.caseload(session, by=staff.far_supervisor, now=NOW)[0].worker_id == (
        staff.far_worker.id
    )
    with pytest.raises(CaseForbidden):
        queries.caseload(session, by=staff.worker, now=NOW)
