"""The counsellors' and interpreters' console: their start pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from helpline.auth.access import allow, current_staff
from helpline.extensions import db
from helpline.models import Call, CallbackRequest
from helpline.models.enums import CallbackStatus, Role
from helpline.records import service as records

bp = Blueprint("console", __name__, url_prefix="/console")

OPEN_CALLBACK = (
    CallbackStatus.PENDING.value,
    CallbackStatus.CLAIMED.value,
    CallbackStatus.DIALLING.value,
)


@bp.get("/")
@allow(Role.COUNSELLOR)
def home() -> str:
    """A counsellor's start page: skills, open callbacks, calls to write up, their contacts."""
    staff = current_staff()
    callbacks = db.session.scalars(
        sa.select(CallbackRequest)
        .where(
            sa.or_(
                CallbackRequest.assigned_staff_id == staff.id,
                CallbackRequest.preferred_staff_id == staff.id,
            ),
            CallbackRequest.status.in_(OPEN_CALLBACK),
        )
        .order_by(CallbackRequest.next_attempt_at)
        .limit(50)
    ).all()
    return render_template(
        "console/home.html",
        staff=staff,
        callbacks=callbacks,
        contacts=records.list_my_records(db.session, staff, limit=20),
        awaiting=records.list_calls_awaiting_record(db.session, staff),
    )


@bp.get("/interpreter")
@allow(Role.INTERPRETER)
def interpreter() -> str:
    """An interpreter's start page: live assignments and languages, and no notes."""
    staff = current_staff()
    assignments = db.session.scalars(
        sa.select(Call)
        .where(Call.interpreter_id == staff.id, Call.ended_at.is_(None))
        .order_by(Call.started_at)
    ).all()
    return render_template("console/interpreter.html", staff=staff, assignments=assignments)
