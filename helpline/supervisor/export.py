"""The call log as CSV, streamed: one batch of rows in memory at a time.

The response is a generator over a server-side cursor (`calllog.stream`), so an export
of a million calls costs the memory of one batch, and the download starts at once. No
file is written on the server: an export never becomes another copy of personal data
at rest that would need its own retention.

Personal data stays out unless asked for with a reason; then only the caller's masked
number is added. Note text is never exported, nor a whole number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from helpline.logs import redact
from helpline.models import Call, Caller, Staff
from helpline.models.base import DbSession
from helpline.privacy.crypto import mask_number
from helpline.supervisor import calllog
from helpline.supervisor.filters import CallFilter

BATCH_ROWS = 1000
MIN_REASON = 10

COLUMNS = (
    "call_id",
    "started_at",
    "direction",
    "language",
    "topic",
    "outcome",
    "queued_at",
    "answered_at",
    "ended_at",
    "wait_seconds",
    "duration_seconds",
    "counsellor",
    "interpreter",
    "site",
    "flow_id",
    "flow_version",
    "risk_level",
    "callbacks",
    "number_withheld",
)
PERSONAL_COLUMNS = ("caller_number_masked",)


class ExportForm(FlaskForm):  # type: ignore[misc]
    include_number = BooleanField("Include the caller's masked number (personal data)")
    reason = StringField(
        "Reason for including personal data",
        description=(
            f"Required with the masked number, at least {MIN_REASON} characters; it is kept "
            "in the audit log. Do not type phone numbers or names here."
        ),
        validators=[Length(max=200)],
    )

    def reason_problem(self) -> str | None:
        """Why the reason cannot be accepted, or None."""
        reason = (self.reason.data or "").strip()
        if self.include_number.data and len(reason) < MIN_REASON:
            return (
                f"Give a reason of at least {MIN_REASON} characters to include the masked number."
            )
        if redact(reason) != reason:
            self.reason.data = ""  # and never show it again
            return "Do not type phone numbers or other long numbers in the reason."
        return None


# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _cell(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if _FORMULA.match(text) else text


def header(include_number: bool) -> tuple[str, ...]:
    return COLUMNS + (PERSONAL_COLUMNS if include_number else ())


def _row(
    row: sa.Row[Any],
    callbacks: Sequence[str],
    staff: Mapping[int, str],
    sites: Mapping[int, str],
    include_number: bool,
) -> list[Any]:
    values: list[Any] = [
        row.id,
        row.started_at,
        row.direction,
        row.language,
        row.topic,
        row.outcome,
        row.queued_at,
        row.answered_at,
        row.ended_at,
        row.wait_seconds,
        row.duration_seconds,
        staff.get(row.counsellor_id),
        staff.get(row.interpreter_id),
        sites.get(row.site_id),
        row.flow_id,
        row.flow_version,
        row.risk_level,
        " ".join(callbacks),
        row.is_number_withheld,
    ]
    if include_number:
        number = row.number_encrypted
        values.append(mask_number(number) if number else None)
    return values


def statement(found: CallFilter, include_number: bool) -> sa.Select[Any]:
    """The export's query: the call log's, in its order, with the number only if asked."""
    if not include_number:
        return calllog.ordered_search(found)
    return calllog.ordered_search(found, *calllog.LIST_COLUMNS, Caller.number_encrypted).outerjoin(
        Caller, Caller.id == Call.caller_id
    )


def csv_chunks(
    session: DbSession,
    found: CallFilter,
    *,
    include_number: bool,
    zone: ZoneInfo,
    batch: int | None = None,
) -> Iterator[str]:
    """The CSV text: the header, then one chunk per batch of rows read from the cursor."""
    staff = {row.id: row.username for row in session.execute(sa.select(Staff.id, Staff.username))}
    sites = calllog.site_names(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(include_number))
    yield buffer.getvalue()
    for rows in calllog.stream(session, statement(found, include_number), batch or BATCH_ROWS):
        buffer.seek(0)
        buffer.truncate()
        callbacks = calllog.callback_statuses(session, (row.id for row in rows))
        for row in rows:
            values = _row(row, callbacks.get(row.id, ()), staff, sites, include_number)
            writer.writerow([_cell(value, zone) for value in values])
        yield buffer.getvalue()
