"""The monthly programme report: last month's, for the whole line, kept for download.

Workers queue `keep_last_month_report` at most once an hour (`enqueue_monthly_report`,
between their jobs). The job does the work only when last month's report is not kept
yet, so it runs in earnest once, on the 1st of the month in the line's time zone (or at
the first worker start after it), and is idempotent: running twice, or on two workers at
once, keeps one report (the second is refused by the table's unique key and rolled back).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import redis
import sqlalchemy as sa
from flask import current_app

from helpline.audit import chain as audit
from helpline.extensions import db
from helpline.models import utcnow
from helpline.reporting.programme import build, service, store
from helpline.reporting.programme.model import LINE
from helpline.tasks.periodic import enqueue_once
from helpline.web import settings

ACTOR = audit.Actor("monthly programme report")
MONTHLY_REPORT_KEY = "helpline:maintenance:programme-report"
MONTHLY_REPORT_SECONDS = 3600


def last_month(now: dt.datetime, zone: str) -> tuple[dt.date, dt.date]:
    """The whole month before the one `now` falls in, in the line's time zone."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return build.month_of(today.replace(day=1) - dt.timedelta(days=1))


def keep_last_month_report(now: dt.datetime | None = None) -> int:
    """Produce last month's whole-line report and keep its files, unless kept already;
    returns the kept report's id."""
    now = now or utcnow()
    zone = settings().timezone
    period = build.period_of(*last_month(now, zone), zone)
    found = store.find_kept(db.session, period, LINE)
    if found is not None:
        return found.id
    report = service.produce(
        db.session,
        period,
        LINE,
        current_app.extensions["helpline.catalog"],
        ACTOR,
        now,
        settings().programme_report_threshold,
    )
    try:
        kept = store.keep(db.session, report)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # another worker kept it first
        again = store.find_kept(db.session, period, LINE)
        if again is None:
            raise
        return again.id
    return kept.id


def enqueue_monthly_report(connection: redis.Redis) -> bool:
    """Queue `keep_last_month_report` unless a worker did in the last hour."""
    return enqueue_once(
        connection,
        MONTHLY_REPORT_KEY,
        MONTHLY_REPORT_SECONDS,
        keep_last_month_report,
        "programme-report",
    )
