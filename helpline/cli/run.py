"""`helpline run`: the web app, a worker and the embedded services, for development."""

from __future__ import annotations

import click

from helpline.cli.common import fail, load_settings
from helpline.config import ConfigError

# --- run and worker -------------------------------------------------------------------


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Do not start an RQ worker beside the web app.")
@click.option("--no-demo", is_flag=True, help="Do not create the demo staff in an empty database.")
@click.option(
    "--sandbox-port",
    default=8183,
    show_default=True,
    type=int,
    help="Port of the telephony sandbox, when no Twilio credentials are set.",
)
def run(host: str, port: int, no_worker: bool, no_demo: bool, sandbox_port: int) -> None:
    """Run the web app, one RQ worker with its scheduler, and embedded services as needed."""
    from helpline.runner import run_all

    try:
        run_all(
            load_settings(),
            host=host,
            port=port,
            with_worker=not no_worker,
            demo=not no_demo,
            sandbox_port=sandbox_port,
        )
    except ConfigError as error:
        fail(str(error))
