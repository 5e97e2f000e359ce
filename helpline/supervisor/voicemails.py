"""Supervisors see the voicemail messages nobody has handled, urgent first, then by age.

Glue only: the rows are the console's (`voicemail.service.inbox_rows`), with the same
audited play and mark-handled actions (the console's `voicemails` blueprint).
"""

from __future__ import annotations

from flask import render_template

from helpline.auth.access import allow, current_staff
from helpline.extensions import db
from helpline.models.enums import Role
from helpline.supervisor.blueprint import bp
from helpline.voicemail import service
from helpline.web import now


@bp.get("/voicemails")
@allow(Role.SUPERVISOR)
def voicemails() -> str:
    """Unhandled messages, urgent first, then the oldest first."""
    return render_template(
        "supervisor/voicemails.html",
        voicemail_rows=service.inbox_rows(db.session, current_staff(), limit=500),
        voicemail_back="supervisor.voicemails",
        voicemail_now=now(),
    )
