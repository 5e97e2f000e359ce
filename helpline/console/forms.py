"""The contact record form (CSRF-protected by Flask-WTF) and its translation to the service.

The form only parses: which values are allowed and which are required is the records
service's business, so that the rules live in one place and are tested without a browser.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Length, Optional

from helpline.models import ContactRecord
from helpline.records.service import (
    DESTINATION_MAX,
    MAX_REFERRALS,
    SUMMARY_MAX,
    FollowUpInput,
    Problem,
    RecordInput,
    ReferralInput,
)

CALL_TYPES = (
    ("data", lazy_gettext("Counselling contact")),
    ("information_only", lazy_gettext("Information only")),
    ("silent", lazy_gettext("Silent call")),
    ("hang_up", lazy_gettext("Hang-up")),
    ("abusive", lazy_gettext("Abusive call")),
    ("wrong_number", lazy_gettext("Wrong number")),
)
RISK_LEVELS = (
    ("none", lazy_gettext("None")),
    ("low", lazy_gettext("Low")),
    ("medium", lazy_gettext("Medium")),
    ("high", lazy_gettext("High")),
    ("imminent", lazy_gettext("Imminent")),
)


class ReferralRow(Form):
    """One referral; part of RecordForm, whose CSRF token covers it."""

    kind = SelectField("Referred to", validate_choice=False)
    province = SelectField("Province", validate_choice=False)
    centre = SelectField("Social Service Centre", validate_choice=False)
    destination = StringField("Destination", validators=[Optional(), Length(max=DESTINATION_MAX)])


class RecordForm(FlaskForm):  # type: ignore[misc]
    # The template draws the choices (CALL_TYPES, RISK_LEVELS, the catalog); the service
    # checks the values. So the fields only parse, and carry no choices of their own.
    call_type = RadioField("Type of call", validate_choice=False)
    categories = SelectMultipleField("Categories", validate_choice=False)
    summary = TextAreaField("Summary", validators=[Length(max=SUMMARY_MAX)])
    risk_level = RadioField("Risk level", validate_choice=False)
    safety_plan = RadioField("Safety plan made", validate_choice=False)
    referrals = FieldList(FormField(ReferralRow), min_entries=1, max_entries=MAX_REFERRALS + 1)
    follow_up_date = DateField("Date", validators=[Optional()])
    follow_up_time = TimeField("Time", validators=[Optional()])
    follow_up_consent = BooleanField("The caller agreed to be called back")
    version = HiddenField()


def fill(form: RecordForm, record: ContactRecord, local_follow_up: dt.datetime | None) -> None:
    """Show a stored record in the form (for a GET)."""
    form.call_type.data = record.call_type or None
    form.categories.data = list(record.categories)
    form.summary.data = record.summary_encrypted or ""
    form.risk_level.data = record.risk_level or None
    if record.is_safety_plan_made:
        form.safety_plan.data = "yes"
    elif record.status != "draft":
        form.safety_plan.data = "no"
    # A draft cannot store "not answered yet" apart from "no": it shows as unanswered, so
    # the counsellor answers again before finalising a high-risk record.
    while len(form.referrals.entries):
        form.referrals.pop_entry()
    for referral in record.referrals:
        row = form.referrals.append_entry()
        row.form.kind.data = referral.kind
        row.form.province.data = referral.province or ""
        if referral.kind == "social_service_centre":
            row.form.centre.data = referral.destination or ""
        else:
            row.form.destination.data = referral.destination or ""
    form.referrals.append_entry()
    if local_follow_up is not None and record.status == "draft":
        form.follow_up_date.data = local_follow_up.date()
        form.follow_up_time.data = local_follow_up.time()
    form.version.data = str(record.version)


def ensure_blank_referral(form: RecordForm) -> None:
    """Keep one empty referral row at the end, for a browser without JavaScript."""
    last = form.referrals.entries[-1].form if form.referrals.entries else None
    if (last is None or last.kind.data) and len(form.referrals.entries) <= MAX_REFERRALS:
        form.referrals.append_entry()


def to_input(form: RecordForm) -> tuple[RecordInput, list[Problem]]:
    """The service's input, and problems only the form can see (a half-given time)."""
    problems: list[Problem] = []
    safety = {"yes": True, "no": False}.get(form.safety_plan.data or "")
    follow_up = None
    date, time = form.follow_up_date.data, form.follow_up_time.data
    if date is not None and time is not None:
        follow_up = FollowUpInput(
            dt.datetime.combine(date, time),  # a local time: the service puts it in the line's zone
            consent=bool(form.follow_up_consent.data),
        )
    elif date is not None or time is not None:
        problems.append(Problem("follow_up_at", "Give both a date and a time for the follow-up."))
    version = form.version.data or ""
    data = RecordInput(
        call_type=form.call_type.data or "",
        categories=tuple(code for code in form.categories.data or () if code),
        summary=form.summary.data or "",
        risk_level=form.risk_level.data or "",
        safety_plan=safety,
        referrals=tuple(
            ReferralInput(
                kind=row.form.kind.data or "",
                province=row.form.province.data or "",
                centre=row.form.centre.data or "",
                destination=row.form.destination.data or "",
            )
            for row in form.referrals.entries
        ),
        follow_up=follow_up,
        expected_version=int(version) if version.isdigit() else None,
    )
    return data, problems


def show_problems(form: RecordForm, problems: list[Problem]) -> list[str]:
    """Put each problem next to its field; return the ones that belong to no field."""
    loose: list[str] = []
    for problem in problems:
        field = _field(form, problem.field)
        if field is None:
            loose.append(problem.message)
        else:
            field.errors = [*field.errors, problem.message]
    return loose


def _field(form: RecordForm, name: str) -> Field | None:
    if name == "follow_up_at":
        return form.follow_up_date
    if name.startswith("referrals-"):
        parts = name.split("-")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(form.referrals.entries):
            found = getattr(form.referrals.entries[int(parts[1])].form, parts[2], None)
            return found if isinstance(found, Field) else None
        return None
    if name in ("version", "referrals"):
        return None
    found = getattr(form, name, None)
    return found if isinstance(found, Field) else None


GROUPS = frozenset({"call_type", "categories", "risk_level", "safety_plan"})


def error_list(form: RecordForm) -> list[tuple[str, str]]:
    """Every field error as (id to link to, message), in the order of the page."""
    found: list[tuple[str, str]] = []
    for field in form:
        if field.name in ("csrf_token", "version"):
            continue
        if isinstance(field, FieldList):
            for n, row in enumerate(field.entries, start=1):
                for sub in row.form:
                    found += [(sub.id, f"Referral {n}: {message}") for message in sub.errors]
            continue
        anchor = f"{field.name}-group" if field.name in GROUPS else field.id
        found += [(anchor, str(message)) for message in field.errors]
    return found
