"""Contact records in the console: the form, autosave, the number reveal, caller history.

Counsellors write records; supervisors read them. No route here admits interpreters or
administrators: they never see notes. The rules are the records service's; each view
parses, calls it, and commits once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.console import forms, referral_forms
from helpline.extensions import db
from helpline.models import Call, Caller, ContactRecord, Referral, Staff
from helpline.models.enums import ContactStatus, Role
from helpline.privacy.crypto import mask_number
from helpline.records import service
from helpline.records.catalog import Catalog
from helpline.referrals import service as referral_service
from helpline.referrals import states as referral_states
from helpline.web import now, request_info, settings

bp = Blueprint("records", __name__, url_prefix="/console")
log = logging.getLogger(__name__)

Page = str | tuple[str, int]


def _catalog() -> Catalog:
    catalog: Catalog = current_app.extensions["helpline.catalog"]
    return catalog


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the line's wall-clock time."""
    return "" if value is None else value.astimezone(_zone()).strftime(fmt)


def counsellors_call(call_id: int) -> Call:
    """The call, if the current counsellor took it (404 unknown, 403 someone else's)."""
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    if call.counsellor_id != current_staff().id:
        abort(403)
    return call


def _get_record(record_id: int, *, for_update: bool = False) -> ContactRecord:
    try:
        return service.get_record(db.session, record_id, for_update=for_update)
    except service.RecordNotFound:
        abort(404)


def _record_page(
    form: forms.RecordForm | None,
    *,
    record: ContactRecord | None,
    call: Call | None,
    status: int = 200,
    saved_at: str | None = None,
    loose: list[str] | None = None,
    revealed: str | None = None,
) -> Page:
    staff = current_staff()
    catalog = _catalog()
    the_call = call
    if the_call is None and record is not None and record.call_id is not None:
        the_call = db.session.get(Call, record.call_id)
    caller_id = record.caller_id if record is not None else (call.caller_id if call else None)
    caller = db.session.get(Caller, caller_id) if caller_id is not None else None
    editable = record is None or service.can_edit(record, staff, now())
    autosave: str | None
    if record is None:
        action = url_for(".save_for_call", call_id=call.id) if call else url_for(".save_new")
        autosave = (
            url_for(".autosave_for_call", call_id=call.id) if call else url_for(".autosave_new")
        )
    else:
        action = url_for(".save", record_id=record.id)
        is_draft = record.status == ContactStatus.DRAFT.value
        autosave = url_for(".autosave", record_id=record.id) if is_draft else None
    follow_up = service.open_follow_up(db.session, record) if record is not None else None
    moment = now()
    loop = (
        [
            (r, referral_service.next_steps(r, staff, moment), is_overdue(r, moment))
            for r in record.referrals
        ]
        if record is not None and record.status == ContactStatus.FINAL.value
        else []
    )
    page = render_template(
        "console/record.html",
        form=form if editable else None,
        record=record,
        call=the_call,
        caller=caller,
        masked=mask_number(caller.number_encrypted) if caller else None,
        revealed=revealed,
        may_reveal=record is not None and service.can_reveal(record, staff),
        versions=service.list_versions(db.session, record) if record is not None else [],
        action=action,
        autosave_url=autosave if editable else None,
        follow_up=follow_up,
        editable_until=service.editable_until(record) if record is not None else None,
        saved_at=saved_at,
        loose=loose or [],
        errors=forms.error_list(form) if form is not None else [],
        call_types=dict(forms.CALL_TYPES),
        risk_levels=dict(forms.RISK_LEVELS),
        catalog=catalog,
        language=staff.ui_language,
        local=local_time,
        reveal_form=PostForm(),
        timezone=settings().timezone,
        now=moment,
        referral_loop=loop,
        statuses=referral_forms.STATUSES,
        post_form=PostForm(),
        consent_form=referral_forms.ConsentForm(
            formdata=None, language=_language(the_call, caller)
        ),
        decline_form=referral_forms.DeclineForm(formdata=None),
        service_form=referral_forms.ServiceForm(formdata=None),
        close_form=referral_forms.CloseForm(formdata=None),
        today=moment.date().isoformat(),
    )
    return page, status


def is_overdue(referral: Referral, moment: dt.datetime) -> bool:
    return referral_states.is_overdue(referral.status, referral.due_at, moment)


def _language(call: Call | None, caller: Caller | None) -> str | None:
    """The person's language, to suggest when their consent to a referral is recorded."""
    return (call.language if call else None) or (caller.preferred_language if caller else None)


def _stored_form(record: ContactRecord) -> forms.RecordForm | None:
    """The form filled from the stored record, if the viewer may edit it."""
    if not service.can_edit(record, current_staff(), now()):
        return None
    form = forms.RecordForm(formdata=None)
    local = record.follow_up_at.astimezone(_zone()) if record.follow_up_at else None
    forms.fill(form, record, local.replace(tzinfo=None) if local else None)
    return form


