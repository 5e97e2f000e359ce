"""`helpline site` and `helpline staff`: Social Service Centres and staff accounts.

Both go through `helpline.staff.accounts`, as the admin console does.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa

from helpline.cli.common import actor, app_context, fail

if TYPE_CHECKING:
    from helpline.models import Staff

# --- sites and staff ------------------------------------------------------------------


@click.group()
def site() -> None:
    """Social Service Centres."""


@site.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The centre's name.")
@click.option("--province", required=True, help="The province it is in.")
def site_add(code: str, name: str, province: str) -> None:
    """Add a Social Service Centre."""
    from helpline.extensions import db as database
    from helpline.staff import accounts as staffing

    with app_context():
        try:
            staffing.add_site(database.session, code, name, province, actor())
        except staffing.StaffError as error:
            fail(str(error))
        database.session.commit()
        click.echo(f"added site {code}")


@click.group()
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
    help="counsellor, interpreter, supervisor, admin, programme_officer (the programme report "
    "only) or ssc_focal_point (with --site, alone); repeat for several.",
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
    from helpline.extensions import db as database
    from helpline.staff import accounts as staffing

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
    with app_context():
        try:
            member = staffing.add_staff(database.session, spec, actor())
        except staffing.StaffError as error:
            fail(str(error))
            return
        database.session.commit()
        click.echo(f"added {member.username} ({', '.join(sorted(r.value for r in member.roles))})")


@staff.command("list")
def staff_list() -> None:
    """List staff accounts (phones masked)."""
    from helpline.extensions import db as database
    from helpline.models import Staff
    from helpline.privacy.crypto import mask_number

    with app_context():
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


def _member(username: str) -> Staff | None:
    """The member of staff with this username; else say so and exit (None is unreachable)."""
    from helpline.extensions import db as database
    from helpline.models import Staff

    member = database.session.scalars(
        sa.select(Staff).where(Staff.username == username.lower())
    ).one_or_none()
    if member is None:
        fail(f"no staff member {username}")
    return member


def _set_active(username: str, is_active: bool) -> None:
    from helpline.extensions import db as database
    from helpline.staff import accounts as staffing

    with app_context():
        member = _member(username)
        if member is None:
            return
        staffing.set_active(database.session, member, is_active, actor())
        database.session.commit()
        click.echo(f"{member.username} is {'active' if is_active else 'inactive'}")


@staff.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_set_password(username: str, password_stdin: bool) -> None:
    """Set a new password; ends the account's sessions."""
    from helpline.extensions import db as database
    from helpline.staff import accounts as staffing

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with app_context():
        member = _member(username)
        if member is None:
            return
        try:
            staffing.set_password(database.session, member, password, actor())
        except staffing.StaffError as error:
            fail(str(error))
        database.session.commit()
        click.echo(f"password set for {member.username}")
