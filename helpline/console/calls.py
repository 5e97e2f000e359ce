"""The console's live panel and call actions (blueprint `calls`, under /console).

- `GET /console/live.json`: a few fields the page polls (no personal data, nothing
  audited); `GET /console/live`: the panel as HTML, fetched again when its fingerprint
  changes (it may show previous contacts, which is audited).
- Call actions, each a POST with a CSRF token, only by the counsellor the call is
  connected to (403 for anyone else, 404 for no such call): hold and resume, end, add an
  interpreter, warm transfer to a language, escalate to the duty supervisor, and reveal
  the caller's number (audited). The work is the routing operations' (tasks/calls.py);
  an OperationError's message is safe and shown as it is.
- Escalation: the counsellor asks for the duty supervisor. It is a CallEvent
  `escalated` on the call; every supervisor sees open escalations at
  `/console/escalations` and joins from there to listen or to coach (the routing
  operation dials the supervisor's phone into the room). Whoever joins first takes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
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

from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.console.live import Panel, build_panel
from helpline.console.records import counsellors_call, local_time
from helpline.extensions import db, get_redis
from helpline.models import Call, CallEvent, Staff, StaffLanguage
from helpline.models.enums import CallEventKind, EventSource, Role
from helpline.privacy.crypto import mask_number
from helpline.routing import conference, live, offers, operations
from helpline.routing.operations import OperationError
from helpline.tasks import calls as jobs
from helpline.tasks.dispatch import enqueue_add_interpreter
from helpline.web import actor, now, request_info

bp = Blueprint("calls", __name__, url_prefix="/console")
log = logging.getLogger(__name__)

JOINED_KINDS = (CallEventKind.SUPERVISOR_LISTEN.value, CallEventKind.SUPERVISOR_COACH.value)


def panel(*, with_history: bool) -> Panel:
    """This member of staff's panel now; previous contacts (audited) only if asked."""
    return build_panel(
        db.session,
        get_redis(),
        current_staff(),
        now=now(),
        wrap_up_seconds=live.policy().wrap_up_seconds,
        request=request_info() if with_history else None,
        with_history=with_history,
    )


def panel_context(found: Panel, revealed: str | None = None) -> dict[str, Any]:
    """What `console/_live.html` needs, for the pages that include it."""
    left = None
    if found.wrap_up_until is not None:
        seconds = max(int(found.wrap_up_until - time.time()), 0)
        left = f"{seconds // 60}:{seconds % 60:02d}"
    return {
        "panel": found,
        "wrap_up_left": left,
        "bridge_language": live.policy().bridge_language,
        "local": local_time,
        "catalog": current_app.extensions["helpline.catalog"],
        "action_form": PostForm(),
        "revealed": revealed,
        "transfer_languages": db.session.scalars(
            sa.select(StaffLanguage.language).distinct().order_by(StaffLanguage.language)
        ).all(),
    }


@bp.get("/live.json")
@allow(Role.COUNSELLOR, Role.INTERPRETER)
def live_json() -> Response:
    """The panel's fingerprint and state, polled every few seconds."""
    return jsonify(panel(with_history=False).summary())


@bp.get("/live")
@allow(Role.COUNSELLOR, Role.INTERPRETER)
def live_panel() -> str:
    """The panel as HTML, for the page to swap in when the fingerprint changed."""
    found = panel(with_history=True)
    db.session.commit()  # the audit entry of a caller history shown
    return render_template("console/_live.html", **panel_context(found))


# --- actions on one's own connected call ---------------------------------------------------


def _own_call(call_id: int) -> Call:
    """The call, if the current counsellor took it (404 unknown, 403 someone else's)."""
    if not PostForm().validate_on_submit():
        abort(400, description=_("The form expired; reload the page and try again."))
    return counsellors_call(call_id)


def _done(message: str) -> Response:
    flash(message, "info")
    return redirect(url_for("console.home"))


def _refused(error: OperationError | redis.RedisError) -> Response:
    db.session.rollback()
    if isinstance(error, redis.RedisError):
        log.warning("a call action failed: Redis unreachable")
        flash(_("Live routing is unreachable; try again."), "error")
    else:
        flash(_(str(error)), "error")
    return redirect(url_for("console.home"))


def _attempt(operation: Callable[[], object], message: str) -> Response:
    """Run a call action: refused (rolled back, and why) or done (`message`)."""
    try:
        operation()
    except (OperationError, redis.RedisError) as error:
        return _refused(error)
    return _done(message)


@bp.post("/calls/<int:call_id>/hold")
@allow(Role.COUNSELLOR)
def hold(call_id: int) -> Response:
    """Hold the caller (hold music), or resume them with `on=0`."""
    call = _own_call(call_id)
    on = request.form.get("on", "1") != "0"
    return _attempt(
        lambda: jobs.enqueue_hold_caller(call.id, current_staff().id, on=on),
        _("The caller is being put on hold.") if on else _("The caller is coming back."),
    )


@bp.post("/calls/<int:call_id>/end")
@allow(Role.COUNSELLOR)
def end(call_id: int) -> Response:
    call = _own_call(call_id)
    return _attempt(
        lambda: jobs.enqueue_end_call(call.id, current_staff().id), _("The call is ending.")
    )


