"""From a contact record to a case: open a case (making the person's profile, with their
answer to keeping one), or add the contact to an existing case of that person.

Glue only: helpline/cases decides who may and what is valid, and audits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.cases import cases, labels, persons
from helpline.cases.access import (
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    Problem,
    allows,
    case_subject,
    person_subject,
    readable_record,
)
from helpline.console import case_forms as forms
from helpline.extensions import db
from helpline.models import Case, ContactRecord
from helpline.models.enums import CaseStatus, Role
from helpline.web import now, request_info

bp = Blueprint("case_start", __name__, url_prefix="/console/records")
Page = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class Known:
    """A profile on the record's number that the counsellor may read, and its cases."""

    profile: persons.Profile
    cases: tuple[Case, ...]
    joinable: tuple[Case, ...]  # the cases this contact may join (theirs, not closed)


def _record(record_id: int) -> ContactRecord:
    try:
        return readable_record(db.session, record_id, current_staff(), now())
    except CaseNotFound:
        abort(404)
    except CaseForbidden:
        abort(403)


def _known(record: ContactRecord) -> list[Known]:
    """The readable profiles on the record's number (each view audited)."""
    if record.caller_id is None:
        return []
    staff, moment = current_staff(), now()
    found: list[Known] = []
    for person_id in persons.list_persons_of_caller(db.session, record.caller_id):
        person = persons.get_person(db.session, person_id)
        if not allows("person.read", staff, person_subject(db.session, person, staff), moment):
            continue
        profile = persons.view_profile(
            db.session, person_id, by=staff, now=moment, request=request_info()
        )
        own = cases.list_person_cases(db.session, person_id)
        joinable = tuple(
            case
            for case in own
            if case.status != CaseStatus.CLOSED.value
            and allows("case.write", staff, case_subject(db.session, case), moment)
        )
        found.append(Known(profile, tuple(own), joinable))
    return found


def _page(record: ContactRecord, problems: dict[str, str] | None = None, status: int = 200) -> Page:
    known = _known(record)
    db.session.commit()  # the profiles shown are on the audit record
    html = render_template(
        "console/cases/start.html",
        record=record,
        current=db.session.get(Case, record.case_id) if record.case_id else None,
        known=known,
        labels=labels,
        problems=problems or {},
        form=request.form if problems else {},
        post_form=PostForm(),
    )
    return html, status


@bp.get("/<int:record_id>/case")
@allow(Role.COUNSELLOR)
def start(record_id: int) -> Page:
    """Open a case from this contact, or add it to a case of the person."""
    return _page(_record(record_id))


def _refused(record_id: int, error: CaseInvalid) -> Page:
    db.session.rollback()
    shown = {field: _(message) for field, message in forms.messages(error).items()}
    return _page(_record(record_id), shown, 400)


def _attempt(record_id: int, do: Callable[[], tuple[Case, str]]) -> Response | Page:
    """Check the CSRF token and the record, make the change and go to the case; or show
    the page again with the field messages (400)."""
    if not PostForm().validate_on_submit():
        abort(400)
    _record(record_id)
    try:
        case, message = do()
    except CaseInvalid as error:
        return _refused(record_id, error)
    except CaseNotFound:
        db.session.rollback()
        abort(404)
    except CaseForbidden:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(message, "info")
    return redirect(url_for("cases.show", reference=case.reference))


@bp.post("/<int:record_id>/case")
@allow(Role.COUNSELLOR)
def open_case(record_id: int) -> Response | Page:
    """Open the case: for a profile on the number, or a new one with the person's answer."""

    def do() -> tuple[Case, str]:
        staff, moment, info = current_staff(), now(), request_info()
        needs = forms.needs(request.form)
        if request.form.get("person", "") == "new":
            consent = forms.consent(request.form)
            person = persons.create_from_record(
                db.session, record_id, consent=consent, by=staff, now=moment, request=info
            )
            person_id = person.id
        else:
            person_id = forms.chosen_id(request.form, "person")
        case = cases.open_case(
            db.session, record_id, person_id, by=staff, now=moment, needs=needs, request=info
        )
        return case, _("Case %(reference)s is open.", reference=case.reference)

    return _attempt(record_id, do)


@bp.post("/<int:record_id>/case/add")
@allow(Role.COUNSELLOR)
def add_to_case(record_id: int) -> Response | Page:
    """Add this contact to an existing case of the person."""

    def do() -> tuple[Case, str]:
        reference = (request.form.get("case") or "").strip().upper()
        case = cases.find_by_reference(db.session, reference) if reference else None
        if case is None:
            raise CaseInvalid([Problem("case", "Choose one of the person's cases.")])
        cases.add_contact(
            db.session, case, record_id, by=current_staff(), now=now(), request=request_info()
        )
        message = _("The contact is added to case %(reference)s.", reference=case.reference)
        return case, message

    return _attempt(record_id, do)
