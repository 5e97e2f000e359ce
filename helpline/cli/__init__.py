"""The `helpline` command."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from helpline import audit, migrate
from helpline.config import ConfigError, Settings
from helpline.models.base import DbSession
from helpline.sandbox.traffic import demo_traffic


def _actor() -> audit.Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return audit.Actor(f"cli:{who}")


def _settings() -> Settings:
    return Settings.from_env()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _app() -> Iterator[Flask]:
    from helpline import create_app

    try:
        app = create_app(_settings())
    except ConfigError as error:
        _fail(str(error))
        raise  # unreachable: _fail exits
    with app.app_context():
        try:
            yield app
        finally:
            from helpline.extensions import db as database

            database.session.remove()
            for engine in database.engines.values():
                engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run and administer the helpline."""


# --- run and worker -------------------------------------------------------------------


@main.command()
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
            _settings(),
            host=host,
            port=port,
            with_worker=not no_worker,
            demo=not no_demo,
            sandbox_port=sandbox_port,
        )
    except ConfigError as error:
        _fail(str(error))


@main.command()
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

    settings = _settings()
    if settings.is_production:
        _fail("the telephony sandbox is for development and training, never production")
    if speed <= 0:
        _fail("--speed must be positive")
    serve(settings, host=host, port=port, speed=speed)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker on the dispatch, callbacks and maintenance queues, with the scheduler."""
    from helpline.worker import run_worker

    try:
        sys.exit(run_worker(_settings(), burst=burst))
    except ConfigError as error:
        _fail(str(error))


# --- configuration --------------------------------------------------------------------


@main.command()
@click.option("--connect/--no-connect", default=True, help="Also try the database and Redis.")
def check(connect: bool) -> None:
    """Validate the configuration and the data/ files, and say what is wrong."""
    from helpline import permissions, retention
    from helpline.records import catalog

    settings = _settings()
    problems = settings.problems()
    problems += [str(problem) for problem in catalog.read(settings.data_path)[1]]
    try:
        retention.load_policy(settings.data_path / retention.FILE)
    except retention.RetentionError as error:
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


# --- database -------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    settings = _settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {', '.join(migrate.current_heads(settings.database_url)) or 'base'}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' empties the database)."""
    settings = _settings()
    migrate.downgrade(settings.database_url, revision)
    click.echo(f"database at {', '.join(migrate.current_heads(settings.database_url)) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    click.echo(", ".join(migrate.current_heads(_settings().database_url)) or "base (empty)")


# --- sites and staff ------------------------------------------------------------------


@main.group()
def site() -> None:
    """Social Service Centres."""


@site.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The centre's name.")
@click.option("--province", required=True, help="The province it is in.")
def site_add(code: str, name: str, province: str) -> None:
    """Add a Social Service Centre."""
    from helpline import staffing
    from helpline.extensions import db as database

    with _app():
        try:
            staffing.add_site(database.session, code, name, province, _actor())
        except staffing.StaffError as error:
            _fail(str(error))
        database.session.commit()
        click.echo(f"added site {code}")


@main.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The person's full name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="counsellor, interpreter, supervisor or admin; repeat for several.",
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    help="A language code (tr, ar, fa, ps, ku, en...); repeat.",
)
@click.option("--topic", "topics", multiple=True, help="A topic skill code; repeat.")
@click.option("--site", "site_code", help="The code of their Social Service Centre.")
@click.option("--phone", help="Their phone, in any common form; stored encrypted.")
@click.option("--ui-language", default="tr", show_default=True, help="Console language.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_add(
    username: str,
    display_name: str,
    roles: tuple[str, ...],
    languages: tuple[str, ...],
    topics: tuple[str, ...],
    site_code: str | None,
    phone: str | None,
    ui_language: str,
    password_stdin: bool,
) -> None:
    """Add a member of staff. The password is prompted for, or read with --password-stdin."""
    from helpline import staffing
    from helpline.extensions import db as database

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    spec = staffing.StaffSpec(
        username=username,
        display_name=display_name,
        roles=tuple(r for value in roles for r in value.split(",")),
        languages=tuple(v for value in languages for v in value.split(",")),
        topics=tuple(v for value in topics for v in value.split(",")),
        site_code=site_code,
        phone=phone,
        password=password,
        ui_language=ui_language,
    )
    with _app():
        try:
            member = staffing.add_staff(database.session, spec, _actor())
        except staffing.StaffError as error:
            _fail(str(error))
            return
        database.session.commit()
        click.echo(f"added {member.username} ({', '.join(sorted(r.value for r in member.roles))})")