@bp.post("/calls/<int:call_id>/interpreter")
@allow(Role.COUNSELLOR)
def add_interpreter(call_id: int) -> Response:
    """Ring the longest-idle free interpreter for the caller's language."""
    call = _own_call(call_id)
    try:
        operations.check(db.session, live.reservations(), call.id, current_staff().id)
        if call.interpreter_id is not None:
            raise OperationError(_("An interpreter is already in the call."))
        if call.language in (None, live.policy().bridge_language):
            raise OperationError(_("This call needs no interpreter."))
    except (OperationError, redis.RedisError) as error:
        return _refused(error)
    enqueue_add_interpreter(call.id)
    return _done(_("Looking for a free interpreter; they join when they accept."))


@bp.post("/calls/<int:call_id>/transfer")
@allow(Role.COUNSELLOR)
def transfer(call_id: int) -> Response:
    """A warm transfer to the longest-idle free counsellor who speaks the language."""
    call = _own_call(call_id)
    language = request.form.get("language", "")
    if not language.isalpha() or len(language) > 3:
        flash(_("Choose a language to transfer to."), "error")
        return redirect(url_for("console.home"))
    return _attempt(
        lambda: jobs.enqueue_transfer(call.id, current_staff().id, language=language),
        _("A colleague is being rung; stay on the line until they accept."),
    )


@bp.post("/calls/<int:call_id>/escalate")
@allow(Role.COUNSELLOR)
def escalate(call_id: int) -> Response:
    """Ask the duty supervisor to join: a CallEvent every supervisor's console lists."""
    call = _own_call(call_id)
    try:
        operations.check(db.session, live.reservations(), call.id, current_staff().id)
    except (OperationError, redis.RedisError) as error:
        return _refused(error)
    offers.event(
        db.session,
        call.id,
        CallEventKind.ESCALATED,
        current_staff().id,
        {"operation": operations.new_operation()},
        source=EventSource.CONSOLE,
    )
    db.session.commit()
    return _done(_("The duty supervisor has been asked to join this call."))


@bp.post("/calls/<int:call_id>/reveal")
@allow(Role.COUNSELLOR)
def reveal(call_id: int) -> str:
    """Show the whole number of one's own call's caller, once; audited."""
    call = _own_call(call_id)
    if call.caller is None:
        abort(404)
    audit.record(
        db.session,
        "number_revealed",
        actor(current_staff()),
        target_type="caller",
        target_id=call.caller.id,
        details={"call_id": call.id},
        request=request_info(),
    )
    db.session.commit()
    log.info("number revealed: caller %s, call %s", call.caller.id, call.id)
    return render_template("console/number.html", call=call, number=call.caller.number_encrypted)


# --- the duty supervisor ------------------------------------------------------------------


@bp.get("/escalations")
@allow(Role.SUPERVISOR)
def escalations() -> str:
    """Open calls whose counsellor asked for a supervisor, newest first."""
    asked = db.session.execute(
        sa.select(CallEvent.call_id, sa.func.max(CallEvent.occurred_at))
        .join(Call, Call.id == CallEvent.call_id)
        .where(CallEvent.kind == CallEventKind.ESCALATED, Call.ended_at.is_(None))
        .group_by(CallEvent.call_id)
        .order_by(sa.func.max(CallEvent.occurred_at).desc())
        .limit(50)
    ).all()
    ids = [row[0] for row in asked]
    calls = {c.id: c for c in db.session.scalars(sa.select(Call).where(Call.id.in_(ids)))}
    joined = dict(
        db.session.execute(
            sa.select(CallEvent.call_id, sa.func.max(CallEvent.staff_id))
            .where(CallEvent.call_id.in_(ids), CallEvent.kind.in_(JOINED_KINDS))
            .group_by(CallEvent.call_id)
        ).all()
    )
    people = {
        s.id: s.display_name
        for s in db.session.scalars(
            sa.select(Staff).where(
                Staff.id.in_(
                    {c.counsellor_id for c in calls.values() if c.counsellor_id}
                    | set(joined.values())
                )
            )
        )
    }
    rows = [(calls[call_id], at) for call_id, at in asked if call_id in calls]
    return render_template(
        "console/escalations.html",
        rows=rows,
        joined=joined,
        people=people,
        form=PostForm(),
        masked=lambda call: mask_number(call.caller.number_encrypted) if call.caller else "",
    )


@bp.post("/escalations/<int:call_id>/<mode>")
@allow(Role.SUPERVISOR)
def join(call_id: int, mode: str) -> Response:
    """The supervisor joins an escalated call to listen (muted) or to coach."""
    if not PostForm().validate_on_submit():
        abort(400)
    if mode not in (conference.LISTEN, conference.COACH):
        abort(404)
    if db.session.get(Call, call_id) is None:
        abort(404)
    try:
        jobs.enqueue_supervise_call(call_id, current_staff().id, mode)
    except OperationError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return redirect(url_for(".escalations"))
    except redis.RedisError:
        flash(_("Live routing is unreachable; try again."), "error")
        return redirect(url_for(".escalations"))
    flash(_("Your phone is being rung to join the call."), "info")
    return redirect(url_for(".escalations"))
