"""Person profiles: made from a contact's caller, kept only with the person's consent.

Rules:
- A profile is made by a counsellor from a contact record they may read; the record's
  caller becomes the person's first number. Nothing is merged automatically: another
  number joins a person only by `link_number`, and leaves by `unlink_number`; both are
  audited. One number may belong to several persons (a family's phone).
- The details are kept only while the person's latest answer to the profile consent
  is yes (`PersonConsent`, kind `profile`, as callers' consents: the latest answer
  wins). A no erases every detail; the person stays, so their cases stay.
- Every field is optional; one the person prefers not to answer is named in `declined`.
- The name is encrypted (EncryptedText); numbers stay on `caller`, behind the blind index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.cases.access import (
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    Problem,
    allows,
    log,
    readable_record,
    require_person,
)
from helpline.models import Caller, Person, PersonConsent, PersonNumber, Staff
from helpline.models.base import DbSession
from helpline.models.calls import latest_answer
from helpline.models.enums import AgeGroup, ConsentKind, Difficulty, Gender, LegalStatus
from helpline.models.persons import WG_DOMAINS
from helpline.privacy import crypto as privacy

NAME_MAX = 200
PROVINCE_MAX = 64
MAX_LANGUAGES = 10
HOUSEHOLD_MAX = 50
OLDEST = 120  # years: a birth year further back is a typing error
NATIONALITY = re.compile(r"^[A-Z]{2}$")
STATELESS = "stateless"
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
WG_FIELDS = tuple(f"wg_{domain}" for domain in WG_DOMAINS)
# The profile's fields, as `ProfileInput` and `Person.declined` name them.
FIELDS = (
    "name",
    "gender",
    "birth_year",
    "age_group",
    "nationality",
    "legal_status",
    "province",
    "registered_site_id",
    *WG_FIELDS,
    "languages",
    "household_size",
)


@dataclasses.dataclass(frozen=True)
class ProfileInput:
    """A whole profile as entered; None (or empty) is "not answered", and a field named
    in `declined` is "prefers not to say"."""

    name: str | None = None
    gender: str | None = None
    birth_year: int | None = None
    age_group: str | None = None
    nationality: str | None = None
    legal_status: str | None = None
    province: str | None = None
    registered_site_id: int | None = None
    disability: Mapping[str, str] = dataclasses.field(default_factory=dict)  # domain: answer
    languages: tuple[str, ...] = ()
    household_size: int | None = None
    declined: frozenset[str] = frozenset()


def _values(data: ProfileInput) -> dict[str, object]:
    """The input by field name (FIELDS); an empty answer is None."""
    found: dict[str, object] = {
        "name": (data.name or "").strip() or None,
        "gender": data.gender or None,
        "birth_year": data.birth_year,
        "age_group": data.age_group or None,
        "nationality": data.nationality or None,
        "legal_status": data.legal_status or None,
        "province": (data.province or "").strip() or None,
        "registered_site_id": data.registered_site_id,
        "languages": list(data.languages) or None,
        "household_size": data.household_size,
    }
    for domain in WG_DOMAINS:
        found[f"wg_{domain}"] = data.disability.get(domain) or None
    return found


def _choice(field: str, value: object, allowed: type[object]) -> list[Problem]:
    if value is None or value in {str(member) for member in allowed}:  # type: ignore[attr-defined]
        return []
    return [Problem(field, "Choose one of the listed answers.")]


def check_profile(data: ProfileInput, now: dt.datetime) -> list[Problem]:
    """What a profile cannot hold: values outside the vocabularies or ranges, a field both
    answered and declined, and unknown field names in `declined`."""
    values = _values(data)
    problems: list[Problem] = []
    unknown = sorted(data.declined - set(FIELDS))
    if unknown:
        problems.append(Problem("declined", f"Unknown fields: {', '.join(unknown)}."))
    for field in sorted(data.declined & set(FIELDS)):
        if values[field] is not None:
            problems.append(Problem(field, "Either an answer or “prefers not to say”, not both."))
    name = values["name"]
    if isinstance(name, str) and len(name) > NAME_MAX:
        problems.append(Problem("name", f"Keep the name under {NAME_MAX} characters."))
    problems += _choice("gender", values["gender"], Gender)
    problems += _choice("age_group", values["age_group"], AgeGroup)
    problems += _choice("legal_status", values["legal_status"], LegalStatus)
    for field in WG_FIELDS:
        problems += _choice(field, values[field], Difficulty)
    unknown_domains = sorted(set(data.disability) - set(WG_DOMAINS))
    if unknown_domains:
        problems.append(Problem("disability", f"Unknown questions: {', '.join(unknown_domains)}."))
    year = data.birth_year
    if year is not None and not now.year - OLDEST <= year <= now.year:
        problems.append(Problem("birth_year", f"A year from {now.year - OLDEST} to {now.year}."))
    nationality = values["nationality"]
    if isinstance(nationality, str) and not (
        nationality == STATELESS or NATIONALITY.match(nationality)
    ):
        problems.append(Problem("nationality", "A country code (such as SY, AF) or stateless."))
    province = values["province"]
    if isinstance(province, str) and len(province) > PROVINCE_MAX:
        problems.append(Problem("province", "Choose a province from the list."))
    if len(data.languages) > MAX_LANGUAGES or not all(LANGUAGE.match(c) for c in data.languages):
        problems.append(Problem("languages", "Up to ten language codes (such as ar, fa, ku)."))
    size = data.household_size
    if size is not None and not 1 <= size <= HOUSEHOLD_MAX:
        problems.append(Problem("household_size", f"From 1 to {HOUSEHOLD_MAX} people."))
    return problems


# --- finding ----------------------------------------------------------------------------


def get_person(session: DbSession, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise CaseNotFound("There is no such person.")
    return person


def has_profile_consent(session: DbSession, person_id: int) -> bool:
    """The person's latest answer to keeping a profile (False if never asked)."""
    answers = session.execute(
        sa.select(PersonConsent.kind, PersonConsent.is_granted)
        .where(PersonConsent.person_id == person_id, PersonConsent.kind == ConsentKind.PROFILE)
        .order_by(PersonConsent.recorded_at, PersonConsent.id)
    ).all()
    return latest_answer(((kind, granted) for kind, granted in answers), ConsentKind.PROFILE)


