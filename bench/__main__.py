"""Run the benchmarks and write docs/BENCHMARKS.md.

    .venv/bin/python -m bench [--seconds 10]     # everything
    .venv/bin/python -m bench --only routing     # the routing section alone
    .venv/bin/python -m bench --only webhooks    # the webhook section alone
    .venv/bin/python -m bench --only search      # call-log search and export
    .venv/bin/python -m bench --only cases       # case lists and timelines
    .venv/bin/python -m bench --only callbacks   # callbacks through the sandbox
    .venv/bin/python -m bench --only capacity    # concurrent calls through the sandbox
    .venv/bin/python -m bench --only programme   # the programme report, a year of calls

Each run replaces only the sections it measures, in place: every other section of
docs/BENCHMARKS.md, hand-written notes included, is kept as it was.

Needs PostgreSQL and Redis (HELPLINE_BENCH_DATABASE_URL, default the local server's
`test` database, in which a fresh database is created and dropped; HELPLINE_BENCH_REDIS_URL,
default redis://127.0.0.1:6379/13, flushed at the start of a run that uses Redis) and wrk
(apt-get install wrk). The routing benchmark needs only Redis; the search and cases
benchmarks PostgreSQL and Redis, not wrk; the callbacks benchmark (`--only callbacks`)
PostgreSQL and Redis, and runs the sandbox and two worker processes; the capacity benchmark
(`--only capacity`) PostgreSQL and Redis, and runs gunicorn as in production, one worker
process and the sandbox (about 15 minutes); the programme report's benchmark (`--only
programme`) PostgreSQL alone, and leaves Redis untouched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path

import redis

from bench import (
    callbacks,
    capacity,
    capacity_report,
    cases,
    programme,
    routing,
    search,
    sections,
    webhooks,
)
from bench.environment import ROOT, fresh_database, gunicorn, machine, production_environment

COMMAND = ".venv/bin/python -m bench"
TARGET_RATIO = 0.8
TARGET_P99_MS = 25.0
WEBHOOK_HEADING = "## Webhook throughput and latency"
SECTIONS = ("routing", "webhooks", "search", "cases", "callbacks", "capacity", "programme")
WITHOUT_REDIS = frozenset({"programme"})


def uses_redis(only: str | None) -> bool:
    """Whether a run of `--only` (None: every section) touches Redis, so its db is flushed
    at the start; a section not known to do without Redis counts as using it."""
    return only is None or only not in WITHOUT_REDIS


def _seed(database_url: str) -> None:
    """One member of staff, so the reference write view's row has a valid foreign key."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO staff (id, username, display_name, ui_language, is_active,"
                " created_at, updated_at) VALUES (1, 'bench', 'Bench', 'tr', true, now(), now())"
            )
        )
    engine.dispose()


