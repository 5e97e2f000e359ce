"""The programme report's speed and memory on a line with a million calls a year.

The calls, callers, sites, staff, contact records and callbacks are `bench/search.py`'s
generator; they are then spread evenly over one calendar year, and the rest of the line
is generated inside PostgreSQL (`INSERT ... SELECT generate_series`): an opening-hours
check per call, people and the numbers linked to them, cases with their status changes,
referrals with their steps, WHO-5 measures and the staff's presence history. The report
(`build_report`, every section, suppressed) is then built for one month and for the
year, for the whole line and for one site, in this process, on a plain SQLAlchemy
session: no app, no view, so the figures are the report's own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import resource
import statistics
import time
from collections.abc import Callable

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from bench import sections
from bench.capacity_report import percentile
from bench.environment import ROOT
from bench.search import _reset_peak, _status_mb
from bench.search import generate as generate_calls

HEADING = "## Programme report"
CALLS = 1_000_000  # a year's calls
YEAR = 2025
MONTH = 6
SITE = "S1"
ZONE = "Europe/Istanbul"
RUNS = 5  # timed runs of each report, after one untimed one
TARGET_MONTH_SECONDS = 2.0
TARGET_YEAR_SECONDS = 10.0
TARGET_PEAK_MB = 200.0
# A number that is not one: every generated caller has this (encrypted) number.
NUMBER = "+905320000183"
CALLERS = 100_000  # search.py's generator makes this many, whatever the calls

_SPREAD = [
    # search.py places call n at now() - 2n seconds; place it in the year instead, every
    # other time of the call moved with its start.
    """UPDATE call SET
         queued_at = queued_at + shift, dequeued_at = dequeued_at + shift,
         answered_at = answered_at + shift, ended_at = ended_at + shift,
         started_at = started_at + shift
       FROM (SELECT id AS call_id,
                    :start + (:calls - id + 0.5) * :spacing * interval '1 second' - started_at
                    AS shift
             FROM call) moved
       WHERE call.id = moved.call_id""",
    """UPDATE contact_record SET created_at = call.ended_at, updated_at = call.ended_at,
              finalised_at = call.ended_at,
              call_type = (ARRAY['data','data','data','data','data','data','information_only',
                                 'silent','hang_up','wrong_number'])[1 + contact_record.id % 10],
              categories = json_build_array(
                (ARRAY['psychosocial.anxiety','violence','social_assistance','migration',
                       'health','psychosocial.low_mood','child_protection','education'])
                  [1 + contact_record.id % 8],
                (ARRAY['information','psychosocial','violence','health'])
                  [1 + contact_record.id % 4])
       FROM call WHERE call.id = contact_record.call_id""",
    """UPDATE callback_request SET due_from = call.ended_at, created_at = call.ended_at,
              updated_at = call.ended_at, next_attempt_at = call.ended_at,
              expires_at = call.ended_at + interval '3 days',
              completed_at = CASE WHEN callback_request.status = 'completed'
                                  THEN call.ended_at
                                       + (callback_request.id % 48) * interval '1 hour'
                             END
       FROM call WHERE call.id = callback_request.call_id""",
]

_GENERATE = [
    # The IVR's opening-hours check, a moment after each call starts: closed for one in 7.
    """INSERT INTO call_event (call_id, kind, source, occurred_at, data)
       SELECT id, 'hours_checked', 'ivr', started_at + interval '2 seconds',
              json_build_object('open', id % 7 <> 0)
       FROM call""",
    # Two callers in five have a person; the first 1% of callers share a phone with a
    # second person (so they are "not identified").
    """INSERT INTO person (id, gender, birth_year, age_group, nationality, legal_status,
                          province, wg_seeing, wg_hearing, wg_walking, wg_remembering,
                          wg_self_care, wg_communicating, languages, declined,
                          created_at, updated_at)
       SELECT n,
              (ARRAY['female','female','male','male','female','other',NULL,'male'])[1 + n % 8],
              CASE WHEN n % 3 = 0 THEN 1950 + n % 70 END,
              CASE WHEN n % 3 = 1 THEN (ARRAY['0_11','12_17','18_25','26_59','26_59',
                                              '60_plus'])[1 + n % 6] END,
              (ARRAY['SY','SY','AF','IQ','IR','TR',NULL])[1 + n % 7],
              (ARRAY['temporary_protection','temporary_protection','international_protection',
                     'residence_permit','citizen','none',NULL])[1 + n % 7],
              (ARRAY['Ankara','Istanbul','Gaziantep','Hatay','Izmir','Konya',NULL])[1 + n % 7],
              w[1 + n % 4], w[1 + (n / 4) % 4], w[1 + (n / 16) % 4], w[1 + (n / 64) % 4],
              w[1 + (n / 256) % 4], w[1 + (n / 1024) % 4],
              '[]',
              CASE WHEN n % 8 = 6 THEN '["gender"]' WHEN n % 11 = 0 THEN '["province"]'
                   ELSE '[]' END::json,
              :start, :start
       FROM generate_series(1, :people) n,
            LATERAL (SELECT CASE WHEN n % 2 = 0 THEN
                       ARRAY['no_difficulty','no_difficulty','some_difficulty',
                             'a_lot_of_difficulty']
                     ELSE ARRAY[NULL, NULL, NULL, NULL]::varchar[] END AS w) wg""",
    """INSERT INTO person_number (person_id, caller_id, linked_at)
       SELECT n, n, :start FROM generate_series(1, :people) n
       UNION ALL
       SELECT :people - n + 1, n, :start FROM generate_series(1, :shared) n""",
    # A case for one contact record in four whose caller is a person; three in five closed.
    """INSERT INTO "case" (id, reference, person_id, worker_id, site_id, status,
                          closure_reason, needs, risk_level, opened_from_record_id,
                          opened_by_id, opened_at, closed_at, updated_at)
       SELECT r.id, 'B' || r.id, r.caller_id, r.counsellor_id, staff.site_id,
              CASE WHEN r.id % 5 < 3 THEN 'closed' ELSE 'active' END,
              CASE WHEN r.id % 5 < 3 THEN
                (ARRAY['goals_met','referred_on','no_contact','moved_away',
                       'declined_services','other'])[1 + r.id % 6] END,
              '[]', 'low', r.id, r.counsellor_id, r.created_at,
              CASE WHEN r.id % 5 < 3 THEN r.created_at + (7 + r.id % 113) * interval '1 day'
              END,
              r.created_at
       FROM contact_record r JOIN staff ON staff.id = r.counsellor_id
       WHERE r.id % 4 = 0 AND r.caller_id <= :people""",
    """INSERT INTO case_status_change (case_id, from_status, to_status, closure_reason,
                                      changed_by_id, changed_at)
       SELECT id, NULL, 'open', NULL, worker_id, opened_at FROM "case"
       UNION ALL
       SELECT id, 'active', 'closed', closure_reason, worker_id, closed_at FROM "case"
       WHERE closed_at IS NOT NULL""",
    # A referral for one contact record in four: consented, sent a day later; then
    # accepted (four in five) and provided (three in five), or declined (one in ten).
    """INSERT INTO referral (id, contact_record_id, kind, site_id, province, status,
                            created_at)
       SELECT r.id, r.id,
              (ARRAY['social_service_centre','violence_prevention_centre','child_protection',
                     'health','education','social_assistance','police'])[1 + r.id % 7],
              CASE WHEN r.id % 3 = 0 THEN 1 + r.id % 12 END,
              CASE WHEN r.id % 3 = 1 THEN
                (ARRAY['Ankara','Istanbul','Gaziantep','Hatay','Izmir','Konya'])[1 + r.id % 6]
              END,
              'proposed', r.created_at
       FROM contact_record r WHERE r.id % 4 = 1""",
    """INSERT INTO referral_step (referral_id, status, at, by_id)
       SELECT referral.id, step.status, referral.created_at + step.after, r.counsellor_id
       FROM referral JOIN contact_record r ON r.id = referral.contact_record_id
       JOIN (VALUES ('consented', interval '0 days', 0, 10),
                    ('sent', interval '1 day', 0, 10),
                    ('accepted', interval '3 days', 0, 8),
                    ('declined', interval '3 days', 9, 10),
                    ('service_provided', interval '10 days', 0, 6))
            AS step (status, after, low, high)
         ON referral.id % 10 >= step.low AND referral.id % 10 < step.high""",
    """UPDATE referral SET status = latest.status, status_at = latest.at
       FROM (SELECT DISTINCT ON (referral_id) referral_id, status, at FROM referral_step
             ORDER BY referral_id, at DESC, id DESC) latest
       WHERE latest.referral_id = referral.id""",
    # WHO-5 at intake and a month later; a third of cases once more at two months.
    """INSERT INTO wellbeing_measure (person_id, case_id, occasion, language, answers,
                                     raw_score, percentage, taken_by_id, taken_at)
       SELECT c.person_id, c.id, m.occasion, 'tr', '[]', p / 4, p, c.worker_id,
              c.opened_at + m.after
       FROM "case" c
       JOIN (VALUES ('intake', interval '0 days', 0), ('follow_up', interval '30 days', 0),
                    ('follow_up', interval '60 days', 2)) AS m (occasion, after, low)
         ON c.id % 3 >= m.low,
       LATERAL (SELECT LEAST(100, 4 * ((c.id + 7 * extract(day FROM m.after)::int) % 26))
                AS p) score""",
    # Each member of staff's day: available, a break, available, offline.
    """INSERT INTO presence_change (staff_id, state, changed_at)
       SELECT staff.id, shift.state,
              :start + d * interval '1 day' + shift.at + (staff.id % 4) * interval '1 hour'
       FROM staff, generate_series(0, :days - 1) d,
            (VALUES ('available', interval '5 hours'), ('break', interval '9 hours'),
                    ('available', interval '10 hours'), ('offline', interval '14 hours'))
            AS shift (state, at)""",
    "SELECT setval(pg_get_serial_sequence('person', 'id'), :people + 1)",
    """SELECT setval(pg_get_serial_sequence('case', 'id'),
                     (SELECT coalesce(max(id), 0) + 1 FROM "case"))""",
    """SELECT setval(pg_get_serial_sequence('referral', 'id'),
                     (SELECT coalesce(max(id), 0) + 1 FROM referral))""",
]

COUNTED = (
    "call",
    "caller",
    "contact_record",
    "callback_request",
    "call_event",
    "person",
    "person_number",
    "case",
    "case_status_change",
    "referral",
    "referral_step",
    "wellbeing_measure",
    "presence_change",
    "staff",
    "site",
)


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The year's first and last instants (UTC) over which the calls are spread."""
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)


