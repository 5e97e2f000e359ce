"""What every command module shares: settings, the app, the actor, failing with a message.

It imports no command module, and no command module imports the registry
(`helpline/cli/__init__.py`).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask

from helpline.audit import chain as audit
from helpline.config import ConfigError, Settings


def actor() -> audit.Actor:
    """Who runs the command, as the audit log names them: `cli:<login>`."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return audit.Actor(f"cli:{who}")


def load_settings() -> Settings:
    """The settings from the environment (see the README's table)."""
    return Settings.from_env()


def fail(message: str) -> None:
    """Print `error: <message>` on stderr and exit with status 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def app_context() -> Iterator[Flask]:
    """The app, built from the environment, inside its app context; disposed after."""
    from helpline import create_app

    try:
        app = create_app(load_settings())
    except ConfigError as error:
        fail(str(error))
        raise  # unreachable: fail exits
    with app.app_context():
        try:
            yield app
        finally:
            from helpline.extensions import db as database

            database.session.remove()
            for engine in database.engines.values():
                engine.dispose()


def flows_path(path: str | None) -> Path:
    """The ivr_flows folder: --path, else IVR_FLOWS_PATH, else the one in the checkout."""
    import os

    from helpline.config import DEFAULT_FLOWS_PATH

    return Path(path or os.environ.get("IVR_FLOWS_PATH") or DEFAULT_FLOWS_PATH).resolve()
