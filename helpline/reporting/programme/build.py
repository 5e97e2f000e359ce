"""Build the programme report: the period, the scope, every section, suppressed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from helpline.models import Site
from helpline.models.base import DbSession
from helpline.records.catalog import Catalog
from helpline.reporting.programme import (
    callbacks,
    cases,
    needs,
    outcomes,
    reach,
    referrals,
    staffing,
)
from helpline.reporting.programme.model import LINE, Period, Report, Scope, Section
from helpline.reporting.programme.sql import local_midnight
from helpline.reporting.programme.suppression import DEFAULT_THRESHOLD, RawTable, suppress

MAX_DAYS = 366


class ReportInvalid(ValueError):
    """A period or scope the report cannot be made for; the message says why."""


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month a day is in (the default period)."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def period_of(first_day: dt.date, last_day: dt.date, zone: str) -> Period:
    """Whole local days in the line's time zone, first to last inclusive."""
    if last_day < first_day:
        raise ReportInvalid("the period ends before it starts")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise ReportInvalid(f"choose a period of at most {MAX_DAYS} days")
    where = ZoneInfo(zone)
    return Period(
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        since=local_midnight(first_day, where),
        until=local_midnight(last_day + dt.timedelta(days=1), where),
    )


def scope_of(session: DbSession, site: str | None = None, province: str | None = None) -> Scope:
    """The whole line, the sites of a province, or one site (by code)."""
    if site and province:
        raise ReportInvalid("give a site or a province, not both")
    if site:
        found = session.execute(sa.select(Site).where(Site.code == site)).scalar_one_or_none()
        if found is None:
            raise ReportInvalid(f"no site has the code {site!r}")
        return Scope("site", found.code, f"{found.name} ({found.code})", (found.id,))
    if province:
        ids = tuple(
            session.execute(sa.select(Site.id).where(Site.province == province).order_by(Site.id))
            .scalars()
            .all()
        )
        if not ids:
            raise ReportInvalid(f"no site is in the province {province!r}")
        return Scope("province", province, f"Province of {province}", ids)
    return LINE


# PostgreSQL settings for the report's queries, for the rest of the caller's transaction:
# room to hash and sort a month's groups in memory rather than on disk, and no JIT
# compilation, which costs more than it saves on queries run once.
REPORT_SETTINGS = {"work_mem": "64MB", "jit": "off"}


def tune(session: DbSession) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for name, value in REPORT_SETTINGS.items():
        session.execute(sa.select(sa.func.set_config(name, value, True)))


def build_report(
    session: DbSession,
    period: Period,
    scope: Scope,
    catalog: Catalog,
    now: dt.datetime,
    threshold: int = DEFAULT_THRESHOLD,
) -> Report:
    """Every section of the report, each table suppressed at `threshold`."""
    if threshold < 1:
        raise ReportInvalid("the suppression threshold must be at least 1")
    tune(session)
    raw: list[tuple[str, str, list[RawTable]]] = [
        ("reach", "Reach", reach.reach_tables(session, period, scope)),
        ("needs", "Needs", [needs.needs_table(session, period, scope, catalog)]),
        ("referrals", "Referrals", [referrals.referrals_table(session, period, scope, catalog)]),
        ("cases", "Cases", cases.case_tables(session, period, scope)),
        ("outcomes", "Outcomes", [outcomes.outcomes_table(session, period, scope)]),
        (
            "callbacks",
            "Callbacks and follow-ups",
            [callbacks.callbacks_table(session, period, scope)],
        ),
        ("staffing", "Staffing", [staffing.staffing_table(session, period, scope, now)]),
    ]
    return Report(
        period=period,
        scope=scope,
        threshold=threshold,
        generated_at=now,
        sections=tuple(
            Section(key, title, tuple(suppress(t, threshold) for t in found))
            for key, title, found in raw
        ),
    )
