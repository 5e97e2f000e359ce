"""`helpline audit`: the access audit log's hash chain."""

from __future__ import annotations

import sys

import click

from helpline.audit import chain as audit
from helpline.cli.common import actor, app_context

# --- audit and keys -------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """The access audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; name every changed or deleted entry."""
    from helpline.extensions import db as database

    with app_context():
        report = audit.verify(database.session)
        audit.record(
            database.session,
            "audit_verified",
            actor(),
            details={"checked": report.checked, "problems": len(report.problems)},
        )
        database.session.commit()
    if report.is_intact:
        click.echo(f"audit chain intact: {report.checked} entries checked")
        return
    click.echo(
        f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} entries",
        err=True,
    )
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(1)
