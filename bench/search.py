"""Call-log search latency and CSV export memory on a million generated calls.

The calls are generated inside PostgreSQL with INSERT ... SELECT generate_series (under a
minute), with staff, sites, callers, contact records and callbacks in the proportions of
a busy line. Search latency is measured through the real view (`GET /supervisor/calls`,
logged in as a supervisor, Flask's test client, no network), for the filters and orders
supervisors use; the export runs in a child process of its own, streaming every call
through `POST /supervisor/calls/export`, and reports that process's peak memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench import sections
from bench.capacity_report import percentile
from bench.environment import ROOT

HEADING = "## Call-log search and export"
CALLS = 1_000_000
RUNS = 20  # timed runs of each search, after two untimed ones
TARGET_P95_MS = 100.0
TARGET_EXPORT_MB = 200.0
PASSWORD = "bench-supervisor-password-183"  # noqa: S105 - a throwaway database's account
PROVINCES = ("Ankara", "Istanbul", "Gaziantep", "Hatay", "Izmir", "Konya")

_GENERATE = [
    """INSERT INTO site (id, code, name, province, is_active, created_at)
       SELECT n, 'S' || n, 'Centre ' || n,
              (ARRAY['Ankara','Istanbul','Gaziantep','Hatay','Izmir','Konya'])[1 + n % 6],
              true, now()
       FROM generate_series(1, 12) n""",
    """INSERT INTO staff (id, username, display_name, ui_language, is_active, created_at,
                         updated_at, site_id)
       SELECT n, 'staff' || n, 'Staff ' || n, 'tr', true, now(), now(), 1 + n % 12
       FROM generate_series(1, 60) n""",
    """INSERT INTO staff_role (staff_id, role)
       SELECT n, CASE WHEN n <= 40 THEN 'counsellor' ELSE 'interpreter' END
       FROM generate_series(1, 60) n""",
    """INSERT INTO caller (id, number_index, number_encrypted, first_seen_at, last_seen_at)
       SELECT n, md5('caller' || n), :number, now(), now()
       FROM generate_series(1, 100000) n""",
    # Two seconds apart: a million calls span 23 days. h is a cheap hash of n.
    """INSERT INTO call (id, call_sid, direction, caller_id, is_number_withheld, started_at,
                         queued_at, dequeued_at, answered_at, ended_at, wait_seconds,
                         duration_seconds, language, topic, priority, outcome, counsellor_id,
                         interpreter_id, site_id, is_recording_consented, flow_id, flow_version)
       SELECT n, 'CA' || md5(n::text), 'inbound',
              CASE WHEN h % 10 = 0 THEN NULL ELSE 1 + h % 100000 END, h % 10 = 0,
              t, t + interval '20 seconds', t + (20 + w) * interval '1 second',
              CASE WHEN o = 'answered' THEN t + (20 + w) * interval '1 second' END,
              t + (20 + w + d) * interval '1 second', w, 20 + w + d,
              (ARRAY['tr','ar','fa','ps','ku','en','ar','tr','ar','fa'])[1 + h % 10],
              (ARRAY['psychosocial','violence','social_assistance','child_protection',
                     'elderly_disability'])[1 + (h / 10) % 5],
              0, o,
              CASE WHEN o = 'answered' THEN 1 + h % 40 END,
              CASE WHEN o = 'answered' AND h % 10 = 3 THEN 41 + h % 20 END,
              CASE WHEN o = 'answered' THEN 1 + (1 + h % 40) % 12 END,
              h % 3 = 0, 'default', 'bench'
       FROM (
         SELECT n, h, now() - n * interval '2 seconds' AS t, h % 600 AS w,
                CASE WHEN h % 100 < 70 THEN (h / 7) % 1800 ELSE 0 END AS d,
                CASE WHEN h % 100 < 70 THEN 'answered'
                     WHEN h % 100 < 85 THEN 'abandoned_queue'
                     WHEN h % 100 < 95 THEN 'abandoned_ivr'
                     ELSE 'callback_requested' END AS o
         FROM (SELECT n, (n::bigint * 2654435761) % 4294967296 AS h
               FROM generate_series(1, :calls) n) numbers
       ) s""",
    """INSERT INTO contact_record (call_id, caller_id, counsellor_id, status, call_type,
                                   categories, risk_level, is_safety_plan_made, version,
                                   created_at, updated_at, finalised_at)
       SELECT id, caller_id, counsellor_id, 'final', 'data', '[]',
              (ARRAY['none','none','none','low','low','medium','none','low','high','none',
                     'none','low','none','medium','none','none','low','none','none',
                     'imminent'])[1 + (id / 10) % 20],
              false, 1, ended_at, ended_at, ended_at
       FROM call WHERE outcome = 'answered' AND id % 10 = 0""",
    """INSERT INTO callback_request (caller_id, call_id, reason, language, priority, due_from,
                                     expires_at, next_attempt_at, attempts, max_attempts,
                                     status, created_at, updated_at)
       SELECT caller_id, id, 'queue_key', language, 0, ended_at,
              ended_at + interval '3 days', ended_at, 1, 3,
              CASE WHEN id % 200 = 0 THEN 'pending' WHEN id % 5 = 0 THEN 'expired'
                   ELSE 'completed' END,
              ended_at, ended_at
       FROM call WHERE outcome = 'callback_requested' AND caller_id IS NOT NULL""",
    "SELECT setval(pg_get_serial_sequence('staff', 'id'), 100)",
    "SELECT setval(pg_get_serial_sequence('site', 'id'), 100)",
    "SELECT setval(pg_get_serial_sequence('caller', 'id'), 200000)",
    "SELECT setval(pg_get_serial_sequence('call', 'id'), :calls + 1)",
]


def generate(database_url: str, number_token: str, calls: int) -> float:
    """Fill the database; returns the seconds it took (ANALYZE included)."""
    engine = sa.create_engine(database_url)
    started = time.perf_counter()
    with engine.begin() as connection:
        for statement in _GENERATE:
            connection.execute(sa.text(statement), {"number": number_token, "calls": calls})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def environment(database_url: str, redis_url: str, instance: Path) -> dict[str, str]:
    """Settings for an app run in this process (test mode: plain HTTP cookies)."""
    from bench.environment import production_environment

    env = production_environment(database_url, redis_url, instance)
    env.update({"HELPLINE_ENV": "test", "PUBLIC_BASE_URL": "http://localhost"})
    return env


def build_app(env: dict[str, str]) -> Flask:
    from helpline import create_app
    from helpline.config import Settings

    return create_app(Settings.from_env(env))


def add_supervisor(app: Flask) -> None:
    from helpline.audit import chain as audit
    from helpline.extensions import db
    from helpline.staff import accounts as staffing

    with app.app_context():
        spec = staffing.StaffSpec(
            username="bench.supervisor",
            display_name="Bench Supervisor",
            roles=("supervisor",),
            languages=("tr",),
            topics=(),
            site_code="S1",
            phone=None,
            password=PASSWORD,
        )
        staffing.add_staff(db.session, spec, audit.Actor("bench"))
        db.session.commit()


_ROW = re.compile(r'<a href="/supervisor/calls/\d+">Call \d+</a>')
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _check(condition: bool, message: object) -> None:
    if not condition:
        raise RuntimeError(f"benchmark: unexpected {message}")


def _token(page: str) -> str:
    found = _CSRF.search(page)
    if found is None:
        raise RuntimeError("benchmark: no CSRF token in the page")
    return found[1]


def log_in(client: FlaskClient) -> None:
    token = _token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"username": "bench.supervisor", "password": PASSWORD, "csrf_token": token},
    )
    _check(response.status_code == 302, response.status_code)


@dataclasses.dataclass(frozen=True)
class Search:
    name: str
    args: dict[str, str]
    rows: int
    samples: tuple[float, ...]  # milliseconds

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)


def _deep_cursor(app: Flask, offset: int) -> str:
    """The keyset cursor of the row `offset` rows into the newest-first order."""
    from helpline.extensions import db
    from helpline.models import Call
    from helpline.supervisor import filters

    with app.app_context():
        row = db.session.execute(
            sa.select(Call.started_at, Call.id)
            .order_by(Call.started_at.desc(), Call.id.desc())
            .offset(offset)
            .limit(1)
        ).one()
        return filters.encode_cursor(row.started_at, row.id)


def searches(app: Flask, calls: int) -> list[tuple[str, dict[str, str]]]:
    from datetime import UTC, datetime, timedelta

    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    return [
        ("newest first, first page", {}),
        ("newest first, a page half-way down", {"after": _deep_cursor(app, calls // 2)}),
        ("one day", {"from": ten_days_ago, "to": ten_days_ago}),
        ("language", {"language": "ps"}),
        ("topic and outcome", {"topic": "child_protection", "outcome": "abandoned_queue"}),
        ("counsellor", {"counsellor": "7"}),
        ("interpreter", {"interpreter": "44"}),
        ("site", {"site": "5"}),
        ("wait at least 9 min, longest first", {"wait_min": "540", "sort": "longest_wait"}),
        ("duration 10 to 15 min", {"duration_min": "600", "duration_max": "900"}),
        ("risk level imminent", {"risk": "imminent"}),
        ("callback pending", {"callback": "pending"}),
        ("no callback, shortest call first", {"callback": "none", "sort": "shortest"}),
        ("language, site and a week", {"language": "ar", "site": "3", "from": ten_days_ago}),
    ]


def measure_searches(app: Flask, calls: int, runs: int = RUNS) -> list[Search]:
    client = app.test_client()
    log_in(client)
    found: list[Search] = []
    for name, args in searches(app, calls):
        query = {**args, "size": "50"}
        samples: list[float] = []
        rows = 0
        for attempt in range(runs + 2):
            started = time.perf_counter()
            response = client.get("/supervisor/calls", query_string=query)
            elapsed = (time.perf_counter() - started) * 1000
            _check(response.status_code == 200, (name, response.status_code))
            if attempt >= 2:
                samples.append(elapsed)
            rows = len(_ROW.findall(response.get_data(as_text=True)))
        found.append(Search(name, args, rows, tuple(samples)))
    return found


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"benchmark: no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Start the peak (VmHWM) again from the current RSS: Linux's clear_refs value 5.

    The login before the export hashes a password with argon2id, which takes tens of MB
    for a moment; that peak is the login's, not the export's."""
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def export_child() -> None:
    """In a process of its own: export every call and print what it cost, as JSON."""
    env = json.loads(os.environ["HELPLINE_BENCH_CHILD"])
    app = build_app(env)
    client = app.test_client()
    log_in(client)
    token = _token(client.get("/supervisor/calls/export").get_data(as_text=True))
    include = os.environ.get("HELPLINE_BENCH_PERSONAL") == "1"
    data = {"csrf_token": token}
    if include:
        data.update(include_number="y", reason="benchmark of the export's memory")
    _reset_peak()
    baseline = _status_mb("VmRSS")
    started = time.perf_counter()
    response = client.post("/supervisor/calls/export", data=data, buffered=False)
    _check(response.status_code == 200, response.status_code)
    size = lines = 0
    for chunk in response.response:
        raw = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(raw)
        lines += raw.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    lifetime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": lines - 1,
                "bytes": size,
                "seconds": seconds,
                "baseline_mb": baseline,
                "peak_mb": peak,
                "lifetime_peak_mb": lifetime,
                "personal": include,
            }
        )
    )


