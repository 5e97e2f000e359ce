"""The cases benchmark runs end to end at a tiny scale, so it cannot rot."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import cases
from helpline import migrate


@pytest.mark.slow
def test_bench_cases_seeds_measures_and_reports(
    database_server: str | None, new_database: object, redis_url: str
) -> None:
    """On PostgreSQL, the seed makes the cases and the person's contacts, every measurement
    returns rows (full first pages, the deeper timeline pages reached), and the section
    names the targets and a verdict."""
    if database_server is None:
        pytest.skip("the benchmark seeds with PostgreSQL's generate_series: runs with "
                    "HELPLINE_TEST_DATABASE_URL")  # fmt: skip
    url = str(new_database())  # type: ignore[operator]
    migrate.upgrade(url)
    result = cases.run(url, redis_url, calls=3000, cases=300, contacts=200, runs=2)

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        made = connection.execute(sa.text('SELECT count(*) FROM "case"')).scalar_one()
        person_records = connection.execute(
            sa.text("SELECT count(*) FROM contact_record WHERE case_id = :case"),
            {"case": result.seeded.person_id},
        ).scalar_one()
        overdue = connection.execute(
            sa.text('SELECT count(*) FROM "case" WHERE next_due_at < now()')
        ).scalar_one()
    engine.dispose()
    assert made == 301
    assert person_records == 200
    assert overdue > 0
    assert result.worker_cases > 0
    rows = {m.name: m.rows for m in result.measurements}
    assert len(rows) == 9
    assert all(len(m.samples) == 2 for m in result.measurements)
    assert rows["case timeline (200 contacts), first page"] == 50
    assert rows[f"case timeline, page {cases.DEEP_PAGE}"] == 50
    assert rows[f"person timeline, page {cases.DEEP_PAGE}"] == 50
    assert all(count > 0 for count in rows.values())
    text = cases.section(result, "Measured now.", ".venv/bin/python -m bench --only cases")
    assert text.startswith(cases.HEADING)
    assert "| My cases, the busy worker |" in text
    assert "Target (issue 17)" in text
