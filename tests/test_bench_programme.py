"""The programme report's benchmark, at a tiny scale, so that it cannot rot."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import programme
from bench.environment import fresh_database


@pytest.mark.slow
def test_bench_programme_generates_a_year_and_measures_every_report(
    database_server: str | None,
) -> None:
    """A year of 3,000 calls: every call, contact record and callback falls in the year,
    every generated table has rows, the four reports are timed, and the section states
    the rows, the timings, the targets and the memory."""
    if database_server is None:
        pytest.skip("the benchmark generates its data with PostgreSQL's SQL")
    with fresh_database(database_server) as url:
        result = programme.run(url, calls=3_000, runs=2)
        start, end = programme.year_bounds(programme.YEAR)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            outside = connection.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM call WHERE started_at < :start"
                    "        OR started_at >= :end)"
                    " + (SELECT count(*) FROM contact_record WHERE created_at < :start)"
                    " + (SELECT count(*) FROM callback_request WHERE due_from < :start)"
                ),
                {"start": start, "end": end},
            ).scalar_one()
            provided = connection.execute(
                sa.text("SELECT count(*) FROM referral WHERE status = 'service_provided'")
            ).scalar_one()
        engine.dispose()
    assert outside == 0
    assert provided > 0
    counts = result.counts
    assert counts["call"] == counts["call_event"] == 3_000
    assert all(counts[table] > 0 for table in programme.COUNTED)
    assert counts["case_status_change"] > counts["case"]
    assert [t.name for t in result.timings] == [
        "June 2025, whole line",
        "June 2025, site S1",
        "the year 2025, whole line",
        "the year 2025, site S1",
    ]
    assert all(len(t.samples) == 2 and t.median > 0 for t in result.timings)
    assert 0 < result.before_mb <= result.peak_mb
    text = programme.section(result, "Measured now.", "python -m bench --only programme")
    assert text.startswith(f"{programme.HEADING}\n")
    assert "| call | 3,000 | 1,000 |" in text
    assert "| June 2025, whole line |" in text
    assert "Target: peak memory 200 MB or under" in text
