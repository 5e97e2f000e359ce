"""The retention page: the periods, a dry-run preview, the schedule and the destruction log.

Registered on the supervisor blueprint (`views.bp`). The preview counts, it never
destroys; "Purge now" queues the same job the schedule runs, and is audited.
"""

from __future__ import annotations

import redis
from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from helpline.audit import chain as audit
from helpline.auth.access import allow, current_staff
from helpline.auth.forms import PostForm
from helpline.extensions import db
from helpline.models import utcnow
from helpline.models.enums import Role
from helpline.privacy import retention
from helpline.supervisor.blueprint import bp
from helpline.tasks import retention as purge_jobs
from helpline.web import actor, request_info


@bp.get("/retention")
@allow(Role.SUPERVISOR)
def retention_page() -> str:
    """What each kind of data is kept for, what a purge now would destroy, and the log."""
    policy = purge_jobs.policy()
    now = utcnow()
    try:
        waiting = purge_jobs.pending_purges()
        scheduled = [purge_jobs.scheduled_at(job_id) for job_id in waiting]
        schedule_known = True
    except redis.RedisError:
        scheduled, schedule_known = [], False
    last = retention.last_run(db.session)
    return render_template(
        "supervisor/retention.html",
        policy=policy,
        labels=retention.LABELS,
        kept=retention.kept_days(policy),
        preview=retention.preview(db.session, policy, now),
        last_run=last,
        next_due=retention.next_due(policy, last, now),
        scheduled=scheduled,
        schedule_known=schedule_known,
        log=retention.list_log(db.session),
        form=PostForm(),
    )


@bp.post("/retention/purge")
@allow(Role.SUPERVISOR)
def retention_purge() -> Response:
    """Queue a purge to run now (the same job as the schedule's); audited."""
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        job_id = purge_jobs.schedule_purge(utcnow())
    except redis.RedisError:
        flash("The purge could not be queued: Redis is unreachable. Try again later.", "error")
        return redirect(url_for("supervisor.retention_page"))
    audit.record(
        db.session,
        "retention_purge_requested",
        actor(current_staff()),
        target_type="job",
        target_id=job_id,
        request=request_info(),
    )
    db.session.commit()
    flash("The purge is queued; the destruction log shows it once it has run.", "info")
    return redirect(url_for("supervisor.retention_page"))