@staff.command("list")
def staff_list() -> None:
    """List staff accounts (phones masked)."""
    from helpline.extensions import db as database
    from helpline.models import Staff
    from helpline.privacy import mask_number

    with _app():
        for member in database.session.scalars(sa.select(Staff).order_by(Staff.username)):
            phone = mask_number(member.phone_encrypted) if member.phone_encrypted else "-"
            click.echo(
                f"{member.username:20} {'active' if member.is_active else 'inactive':8} "
                f"{','.join(sorted(r.value for r in member.roles)):24} "
                f"{','.join(member.languages):16} "
                f"{member.site.code if member.site else '-':12} {phone}"
            )


@staff.command("deactivate")
@click.argument("username")
def staff_deactivate(username: str) -> None:
    """Deactivate an account and end its sessions."""
    _set_active(username, False)


@staff.command("activate")
@click.argument("username")
def staff_activate(username: str) -> None:
    """Activate an account again."""
    _set_active(username, True)


def _set_active(username: str, is_active: bool) -> None:
    from helpline import staffing
    from helpline.extensions import db as database
    from helpline.models import Staff

    with _app():
        member = database.session.scalars(
            sa.select(Staff).where(Staff.username == username.lower())
        ).one_or_none()
        if member is None:
            _fail(f"no staff member {username}")
            return
        staffing.set_active(database.session, member, is_active, _actor())
        database.session.commit()
        click.echo(f"{member.username} is {'active' if is_active else 'inactive'}")


@staff.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_set_password(username: str, password_stdin: bool) -> None:
    """Set a new password; ends the account's sessions."""
    from helpline import staffing
    from helpline.extensions import db as database
    from helpline.models import Staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _app():
        member = database.session.scalars(
            sa.select(Staff).where(Staff.username == username.lower())
        ).one_or_none()
        if member is None:
            _fail(f"no staff member {username}")
            return
        try:
            staffing.set_password(database.session, member, password, _actor())
        except staffing.StaffError as error:
            _fail(str(error))
        database.session.commit()
        click.echo(f"password set for {member.username}")


# --- audit and keys -------------------------------------------------------------------


@main.group("audit")
def audit_group() -> None:
    """The access audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; name every changed or deleted entry."""
    from helpline.extensions import db as database

    with _app():
        report = audit.verify(database.session)
        audit.record(
            database.session,
            "audit_verified",
            _actor(),
            details={"checked": report.checked, "problems": len(report.problems)},
        )
        database.session.commit()
    if report.is_intact:
        click.echo(f"audit chain intact: {report.checked} entries checked")
        return
    click.echo(
        f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} entries",
        err=True,
    )
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(1)


@main.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key, to put first in ENCRYPTION_KEYS."""
    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every encrypted value under the newest key in ENCRYPTION_KEYS."""
    from helpline.rotation import rotate_all

    _rewrite_columns(rotate_all, "keys_rotated", "value(s) re-encrypted")
    click.echo("done: older keys may now be removed from ENCRYPTION_KEYS")


@keys.command("reindex")
def keys_reindex() -> None:
    """Recompute every phone number's blind index under the current BLIND_INDEX_KEY.

    After changing BLIND_INDEX_KEY, run this with the line stopped: until it has run,
    returning callers and staff phones are not recognised.
    """
    from helpline.rotation import reindex_all

    _rewrite_columns(reindex_all, "blind_index_rebuilt", "index(es) recomputed")
    click.echo("done: numbers are found under the new BLIND_INDEX_KEY")