def measure_export(env: dict[str, str], personal: bool) -> dict[str, Any]:
    child = dict(env)
    child["HELPLINE_BENCH_CHILD"] = json.dumps(env)
    child["HELPLINE_BENCH_PERSONAL"] = "1" if personal else "0"
    done = subprocess.run(
        [sys.executable, "-m", "bench.search", "--export-child"],
        cwd=ROOT,
        env=child,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@dataclasses.dataclass(frozen=True)
class Result:
    calls: int
    generate_seconds: float
    searches: list[Search]
    exports: list[dict[str, Any]]


@contextmanager
def _instance() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def run(database_url: str, redis_url: str, calls: int = CALLS) -> Result:
    """Generate `calls` calls in the (fresh, migrated) database and measure."""
    with _instance() as instance:
        env = environment(database_url, redis_url, instance)
        app = build_app(env)
        from helpline.privacy import crypto as privacy

        token = privacy.keyring().encrypt("+905321234567")
        generate_seconds = generate(database_url, token, calls)
        add_supervisor(app)
        found = measure_searches(app, calls)
        exports = [measure_export(env, personal=False), measure_export(env, personal=True)]
    return Result(calls, generate_seconds, found, exports)


def section(result: Result, measured: str, command: str) -> str:
    worst = max(result.searches, key=lambda s: s.p95)
    lines = [
        *sections.head(HEADING, measured, command),
        f"{result.calls:,} calls generated in PostgreSQL with `INSERT ... SELECT "
        f"generate_series` in {result.generate_seconds:.0f} s (with 12 sites, 60 staff, "
        "100,000 callers, a contact record for one answered call in ten, a callback for "
        "each callback request), then `ANALYZE`. Each search is `GET /supervisor/calls` "
        f"with 50 rows a page, through the whole view as a logged-in supervisor (Flask's "
        f"test client, no network): {RUNS} timed runs after two untimed ones.",
        "",
        "| search | rows | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for search in result.searches:
        lines.append(f"| {search.name} | {search.rows} | {search.p50:.1f} | {search.p95:.1f} |")
    verdict = "met" if worst.p95 <= TARGET_P95_MS else "NOT met"
    lines += [
        "",
        f"Target: every search at p95 {TARGET_P95_MS:.0f} ms or under: **{verdict}** "
        f"(slowest: {worst.name}, p95 {worst.p95:.1f} ms).",
        "",
        "About 20 ms of each figure is the view itself (the form's choices, the page's "
        "names, rendering). The risk level and callback status filters are the slowest: "
        "PostgreSQL walks the calls newest first (`ix_call_started_id`) and looks up each "
        "one's contact record or callback until a page is full, so the rarer and older the "
        "matches, the longer the walk (one call in 200 has an imminent-risk record here).",
        "",
        "The export streams every call through `POST /supervisor/calls/export` in a process "
        "of its own. Before is that process's resident memory once the app was built and "
        "logged in; peak is its highest resident memory while the export ran (Linux's "
        "VmHWM, reset just before it); lifetime peak includes the login, whose argon2id "
        "password check takes tens of MB for a moment.",
        "",
        "| export | rows | CSV MB | seconds | rows/s | before MB | peak MB | lifetime peak MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for export in result.exports:
        name = "with the masked number" if export["personal"] else "without personal data"
        lines.append(
            f"| {name} | {export['rows']:,} | {export['bytes'] / 1e6:.0f} | "
            f"{export['seconds']:.0f} | {export['rows'] / export['seconds']:,.0f} | "
            f"{export['baseline_mb']:.0f} | {export['peak_mb']:.0f} | "
            f"{export['lifetime_peak_mb']:.0f} |"
        )
    peak = max(export["peak_mb"] for export in result.exports)
    verdict = "met" if peak <= TARGET_EXPORT_MB else "NOT met"
    lines += [
        "",
        f"Target: the export's peak memory {TARGET_EXPORT_MB:.0f} MB or under: **{verdict}** "
        f"(peak {peak:.0f} MB).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if "--export-child" in sys.argv:
        export_child()
