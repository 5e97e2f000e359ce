"""`helpline worker`: an RQ worker on the app's queues, with the scheduler."""

from __future__ import annotations

import sys

import click

from helpline.cli.common import fail, load_settings
from helpline.config import ConfigError


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker on the dispatch, callbacks and maintenance queues, with the scheduler."""
    from helpline.worker import run_worker

    try:
        sys.exit(run_worker(load_settings(), burst=burst))
    except ConfigError as error:
        fail(str(error))
