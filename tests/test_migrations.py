"""Migrations: the schema exists only through Alembic, and goes down and up again cleanly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from helpline import migrate
from helpline.models import Base


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    migrate.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    assert migrate.current_heads(url) == [migrate.head_revision()]
    migrate.downgrade(url, "base")
    assert _tables(url) == set()
    migrate.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)


def test_migrations_round_trip_on_sqlite(tmp_path: object) -> None:
    """upgrade head, downgrade base, upgrade head on SQLite."""
    _round_trip(f"sqlite:///{tmp_path}/round-trip.sqlite3")


def test_migrations_round_trip_on_postgresql(
    database_server: str | None, new_database: Callable[[], str]
) -> None:
    """upgrade head, downgrade base, upgrade head on PostgreSQL."""
    if database_server is None:
        pytest.skip("PostgreSQL round trip runs when HELPLINE_TEST_DATABASE_URL is set (CI does)")
    _round_trip(new_database())


def test_models_and_migrations_agree(template_database: str) -> None:
    """The migrated schema matches the models: nothing is created outside Alembic."""
    engine = sa.create_engine(template_database, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_the_app_never_creates_tables_itself() -> None:
    """No create_all anywhere in the package: the schema is the migrations' job."""
    from pathlib import Path

    import helpline

    sources = Path(helpline.__file__).parent.rglob("*.py")
    assert not [path for path in sources if "create_all(" in path.read_text(encoding="utf-8")]


def _backfill(url: str) -> None:
    migrate.upgrade(url, "0003")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        call = sa.Table("call", sa.MetaData(), autoload_with=engine)
        start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
        rows: list[dict[str, float | None]] = [
            # queued 10 s in, answered 32.6 s later, ended 5 min after the start
            {"queued": 10, "answered": 42.6, "ended": 300},
            # left the queue after 7.4 s without an answer
            {"queued": 10, "answered": None, "ended": 17.4},
            # never queued, still going
            {"queued": None, "answered": None, "ended": None},
        ]
        with engine.begin() as connection:
            for number, row in enumerate(rows):
                at = {
                    key: None if value is None else start + dt.timedelta(seconds=value)
                    for key, value in row.items()
                }
                connection.execute(
                    call.insert().values(
                        call_sid=f"CA{number}",
                        direction="inbound",
                        is_number_withheld=False,
                        started_at=start,
                        queued_at=at["queued"],
                        answered_at=at["answered"],
                        ended_at=at["ended"],
                        priority=0,
                        outcome="in_progress",
                        is_recording_consented=False,
                    )
                )
        migrate.upgrade(url)
        with engine.connect() as connection:
            stored = connection.execute(
                sa.text('SELECT call_sid, wait_seconds, duration_seconds FROM "call"')
            ).all()
    finally:
        engine.dispose()
    assert sorted(tuple(row) for row in stored) == [
        ("CA0", 33, 300),
        ("CA1", 7, 17),
        ("CA2", None, None),
    ]


def test_migration_0004_fills_wait_and_duration_on_sqlite(tmp_path: object) -> None:
    """Existing calls get their wait and duration, rounded as the app rounds them."""
    _backfill(f"sqlite:///{tmp_path}/backfill.sqlite3")


def test_migration_0004_fills_wait_and_duration_on_postgresql(
    database_server: str | None, new_database: Callable[[], str]
) -> None:
    """The same on PostgreSQL."""
    if database_server is None:
        pytest.skip("runs when HELPLINE_TEST_DATABASE_URL is set (CI does)")
    _backfill(new_database())
