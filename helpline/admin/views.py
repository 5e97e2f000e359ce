"""Administration: staff accounts."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs lag 3.3
from wtforms.validators import DataRequired, Length, Optional

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.extensions import db
from helpline.models import Site, Staff
from helpline.models.enums import Role
from helpline.privacy.crypto import mask_number
from helpline.staff import accounts as staffing
from helpline.web import actor, request_info

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_LABELS = {
    Role.COUNSELLOR: "Counsellor",
    Role.INTERPRETER: "Interpreter",
    Role.SUPERVISOR: "Supervisor",
    Role.ADMIN: "Admin",
    Role.SSC_FOCAL_POINT: "SSC focal point (needs a site, no other role)",
    Role.PROGRAMME_OFFICER: "Programme officer (the programme report only)",
}


class StaffForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    display_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    roles = SelectMultipleField(
        "Roles",
        choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role],
        validators=[DataRequired()],
    )
    languages = StringField(
        "Languages",
        description="Codes separated by commas, such as tr, ar, fa, ps, ku, en",
        validators=[Optional(), Length(max=200)],
    )
    topics = StringField(
        "Topic skills",
        description="Codes separated by commas, such as psychosocial, child_protection",
        validators=[Optional(), Length(max=400)],
    )
    site = SelectField("Site", choices=[], validators=[Optional()])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(max=256)])


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").replace(" ", ",").split(",") if part.strip())


def _form() -> StaffForm:
    form = StaffForm()
    sites = db.session.scalars(sa.select(Site).order_by(Site.province, Site.name)).all()
    form.site.choices = [SelectChoice("", "No site")] + [
        SelectChoice(s.code, f"{s.name} ({s.province})") for s in sites
    ]
    return form


def _staff_page(form: StaffForm) -> str:
    """The list of staff, with the form to add one (as submitted, after a refusal)."""
    staff = db.session.scalars(sa.select(Staff).order_by(Staff.display_name)).all()
    return render_template(
        "admin/staff_list.html", staff=staff, form=form, toggle=PostForm(), mask=mask_number
    )


def _change(change: Callable[[], object], done: Callable[[], str]) -> bool:
    """Make a change to staff and commit it, saying `done()`; or, when the rules refuse it,
    roll back and show why (False)."""
    try:
        change()
    except staffing.StaffError as error:
        db.session.rollback()
        flash(str(error), "error")
        return False
    db.session.commit()
    flash(done(), "info")
    return True


@bp.get("/staff")
@allow(Role.ADMIN)
def staff_list() -> str:
    return _staff_page(_form())


@bp.post("/staff")
@allow(Role.ADMIN)
def staff_add() -> Response | tuple[str, int]:
    form = _form()
    if form.validate_on_submit():
        spec = staffing.StaffSpec(
            username=form.username.data or "",
            display_name=form.display_name.data or "",
            roles=tuple(form.roles.data or ()),
            languages=_split(form.languages.data),
            topics=_split(form.topics.data),
            site_code=form.site.data or None,
            phone=form.phone.data or None,
            password=form.password.data,
        )
        added = _change(
            lambda: staffing.add_staff(db.session, spec, actor(current_staff()), request_info()),
            lambda: f"Added {spec.display_name}.",
        )
        if added:
            return redirect(url_for("admin.staff_list"))
    return _staff_page(form), 400


@bp.post("/staff/<int:staff_id>/active")
@allow(Role.ADMIN)
def staff_toggle(staff_id: int) -> Response:
    if not PostForm().validate_on_submit():
        abort(400)
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        abort(404)
    _change(
        lambda: staffing.set_active(
            db.session, staff, not staff.is_active, actor(current_staff()), request_info()
        ),
        lambda: f"{staff.display_name} is now {'active' if staff.is_active else 'inactive'}.",
    )
    return redirect(url_for("admin.staff_list"))
