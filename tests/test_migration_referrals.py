"""Migration 0016 (referrals, closed loop) maps the old statuses both ways, on both
databases, and gives each existing referral its one step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from helpline import migrate

BEFORE = "0014"  # the revision 0016 follows (docs/referrals.md)
AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _statuses(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT destination, status FROM referral")).all()
    return sorted((row[0], row[1]) for row in rows)


def _map_both_ways(url: str) -> None:
    migrate.upgrade(url, BEFORE)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        meta = sa.MetaData()
        staff = sa.Table("staff", meta, autoload_with=engine)
        record = sa.Table("contact_record", meta, autoload_with=engine)
        referral = sa.Table("referral", meta, autoload_with=engine)
        with engine.begin() as connection:
            staff_id = connection.execute(
                staff.insert()
                .values(
                    username="old",
                    display_name="Old",
                    ui_language="en",
                    is_active=True,
                    created_at=AT,
                    updated_at=AT,
                )
                .returning(staff.c.id)
            ).scalar_one()
            record_id = connection.execute(
                record.insert()
                .values(
                    counsellor_id=staff_id,
                    status="final",
                    call_type="data",
                    categories=[],
                    risk_level="none",
                    is_safety_plan_made=False,
                    version=1,
                    created_at=AT,
                    updated_at=AT,
                )
                .returning(record.c.id)
            ).scalar_one()
            for status in ("suggested", "made", "confirmed"):
                connection.execute(
                    referral.insert().values(
                        contact_record_id=record_id,
                        kind="health",
                        destination=status,
                        status=status,
                        created_at=AT,
                    )
                )
        migrate.upgrade(url)
        assert _statuses(engine) == [
            ("confirmed", "accepted"),
            ("made", "sent"),
            ("suggested", "proposed"),
        ]
        with engine.connect() as connection:
            steps = connection.execute(
                sa.text(
                    "SELECT referral.destination, referral_step.status, referral_step.by_id,"
                    " referral_step.note_encrypted, referral.due_at"
                    " FROM referral_step JOIN referral ON referral.id = referral_step.referral_id"
                )
            ).all()
        assert sorted(tuple(row) for row in steps) == [
            ("confirmed", "accepted", staff_id, None, None),
            ("made", "sent", staff_id, None, None),
            ("suggested", "proposed", staff_id, None, None),
        ]
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE referral SET status = 'service_provided' WHERE status = 'accepted'")
            )
        migrate.downgrade(url, BEFORE)
        assert _statuses(engine) == [
            ("confirmed", "confirmed"),
            ("made", "made"),
            ("suggested", "suggested"),
        ]
        assert "referral_step" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migration_0016_maps_statuses_both_ways_on_sqlite(tmp_path: object) -> None:
    """suggested, made, confirmed become proposed, sent, accepted with one step by the
    record's counsellor and no due time; downgrading maps back (service provided to
    confirmed) and drops the steps."""
    _map_both_ways(f"sqlite:///{tmp_path}/referrals.sqlite3")


def test_migration_0016_maps_statuses_both_ways_on_postgresql(
    database_server: str | None, new_database: Callable[[], str]
) -> None:
    """The same on PostgreSQL."""
    if database_server is None:
        pytest.skip("runs when HELPLINE_TEST_DATABASE_URL is set (CI does)")
    _map_both_ways(new_database())