def _rewrite_columns(
    rewrite: Callable[[DbSession], dict[str, int]], action: str, done: str
) -> None:
    """Run a rewrite of stored columns in one audited transaction; say what it did."""
    from helpline.extensions import db as database

    with _app():
        counts = rewrite(database.session)
        audit.record(database.session, action, _actor(), details=counts)
        database.session.commit()
    for column, count in counts.items():
        click.echo(f"{column}: {count} {done}")


@main.group()
def flows() -> None:
    """IVR flows in ivr_flows/: check, draw, test, render placeholder audio."""


def _flows_path(path: str | None) -> Path:
    """The ivr_flows folder: --path, else IVR_FLOWS_PATH, else the one in the checkout."""
    import os

    from helpline.config import DEFAULT_FLOWS_PATH

    return Path(path or os.environ.get("IVR_FLOWS_PATH") or DEFAULT_FLOWS_PATH).resolve()


@flows.command("check")
@click.option("--path", help="The ivr_flows folder (default: IVR_FLOWS_PATH).")
def flows_check(path: str | None) -> None:
    """Report every problem in the flows, prompts and audio, with file and line."""
    from helpline.ivr.lint import check as lint

    root = _flows_path(path)
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

    catalog, _ = load_catalog(_flows_path(path))
    wanted = flow_id or os.environ.get("IVR_FLOW") or "default"
    flow = catalog.flows.get(wanted)
    if flow is None:
        known = ", ".join(sorted(catalog.flows)) or "none"
        _fail(
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
    from helpline.config import ConfigError
    from helpline.sandbox.local import throwaway_app
    from helpline.sandbox.scenarios import ScenarioError, load_scenarios, run_scenario

    root = _flows_path(path)
    try:
        scenarios = load_scenarios(root)
    except ScenarioError as error:
        _fail(str(error))
        return
    if not scenarios:
        _fail(f"no scenarios in {root / 'tests'}")
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
        _fail(str(error))
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
        written = render_placeholders(_flows_path(path), languages=languages or None, force=force)
    except AudioError as error:
        _fail(str(error))
        return
    for file in written:
        click.echo(f"rendered {file}")
    click.echo(f"{len(written)} file(s) rendered; human recordings are never overwritten")


@main.command()
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
            _fail("--at takes an ISO date and time, such as 2026-11-23T14:00+03:00")
            return
        if moment.tzinfo is None:
            _fail("--at needs a UTC offset, such as +03:00")
            return
    try:
        if url:
            settings = _settings()
            if moment is not None:
                _fail("--at works in-process only: a running helpline keeps its own clock")
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
        _simulate_here(_flows_path(None), steps, caller, moment, duty_line)
    except ScriptError as error:
        _fail(f"script: {error}")


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

    import sqlalchemy as sa

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


@main.group()
def demo() -> None:
    """Demo data for the sandbox and training."""


@demo.command("seed")
def demo_seed() -> None:
    """Create demo sites and staff (development only; refuses in production)."""
    from helpline.demo import DEMO_PASSWORD, seed
    from helpline.extensions import db as database

    settings = _settings()
    if settings.is_production:
        _fail("demo staff are never created in production")
    with _app():
        created = seed(database.session)
        database.session.commit()
    if created:
        click.echo(f"created {created} demo staff; password for each: {DEMO_PASSWORD}")
    else:
        click.echo("staff exist already; nothing created")


main.add_command(demo_traffic)


from helpline.retention_cli import retention  # noqa: E402

main.add_command(retention)


from helpline.journal.cli import journal  # noqa: E402

main.add_command(journal)


from helpline.fallback_cli import fallback_twiml  # noqa: E402

main.add_command(fallback_twiml)
