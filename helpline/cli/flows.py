"""`helpline flows`: check, draw, test and render audio for the IVR flows in ivr_flows/.

`flows test` plays the scenarios through the call simulator, so this module may import
`helpline.sandbox` (lazily, inside that command): see tests/test_layers_sandbox.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from helpline.cli.common import fail, flows_path
from helpline.config import ConfigError


@click.group()
def flows() -> None:
    """IVR flows in ivr_flows/: check, draw, test, render placeholder audio."""


@flows.command("check")
@click.option("--path", help="The ivr_flows folder (default: IVR_FLOWS_PATH).")
def flows_check(path: str | None) -> None:
    """Report every problem in the flows, prompts and audio, with file and line."""
    from helpline.ivr.lint import check as lint

    root = flows_path(path)
    catalog, problems = lint(root)
    for problem in problems:
        click.echo(str(problem))
    placeholders = sum(
        1
        for language in catalog.languages.values()
        for prompt in language.prompts.values()
        if prompt.is_placeholder
    )
    unreviewed = sum(
        1
        for language in catalog.languages.values()
        for prompt in language.prompts.values()
        if not prompt.is_reviewed
    )
    if placeholders or unreviewed:
        click.echo(
            f"note: {placeholders} prompt(s) use machine-made placeholder audio and "
            f"{unreviewed} translation(s) await review (see ivr_flows/README.md)"
        )
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"no problems: {len(catalog.flows)} flow(s), {len(catalog.languages)} language(s)")


@flows.command("diagram")
@click.argument("flow_id", required=False)
@click.option("--path", help="The ivr_flows folder (default: IVR_FLOWS_PATH).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
def flows_diagram(flow_id: str | None, path: str | None, output: str | None) -> None:
    """Draw a flow (default: IVR_FLOW, else `default`) as SVG, to stdout or --output."""
    import os

    from helpline.ivr.diagram import render_svg
    from helpline.ivr.loader import load_catalog

    catalog, _ = load_catalog(flows_path(path))
    wanted = flow_id or os.environ.get("IVR_FLOW") or "default"
    flow = catalog.flows.get(wanted)
    if flow is None:
        known = ", ".join(sorted(catalog.flows)) or "none"
        fail(
            f"no flow {wanted!r} (flows: {known}); `helpline flows check` says why if it is broken"
        )
        return
    svg = render_svg(flow)
    if output:
        Path(output).write_text(svg, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(svg)


@flows.command("test")
@click.option("--path", help="The ivr_flows folder (default: IVR_FLOWS_PATH).")
@click.option("-v", "--verbose", is_flag=True, help="Print each call's transcript.")
def flows_test(path: str | None, verbose: bool) -> None:
    """Run the scenario tests in ivr_flows/tests/ through the real webhooks."""
    from helpline.sandbox.local import throwaway_app
    from helpline.sandbox.scenarios import ScenarioError, load_scenarios, run_scenario

    root = flows_path(path)
    try:
        scenarios = load_scenarios(root)
    except ScenarioError as error:
        fail(str(error))
        return
    if not scenarios:
        fail(f"no scenarios in {root / 'tests'}")
    failed = 0
    try:
        with throwaway_app(root) as app:
            for scenario in scenarios:
                result = run_scenario(app, scenario)
                click.echo(
                    f"{'PASS' if result.passed else 'FAIL'}  {scenario.name}  ({scenario.where})"
                )
                for failure in result.failures:
                    click.echo(f"      {failure}")
                if verbose or not result.passed:
                    click.echo(result.transcript.render())
                failed += not result.passed
    except ConfigError as error:
        fail(str(error))
    click.echo(f"{len(scenarios) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


@flows.command("render-audio")
@click.option("--path", help="The ivr_flows folder (default: IVR_FLOWS_PATH).")
@click.option("--language", "languages", multiple=True, help="Only this language; repeat.")
@click.option("--force", is_flag=True, help="Render placeholders again even if their file exists.")
def flows_render_audio(path: str | None, languages: tuple[str, ...], force: bool) -> None:
    """Make machine placeholder audio (espeak-ng) for prompts that have no recording yet."""
    from helpline.ivr.audio import AudioError, render_placeholders

    try:
        written = render_placeholders(flows_path(path), languages=languages or None, force=force)
    except AudioError as error:
        fail(str(error))
        return
    for file in written:
        click.echo(f"rendered {file}")
    click.echo(f"{len(written)} file(s) rendered; human recordings are never overwritten")