def generate(database_url: str, calls: int, year: int = YEAR) -> tuple[float, dict[str, int]]:
    """Fill the (fresh, migrated) database with a year of a line taking `calls` calls;
    returns the seconds it took (ANALYZE included) and the rows of each table."""
    started = time.perf_counter()
    # The report never reads a number: a throwaway key's token stands in for it.
    token = Fernet(Fernet.generate_key()).encrypt(NUMBER.encode()).decode()
    generate_calls(database_url, token, calls)
    start, end = year_bounds(year)
    values = {
        "start": start,
        "calls": calls,
        "spacing": (end - start).total_seconds() / calls,
        "people": CALLERS * 2 // 5,
        "shared": CALLERS // 100,
        "days": (end - start).days,
    }
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        for statement in [*_SPREAD, *_GENERATE]:
            connection.execute(sa.text(statement), values)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
        counts = {
            table: int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
            )
            for table in COUNTED
        }
    engine.dispose()
    return time.perf_counter() - started, counts


@dataclasses.dataclass(frozen=True)
class Timing:
    name: str
    period: str
    scope: str
    target: float
    samples: tuple[float, ...]  # seconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)


@dataclasses.dataclass(frozen=True)
class Result:
    calls: int
    generate_seconds: float
    counts: dict[str, int]
    timings: list[Timing]
    before_mb: float
    peak_mb: float
    lifetime_peak_mb: float


