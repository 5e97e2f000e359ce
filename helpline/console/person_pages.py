"""A person's profile in the console: the consent to keeping it, the details (each may be
"prefers not to say"), the numbers linked and unlinked, the person's cases and timeline.

Glue only: helpline/cases/persons decides who may, what is valid, and audits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.cases import cases, labels, persons, timeline
from helpline.cases.access import (
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    allows,
    case_subject,
    person_subject,
)
from helpline.console import case_forms as forms
from helpline.console.cases import staff_names, timeline_context, timeline_staff
from helpline.extensions import db
from helpline.i18n import LANGUAGE_NAMES
from helpline.models import Person, Site
from helpline.models.enums import Role
from helpline.web import now, request_info

bp = Blueprint("persons", __name__, url_prefix="/console/persons")
Page = tuple[str, int]


def _page(person_id: int, problems: dict[str, str] | None = None, status: int = 200) -> Page:
    """The profile and a page of the timeline (`after=`); both readings audited."""
    staff, moment, info = current_staff(), now(), request_info()
    try:
        profile = persons.view_profile(db.session, person_id, by=staff, now=moment, request=info)
        after = request.args.get("after")
        cursor = timeline.Cursor.decode(after) if after else None
        page = timeline.person_timeline(
            db.session, person_id, by=staff, now=moment, after=cursor, request=info
        )
    except CaseNotFound:
        db.session.rollback()
        abort(404)
    except CaseForbidden:
        db.session.rollback()
        abort(403)
    except CaseInvalid:  # an unreadable page key
        db.session.rollback()
        abort(404)
    db.session.commit()
    person = profile.person
    subject = person_subject(db.session, person, staff)
    readable = [
        case
        for case in cases.list_person_cases(db.session, person.id)
        if allows("case.read", staff, case_subject(db.session, case), moment)
    ]
    html = render_template(
        "console/cases/person.html",
        profile=profile,
        person=person,
        cases=readable,
        **timeline_context(page, "persons.show", person_id=person.id),
        names=staff_names(timeline_staff(page)),
        may_write=allows("person.write", staff, subject, moment),
        may_link=allows("person.link", staff, subject, moment),
        sites=db.session.scalars(sa.select(Site).order_by(Site.province, Site.name)).all(),
        labels=labels,
        fields=persons.FIELDS,
        languages=LANGUAGE_NAMES,
        problems=problems or {},
        form=request.form if problems else None,
        post_form=PostForm(),
    )
    return html, status


@bp.get("/<int:person_id>")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def show(person_id: int) -> Page:
    """The profile (masked numbers) and the person's timeline; every view audited."""
    return _page(person_id)


def _change(person_id: int, do: Callable[[Person], object], done: str) -> Response | Page:
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        person = persons.get_person(db.session, person_id)
    except CaseNotFound:
        abort(404)
    try:
        do(person)
    except CaseNotFound:
        db.session.rollback()
        abort(404)
    except CaseForbidden as error:
        db.session.rollback()
        subject = person_subject(db.session, person, current_staff())
        if not allows("person.read", current_staff(), subject, now()):
            abort(403)
        return _page(person_id, {"consent": _(str(error))}, 400)
    except CaseInvalid as error:
        db.session.rollback()
        shown = {field: _(message) for field, message in forms.messages(error).items()}
        return _page(person_id, shown, 400)
    db.session.commit()
    flash(done, "info")
    return redirect(url_for(".show", person_id=person_id))


def _common() -> dict[str, Any]:
    return {"by": current_staff(), "now": now(), "request": request_info()}


@bp.post("/<int:person_id>")
@allow(Role.COUNSELLOR)
def save(person_id: int) -> Response | Page:
    """The profile's details, kept only with the person's consent."""

    def do(person: Person) -> None:
        data = forms.profile(request.form)
        persons.update_profile(db.session, person, data, **_common())

    return _change(person_id, do, _("The profile is saved."))


@bp.post("/<int:person_id>/consent")
@allow(Role.COUNSELLOR)
def consent(person_id: int) -> Response | Page:
    """The person's answer to keeping a profile; a no erases the details."""

    def do(person: Person) -> None:
        granted = forms.consent(request.form)
        persons.record_consent(db.session, person, granted=granted, **_common())

    return _change(person_id, do, _("The person's answer is recorded."))


@bp.post("/<int:person_id>/numbers")
@allow(Role.COUNSELLOR)
def link_number(person_id: int) -> Response | Page:
    """Link a number the person gave (audited)."""

    def do(person: Person) -> None:
        number = forms.text(request.form, "number", 40)
        persons.link_number(db.session, person, number, **_common())

    return _change(person_id, do, _("The number is linked to the person."))


@bp.post("/<int:person_id>/numbers/<int:caller_id>/unlink")
@allow(Role.COUNSELLOR)
def unlink_number(person_id: int, caller_id: int) -> Response | Page:
    """End a number's link to the person (audited; the history stays)."""

    def do(person: Person) -> None:
        persons.unlink_number(db.session, person, caller_id, **_common())

    return _change(person_id, do, _("The number is no longer linked to the person."))
