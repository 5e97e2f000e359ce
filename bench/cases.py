"""Case lists and timelines on a million calls and 200,000 cases (issue 17).

The call-log seed (`bench.search.generate`) makes the calls, then `bench.cases_seed` the
cases, their plans and histories, and one person with 500 contacts in a case. Each
measurement calls the domain function the pages call (`helpline.cases.queries`,
`helpline.cases.timeline`) as the member of staff the page would, in the app's session,
and commits, as a request does: the audit entry every list and timeline writes is
included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from bench import cases_seed, search, sections
from bench.capacity_report import percentile

HEADING = "## Cases: my cases, search and timelines"
CASES = 200_000
CONTACTS = 500
RUNS = 50  # timed runs of each measurement, after WARM_UP untimed ones
WARM_UP = 3
WORKER = 12  # the busy worker: a counsellor of site 1, the supervisor's centre
SITE = 1
DEEP_PAGE = 9  # the deeper timeline page measured (pages of 50)
LIST_TARGET_MS = 100.0
TIMELINE_TARGET_MS = 150.0


@dataclasses.dataclass(frozen=True)
class Measurement:
    name: str
    target_ms: float
    rows: int
    samples: tuple[float, ...]  # milliseconds

    @property
    def p50(self) -> float:
        return percentile(self.samples, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)

    @property
    def is_met(self) -> bool:
        return self.p95 < self.target_ms


@dataclasses.dataclass(frozen=True)
class Result:
    calls: int
    seed_seconds: float
    seeded: cases_seed.Seeded
    worker_cases: int  # the busy worker's cases being worked
    site_cases: int
    measurements: list[Measurement]
    load: tuple[float, float]  # the machine's 1-minute load average before and after


# A measurement: given the time, run the domain function once and return its rows.
Probe = Callable[[dt.datetime], int]


def _once(probe: Probe) -> tuple[int, float]:
    """Run a probe and commit, as a request would: (rows, milliseconds)."""
    from helpline.extensions import db

    started = time.perf_counter()
    rows = probe(dt.datetime.now(dt.UTC))
    db.session.commit()
    return rows, (time.perf_counter() - started) * 1000


def probes(seeded: cases_seed.Seeded) -> list[tuple[str, float, Probe]]:
    """What is measured: (name, target ms, probe), in the section's order."""
    from helpline.cases import queries, timeline
    from helpline.cases.queries import CaseSearch
    from helpline.extensions import db
    from helpline.models import Case, Staff

    session = db.session

    def worker() -> Staff:
        return session.get_one(Staff, seeded.worker_id)

    def supervisor() -> Staff:
        return session.scalars(sa.select(Staff).where(Staff.username == "bench.supervisor")).one()

    def searched(filters: CaseSearch) -> Probe:
        return lambda now: len(
            queries.search_cases(session, filters, by=supervisor(), now=now).cases
        )

    def deep_cursor(page: Callable[..., timeline.Page]) -> timeline.Cursor | None:
        after = None
        for _ in range(DEEP_PAGE - 1):
            after = page(dt.datetime.now(dt.UTC), None if after is None else after).next_after
            session.commit()
            if after is None:
                raise RuntimeError(f"benchmark: the timeline has fewer than {DEEP_PAGE} pages")
        return after

    def case_page(now: dt.datetime, after: timeline.Cursor | None) -> timeline.Page:
        case = session.get_one(Case, seeded.person_id)
        return timeline.case_timeline(session, case, by=worker(), now=now, after=after)

    def person_page(now: dt.datetime, after: timeline.Cursor | None) -> timeline.Page:
        return timeline.person_timeline(
            session, seeded.person_id, by=worker(), now=now, after=after
        )

    case_deep = deep_cursor(case_page)
    person_deep = deep_cursor(person_page)
    young, old = seeded.age_days
    age = CaseSearch(site_id=SITE, worker_id=seeded.worker_id, min_age_days=young, max_age_days=old)
    return [
        ("My cases, the busy worker", LIST_TARGET_MS,
         lambda now: len(queries.my_cases(session, by=worker(), now=now))),
        ("search: site", LIST_TARGET_MS, searched(CaseSearch(site_id=SITE))),
        ("search: site and status (on hold)", LIST_TARGET_MS,
         searched(CaseSearch(site_id=SITE, status="on_hold"))),
        (f"search: site, worker and age ({young} to {old} days)", LIST_TARGET_MS,
         searched(age)),
        ("caseload: site", LIST_TARGET_MS,
         lambda now: len(queries.caseload(session, by=supervisor(), now=now, site_id=SITE))),
        (f"case timeline ({seeded.contacts} contacts), first page", TIMELINE_TARGET_MS,
         lambda now: len(case_page(now, None).entries)),
        (f"case timeline, page {DEEP_PAGE}", TIMELINE_TARGET_MS,
         lambda now: len(case_page(now, case_deep).entries)),
        (f"person timeline ({seeded.contacts} contacts), first page", TIMELINE_TARGET_MS,
         lambda now: len(person_page(now, None).entries)),
        (f"person timeline, page {DEEP_PAGE}", TIMELINE_TARGET_MS,
         lambda now: len(person_page(now, person_deep).entries)),
    ]  # fmt: skip