# Build the report for (first day, last day, site code or None for the whole line).
Reporter = Callable[[dt.date, dt.date, str | None], None]


def _reporter(database_url: str) -> tuple[sa.Engine, Reporter]:
    """An engine and a function that builds the report once (then rolls back)."""
    from helpline.records.catalog import load_catalog
    from helpline.reporting.programme import build

    catalog = load_catalog(ROOT / "data")
    engine = sa.create_engine(database_url, pool_size=1)
    now = dt.datetime(YEAR + 1, 1, 2, tzinfo=dt.UTC)

    def report(first: dt.date, last: dt.date, site: str | None) -> None:
        with Session(engine) as session:
            period = build.period_of(first, last, ZONE)
            scope = build.scope_of(session, site=site)
            found = build.build_report(session, period, scope, catalog, now)
            if not found.sections:
                raise RuntimeError("benchmark: a report without sections")
            session.rollback()

    return engine, report


def measure(database_url: str, runs: int = RUNS, year: int = YEAR) -> list[Timing]:
    """Build the report for a month and for the year, the line's and one site's."""
    engine, report = _reporter(database_url)
    month_first = dt.date(year, MONTH, 1)
    month_last = (month_first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    cases = [
        (f"{month_first:%B %Y}", month_first, month_last, TARGET_MONTH_SECONDS),
        (f"the year {year}", dt.date(year, 1, 1), dt.date(year, 12, 31), TARGET_YEAR_SECONDS),
    ]
    found = []
    for period, first, last, target in cases:
        for site in (None, SITE):
            samples = []
            for attempt in range(runs + 1):
                started = time.perf_counter()
                report(first, last, site)
                if attempt:
                    samples.append(time.perf_counter() - started)
            scope = "whole line" if site is None else f"site {site}"
            found.append(Timing(f"{period}, {scope}", period, scope, target, tuple(samples)))
    engine.dispose()
    return found


def run(database_url: str, calls: int = CALLS, runs: int = RUNS) -> Result:
    """Generate a year of `calls` calls in the (fresh, migrated) database and measure."""
    generate_seconds, counts = generate(database_url, calls)
    _reset_peak()
    before = _status_mb("VmRSS")
    timings = measure(database_url, runs)
    return Result(
        calls=calls,
        generate_seconds=generate_seconds,
        counts=counts,
        timings=timings,
        before_mb=before,
        peak_mb=_status_mb("VmHWM"),
        lifetime_peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _ratio(counts: dict[str, int], table: str, per: str, scale: int) -> str:
    return f"{counts[table] * scale / max(counts[per], 1):,.0f}"


def section(result: Result, measured: str, command: str) -> str:
    counts = result.counts
    runs = len(result.timings[0].samples)
    lines = [
        *sections.head(HEADING, measured, command, needs="PostgreSQL"),
        f"A line with {result.calls:,} calls in {YEAR}, evenly spread (`bench/search.py`'s "
        f"calls, callers, sites, staff, contact records and callbacks, then the rest in "
        f"PostgreSQL with `INSERT ... SELECT`), generated in {result.generate_seconds:.0f} s, "
        "then `VACUUM ANALYZE`. The rows:",
        "",
        "| table | rows | per 1,000 calls |",
        "| --- | ---: | ---: |",
    ]
    for table in COUNTED:
        lines.append(f"| {table} | {counts[table]:,} | {_ratio(counts, table, 'call', 1000)} |")
    lines += [
        "",
        "Seven in ten calls are answered; a final contact record for one answered call in "
        "ten; two callers in five are a person (one in a hundred callers shares a phone "
        "with a second person); a case for one contact record in four whose caller is a "
        "person (three in five closed within 7 to 120 days); a referral for one contact "
        "record in four (consented, sent; four in five accepted, three in five provided, "
        "one in ten declined); two or three WHO-5 measures a case; an opening-hours check "
        "per call (closed for one in seven); four presence changes a day per member of "
        "staff.",
        "",
        f"Each report is `build_report` (every section, suppressed) in this process on a "
        f"plain SQLAlchemy session, {ZONE} days; {runs} timed runs after one untimed one. "
        f"The site is {SITE}, one of 12.",
        "",
        "| report | median s | p95 s | target s | |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for timing in result.timings:
        verdict = "met" if timing.p95 <= timing.target else "NOT met"
        lines.append(
            f"| {timing.name} | {timing.median:.2f} | {timing.p95:.2f} | "
            f"{timing.target:.0f} | {verdict} |"
        )
    verdict = "met" if result.peak_mb <= TARGET_PEAK_MB else "NOT met"
    lines += [
        "",
        "Memory is the process's resident set (Linux's VmRSS and VmHWM, read from "
        "/proc/self/status): before is once the data was generated; peak is the highest "
        "while every report above ran (VmHWM, reset just before); lifetime peak is "
        "`resource.getrusage`'s ru_maxrss, generation included.",
        "",
        "| before MB | peak MB | lifetime peak MB |",
        "| ---: | ---: | ---: |",
        f"| {result.before_mb:.0f} | {result.peak_mb:.0f} | {result.lifetime_peak_mb:.0f} |",
        "",
        f"Target: peak memory {TARGET_PEAK_MB:.0f} MB or under: **{verdict}** "
        f"(peak {result.peak_mb:.0f} MB).",
        "",
    ]
    return "\n".join(lines)
