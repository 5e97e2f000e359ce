"""`helpline check`: validate the configuration and the data/ files."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa

from helpline import migrate
from helpline.cli.common import load_settings
from helpline.config import Settings

# --- configuration --------------------------------------------------------------------


@click.command()
@click.option("--connect/--no-connect", default=True, help="Also try the database and Redis.")
def check(connect: bool) -> None:
    """Validate the configuration and the data/ files, and say what is wrong."""
    from helpline.auth import permissions
    from helpline.cases import who5
    from helpline.privacy import retention
    from helpline.records import catalog

    settings = load_settings()
    problems = settings.problems()
    problems += [str(problem) for problem in catalog.read(settings.data_path)[1]]
    try:
        retention.load_policy(settings.data_path / retention.FILE)
    except retention.RetentionError as error:
        problems.append(str(error))
    try:
        who5.load(settings.data_path / who5.FILE)
    except who5.Who5Error as error:
        problems.append(str(error))
    try:
        permissions.load_rules(settings.data_path / permissions.FILE)
    except permissions.PermissionsError as error:
        problems.append(str(error))
    if connect and not problems:
        problems += _connection_problems(settings)
    click.echo(f"environment: {settings.env}")
    click.echo(f"database: {'SQLite' if settings.is_sqlite else 'PostgreSQL'}")
    click.echo(f"redis: {'configured' if settings.redis_url else 'embedded (development)'}")
    click.echo(f"telephony: {'Twilio' if settings.has_twilio_credentials else 'sandbox'}")
    if settings.generated:
        click.echo(
            f"development secrets from the instance folder: {', '.join(sorted(settings.generated))}"
        )
    if problems:
        click.echo(f"{len(problems)} problem(s):", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo("configuration OK")


def _connection_problems(settings: Settings) -> list[str]:
    import redis

    found = []
    engine = sa.create_engine(settings.database_url, pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        heads = migrate.current_heads(settings.database_url)
        if not heads:
            found.append("the database has no schema yet: run `helpline db upgrade`")
    except sa.exc.SQLAlchemyError as error:
        cause = error.orig if isinstance(error, sa.exc.DBAPIError) else error
        found.append(f"cannot reach the database ({type(cause).__name__})")
    finally:
        engine.dispose()
    if settings.redis_url:
        try:
            redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            found.append(f"cannot reach Redis ({type(error).__name__})")
    return found
