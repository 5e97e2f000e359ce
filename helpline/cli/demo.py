"""`helpline demo`: demo sites and staff for the sandbox and training."""

from __future__ import annotations

import click

from helpline.cli.common import app_context, fail, load_settings


@click.group()
def demo() -> None:
    """Demo data for the sandbox and training."""


@demo.command("seed")
def demo_seed() -> None:
    """Create demo sites and staff (development only; refuses in production)."""
    from helpline.extensions import db as database
    from helpline.staff.demo import DEMO_PASSWORD, seed

    settings = load_settings()
    if settings.is_production:
        fail("demo staff are never created in production")
    with app_context():
        created = seed(database.session)
        database.session.commit()
    if created:
        click.echo(f"created {created} demo staff; password for each: {DEMO_PASSWORD}")
    else:
        click.echo("staff exist already; nothing created")