def linked_caller_ids(session: DbSession, person_id: int) -> list[int]:
    """The callers (numbers) linked to the person now, oldest link first."""
    return list(
        session.scalars(
            sa.select(PersonNumber.caller_id)
            .where(PersonNumber.person_id == person_id, PersonNumber.unlinked_at.is_(None))
            .order_by(PersonNumber.linked_at, PersonNumber.id)
        )
    )


def list_persons_of_caller(session: DbSession, caller_id: int) -> list[int]:
    """The persons a number is linked to now (a shared phone has several)."""
    return list(
        session.scalars(
            sa.select(PersonNumber.person_id)
            .where(PersonNumber.caller_id == caller_id, PersonNumber.unlinked_at.is_(None))
            .order_by(PersonNumber.person_id)
        )
    )


# --- changes ----------------------------------------------------------------------------


def create_from_record(
    session: DbSession,
    record_id: int,
    *,
    consent: bool,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> Person:
    """A new person for the caller of a contact record `by` may read, with the caller's
    answer to keeping a profile. The caller's number becomes the person's first (a
    contact from a withheld number makes a person without one)."""
    if not allows("case.open", by, permissions.What(), now):
        raise CaseForbidden("Only counsellors make person profiles.")
    record = readable_record(session, record_id, by, now)
    person = Person(created_by_id=by.id, created_at=now, updated_at=now, languages=[], declined=[])
    session.add(person)
    session.flush()
    if record.caller_id is not None:
        link = PersonNumber(
            person_id=person.id, caller_id=record.caller_id, linked_at=now, linked_by_id=by.id
        )
        session.add(link)
    _consent_row(session, person, consent, record.call_id, by, now)
    log(
        session,
        "person_created",
        person,
        by,
        {"contact_record_id": record.id, "caller_id": record.caller_id, "consent": consent},
        request,
    )
    session.flush()
    return person


def _consent_row(
    session: DbSession,
    person: Person,
    granted: bool,
    call_id: int | None,
    by: Staff,
    now: dt.datetime,
) -> None:
    session.add(
        PersonConsent(
            person_id=person.id,
            call_id=call_id,
            kind=ConsentKind.PROFILE.value,
            is_granted=granted,
            source="console",
            recorded_by_id=by.id,
            recorded_at=now,
        )
    )


def record_consent(
    session: DbSession,
    person: Person,
    *,
    granted: bool,
    by: Staff,
    now: dt.datetime,
    call_id: int | None = None,
    request: audit.RequestInfo | None = None,
) -> None:
    """Record the person's answer to keeping a profile; a no erases every detail."""
    require_person(session, "person.write", person, by, now)
    _consent_row(session, person, granted, call_id, by, now)
    if not granted:
        _erase(person)
    person.updated_at = now
    log(
        session,
        "person_consent_recorded",
        person,
        by,
        {"kind": ConsentKind.PROFILE.value, "granted": granted},
        request,
    )
    session.flush()


def _erase(person: Person) -> None:
    for field in FIELDS:
        if field == "name":
            person.name_encrypted = None
        elif field == "languages":
            person.languages = []
        else:
            setattr(person, field, None)
    person.declined = []


def _changed(person: Person, values: Mapping[str, object], declined: list[str]) -> list[str]:
    current = {field: getattr(person, field) for field in FIELDS if field != "name"}
    current["name"] = person.name_encrypted
    current["languages"] = list(person.languages) or None
    names = [field for field in FIELDS if current[field] != values[field]]
    if sorted(person.declined) != declined:
        names.append("declined")
    return names


def update_profile(
    session: DbSession,
    person: Person,
    data: ProfileInput,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> list[str]:
    """Replace the profile's details with `data`, if the person consented; the names of
    the fields that changed (audited, without their values)."""
    require_person(session, "person.write", person, by, now)
    if not has_profile_consent(session, person.id):
        raise CaseForbidden("The person has not agreed to a profile being kept.")
    problems = check_profile(data, now)
    if problems:
        raise CaseInvalid(problems)
    values = _values(data)
    declined = sorted(data.declined)
    changed = _changed(person, values, declined)
    if not changed:
        return []
    name = values["name"]
    person.name_encrypted = name if isinstance(name, str) else None
    for field in FIELDS:
        if field == "languages":
            person.languages = list(data.languages)
        elif field != "name":
            setattr(person, field, values[field])
    person.declined = declined
    person.updated_at = now
    log(session, "person_profile_updated", person, by, {"changed": changed}, request)
    session.flush()
    return changed


def link_number(
    session: DbSession,
    person: Person,
    number: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> PersonNumber:
    """Link a number the person gave to them: found by its blind index, or kept as a new
    caller. Linking a number already linked to the person changes nothing."""
    require_person(session, "person.link", person, by, now)
    try:
        e164 = privacy.normalise_number(number)
    except privacy.InvalidPhoneNumber:
        raise CaseInvalid([Problem("number", "This is not a phone number.")]) from None
    index = privacy.keyring().blind_index(e164)
    caller = session.scalars(sa.select(Caller).where(Caller.number_index == index)).one_or_none()
    if caller is None:
        caller = Caller(
            number_index=index, number_encrypted=e164, first_seen_at=now, last_seen_at=now
        )
        session.add(caller)
        session.flush()
    return _link(session, person, caller.id, by, now, request)


def link_caller_of_record(
    session: DbSession,
    person: Person,
    record_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> PersonNumber:
    """Link the number of a contact `by` may read to the person (the same person called
    from another phone)."""
    require_person(session, "person.link", person, by, now)
    record = readable_record(session, record_id, by, now)
    if record.caller_id is None:
        raise CaseInvalid([Problem("caller", "This contact has no number.")])
    return _link(session, person, record.caller_id, by, now, request)


def _link(
    session: DbSession,
    person: Person,
    caller_id: int,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None,
) -> PersonNumber:
    existing = _current_link(session, person.id, caller_id)
    if existing is not None:
        return existing
    link = PersonNumber(person_id=person.id, caller_id=caller_id, linked_at=now, linked_by_id=by.id)
    session.add(link)
    person.updated_at = now
    session.flush()
    log(session, "person_number_linked", person, by, {"caller_id": caller_id}, request)
    return link


def _current_link(session: DbSession, person_id: int, caller_id: int) -> PersonNumber | None:
    return session.scalars(
        sa.select(PersonNumber).where(
            PersonNumber.person_id == person_id,
            PersonNumber.caller_id == caller_id,
            PersonNumber.unlinked_at.is_(None),
        )
    ).one_or_none()


def unlink_number(
    session: DbSession,
    person: Person,
    caller_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """End the link of a number to the person (the row stays, ended, for the history)."""
    require_person(session, "person.link", person, by, now)
    link = _current_link(session, person.id, caller_id)
    if link is None:
        raise CaseNotFound("This number is not linked to this person.")
    link.unlinked_at = now
    link.unlinked_by_id = by.id
    person.updated_at = now
    log(session, "person_number_unlinked", person, by, {"caller_id": caller_id}, request)
    session.flush()


@dataclasses.dataclass(frozen=True)
class NumberLink:
    caller_id: int
    masked: str
    linked_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Profile:
    person: Person
    has_consent: bool
    numbers: tuple[NumberLink, ...]


def view_profile(
    session: DbSession,
    person_id: int,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> Profile:
    """The profile, its consent and its numbers (masked), for the profile page; audited."""
    person = get_person(session, person_id)
    require_person(session, "person.read", person, by, now)
    rows = session.execute(
        sa.select(Caller.id, Caller.number_encrypted, PersonNumber.linked_at)
        .join(PersonNumber, PersonNumber.caller_id == Caller.id)
        .where(PersonNumber.person_id == person.id, PersonNumber.unlinked_at.is_(None))
        .order_by(PersonNumber.linked_at, PersonNumber.id)
    ).all()
    numbers = tuple(
        NumberLink(caller_id, privacy.mask_number(number) if number else "", linked_at)
        for caller_id, number, linked_at in rows
    )
    log(session, "person_viewed", person, by, None, request)
    return Profile(person, has_profile_consent(session, person.id), numbers)


def touch(person: Person, now: dt.datetime) -> None:
    """Note activity on the person (their retention period runs from the last)."""
    if person.updated_at < now:
        person.updated_at = now
