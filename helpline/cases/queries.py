"""Lists of cases: "My cases", the supervisor's search and the caseload per worker.

Each query follows an index of `case` (helpline/models/cases.py): (worker, next due,
opened, id) of the cases being worked for "My cases", (site, status, opened), (worker,
opened), (status, opened) and (opened) for the search, whose pages are keyed by
(opened_at, id), newest first; (site, worker, status, next due, opened) of the cases
being worked for the caseload, which reads the index alone.
Every list is audited, as the other lists of personal data are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.cases.access import CaseForbidden, CaseInvalid, Problem, actor, allows
from helpline.cases.cases import WORKED
from helpline.models import Case, CaseAction, Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import ActionStatus, CaseStatus

PAGE = 50
MY_CASES_MAX = 200


@dataclasses.dataclass(frozen=True)
class MyCase:
    case: Case
    overdue_actions: int

    @property
    def is_overdue(self) -> bool:
        return self.overdue_actions > 0


def my_cases(
    session: DbSession,
    *,
    by: Staff,
    now: dt.datetime,
    limit: int = MY_CASES_MAX,
    request: audit.RequestInfo | None = None,
) -> list[MyCase]:
    """The cases `by` works, overdue work first: by the next due action (none last), then
    the oldest case; each with its count of overdue actions. Audited."""
    cases = list(
        session.scalars(
            sa.select(Case)
            .where(Case.worker_id == by.id, Case.status.in_(WORKED))
            .order_by(Case.next_due_at.asc().nulls_last(), Case.opened_at, Case.id)
            .limit(limit)
        )
    )
    overdue = _overdue_counts(
        session, [c.id for c in cases if c.next_due_at and c.next_due_at < now], now
    )
    audit.record(
        session,
        "my_cases_viewed",
        actor(by),
        target_type="staff",
        target_id=by.id,
        details={"cases": len(cases)},
        request=request,
    )
    return [MyCase(case, overdue.get(case.id, 0)) for case in cases]


def _overdue_counts(session: DbSession, case_ids: list[int], now: dt.datetime) -> dict[int, int]:
    if not case_ids:
        return {}
    rows = session.execute(
        sa.select(CaseAction.case_id, sa.func.count())
        .where(
            CaseAction.case_id.in_(case_ids),
            CaseAction.status == ActionStatus.OPEN.value,
            CaseAction.due_at < now,
        )
        .group_by(CaseAction.case_id)
    ).all()
    return {case_id: int(count) for case_id, count in rows}


def supervised_site(
    session: DbSession, by: Staff, now: dt.datetime, site_id: int | None
) -> int | None:
    """The site whose cases `by` may search: the one asked for, else their own; None for
    every site when their rule's scope is `all`. CaseForbidden outside their scope."""
    if allows("case.supervise", by, permissions.What(), now):
        return site_id  # scope: all
    wanted = site_id if site_id is not None else by.site_id
    site = session.get(Site, wanted) if wanted is not None else None
    what = permissions.What(site_id=wanted, province=site.province if site else None)
    if wanted is None or not allows("case.supervise", by, what, now):
        raise CaseForbidden("You supervise the cases of your own centre only.")
    return wanted


@dataclasses.dataclass(frozen=True)
class CaseSearch:
    """The supervisor's filters; ages are whole days since the case was opened."""

    site_id: int | None = None
    worker_id: int | None = None
    status: str | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None


@dataclasses.dataclass(frozen=True)
class CasePage:
    cases: tuple[Case, ...]
    next_after: tuple[dt.datetime, int] | None  # the key of the next page, if any


def check_search(search: CaseSearch) -> list[Problem]:
    problems = []
    if search.status is not None and search.status not in {s.value for s in CaseStatus}:
        problems.append(Problem("status", "Choose one of the listed statuses."))
    for field in ("min_age_days", "max_age_days"):
        value = getattr(search, field)
        if value is not None and value < 0:
            problems.append(Problem(field, "A number of days, 0 or more."))
    return problems


def search_cases(
    session: DbSession,
    search: CaseSearch,
    *,
    by: Staff,
    now: dt.datetime,
    after: tuple[dt.datetime, int] | None = None,
    limit: int = PAGE,
    request: audit.RequestInfo | None = None,
) -> CasePage:
    """Cases of a site by worker, status and age, newest first, a page at a time. Audited."""
    problems = check_search(search)
    if problems:
        raise CaseInvalid(problems)
    site_id = supervised_site(session, by, now, search.site_id)
    query = sa.select(Case)
    if site_id is not None:
        query = query.where(Case.site_id == site_id)
    if search.worker_id is not None:
        query = query.where(Case.worker_id == search.worker_id)
    if search.status is not None:
        query = query.where(Case.status == search.status)
    if search.min_age_days is not None:
        query = query.where(Case.opened_at <= now - dt.timedelta(days=search.min_age_days))
    if search.max_age_days is not None:
        query = query.where(Case.opened_at > now - dt.timedelta(days=search.max_age_days + 1))
    if after is not None:
        query = query.where(sa.tuple_(Case.opened_at, Case.id) < sa.tuple_(*after))
    rows = list(
        session.scalars(query.order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit + 1))
    )
    page = rows[:limit]
    audit.record(
        session,
        "cases_searched",
        actor(by),
        target_type="site",
        target_id=site_id,
        details={
            **{k: v for k, v in dataclasses.asdict(search).items() if v is not None},
            "results": len(page),
        },
        request=request,
    )
    more = len(rows) > limit
    return CasePage(tuple(page), (page[-1].opened_at, page[-1].id) if more else None)


@dataclasses.dataclass(frozen=True)
class Caseload:
    """One worker's cases still being worked, by status, with how many are overdue."""

    worker_id: int
    display_name: str
    by_status: dict[str, int]
    overdue: int
    oldest_opened_at: dt.datetime | None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def caseload(
    session: DbSession,
    *,
    by: Staff,
    now: dt.datetime,
    site_id: int | None = None,
    request: audit.RequestInfo | None = None,
) -> list[Caseload]:
    """Each worker's caseload at the site (cases being worked), heaviest first. Audited."""
    site = supervised_site(session, by, now, site_id)
    overdue = sa.func.sum(sa.case((Case.next_due_at < now, 1), else_=0))
    query = (
        sa.select(
            Case.worker_id,
            Staff.display_name,
            Case.status,
            sa.func.count(),
            overdue,
            sa.func.min(Case.opened_at),
        )
        .join(Staff, Staff.id == Case.worker_id)
        .where(Case.status.in_(WORKED))
        .group_by(Case.worker_id, Staff.display_name, Case.status)
    )
    if site is not None:
        query = query.where(Case.site_id == site)
    found: dict[int, Caseload] = {}
    for worker_id, name, status, count, late, oldest in session.execute(query).all():
        load = found.setdefault(worker_id, Caseload(worker_id, name, {}, 0, None))
        load.by_status[status] = int(count)
        first = oldest if load.oldest_opened_at is None else min(load.oldest_opened_at, oldest)
        found[worker_id] = dataclasses.replace(
            load, overdue=load.overdue + int(late or 0), oldest_opened_at=first
        )
    audit.record(
        session,
        "caseload_viewed",
        actor(by),
        target_type="site",
        target_id=site,
        details={"workers": len(found)},
        request=request,
    )
    return sorted(found.values(), key=lambda load: (-load.total, load.display_name))