def _new_form() -> forms.RecordForm:
    form = forms.RecordForm()
    forms.ensure_blank_referral(form)
    return form


def _saved_json(record: ContactRecord) -> Response:
    return jsonify(
        status="saved",
        saved_at=local_time(now(), "%H:%M"),
        record_url=url_for(".show", record_id=record.id),
        autosave_url=url_for(".autosave", record_id=record.id),
    )


def translated(problems: list[service.Problem]) -> list[service.Problem]:
    """The service's messages in the reader's language (its messages are the msgids;
    a message with a value in it has no translation and stays in English)."""
    return [service.Problem(p.field, _(p.message)) for p in problems]


def _error_json(message: str, status: int, problems: list[service.Problem] | None = None) -> Any:
    body = {
        "status": "error",
        "message": message,
        "problems": [{"field": p.field, "message": _(p.message)} for p in problems or []],
    }
    return jsonify(body), status


def _autosave(record: ContactRecord, form: forms.RecordForm) -> Any:
    """Save a draft from the form; the JSON answer the autosave script reads."""
    if not form.validate():
        return _error_json(_("Some fields could not be read."), 400)
    data, _problems = forms.to_input(form)
    try:
        service.save_draft(
            db.session,
            record,
            data,
            by=current_staff(),
            catalog=_catalog(),
            now=now(),
            timezone=settings().timezone,
        )
    except service.RecordInvalid as error:
        db.session.rollback()
        return _error_json(_("Check the fields marked when you save."), 400, list(error.problems))
    except service.RecordError as error:
        db.session.rollback()
        return _error_json(_(str(error)), 409)
    db.session.commit()
    return _saved_json(record)


def _submit(record: ContactRecord, form: forms.RecordForm) -> Response | Page:
    """Save draft, finalise, or save an edit, as the pressed button says.

    The form has been validated (CSRF, lengths, dates). The attempt runs in a savepoint:
    when finalising fails, what was typed is still kept as the draft.
    """
    action = request.form.get("action", "draft")
    data, form_problems = forms.to_input(form)
    common: dict[str, Any] = {
        "by": current_staff(),
        "catalog": _catalog(),
        "now": now(),
        "timezone": settings().timezone,
    }
    is_draft = record.status == ContactStatus.DRAFT.value
    try:
        with db.session.begin_nested():
            if is_draft and action != "finalise":
                service.save_draft(db.session, record, data, **common)
                message = ""
            elif form_problems:
                raise service.RecordInvalid(form_problems)
            elif is_draft:
                service.finalise(db.session, record, data, request=request_info(), **common)
                message = _("Record finalised: version 1.")
            else:
                version = service.edit(db.session, record, data, request=request_info(), **common)
                message = (
                    _("Saved: version %(version)s.", version=version.version)
                    if version
                    else _("Nothing changed.")
                )
    except service.RecordInvalid as error:
        saved_at = _keep_draft(record, data, common) if is_draft else None
        db.session.commit()
        loose = forms.show_problems(form, translated([*form_problems, *error.problems]))
        forms.ensure_blank_referral(form)
        return _record_page(
            form, record=record, call=None, status=400, saved_at=saved_at, loose=loose
        )
    except service.RecordForbidden:
        db.session.rollback()
        abort(403)
    except service.RecordError as error:
        db.session.commit()  # a record created by this request stays, as a draft
        flash(_(str(error)), "error")
        return redirect(url_for(".show", record_id=record.id))
    db.session.commit()
    if not message:  # a draft saved without JavaScript: the same form, filled as it was
        forms.ensure_blank_referral(form)
        return _record_page(form, record=record, call=None, saved_at=local_time(now(), "%H:%M"))
    flash(message, "info")
    return redirect(url_for(".show", record_id=record.id))


def _keep_draft(record: ContactRecord, data: service.RecordInput, common: dict[str, Any]) -> str:
    """When finalising fails, keep what was typed as the draft, if a draft can hold it."""
    try:
        with db.session.begin_nested():
            service.save_draft(db.session, record, data, **common)
    except service.RecordError:
        return ""
    return local_time(now(), "%H:%M")


# --- the record of a call ---------------------------------------------------------------


@bp.get("/calls/<int:call_id>/record")
@allow(Role.COUNSELLOR)
def for_call(call_id: int) -> Response | Page:
    """The record form for a call this counsellor took (or the record, once it exists)."""
    call = counsellors_call(call_id)
    record = service.find_record_for_call(db.session, call.id)
    if record is not None:
        return redirect(url_for(".show", record_id=record.id))
    return _record_page(_new_form(), record=None, call=call)


def _start(call: Call | None) -> ContactRecord:
    try:
        return service.create_draft(
            db.session, by=current_staff(), now=now(), call=call, request=request_info()
        )
    except service.RecordForbidden:
        abort(403)


