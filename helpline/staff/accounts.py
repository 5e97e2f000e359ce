"""Create and change staff accounts; shared by the CLI and the admin console.

Every change is audited in the same transaction as the change itself.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import passwords, sessions
from helpline.models import Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import Role
from helpline.privacy import crypto as privacy

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
TOPIC = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
log = logging.getLogger(__name__)
SITE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$")


class StaffError(ValueError):
    """A staff change was refused; the message says why and is safe to show."""


@dataclasses.dataclass(frozen=True)
class StaffSpec:
    username: str
    display_name: str
    roles: tuple[str, ...]
    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    site_code: str | None = None
    phone: str | None = None
    password: str | None = None
    ui_language: str = "tr"


def _codes(values: Iterable[str], pattern: re.Pattern[str], what: str) -> list[str]:
    codes = sorted({v.strip().lower() for v in values if v.strip()})
    bad = [c for c in codes if not pattern.match(c)]
    if bad:
        raise StaffError(f"not a valid {what} code: {', '.join(bad)}")
    return codes


def _roles(values: Iterable[str]) -> list[Role]:
    try:
        roles = sorted({Role(v.strip().lower()) for v in values if v.strip()})
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise StaffError(f"roles must be among: {known}") from None
    if not roles:
        raise StaffError("give at least one role")
    return roles


def find_site(session: DbSession, code: str) -> Site | None:
    return session.scalars(sa.select(Site).where(Site.code == code)).one_or_none()


def add_site(session: DbSession, code: str, name: str, province: str, by: audit.Actor) -> Site:
    code = code.strip()
    if not SITE_CODE.match(code):
        raise StaffError("a site code has 2 to 32 letters, digits, dots, dashes or underscores")
    if not name.strip() or not province.strip():
        raise StaffError("a site needs a name and a province")
    if find_site(session, code) is not None:
        raise StaffError(f"site {code} exists already")
    site = Site(code=code, name=name.strip(), province=province.strip())
    session.add(site)
    session.flush()
    audit.record(
        session,
        "site_created",
        by,
        target_type="site",
        target_id=site.id,
        details={"code": code, "province": site.province},
    )
    return site


def add_staff(
    session: DbSession, spec: StaffSpec, by: audit.Actor, request: audit.RequestInfo | None = None
) -> Staff:
    """Create a member of staff, or raise StaffError saying what is wrong."""
    username = spec.username.strip().lower()
    if not USERNAME.match(username):
        raise StaffError(
            "a username has 3 to 64 lower-case letters, digits, dots, dashes or underscores"
        )
    if session.scalars(sa.select(Staff.id).where(Staff.username == username)).first() is not None:
        raise StaffError(f"username {username} is taken")
    if not spec.display_name.strip():
        raise StaffError("give the person's name")
    roles = _roles(spec.roles)
    languages = _codes(spec.languages, LANGUAGE, "language")
    topics = _codes(spec.topics, TOPIC, "topic")
    if {Role.COUNSELLOR, Role.INTERPRETER} & set(roles) and not languages:
        raise StaffError("counsellors and interpreters need at least one language")

    site = None
    if spec.site_code:
        site = find_site(session, spec.site_code.strip())
        if site is None:
            raise StaffError(f"no site with code {spec.site_code.strip()}")
    if Role.SSC_FOCAL_POINT in roles:
        # A focal point sees its centre's referrals and nothing else: one site, one role.
        if site is None:
            raise StaffError("an SSC focal point belongs to a site: choose it")
        if len(roles) > 1:
            raise StaffError("an SSC focal point has no other role")

    staff = Staff(username=username, display_name=spec.display_name.strip(), site=site)
    staff.ui_language = spec.ui_language
    session.add(staff)  # callers roll back on StaffError
    staff.set_roles(roles)
    staff.set_languages(languages)
    staff.set_topics(topics)
    if spec.phone:
        _set_phone(session, staff, spec.phone)
    if spec.password:
        try:
            staff.password_hash = passwords.hash_password(spec.password)
        except passwords.WeakPassword as error:
            raise StaffError(str(error)) from None
    session.flush()
    audit.record(
        session,
        "staff_created",
        by,
        target_type="staff",
        target_id=staff.id,
        details={
            "username": username,
            "roles": [r.value for r in roles],
            "languages": languages,
            "topics": topics,
            "site": site.code if site else None,
            "has_phone": bool(spec.phone),
        },
        request=request,
    )
    log.info("staff %s created by %s", staff.id, by.label)
    return staff


def _set_phone(session: DbSession, staff: Staff, raw: str) -> None:
    try:
        e164 = privacy.normalise_number(raw)
    except privacy.InvalidPhoneNumber as error:
        raise StaffError(f"phone: {error}") from None
    index = privacy.keyring().blind_index(e164)
    clash = session.scalars(
        sa.select(Staff.id).where(Staff.phone_index == index, Staff.id != staff.id)
    ).first()
    if clash is not None:
        raise StaffError("that phone number belongs to another member of staff")
    staff.phone_encrypted = e164
    staff.phone_index = index


def set_active(
    session: DbSession,
    staff: Staff,
    is_active: bool,
    by: audit.Actor,
    request: audit.RequestInfo | None = None,
) -> None:
    """Activate or deactivate an account; deactivating ends all its sessions at once."""
    if staff.is_active == is_active:
        return
    if not is_active and by.staff_id == staff.id:
        raise StaffError("you cannot deactivate your own account")
    staff.is_active = is_active
    ended = 0 if is_active else sessions.end_all(session, staff.id)
    audit.record(
        session,
        "staff_activated" if is_active else "staff_deactivated",
        by,
        target_type="staff",
        target_id=staff.id,
        details={"sessions_ended": ended},
        request=request,
    )


def set_password(session: DbSession, staff: Staff, password: str, by: audit.Actor) -> None:
    try:
        staff.password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as error:
        raise StaffError(str(error)) from None
    ended = sessions.end_all(session, staff.id)
    audit.record(
        session,
        "staff_password_set",
        by,
        target_type="staff",
        target_id=staff.id,
        details={"sessions_ended": ended},
    )


def find_by_phone(session: DbSession, raw: str | None) -> Staff | None:
    """The active member of staff whose registered phone this is (by blind index)."""
    e164 = privacy.try_normalise_number(raw)
    if e164 is None:
        return None
    index = privacy.keyring().blind_index(e164)
    return session.scalars(
        sa.select(Staff).where(Staff.phone_index == index, Staff.is_active.is_(True))
    ).first()
