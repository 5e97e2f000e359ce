"""The supervisor's block list: add a number (typed, or from a call), list, remove.

Routes live on the supervisor blueprint; the rules are in `helpline.blocklist` (`entries`,
and `mirror` for Redis). Every change is audited in its own transaction, and Redis is told
only after the commit.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs lag 3.3
from wtforms.validators import Length

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.blocklist import entries, mirror
from helpline.extensions import db, get_redis
from helpline.logs import redact
from helpline.models import Call, Staff, utcnow
from helpline.models.enums import Role
from helpline.privacy import crypto as privacy
from helpline.supervisor.blueprint import bp
from helpline.web import actor, request_info

_LABELS = [
    (hours, f"{hours} hours" if hours < 48 else f"{hours // 24} days")
    for hours in entries.DURATIONS_HOURS
]
_CHOICES = [SelectChoice(hours, label) for hours, label in _LABELS]


class BlockForm(FlaskForm):  # type: ignore[misc]
    """Block a caller: the number (unless it comes from a call), how long, and why."""

    number = StringField("Phone number", validators=[Length(max=40)])
    hours = SelectField("Block for", choices=_CHOICES, coerce=int, default=entries.DEFAULT_HOURS)
    reason = StringField(
        "Reason",
        description="Kept with the entry and in the audit log. Do not type numbers or names.",
        validators=[Length(max=entries.REASON_MAX)],
    )

    def reason_problem(self) -> str | None:
        reason = self.reason.data or ""
        if redact(reason) != reason:
            self.reason.data = ""
            return "Do not type phone numbers or other long numbers in the reason."
        return None


def _page(form: BlockForm, problems: list[str], code: int) -> tuple[str, int]:
    now = utcnow()
    active = entries.list_active(db.session, now)
    ids = {e.created_by_id for e in active} - {None}
    names = {s.id: s.username for s in db.session.query(Staff).filter(Staff.id.in_(ids))}
    return render_template(
        "supervisor/blocklist.html",
        form=form,
        remove_form=PostForm(),
        problems=problems,
        entries=active,
        masked={e.id: privacy.mask_number(e.number_encrypted) for e in active},
        names=names,
    ), code


@bp.get("/blocklist")
@allow(Role.SUPERVISOR)
def blocklist_page() -> tuple[str, int]:
    """The active entries, soonest to expire first, and the form to add one."""
    return _page(BlockForm(), [], 200)


def _form_problems(form: BlockForm) -> list[str]:
    if not form.validate_on_submit():
        return ["Correct the form: choose a duration from the list, and keep the reason short."]
    problem = form.reason_problem()
    return [problem] if problem else []


def _save(form: BlockForm, e164: str, call_id: int | None = None) -> Response | tuple[str, int]:
    """Block, audit and commit; then tell Redis, and show the list."""
    now = utcnow()
    try:
        entry = entries.block(
            db.session,
            e164,
            form.hours.data,
            actor(current_staff()),
            now,
            reason=form.reason.data,
            call_id=call_id,
            request=request_info(),
        )
    except entries.BlockError as error:
        db.session.rollback()
        return _page(form, [str(error)], 400)
    db.session.commit()
    mirror.mirror_entry(get_redis(), entry, now)
    return redirect(url_for("supervisor.blocklist_page"), code=303)


@bp.post("/blocklist")
@allow(Role.SUPERVISOR)
def blocklist_add() -> Response | tuple[str, int]:
    """Block a typed number."""
    form = BlockForm()
    problems = _form_problems(form)
    e164 = privacy.try_normalise_number((form.number.data or "").strip())
    if not problems and e164 is None:
        problems = ["Type the phone number to block, for example +90 532 111 22 33."]
    if problems or e164 is None:
        form.number.data = ""  # a number typed wrongly is not shown back
        return _page(form, problems, 400)
    return _save(form, e164)


@bp.post("/calls/<int:call_id>/block")
@allow(Role.SUPERVISOR)
def block_call(call_id: int) -> Response | tuple[str, int]:
    """Block the number a call came from (the button on the call's page)."""
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    form = BlockForm()
    problems = _form_problems(form)
    if call.caller is None:
        problems.append("This call came from a withheld number, which cannot be blocked.")
    if problems or call.caller is None:
        return _page(form, problems, 400)
    return _save(form, call.caller.number_encrypted, call_id)


@bp.post("/blocklist/<int:entry_id>/remove")
@allow(Role.SUPERVISOR)
def blocklist_remove(entry_id: int) -> Response:
    """End an entry now; 404 for one that does not exist or is no longer active."""
    if not PostForm().validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        entry = entries.unblock(
            db.session, entry_id, actor(current_staff()), now, request=request_info()
        )
    except LookupError:
        abort(404)
    db.session.commit()
    mirror.mirror_entry(get_redis(), entry, now)
    return redirect(url_for("supervisor.blocklist_page"), code=303)


@bp.app_template_global("block_durations")
def block_durations() -> list[tuple[int, str]]:
    """The durations to choose from, for the form on a call's page."""
    return list(_LABELS)
