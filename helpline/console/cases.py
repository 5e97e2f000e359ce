"""The case page in the console: header, status, needs, risk, linked persons, the plan,
notes, WHO-5 wellbeing and the timeline; the case worker's changes, and the transfer.

Glue only: the rules are helpline/cases' (who may, what is valid, what is audited). Each
change checks the action's rule (403), reads the form (case_forms), calls the domain and
commits once; a refused change shows the page again with its field messages (400).
Supervisors of the case's centre read the same page, with the transfer form only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.cases import cases, labels, plan, relatives, timeline, wellbeing
from helpline.cases.access import (
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    allows,
    case_subject,
)
from helpline.cases.who5 import Who5
from helpline.console import case_forms as forms
from helpline.console import forms as record_forms
from helpline.console.case_charts import wellbeing_chart
from helpline.console.records import local_time
from helpline.console.referral_forms import STATUSES as REFERRAL_STATUSES
from helpline.extensions import db
from helpline.i18n import LANGUAGE_NAMES
from helpline.models import Call, Case, CaseAction, ContactRecord, PersonNumber, Site, Staff
from helpline.models.enums import CaseStatus, Role
from helpline.web import now, request_info, settings

bp = Blueprint("cases", __name__, url_prefix="/console/cases")
Page = tuple[str, int]
NOTE_MAX = 4_000
# The plan's field names, as the action form names them.
ACTION_FIELDS = {
    "description": "action_description",
    "due_at": "due_date",
    "consent": "call_consent",
    "language": "call_language",
    "caller": "is_call",
}


def who5_text() -> Who5:
    found: Who5 = current_app.extensions["helpline.who5"]
    return found


def get_case(reference: str, *, for_update: bool = False) -> Case:
    """The case of a reference (404 when unknown)."""
    found = cases.find_by_reference(db.session, reference.upper())
    if found is None:
        abort(404)
    return cases.get_case(db.session, found.id, for_update=for_update) if for_update else found


def staff_names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = sa.select(Staff.id, Staff.display_name).where(Staff.id.in_(wanted))
    return {row.id: row.display_name for row in db.session.execute(query)}


def timeline_staff(page: timeline.Page) -> set[int | None]:
    """The staff a timeline page names: who made each entry, and the case workers."""
    made = {e.staff_id for e in page.entries}
    return made | {e.data.get("worker_id") for e in page.entries if e.kind == "assignment"}


def timeline_context(page: timeline.Page, endpoint: str, **values: Any) -> dict[str, Any]:
    """What _timeline.html needs besides `names`, `labels` and `languages`; its pager links
    to `endpoint` with `values` (and `after=`)."""
    return {
        "entries": page.entries,
        "next_after": page.next_after.encode() if page.next_after else None,
        "timeline_url": functools.partial(url_for, endpoint, **values),
        "referral_statuses": REFERRAL_STATUSES,
        "catalog": current_app.extensions["helpline.catalog"],
        "risk_levels": dict(record_forms.RISK_LEVELS),
        "local": local_time,
    }


def counsellors(site_id: int | None = None) -> list[Staff]:
    """Active counsellors (of a site, if given), by name."""
    query = sa.select(Staff).where(Staff.is_active.is_(True)).order_by(Staff.display_name)
    if site_id is not None:
        query = query.where(Staff.site_id == site_id)
    return [s for s in db.session.scalars(query) if s.has_role(Role.COUNSELLOR)]


def _who5_language(case: Case) -> str:
    """The questionnaire's language: as asked, else the language of the case's first call."""
    asked = request.args.get("who5", "")
    if asked in who5_text().wordings:
        return asked
    record = (
        db.session.get(ContactRecord, case.opened_from_record_id)
        if case.opened_from_record_id is not None
        else None
    )
    call = db.session.get(Call, record.call_id) if record and record.call_id else None
    language = call.language if call is not None else None
    return language if language is not None and language in who5_text().wordings else "en"


def _linkable(case: Case) -> list[int]:
    """Other profiles on the person's numbers (a family's phone), to link to the case."""
    numbers = sa.select(PersonNumber.caller_id).where(
        PersonNumber.person_id == case.person_id, PersonNumber.unlinked_at.is_(None)
    )
    query = (
        sa.select(PersonNumber.person_id)
        .where(
            PersonNumber.caller_id.in_(numbers),
            PersonNumber.unlinked_at.is_(None),
            PersonNumber.person_id != case.person_id,
        )
        .distinct()
        .order_by(PersonNumber.person_id)
    )
    return list(db.session.scalars(query))


def case_page(case: Case, *, problems: dict[str, str] | None = None, status: int = 200) -> Page:
    """The case page; reading it is audited by the domain (case, wellbeing, timeline)."""
    staff, moment = current_staff(), now()
    info = request_info()
    try:
        view = cases.view_case(db.session, case.id, by=staff, now=moment, request=info)
        curve = wellbeing.case_curve(db.session, case, by=staff, now=moment, request=info)
        after = request.args.get("after")
        cursor = timeline.Cursor.decode(after) if after else None
        page = timeline.case_timeline(
            db.session, case, by=staff, now=moment, after=cursor, request=info
        )
    except CaseForbidden:
        db.session.rollback()
        abort(403)
    except CaseInvalid:  # an unreadable page key
        db.session.rollback()
        abort(404)
    risks = cases.risk_history(db.session, case)
    db.session.commit()
    subject = case_subject(db.session, case)
    writable = allows("case.write", staff, subject, moment)
    language = _who5_language(case)
    ids = {case.worker_id, *(a.owner_id for a in view.actions), *(r.assessed_by_id for r in risks)}
    ids |= timeline_staff(page)
    site = db.session.get(Site, case.site_id) if case.site_id is not None else None
    html = render_template(
        "console/cases/case.html",
        case=case,
        view=view,
        site=site,
        risks=risks,
        curve=curve,
        chart=wellbeing_chart(_("WHO-5 wellbeing over time"), curve),
        **timeline_context(page, "cases.show", reference=case.reference),
        names=staff_names(ids),
        writable=writable and case.status != CaseStatus.CLOSED.value,
        may_change_status=writable,
        may_assign=allows("case.assign", staff, subject, moment)
        and case.status != CaseStatus.CLOSED.value,
        may_record_wellbeing=allows("wellbeing.record", staff, subject, moment)
        and case.status != CaseStatus.CLOSED.value,
        moves=sorted(cases.allowed_moves(case.status)),
        owners=counsellors(case.site_id),
        transfer_to=[s for s in counsellors() if s.id != case.worker_id],
        linkable=_linkable(case),
        wording=who5_text().wording(language),
        who5_language=language,
        who5_languages={code: LANGUAGE_NAMES.get(code, code) for code in who5_text().wordings},
        problems=problems or {},
        form=request.form if problems else {},
        post_form=PostForm(),
        labels=labels,
        languages=LANGUAGE_NAMES,
        timezone=settings().timezone,
        today=(moment + dt.timedelta(days=1)).astimezone(ZoneInfo(settings().timezone)).date(),
    )
    return html, status


@bp.get("/<reference>")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def show(reference: str) -> Page:
    """A case: its worker changes it, the supervisor of its centre reads it; audited."""
    return case_page(get_case(reference))


def change(
    reference: str,
    action: str,
    do: Callable[[Case], object],
    done: str,
    rename: dict[str, str] | None = None,
) -> Response | Page:
    """Check the CSRF token (400) and the action's rule (403), then make the change and
    commit, or show the page again with the field messages (400)."""
    if not PostForm().validate_on_submit():
        abort(400)
    case = get_case(reference, for_update=True)
    staff = current_staff()
    if not allows(action, staff, case_subject(db.session, case), now()):
        abort(403)
    try:
        do(case)
    except CaseNotFound:
        db.session.rollback()
        abort(404)
    except CaseForbidden as error:  # allowed, but not now (a closed case)
        db.session.rollback()
        return case_page(get_case(reference), problems={"case": _(str(error))}, status=400)
    except CaseInvalid as error:
        db.session.rollback()
        found = forms.messages(error, rename).items()
        shown = {field: _(message) for field, message in found}
        return case_page(get_case(reference), problems=shown, status=400)
    db.session.commit()
    flash(done, "info")
    return redirect(url_for(".show", reference=case.reference))


def _common() -> dict[str, Any]:
    return {"by": current_staff(), "now": now(), "request": request_info()}


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


@bp.post("/<reference>/status")
@allow(Role.COUNSELLOR)
def status(reference: str) -> Response | Page:
    """Move the case along its states; closing asks a reason."""

    def do(case: Case) -> None:
        to, reason = forms.status_change(request.form)
        cases.change_status(db.session, case, to, reason=reason, **_common())

    renamed = {"closure_reason": "reason"}
    return change(reference, "case.write", do, _("The case's status is changed."), renamed)


@bp.post("/<reference>/needs")
@allow(Role.COUNSELLOR)
def needs(reference: str) -> Response | Page:
    def do(case: Case) -> None:
        cases.set_needs(db.session, case, forms.needs(request.form), **_common())

    return change(reference, "case.write", do, _("The needs are saved."))


@bp.post("/<reference>/risk")
@allow(Role.COUNSELLOR)
def risk(reference: str) -> Response | Page:
    def do(case: Case) -> None:
        level = forms.risk(request.form, dict(record_forms.RISK_LEVELS))
        cases.assess_risk(db.session, case, level, **_common())

    return change(reference, "case.write", do, _("The risk assessment is recorded."))


@bp.post("/<reference>/persons")
@allow(Role.COUNSELLOR)
def link_person(reference: str) -> Response | Page:
    def do(case: Case) -> None:
        person_id, relationship = forms.relationship(request.form)
        cases.link_person(db.session, case, person_id, relationship, **_common())

    return change(reference, "case.write", do, _("The person is linked to the case."))


@bp.post("/<reference>/relatives")
@allow(Role.COUNSELLOR)
def add_relative(reference: str) -> Response | Page:
    """A new profile for a family member, linked to the case (with their answer)."""

    def do(case: Case) -> None:
        relationship = forms.choice(request.form, "new_relationship", labels.RELATIONSHIPS)
        consent = forms.consent(request.form, "relative_consent")
        relatives.add_relative(db.session, case, relationship, consent=consent, **_common())

    renamed = {"relationship": "new_relationship"}
    return change(reference, "case.write", do, _("The new profile is linked to the case."), renamed)


@bp.post("/<reference>/persons/<int:person_id>/unlink")
@allow(Role.COUNSELLOR)
def unlink_person(reference: str, person_id: int) -> Response | Page:
    def do(case: Case) -> None:
        cases.unlink_person(db.session, case, person_id, **_common())

    return change(reference, "case.write", do, _("The person is no longer linked to the case."))


@bp.post("/<reference>/goals")
@allow(Role.COUNSELLOR)
def add_goal(reference: str) -> Response | Page:
    def do(case: Case) -> None:
        text = forms.text(request.form, "goal_description", plan.TEXT_MAX)
        plan.add_goal(db.session, case, text, **_common())

    renamed = {"description": "goal_description"}
    return change(reference, "case.write", do, _("The goal is added to the plan."), renamed)


@bp.post("/<reference>/goals/<int:goal_id>")
@allow(Role.COUNSELLOR)
def goal_status(reference: str, goal_id: int) -> Response | Page:
    def do(case: Case) -> None:
        goal = next((g for g in plan.list_goals(db.session, case) if g.id == goal_id), None)
        if goal is None:
            raise CaseNotFound("There is no such goal.")
        plan.set_goal_status(db.session, goal, forms.goal_status(request.form), **_common())

    return change(reference, "case.write", do, _("The goal is updated."))


@bp.post("/<reference>/actions")
@allow(Role.COUNSELLOR)
def add_action(reference: str) -> Response | Page:
    """An action with an owner and a due time; a call action makes the follow-up callback."""

    def do(case: Case) -> None:
        form = request.form
        text = forms.text(form, "action_description", plan.TEXT_MAX)
        owner_id = forms.chosen_id(form, "owner")
        due_at = forms.due_time(form, _zone())
        call = forms.call_input(form, LANGUAGE_NAMES)
        plan.add_action(
            db.session,
            case,
            text,
            owner_id=owner_id,
            due_at=due_at,
            goal_id=forms.goal_id(form),
            call=call,
            **_common(),
        )

    return change(reference, "case.write", do, _("The action is added to the plan."), ACTION_FIELDS)


def _action_of(case: Case, action_id: int) -> CaseAction:
    action = plan.get_action(db.session, action_id)
    if action.case_id != case.id:
        raise CaseNotFound("There is no such action.")
    return action


@bp.post("/<reference>/actions/<int:action_id>")
@allow(Role.COUNSELLOR)
def finish_action(reference: str, action_id: int) -> Response | Page:
    def do(case: Case) -> None:
        action = _action_of(case, action_id)
        plan.finish_action(db.session, action, forms.action_status(request.form), **_common())

    return change(reference, "case.write", do, _("The action is updated."))


@bp.post("/<reference>/actions/<int:action_id>/reschedule")
@allow(Role.COUNSELLOR)
def reschedule_action(reference: str, action_id: int) -> Response | Page:
    """A new due time for an open action (its pending callback moves with it)."""

    def do(case: Case) -> None:
        action = _action_of(case, action_id)
        due_at = forms.due_time(request.form, _zone())
        plan.reschedule_action(db.session, action, due_at, **_common())

    renamed = {"due_at": "due_date", "status": "due_date"}
    return change(reference, "case.write", do, _("The action is rescheduled."), renamed)


@bp.post("/<reference>/notes")
@allow(Role.COUNSELLOR)
def add_note(reference: str) -> Response | Page:
    def do(case: Case) -> None:
        cases.add_note(db.session, case, forms.text(request.form, "note", NOTE_MAX), **_common())

    return change(reference, "case.write", do, _("The note is added."), {"text": "note"})


@bp.post("/<reference>/wellbeing")
@allow(Role.COUNSELLOR)
def record_wellbeing(reference: str) -> Response | Page:
    """A WHO-5 taken with the person, in the questionnaire's language."""

    def do(case: Case) -> None:
        answers, occasion, language = forms.who5(request.form, who5_text().wordings)
        wellbeing.record_measure(
            db.session, case, answers, occasion=occasion, language=language, **_common()
        )

    renamed = {"answers": "item1"}
    return change(reference, "wellbeing.record", do, _("The WHO-5 is recorded."), renamed)


@bp.post("/<reference>/assign")
@allow(Role.COUNSELLOR, Role.SUPERVISOR)
def assign(reference: str) -> Response | Page:
    """Transfer the case to another counsellor (the worker, or the centre's supervisor)."""

    def do(case: Case) -> None:
        cases.assign(db.session, case, forms.chosen_id(request.form, "worker"), **_common())

    response = change(reference, "case.assign", do, _("The case is transferred."))
    if isinstance(response, Response) and response.status_code == 302:
        # The former worker may no longer read it: back to their console, or the search.
        staff = current_staff()
        case = get_case(reference)
        if not allows("case.read", staff, case_subject(db.session, case), now()):
            home = "console.home" if staff.has_role(Role.COUNSELLOR) else "supervisor_cases.search"
            return redirect(url_for(home))
    return response