def measure(app: Flask, seeded: cases_seed.Seeded, runs: int) -> list[Measurement]:
    """Every probe once a round, `WARM_UP` untimed rounds then `runs` timed ones: what
    else runs on the machine meanwhile falls on every measurement alike."""
    from helpline.extensions import db

    with app.app_context():
        try:
            chosen = probes(seeded)
            rows = [0] * len(chosen)
            samples: list[list[float]] = [[] for _ in chosen]
            for round_number in range(WARM_UP + runs):
                for index, (_, _, probe) in enumerate(chosen):
                    rows[index], elapsed = _once(probe)
                    if round_number >= WARM_UP:
                        samples[index].append(elapsed)
        finally:
            db.session.remove()
            db.engine.dispose()
    return [
        Measurement(name, target, count, tuple(times))
        for (name, target, _), count, times in zip(chosen, rows, samples, strict=True)
    ]


def _counts(database_url: str, worker: int) -> tuple[int, int]:
    """The busy worker's cases being worked, and the cases of site `SITE`."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        worked = connection.execute(
            sa.text(
                'SELECT count(*) FROM "case" WHERE worker_id = :worker'
                " AND status IN ('open', 'active', 'on_hold', 'reopened')"
            ),
            {"worker": worker},
        ).scalar_one()
        site = connection.execute(
            sa.text('SELECT count(*) FROM "case" WHERE site_id = :site'), {"site": SITE}
        ).scalar_one()
    engine.dispose()
    return int(worked), int(site)


def run(
    database_url: str,
    redis_url: str,
    calls: int = search.CALLS,
    cases: int = CASES,
    contacts: int = CONTACTS,
    runs: int = RUNS,
) -> Result:
    """Generate the calls and cases in the (fresh, migrated) database, then measure."""
    with tempfile.TemporaryDirectory() as instance:
        app = search.build_app(search.environment(database_url, redis_url, Path(instance)))
        from helpline.privacy import crypto as privacy

        keys = privacy.keyring()
        number = keys.encrypt("+905321234567")
        started = time.perf_counter()
        search.generate(database_url, number, calls)
        seeded = cases_seed.generate(
            database_url, keys.encrypt("A plan step or a note."), number,
            calls, cases, contacts, WORKER,
        )  # fmt: skip
        seed_seconds = time.perf_counter() - started
        search.add_supervisor(app)
        worked, site = _counts(database_url, WORKER)
        before = os.getloadavg()[0]
        measurements = measure(app, seeded, runs)
        load = (before, os.getloadavg()[0])
    return Result(calls, seed_seconds, seeded, worked, site, measurements, load)


def section(result: Result, measured: str, command: str) -> str:
    seeded = result.seeded
    lines = [
        *sections.head(HEADING, measured, command),
        f"{result.calls:,} calls and {seeded.cases:,} cases generated in PostgreSQL with "
        f"`INSERT ... SELECT generate_series` in {result.seed_seconds:.0f} s (`VACUUM` of the "
        "cases and `ANALYZE` included): "
        "the call-log seed (12 sites, 40 counsellors, 100,000 callers, a contact record for "
        "one answered call in ten), then one case per chosen answered call (its person, "
        "number, consent and opening record), 35 % of them closed, each with a goal, an "
        "open or cancelled action (some overdue, one in five a call with its pending "
        "callback) and a done one, plan changes, status, assignment and risk history and a "
        f"note, one in ten linked to a second person; and one person with {seeded.contacts} "
        "calls on one number over two years, "
        "each with a contact record in one case, a callback for one in five (and the call "
        "it made), goals, actions, notes, statuses and risks. The busy worker works "
        f"{result.worker_cases:,} cases; the supervisor's centre has {result.site_cases:,}.",
        "",
        "Each measurement calls the domain function the page calls "
        "(`helpline/cases/queries.py`, `helpline/cases/timeline.py`) as the case worker or "
        "the centre's supervisor, in the app's session, and commits (the audit entry each "
        f"writes included), every one once a round: {RUNS} timed rounds after {WARM_UP} "
        "untimed ones. The deeper "
        f"page is page {DEEP_PAGE} (entries {50 * (DEEP_PAGE - 1) + 1} to "
        f"{50 * DEEP_PAGE}). The machine's load average (1 minute) was "
        f"{result.load[0]:.1f} when the measurements began and {result.load[1]:.1f} when "
        f"they ended, on {os.cpu_count()} cores.",
        "",
        "| measurement | rows | p50 ms | p95 ms | p99 ms | target p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in result.measurements:
        lines.append(
            f"| {m.name} | {m.rows} | {m.p50:.1f} | {m.p95:.1f} | {m.p99:.1f} | "
            f"< {m.target_ms:.0f} ms |"
        )
    missed = [m.name for m in result.measurements if not m.is_met]
    worst = max(result.measurements, key=lambda m: m.p95 / m.target_ms)
    verdict = "met" if not missed else "NOT met (" + ", ".join(missed) + ")"
    lines += [
        "",
        f'Target (issue 17): "My cases" and the supervisor\'s search and caseload at p95 '
        f"under {LIST_TARGET_MS:.0f} ms, the timelines of the person with "
        f"{seeded.contacts} contacts under {TIMELINE_TARGET_MS:.0f} ms: **{verdict}** "
        f"(closest: {worst.name}, p95 {worst.p95:.1f} ms).",
        "",
    ]
    return "\n".join(lines)