@bp.post("/calls/<int:call_id>/record")
@allow(Role.COUNSELLOR)
def save_for_call(call_id: int) -> Response | Page:
    call = counsellors_call(call_id)
    form = forms.RecordForm()
    if not form.validate():
        return _record_page(form, record=None, call=call, status=400)
    record = _start(call)
    if not service.can_edit(record, current_staff(), now()):
        abort(403)
    return _submit(record, form)


@bp.post("/calls/<int:call_id>/record/autosave")
@allow(Role.COUNSELLOR)
def autosave_for_call(call_id: int) -> Any:
    call = counsellors_call(call_id)
    record = _start(call)
    if record.status != ContactStatus.DRAFT.value:
        return _error_json(_("This record is final: save changes with the Save button."), 409)
    return _autosave(record, forms.RecordForm())


# --- a contact outside a call -----------------------------------------------------------


@bp.get("/records/new")
@allow(Role.COUNSELLOR)
def new() -> Page:
    """The record form for a contact outside a call (no caller, so no number)."""
    return _record_page(_new_form(), record=None, call=None)


@bp.post("/records/new")
@allow(Role.COUNSELLOR)
def save_new() -> Response | Page:
    form = forms.RecordForm()
    if not form.validate():
        return _record_page(form, record=None, call=None, status=400)
    return _submit(_start(None), form)


@bp.post("/records/new/autosave")
@allow(Role.COUNSELLOR)
def autosave_new() -> Any:
    form = forms.RecordForm()
    if not form.validate():
        return _error_json(_("Some fields could not be read."), 400)
    return _autosave(_start(None), form)


# --- an existing record -----------------------------------------------------------------


@bp.get("/records/<int:record_id>")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def show(record_id: int) -> Page:
    """The record: a form for its owner while editable, read-only otherwise."""
    record = _get_record(record_id)
    staff = current_staff()
    try:
        service.open_record(db.session, record, by=staff, request=request_info())
        _open_referrals(record, staff)
    except (service.RecordForbidden, referral_service.ReferralForbidden):
        abort(403)
    db.session.commit()
    return _record_page(_stored_form(record), record=record, call=None)


def _open_referrals(record: ContactRecord, staff: Staff) -> None:
    """The page shows a final record's referrals with their status: each view is audited."""
    if record.status != ContactStatus.FINAL.value:
        return
    for referral in record.referrals:
        referral_service.open_referral(
            db.session, referral, by=staff, now=now(), request=request_info()
        )


@bp.post("/records/<int:record_id>")
@allow(Role.COUNSELLOR)
def save(record_id: int) -> Response | Page:
    record = _get_record(record_id, for_update=True)
    if not service.is_owner(record, current_staff()):
        abort(403)
    if not service.can_edit(record, current_staff(), now()):
        flash(_("The 24-hour edit window has ended: this record is read-only."), "error")
        return redirect(url_for(".show", record_id=record.id))
    form = forms.RecordForm()
    if not form.validate():
        return _record_page(form, record=record, call=None, status=400)
    return _submit(record, form)


@bp.post("/records/<int:record_id>/autosave")
@allow(Role.COUNSELLOR)
def autosave(record_id: int) -> Any:
    record = _get_record(record_id, for_update=True)
    if not service.is_owner(record, current_staff()):
        abort(403)
    return _autosave(record, forms.RecordForm())


@bp.post("/records/<int:record_id>/reveal")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def reveal(record_id: int) -> Page:
    """Show the caller's whole number to the record's owner or a supervisor; audited."""
    if not PostForm().validate_on_submit():
        abort(400)
    record = _get_record(record_id)
    try:
        number = service.reveal_number(
            db.session, record, by=current_staff(), request=request_info()
        )
    except service.RecordForbidden:
        abort(403)
    except service.RecordNotFound:
        abort(404)
    _open_referrals(record, current_staff())
    db.session.commit()
    log.info("number revealed: caller %s, record %s", record.caller_id, record.id)
    return _record_page(_stored_form(record), record=record, call=None, revealed=number)


# --- caller history ---------------------------------------------------------------------


@bp.get("/callers/<int:caller_id>")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def caller(caller_id: int) -> str:
    """Every contact with this caller: dates, categories and risk; audited."""
    found = db.session.get(Caller, caller_id)
    if found is None:
        abort(404)
    staff = current_staff()
    try:
        records = service.caller_history(db.session, found, by=staff, request=request_info())
    except service.RecordForbidden:
        abort(403)
    db.session.commit()
    rows = db.session.execute(
        sa.select(Staff.id, Staff.display_name).where(
            Staff.id.in_({r.counsellor_id for r in records})
        )
    ).all()
    names: dict[int, str] = dict(rows)
    return render_template(
        "console/caller.html",
        caller=found,
        masked=mask_number(found.number_encrypted),
        records=records,
        names=names,
        may_read=lambda record: service.can_read(record, staff),
        catalog=_catalog(),
        language=staff.ui_language,
        local=local_time,
        call_types=dict(forms.CALL_TYPES),
        risk_levels=dict(forms.RISK_LEVELS),
    )
