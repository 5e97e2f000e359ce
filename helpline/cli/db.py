"""`helpline db`: schema migrations (Alembic)."""

from __future__ import annotations

import click

from helpline import migrate
from helpline.cli.common import load_settings

# --- database -------------------------------------------------------------------------


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    settings = load_settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {', '.join(migrate.current_heads(settings.database_url)) or 'base'}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' empties the database)."""
    settings = load_settings()
    migrate.downgrade(settings.database_url, revision)
    click.echo(f"database at {', '.join(migrate.current_heads(settings.database_url)) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    click.echo(", ".join(migrate.current_heads(load_settings().database_url)) or "base (empty)")
