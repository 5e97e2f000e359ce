"""The case pages' labels, and their forms read into the domain's inputs.

Pure of the database: each reader takes the posted form (a multi-dict) and returns the
input, or raises `CaseInvalid` with problems naming the form's fields. A message never
repeats what was typed. The CSRF token is checked by the view (`PostForm`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from helpline.cases.access import CaseInvalid, Problem
from helpline.cases.labels import (
    ACTION_STATUSES,
    GOAL_STATUSES,
    NEEDS,
    OCCASIONS,
    REASONS,
    RELATIONSHIPS,
    STATUSES,
)
from helpline.cases.persons import WG_FIELDS, ProfileInput
from helpline.cases.plan import CallInput
from helpline.cases.who5 import ITEMS
from helpline.models.enums import ActionStatus, CaseStatus

Form = MultiDict[str, str]


def messages(error: CaseInvalid, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """The problems as field: message (the first per field), the domain's field names
    renamed to the form's where they differ."""
    found: dict[str, str] = {}
    for problem in error.problems:
        field = (rename or {}).get(problem.field, problem.field)
        found.setdefault(field, problem.message)
    return found


def _int(form: Form, field: str, *, required: bool = False) -> int | None:
    raw = (form.get(field) or "").strip()
    if not raw:
        if required:
            raise CaseInvalid([Problem(field, "Fill this in.")])
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise CaseInvalid([Problem(field, "A whole number, please.")])
    return int(raw)


def _choice(form: Form, field: str, allowed: Mapping[str, object], *, required: bool) -> str:
    value = (form.get(field) or "").strip()
    if value in allowed:
        return value
    if not value and not required:
        return ""
    raise CaseInvalid([Problem(field, "Choose one of the listed options.")])


def text(form: Form, field: str, limit: int) -> str:
    """Required free text of at most `limit` characters."""
    value = (form.get(field) or "").strip()
    if not value:
        raise CaseInvalid([Problem(field, "Fill this in.")])
    if len(value) > limit:
        raise CaseInvalid([Problem(field, "This is too long.")])
    return value


def consent(form: Form, field: str = "consent") -> bool:
    """The person's answer to keeping a profile: yes or no, asked for explicitly."""
    return _choice(form, field, {"yes": 1, "no": 0}, required=True) == "yes"


def choice(form: Form, field: str, allowed: Mapping[str, object]) -> str:
    """One of the listed values (required)."""
    return _choice(form, field, allowed, required=True)


def needs(form: Form) -> tuple[str, ...]:
    chosen = tuple(form.getlist("needs"))
    if set(chosen) - NEEDS.keys():
        raise CaseInvalid([Problem("needs", "Choose needs from the list.")])
    return chosen


def status_change(form: Form) -> tuple[str, str | None]:
    """The status to move to, and a closure reason (asked for when closing)."""
    to = _choice(form, "status", STATUSES, required=True)
    reason = _choice(form, "reason", REASONS, required=False) or None
    if to == CaseStatus.CLOSED.value and reason is None:
        raise CaseInvalid([Problem("reason", "Closing a case needs a reason.")])
    return to, reason if to == CaseStatus.CLOSED.value else None


def risk(form: Form, levels: Mapping[str, object]) -> str:
    return _choice(form, "risk_level", levels, required=True)


def relationship(form: Form) -> tuple[int, str]:
    person_id = _int(form, "person", required=True)
    assert person_id is not None  # required  # noqa: S101
    return person_id, _choice(form, "relationship", RELATIONSHIPS, required=True)


def chosen_id(form: Form, field: str) -> int:
    value = _int(form, field, required=True)
    if value is None:  # pragma: no cover - required above
        raise CaseInvalid([Problem(field, "Fill this in.")])
    return value


def due_time(form: Form, zone: ZoneInfo) -> dt.datetime:
    """A due date and time typed as the line's wall-clock time, in UTC."""
    try:
        day = dt.date.fromisoformat((form.get("due_date") or "").strip())
    except ValueError:
        raise CaseInvalid([Problem("due_date", "A date, as YYYY-MM-DD.")]) from None
    raw = (form.get("due_time") or "").strip() or "09:00"
    try:
        clock = dt.time.fromisoformat(raw)
    except ValueError:
        raise CaseInvalid([Problem("due_time", "A time, as HH:MM.")]) from None
    return dt.datetime.combine(day, clock, tzinfo=zone).astimezone(dt.UTC)


def call_input(form: Form, languages: Mapping[str, object]) -> CallInput | None:
    """The action is a call to the person (a follow-up callback), or not."""
    if form.get("is_call") != "yes":
        return None
    language = _choice(form, "call_language", languages, required=False) or None
    return CallInput(language=language, consent=form.get("call_consent") == "yes")


def goal_id(form: Form) -> int | None:
    return _int(form, "goal")


def action_status(form: Form) -> str:
    allowed = {k: v for k, v in ACTION_STATUSES.items() if k != ActionStatus.OPEN.value}
    return _choice(form, "status", allowed, required=True)


def goal_status(form: Form) -> str:
    return _choice(form, "status", GOAL_STATUSES, required=True)


def who5(form: Form, languages: Mapping[str, object]) -> tuple[list[int], str, str]:
    """The five answers, the occasion and the questionnaire's language."""
    answers: list[int] = []
    for item in range(1, ITEMS + 1):
        raw = (form.get(f"item{item}") or "").strip()
        if raw not in {str(score) for score in range(6)}:
            raise CaseInvalid([Problem(f"item{item}", "Choose an answer for every statement.")])
        answers.append(int(raw))
    occasion = _choice(form, "occasion", OCCASIONS, required=True)
    language = _choice(form, "language", languages, required=True)
    return answers, occasion, language


def profile(form: Form) -> ProfileInput:
    """The profile form: every field optional; a ticked "prefers not to say" names the
    field in `declined` (the domain refuses a field both answered and declined)."""

    def value(field: str) -> str | None:
        return (form.get(field) or "").strip() or None

    nationality = value("nationality")
    if nationality is not None:
        lowered = nationality.lower()
        nationality = lowered if lowered == "stateless" else nationality.upper()
    return ProfileInput(
        name=value("name"),
        gender=value("gender"),
        birth_year=_int(form, "birth_year"),
        age_group=value("age_group"),
        nationality=nationality,
        legal_status=value("legal_status"),
        province=value("province"),
        registered_site_id=_int(form, "registered_site_id"),
        disability={
            field.removeprefix("wg_"): answer
            for field in WG_FIELDS
            if (answer := value(field)) is not None
        },
        languages=tuple(code for code in form.getlist("languages") if code),
        household_size=_int(form, "household_size"),
        declined=frozenset(form.getlist("declined")),
    )
