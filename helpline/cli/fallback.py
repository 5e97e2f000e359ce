"""`helpline fallback-twiml`: the static document for Twilio's Voice Fallback URL.

See helpline/ivr/static_fallback.py for what the document says, and docs/deployment.md
for hosting it.
"""

from __future__ import annotations

from pathlib import Path

import click

from helpline.cli.common import fail, load_settings


@click.command("fallback-twiml")
@click.option(
    "--audio-base-url",
    required=True,
    help="The public http(s) URL where the output folder is hosted (recordings are "
    "played from <URL>/<language>/<file>).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder that receives fallback.xml and the recordings it plays.",
)
def fallback_twiml(audio_base_url: str, out: Path) -> None:
    """Write a TwiML document for the Voice Fallback URL, to host apart from the app:
    a greeting in every language of the flows, then every duty number rung together."""
    from helpline.config import ConfigError
    from helpline.ivr.loader import load_catalog
    from helpline.ivr.static_fallback import FallbackError, build, write

    try:
        settings = load_settings()
    except ConfigError as error:
        fail(str(error))
        return
    catalog, problems = load_catalog(settings.ivr_flows_path)
    if problems:
        fail(f"the flows have {len(problems)} problem(s); run `helpline flows check`")
    try:
        fallback = build(
            catalog, settings.duty_line_numbers, audio_base_url, settings.helpline_number
        )
        written = write(fallback, catalog, out)
    except FallbackError as error:
        fail(str(error))
        return
    click.echo(f"wrote {written[0]} and {len(written) - 1} recording(s)")
    click.echo(f"set the number's Voice Fallback URL to the hosted {written[0].name}")
