"""`helpline report programme`: the programme report from the command line.

The same report as the console's page gives, audited the same way: producing it
and writing it out are two entries naming the operator (`cli:<user>`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from helpline.cli.common import actor, app_context

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def report() -> None:
    """Reports for the ministry and UNHCR (docs/programme-report.md)."""


@report.command("programme")
@click.option("--from", "first", type=DATE, help="First day (YYYY-MM-DD); default: last month.")
@click.option("--to", "last", type=DATE, help="Last day, included; default: --from's month end.")
@click.option("--site", help="Only this site (its code).")
@click.option("--province", help="Only the sites of this province.")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    help="Counts below this are suppressed; default: PROGRAMME_REPORT_THRESHOLD (5).",
)
def programme(
    first: dt.datetime | None,
    last: dt.datetime | None,
    site: str | None,
    province: str | None,
    file_format: str,
    output: Path | None,
    threshold: int | None,
) -> None:
    """Write the programme report for a period: CSV to stdout or --output, or an Excel
    workbook (to --output, else programme-report-FROM-TO.xlsx)."""
    from flask import current_app

    from helpline.extensions import db
    from helpline.models import utcnow
    from helpline.reporting.programme import build, service
    from helpline.reporting.programme.csv_file import write_csv
    from helpline.reporting.programme.workbook import write_xlsx

    if last is not None and first is None:
        raise click.BadParameter("give --from with --to", param_hint="--to")
    with app_context() as app:
        settings = app.extensions["helpline.settings"]
        now = utcnow()
        first_day, last_day = _days(first, last, now.astimezone(_zone(settings.timezone)).date())
        try:
            period = build.period_of(first_day, last_day, settings.timezone)
            scope = build.scope_of(db.session, site=site, province=province)
        except build.ReportInvalid as error:
            raise click.UsageError(str(error)) from None
        who = actor()
        found = service.produce(
            db.session,
            period,
            scope,
            current_app.extensions["helpline.catalog"],
            who,
            now,
            settings.programme_report_threshold if threshold is None else threshold,
        )
        service.record_download(db.session, found, file_format, who)
        db.session.commit()
        if file_format == "xlsx":
            target = output or Path(f"programme-report-{first_day}-{last_day}.xlsx")
            target.write_bytes(write_xlsx(found))
            click.echo(f"wrote {target}", err=True)
        elif output is not None:
            output.write_text(write_csv(found), encoding="utf-8", newline="")
            click.echo(f"wrote {output}", err=True)
        else:
            click.echo(write_csv(found), nl=False)


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _days(
    first: dt.datetime | None, last: dt.datetime | None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The period's days: as given; --from alone runs to its month's end; neither gives
    the last whole month."""
    from helpline.reporting.programme.build import month_of

    if first is None:
        return month_of(today.replace(day=1) - dt.timedelta(days=1))
    if last is None:
        return first.date(), month_of(first.date())[1]
    return first.date(), last.date()