def _report(results: list[webhooks.Result], seconds: int) -> str:
    by_name = {r.name: r for r in results}
    constant = by_name["reference: constant TwiML"]
    write = by_name["reference: 1 insert + 1 Redis write"]
    step = by_name["IVR: menu step (language chosen)"]
    lines = [
        *sections.head(
            WEBHOOK_HEADING,
            f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
            f"{COMMAND} --only webhooks --seconds {seconds}",
            needs=f"{sections.SERVICES}; wrk",
        ),
        f"gunicorn, 3 sync workers, production settings, PostgreSQL and Redis; wrk with "
        f"{webhooks.THREADS} threads and {webhooks.CONNECTIONS} connections for {seconds} s each. "
        "Every IVR request is a distinct, correctly signed Twilio request.",
        "",
        "| view | req/s | p50 ms | p99 ms | vs constant | vs write | requests | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        note = "" if r.fresh else " (ran out of fresh requests)"
        lines.append(
            f"| {r.name}{note} | {r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.requests_per_second / constant.requests_per_second:.2f} | "
            f"{r.requests_per_second / write.requests_per_second:.2f} | "
            f"{r.requests:,} | {r.errors} |"
        )
    ratio = step.requests_per_second / write.requests_per_second
    verdict = "met" if ratio >= TARGET_RATIO and step.p99_ms <= TARGET_P99_MS else "NOT met"
    lines += [
        "",
        f"Target (issue 9): the menu step reaches at least {TARGET_RATIO} of the write "
        f"reference's throughput with p99 at or under {TARGET_P99_MS:.0f} ms: **{verdict}** "
        f"(ratio {ratio:.2f}, p99 {step.p99_ms:.1f} ms).",
        "",
    ]
    return "\n".join(lines)


def _routing_section(connection: redis.Redis) -> str:
    result = routing.run(connection)
    measured = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    return routing.section(result, measured, f"{COMMAND} --only routing")


def _search_section(server: str, redis_url: str, calls: int) -> str:
    with fresh_database(server) as database_url:
        result = search.run(database_url, redis_url, calls)
    measured = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    return search.section(result, measured, f"{COMMAND} --only search")


def _cases_section(server: str, redis_url: str, calls: int, count: int) -> str:
    with fresh_database(server) as database_url:
        result = cases.run(database_url, redis_url, calls, count)
    measured = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    command = f"{COMMAND} --only cases"
    if calls != search.CALLS or count != cases.CASES:
        command += f" --calls {calls} --cases {count}"
    return cases.section(result, measured, command)


def _callbacks_section(server: str, redis_url: str) -> str:
    with fresh_database(server) as database_url:
        rates, late = callbacks.run(database_url, redis_url)
    measured = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    return callbacks.section(rates, late, measured, f"{COMMAND} --only callbacks")


def _programme_section(server: str, calls: int) -> str:
    with fresh_database(server) as database_url:
        result = programme.run(database_url, calls)
    measured = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    command = f"{COMMAND} --only programme"
    if calls != programme.CALLS:
        command += f" --programme-calls {calls}"
    return programme.section(result, measured, command)


def _capacity_section(server: str, redis_url: str, steps: list[int], seconds: float) -> str:
    with fresh_database(server) as database_url:
        plateaus, setup = capacity.run(database_url, redis_url, steps, seconds)
    measured = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    command = f"{COMMAND} --only capacity"
    if steps != list(capacity.STEPS) or seconds != capacity.HOLD_SECONDS:
        command += f" --capacity-steps {','.join(map(str, steps))} --capacity-seconds {seconds:g}"
    setup_text = capacity.describe(setup, steps, seconds, capacity.SETTLE_SECONDS)
    return capacity_report.section(plateaus, measured, command, setup_text)


def _replace_section(report: str, heading: str, section: str) -> str:
    """The report with the section under `heading` (up to the next `## `) replaced or added."""
    lines = report.splitlines()
    if heading not in lines:
        return report.rstrip("\n") + "\n\n" + section
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), None)
    after = "" if end is None else "\n" + "\n".join(lines[end:]) + "\n"
    return "\n".join(lines[:start]) + "\n" + section + after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="how long each wrk run lasts")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        help="run one benchmark and rewrite only its section",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=search.CALLS,
        help="calls generated for the search and cases benchmarks",
    )
    parser.add_argument(
        "--cases", type=int, default=cases.CASES, help="cases generated for the cases benchmark"
    )
    parser.add_argument(
        "--programme-calls",
        type=int,
        default=programme.CALLS,
        help="calls in the year generated for the programme report's benchmark",
    )
    parser.add_argument(
        "--capacity-steps",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(capacity.STEPS),
        help="calls held at once on each plateau of the capacity benchmark, comma-separated",
    )
    parser.add_argument(
        "--capacity-seconds",
        type=float,
        default=capacity.HOLD_SECONDS,
        help="seconds each capacity plateau is measured",
    )
    args = parser.parse_args()
    server = os.environ.get(
        "HELPLINE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    redis_url = os.environ.get("HELPLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    connection = redis.Redis.from_url(redis_url)  # connects on its first command
    if uses_redis(args.only):
        connection.flushdb()
    before = args.output.read_text(encoding="utf-8") if args.output.exists() else "# Benchmarks\n"
    sections: list[tuple[str, str]] = []
    if args.only in (None, "webhooks"):
        sections.append((WEBHOOK_HEADING, _webhook_section(server, redis_url, args.seconds)))
    if args.only in (None, "routing"):
        sections.append((routing.HEADING, _routing_section(connection)))
    if args.only in (None, "search"):
        sections.append((search.HEADING, _search_section(server, redis_url, args.calls)))
    if args.only in (None, "cases"):
        section = _cases_section(server, redis_url, args.calls, args.cases)
        sections.append((cases.HEADING, section))
    if args.only in (None, "callbacks"):
        sections.append((callbacks.HEADING, _callbacks_section(server, redis_url)))
    if args.only in (None, "programme"):
        section = _programme_section(server, args.programme_calls)
        sections.append((programme.HEADING, section))
    if args.only in (None, "capacity"):
        connection.flushdb()
        section = _capacity_section(server, redis_url, args.capacity_steps, args.capacity_seconds)
        sections.append((capacity_report.HEADING, section))
    report = before
    for heading, section in sections:
        report = _replace_section(report, heading, section)
        print(section)
    args.output.write_text(report, encoding="utf-8")


def _webhook_section(server: str, redis_url: str, seconds: int) -> str:
    with fresh_database(server) as database_url, tempfile.TemporaryDirectory() as instance:
        _seed(database_url)
        env = production_environment(database_url, redis_url, Path(instance))
        with gunicorn(env) as base:
            results = webhooks.run(
                base, env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"], seconds=seconds
            )
    return _report(results, seconds)


if __name__ == "__main__":
    main()
