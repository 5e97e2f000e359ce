"""`helpline sandbox`, `simulate` and `demo-traffic`: the telephony sandbox and simulated calls.

The one command module, with `flows`, that imports `helpline.sandbox`: the production
app never does (tests/test_layers_sandbox.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from helpline.cli.common import fail, flows_path, load_settings
from helpline.sandbox.traffic import demo_traffic


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (its control API has no auth: keep it local).",
)
@click.option("--port", default=8183, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=float,
    help="How much faster than real time the sandbox's clock runs.",
)
def sandbox(host: str, port: int, speed: float) -> None:
    """Run the telephony sandbox: a local Twilio (REST API, calls, rooms, practice phone)."""
    from helpline.sandbox.emulator import serve

    settings = load_settings()
    if settings.is_production:
        fail("the telephony sandbox is for development and training, never production")
    if speed <= 0:
        fail("--speed must be positive")
    serve(settings, host=host, port=port, speed=speed)


@click.command()
@click.argument("script", nargs=-1)
@click.option(
    "--from",
    "caller",
    default="+905321112233",
    show_default=True,
    help="The caller's number, or 'anonymous'.",
)
@click.option(
    "--at", "at", help="When the call happens, e.g. 2026-11-23T14:00+03:00 (in-process only)."
)
@click.option("--url", help="Call a running helpline at this base URL instead of in-process.")
@click.option(
    "--duty-line",
    type=click.Choice(["answered", "no-answer", "busy", "failed"]),
    default="answered",
    show_default=True,
    help="How the duty line answers.",
)
def simulate(
    script: tuple[str, ...], caller: str, at: str | None, url: str | None, duty_line: str
) -> None:
    """Play a call: SCRIPT is what the caller does, e.g. "press 2; press 1; wait 5; hangup".

    It prints what the caller hears (language, text or audio file) and the path taken. In
    process, the call runs on a throwaway database; with --url, against a running
    helpline, signed with this environment's TWILIO_AUTH_TOKEN.
    """
    import datetime as dt

    from helpline.sandbox.interpreter import CallSimulator
    from helpline.sandbox.script import DialOutcome, ScriptError
    from helpline.sandbox.transport import HttpTransport

    steps = "; ".join(script)
    moment = None
    if at:
        try:
            moment = dt.datetime.fromisoformat(at)
        except ValueError:
            fail("--at takes an ISO date and time, such as 2026-11-23T14:00+03:00")
            return
        if moment.tzinfo is None:
            fail("--at needs a UTC offset, such as +03:00")
            return
    try:
        if url:
            settings = load_settings()
            if moment is not None:
                fail("--at works in-process only: a running helpline keeps its own clock")
            base = url.rstrip("/")
            simulator = CallSimulator(
                HttpTransport(),
                account_sid=settings.twilio_account_sid or "AC",
                auth_token=settings.twilio_auth_token or "",
                url=f"{base}/voice/incoming",
                from_=caller,
                to=settings.helpline_number or "+900000000000",
                script=steps,
                status_callback=f"{base}/voice/status",
                dial_outcomes={
                    number: DialOutcome(duty_line)  # type: ignore[arg-type]
                    for number in settings.duty_line_numbers  # rung together: all alike
                }
                or None,
            )
            transcript = simulator.run()
            click.echo(transcript.render())
            return
        _simulate_here(flows_path(None), steps, caller, moment, duty_line)
    except ScriptError as error:
        fail(f"script: {error}")


def _audio_texts(catalog: Any) -> dict[str, str]:
    """`lang/file.mp3` -> the prompt's text, so a trainer reads what a recording says."""
    from helpline.sandbox.scenarios import prompt_variants

    return {
        f"{code}/{prompt.audio_file(params)}": prompt.render_text(params)
        for code, prompt, params in prompt_variants(catalog)
        if prompt.audio_file(params)
    }


def _simulate_here(
    flows_path: Path, steps: str, caller: str, moment: object, duty_line: str
) -> None:
    import datetime as dt

    from helpline.extensions import db as database
    from helpline.models import Call
    from helpline.sandbox.local import throwaway_app
    from helpline.sandbox.scenarios import Scenario, run_scenario

    when = moment if isinstance(moment, dt.datetime) else dt.datetime.now(dt.UTC)
    scenario = Scenario(
        name="simulation",
        path="",
        line=0,
        caller=caller,
        at=when,
        script=tuple(s.strip() for s in steps.split(";") if s.strip()),
        remembered_language=None,
        duty_line=duty_line,
        expect={},
    )
    with throwaway_app(flows_path) as app:
        result = run_scenario(app, scenario)
        texts = _audio_texts(app.extensions["helpline.flows"].catalog)
        for line in result.transcript.render().splitlines():
            audio = line.rsplit("/voice/audio/", 1)
            shown = (
                f'{line}  "{texts[audio[1]]}"' if len(audio) == 2 and audio[1] in texts else line
            )
            click.echo(shown)
        click.echo("")
        click.echo(f"path: {' -> '.join(result.path) or '(no menu reached)'}")
        click.echo(f"prompts: {', '.join(result.heard)}")
        with app.app_context():
            call = database.session.scalars(sa.select(Call)).first()
            if call is not None:
                click.echo(
                    f"language: {call.language or '-'}  topic: {call.topic or '-'}  "
                    f"outcome: {call.outcome}"
                )
            database.session.remove()


__all__ = ["demo_traffic", "sandbox", "simulate"]
