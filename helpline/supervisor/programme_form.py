"""The programme report page's form: a month (default last month) or a from/to range,
and a scope (the whole line, a province, a site). Bad input gives messages, never a 500."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from flask_babel import gettext as _

from helpline.models.base import DbSession
from helpline.reporting.programme.build import ReportInvalid, month_of, period_of, scope_of
from helpline.reporting.programme.model import Period, Scope

FIELDS = ("month", "from", "to", "site", "province")


@dataclasses.dataclass(frozen=True)
class Chosen:
    period: Period
    scope: Scope


def _day(text: str, name: str, problems: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(_("%(field)s: give a day as YYYY-MM-DD.", field=name))
        return None


def _month(text: str, problems: list[str]) -> tuple[dt.date, dt.date] | None:
    try:
        return month_of(dt.date.fromisoformat(text + "-01"))
    except ValueError:
        problems.append(_("Month: give a month as YYYY-MM."))
        return None


def parse(
    session: DbSession, args: Mapping[str, str], zone: str, today: dt.date
) -> tuple[Chosen | None, list[str], dict[str, str]]:
    """The period and scope (None with messages when something must be corrected), and
    the form's values with the default month filled in."""
    values = {name: (args.get(name) or "").strip() for name in FIELDS}
    if not any(values[name] for name in ("month", "from", "to")):
        values["month"] = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    problems: list[str] = []
    days: tuple[dt.date, dt.date] | None = None
    if values["from"] or values["to"]:
        first = _day(values["from"], _("From"), problems)
        last = _day(values["to"], _("To"), problems) if values["to"] else None
        if first is not None and not values["to"]:
            last = month_of(first)[1]
        if first is not None and last is not None:
            days = (first, last)
    else:
        days = _month(values["month"], problems)
    if days is None:
        return None, problems, values
    try:
        period = period_of(days[0], days[1], zone)
        scope = scope_of(session, site=values["site"] or None, province=values["province"] or None)
    except ReportInvalid as error:
        return None, [_("The report cannot be made: %(why)s.", why=str(error))], values
    return Chosen(period, scope), [], values
