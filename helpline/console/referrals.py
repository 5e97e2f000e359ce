"""Referrals in the console: the SSC focal point's list and page, each step as a button,
the audited number reveal, and overdue referrals for counsellors and supervisors.

The rules are helpline/referrals' (who may take which step, what each sees); each view
parses, calls it, and commits once. Every page that shows a referral is audited there.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypedDict

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.console import referral_forms as forms
from helpline.console.records import local_time
from helpline.extensions import db
from helpline.models import Caller, Referral, ReferralStep, Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import ReferralStatus, Role
from helpline.privacy.crypto import mask_number
from helpline.records.catalog import Catalog
from helpline.referrals import queries, service, states
from helpline.web import now, request_info, settings

bp = Blueprint("referrals", __name__, url_prefix="/referrals")
log = logging.getLogger(__name__)

Page = str | tuple[str, int]
Step = Callable[[Referral], object]


class PlainStep(Protocol):
    def __call__(
        self,
        session: DbSession,
        referral: Referral,
        *,
        by: Staff,
        now: dt.datetime,
        catalog: Catalog,
        request: audit.RequestInfo | None = None,
    ) -> object: ...


class Common(TypedDict):
    """What every step takes besides the referral."""

    by: Staff
    now: dt.datetime
    catalog: Catalog
    request: audit.RequestInfo


def _catalog() -> Catalog:
    catalog: Catalog = current_app.extensions["helpline.catalog"]
    return catalog


def _shown(staff: Staff) -> dict[str, Any]:
    """What every referral page names things with: labels, the catalog, the time zone."""
    return {
        "statuses": forms.STATUSES,
        "preferences": forms.PREFERENCES,
        "catalog": _catalog(),
        "language": staff.ui_language,
        "local": local_time,
        "timezone": settings().timezone,
    }


def _get(referral_id: int, *, for_update: bool = False) -> Referral:
    try:
        return service.get_referral(db.session, referral_id, for_update=for_update)
    except service.ReferralNotFound:
        abort(404)


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = sa.select(Staff.id, Staff.display_name).where(Staff.id.in_(ids))
    return {row.id: row.display_name for row in db.session.execute(query)}


def _page(referral: Referral, *, revealed: str | None = None, status: int = 200) -> Page:
    staff = current_staff()
    moment = now()
    record = referral.contact_record
    caller = db.session.get(Caller, record.caller_id) if record.caller_id is not None else None
    is_destination = staff.has_role(Role.SSC_FOCAL_POINT)
    page = render_template(
        "console/referral.html",
        referral=referral,
        record=record,
        steps=referral.steps,
        names=_names({step.by_id for step in referral.steps}),
        note_visible=lambda step: _note_visible(step, is_destination),
        next_steps=service.next_steps(referral, staff, moment),
        may_reveal=caller is not None
        and service.allows("referral.reveal_number", referral, staff, moment),
        masked=mask_number(caller.number_encrypted) if caller and caller.number_encrypted else None,
        revealed=revealed,
        is_overdue=states.is_overdue(referral.status, referral.due_at, moment),
        is_case_worker=record.counsellor_id == staff.id,
        **_shown(staff),
        post_form=PostForm(),
        consent_form=forms.ConsentForm(formdata=None, language=_language_of(referral)),
        decline_form=forms.DeclineForm(formdata=None),
        service_form=forms.ServiceForm(formdata=None, on=moment.date()),
        close_form=forms.CloseForm(formdata=None),
        today=moment.date().isoformat(),
    )
    return page, status


def _note_visible(step: ReferralStep, is_destination: bool) -> bool:
    """The centre reads the notes of its own steps (a decline's reason); the case worker
    and supervisors read every note."""
    party = states.party(states.status_of(step.status))
    return not is_destination or party is states.Party.DESTINATION


def _language_of(referral: Referral) -> str | None:
    caller_id = referral.contact_record.caller_id
    caller = db.session.get(Caller, caller_id) if caller_id is not None else None
    return referral.language or (caller.preferred_language if caller else None)


# --- lists ------------------------------------------------------------------------------


@bp.get("/")
@allow(Role.SSC_FOCAL_POINT)
def mine() -> str:
    """The referrals sent to my centre: overdue first, then open, then closed; audited."""
    staff = current_staff()
    try:
        rows = queries.list_for_focal_point(db.session, by=staff, now=now(), request=request_info())
    except service.ReferralForbidden:
        abort(403)
    db.session.commit()
    site = db.session.get(Site, staff.site_id) if staff.site_id is not None else None
    return render_template(
        "console/referrals.html",
        rows=rows,
        site=site,
        **_shown(staff),
    )


@bp.get("/overdue")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def overdue() -> str:
    """Overdue referrals: a counsellor's own; every one for supervisors (a site filter)."""
    staff = current_staff()
    site_id = request.args.get("site", type=int)
    try:
        rows = queries.list_overdue(
            db.session, by=staff, now=now(), site_id=site_id, request=request_info()
        )
    except service.ReferralForbidden:
        abort(403)
    db.session.commit()
    all_sites = staff.has_role(Role.SUPERVISOR)
    sites = (
        db.session.scalars(sa.select(Site).order_by(Site.province, Site.name)).all()
        if all_sites
        else []
    )
    return render_template(
        "console/referrals_overdue.html",
        rows=rows,
        sites=sites,
        site_id=site_id,
        names=_names({row.counsellor_id for row in rows}),
        site_names={site.id: site.name for site in sites},
        **_shown(staff),
    )


# --- one referral -----------------------------------------------------------------------


@bp.get("/<int:referral_id>")
@allow(Role.SSC_FOCAL_POINT, Role.COUNSELLOR, Role.SUPERVISOR)
def show(referral_id: int) -> Page:
    """A referral: for the centre, only what it needs; every view audited."""
    referral = _get(referral_id)
    try:
        service.open_referral(
            db.session, referral, by=current_staff(), now=now(), request=request_info()
        )
    except service.ReferralForbidden:
        abort(403)
    db.session.commit()
    return _page(referral)


@bp.post("/<int:referral_id>/reveal")
@allow(Role.SSC_FOCAL_POINT)
def reveal(referral_id: int) -> Page:
    """The person's whole number, for the focal point of the centre; audited."""
    if not PostForm().validate_on_submit():
        abort(400)
    referral = _get(referral_id)
    try:
        number = service.reveal_number(
            db.session, referral, by=current_staff(), now=now(), request=request_info()
        )
    except service.ReferralForbidden:
        abort(403)
    except service.ReferralNotFound:
        abort(404)
    db.session.commit()
    log.info("number revealed for referral %s", referral.id)
    return _page(referral, revealed=number)


def _back(referral: Referral) -> Response:
    if request.form.get("back") == "record":
        return redirect(url_for("records.show", record_id=referral.contact_record_id))
    return redirect(url_for(".show", referral_id=referral.id))


def _take(referral_id: int, step: ReferralStatus, take: Step, valid: bool = True) -> Response:
    """Check the step may be taken by this person at all (403), then take it or say why not."""
    referral = _get(referral_id, for_update=True)
    staff = current_staff()
    if not service.allows(service.step_action(referral, step), referral, staff, now()):
        abort(403)
    if not valid:
        flash(_("Fill in the fields of the step."), "error")
        return _back(referral)
    try:
        take(referral)
    except service.ReferralForbidden:
        db.session.rollback()
        abort(403)
    except service.ReferralError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return _back(referral)
    db.session.commit()
    flash(_("Referral %(id)s: %(status)s.", id=referral.id, status=forms.STATUSES[step]), "info")
    return _back(referral)


def _plain(referral_id: int, step: ReferralStatus, take: PlainStep) -> Response:
    """A step with nothing to fill in but the CSRF token."""
    valid = bool(PostForm().validate_on_submit())
    return _take(referral_id, step, lambda r: take(db.session, r, **_common()), valid)


def _common() -> Common:
    return {
        "by": current_staff(),
        "now": now(),
        "catalog": _catalog(),
        "request": request_info(),
    }


@bp.post("/<int:referral_id>/consent")
@allow(Role.COUNSELLOR)
def consent(referral_id: int) -> Response:
    """The case worker records the person's consent, contact preference and language."""
    form = forms.ConsentForm()
    data = service.Consent(form.contact_preference.data or "", form.language.data or "")
    return _take(
        referral_id,
        ReferralStatus.CONSENTED,
        lambda r: service.record_consent(db.session, r, data, **_common()),
        bool(form.validate_on_submit()),
    )


@bp.post("/<int:referral_id>/send")
@allow(Role.COUNSELLOR)
def send(referral_id: int) -> Response:
    """The case worker sends a referral the person consented to."""
    return _plain(referral_id, ReferralStatus.SENT, service.send)


@bp.post("/<int:referral_id>/accept")
@allow(Role.SSC_FOCAL_POINT, Role.COUNSELLOR)
def accept(referral_id: int) -> Response:
    """The centre (or, for another service, the case worker) accepts."""
    return _plain(referral_id, ReferralStatus.ACCEPTED, service.accept)


@bp.post("/<int:referral_id>/decline")
@allow(Role.SSC_FOCAL_POINT, Role.COUNSELLOR)
def decline(referral_id: int) -> Response:
    """The centre declines, with a reason."""
    form = forms.DeclineForm()
    reason = form.reason.data or ""
    return _take(
        referral_id,
        ReferralStatus.DECLINED,
        lambda r: service.decline(db.session, r, reason, **_common()),
        bool(form.validate_on_submit()),
    )


@bp.post("/<int:referral_id>/service")
@allow(Role.SSC_FOCAL_POINT, Role.COUNSELLOR)
def record_service(referral_id: int) -> Response:
    """The centre records the service provided: the day, what, a note."""
    form = forms.ServiceForm()
    valid = bool(form.validate_on_submit()) and form.on.data is not None
    provided = service.Service(
        on=form.on.data or now().date(), what=form.what.data or "", note=form.note.data or ""
    )
    return _take(
        referral_id,
        ReferralStatus.SERVICE_PROVIDED,
        lambda r: service.record_service(db.session, r, provided, **_common()),
        valid,
    )


@bp.post("/<int:referral_id>/close")
@allow(Role.COUNSELLOR)
def close(referral_id: int) -> Response:
    """The case worker closes the loop, with a note if any."""
    form = forms.CloseForm()
    note = form.note.data or ""
    return _take(
        referral_id,
        ReferralStatus.CLOSED,
        lambda r: service.close(db.session, r, note, **_common()),
        bool(form.validate_on_submit()),
    )
