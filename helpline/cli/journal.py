"""`helpline journal`: what the outage journal holds, and replaying it by hand.

The workers replay it on their own once the database is back; this is for operators
(after an outage with no worker running, or to see that it is empty).
"""

from __future__ import annotations

import click

from helpline.cli.common import app_context, fail


@click.group()
def journal() -> None:
    """The outage journal: webhooks kept while the database was unreachable."""


@journal.command("status")
def journal_status() -> None:
    """Count the entries pending, being replayed and set aside (reads no entry)."""
    from helpline.journal import journal_of

    with app_context() as app:
        found = journal_of(app)
        counts = found.counts()
        click.echo(f"journal: {found.folder}")
        for name, count in counts.items():
            click.echo(f"{name}: {count}")


@journal.command("replay")
def journal_replay() -> None:
    """Write every pending entry into the call log (once: replaying twice writes once)."""
    from helpline.journal import replay

    with app_context() as app:
        report = replay.replay(app)
    click.echo(
        f"written: {report.written}, already replayed: {report.duplicate}, "
        f"waiting for their call: {report.deferred}, set aside: {report.aside}"
    )
    if report.interrupted:
        fail("the database became unreachable during the replay; run it again")
