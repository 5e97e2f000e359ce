"""`helpline retention`: the dry run and the purge from the command line.

The same functions as the supervisor's retention page and the scheduled job, for
operators who run the destruction by hand (or from their own scheduler).
"""

from __future__ import annotations

import click

from helpline.cli.common import actor, app_context


@click.group()
def retention() -> None:
    """Retention: what is past its period, and destroying it (data/retention.yaml)."""


@retention.command("preview")
def retention_preview() -> None:
    """List what a purge now would destroy, kind by kind; changes nothing."""
    from helpline.extensions import db
    from helpline.models import utcnow
    from helpline.privacy import retention as rules
    from helpline.tasks.retention import policy

    with app_context():
        found = policy()
        kept = rules.kept_days(found)
        for due in rules.preview(db.session, found, utcnow()):
            click.echo(
                f"{due.label}: {due.count} older than {due.cutoff:%Y-%m-%d %H:%M} UTC "
                f"(kept {kept[due.kind]} days)"
            )


@retention.command("purge")
def retention_purge() -> None:
    """Destroy what is past its retention now, log it and audit it (as the job does)."""
    from helpline.models import utcnow
    from helpline.privacy.retention import LABELS
    from helpline.tasks.retention import run_purge

    with app_context():
        run, deleted = run_purge(actor(), utcnow())
        for due in run.destroyed:
            click.echo(f"{LABELS[due.kind]}: {due.count} destroyed")
        click.echo(f"{LABELS['provider_recordings']}: {deleted} deleted at the provider")
        click.echo(f"destruction log run {run.run_id}")
