"""`helpline keys`: encryption keys and the blind index."""

from __future__ import annotations

from collections.abc import Callable

import click
from cryptography.fernet import Fernet

from helpline.audit import chain as audit
from helpline.cli.common import actor, app_context
from helpline.models.base import DbSession


@click.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key, to put first in ENCRYPTION_KEYS."""
    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every encrypted value under the newest key in ENCRYPTION_KEYS."""
    from helpline.privacy.rotation import rotate_all

    _rewrite_columns(rotate_all, "keys_rotated", "value(s) re-encrypted")
    click.echo("done: older keys may now be removed from ENCRYPTION_KEYS")


@keys.command("reindex")
def keys_reindex() -> None:
    """Recompute every phone number's blind index under the current BLIND_INDEX_KEY.

    After changing BLIND_INDEX_KEY, run this with the line stopped: until it has run,
    returning callers and staff phones are not recognised.
    """
    from helpline.privacy.rotation import reindex_all

    _rewrite_columns(reindex_all, "blind_index_rebuilt", "index(es) recomputed")
    click.echo("done: numbers are found under the new BLIND_INDEX_KEY")


def _rewrite_columns(
    rewrite: Callable[[DbSession], dict[str, int]], action: str, done: str
) -> None:
    """Run a rewrite of stored columns in one audited transaction; say what it did."""
    from helpline.extensions import db as database

    with app_context():
        counts = rewrite(database.session)
        audit.record(database.session, action, actor(), details=counts)
        database.session.commit()
    for column, count in counts.items():
        click.echo(f"{column}: {count} {done}")
