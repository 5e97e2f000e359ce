"""Who was reached: the person dimensions as SQL, from `person` through `person_number`.

A call or contact record belongs to a person when its caller (number) is linked to
exactly one person now; a number linked to nobody, or to several people (a family's
phone), is `not_identified`. A field the person did not answer is `unknown`; one they
prefer not to answer (named in `person.declined`) is `declined`. Disability follows
the Washington Group short set's standard cut-off: any domain answered "a lot of
difficulty" or "cannot do at all".
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from helpline.models import Person, PersonNumber
from helpline.models.enums import AgeGroup, Difficulty
from helpline.models.persons import WG_DOMAINS
from helpline.reporting.programme.sql import Expr

NOT_IDENTIFIED = "not_identified"
UNKNOWN = "unknown"
DECLINED = "declined"
WITH_DISABILITY = "with_disability"
WITHOUT_DISABILITY = "without_disability"
NONE = "none"  # no language, no site

PERSON_DIMENSIONS = ("age_group", "gender", "nationality", "legal_status", "disability", "province")
WG_CUT_OFF = (Difficulty.A_LOT_OF_DIFFICULTY.value, Difficulty.CANNOT_DO_AT_ALL.value)
# Upper bounds (exclusive) of the age groups, for a person who gave a year of birth.
AGE_BOUNDS = (
    (12, AgeGroup.UNDER_12),
    (18, AgeGroup.FROM_12_TO_17),
    (26, AgeGroup.FROM_18_TO_25),
    (60, AgeGroup.FROM_26_TO_59),
)


def _declined(person: Any, *fields: str) -> Expr:
    text = sa.cast(person.declined, sa.Text)
    return sa.or_(*[text.like(f'%"{field}"%') for field in fields])


def _field(person: Any, field: str) -> Expr:
    column = getattr(person, field)
    return sa.case(
        (column.is_not(None), sa.cast(column, sa.String)),
        (_declined(person, field), DECLINED),
        else_=UNKNOWN,
    )


def _age_group(person: Any, year: int) -> Expr:
    age = year - person.birth_year
    by_year = sa.case(
        *[(age < bound, group.value) for bound, group in AGE_BOUNDS],
        else_=AgeGroup.FROM_60.value,
    )
    return sa.case(
        (person.age_group.is_not(None), person.age_group),
        (person.birth_year.is_not(None), by_year),
        (_declined(person, "age_group", "birth_year"), DECLINED),
        else_=UNKNOWN,
    )


def _disability(person: Any) -> Expr:
    columns = [getattr(person, f"wg_{domain}") for domain in WG_DOMAINS]
    return sa.case(
        (sa.or_(*[c.in_(WG_CUT_OFF) for c in columns]), WITH_DISABILITY),
        (sa.and_(*[c.is_not(None) for c in columns]), WITHOUT_DISABILITY),
        (_declined(person, *[f"wg_{d}" for d in WG_DOMAINS]), DECLINED),
        else_=UNKNOWN,
    )


def caller_dimensions(year: int) -> sa.Subquery:
    """Per caller linked to exactly one person now: that person's six dimensions.

    Computed once per caller, not per call. `year` places a year of birth in an age
    group (the period's last year).
    """
    links = (
        sa.select(PersonNumber.caller_id, sa.func.min(PersonNumber.person_id).label("person_id"))
        .where(PersonNumber.unlinked_at.is_(None))
        .group_by(PersonNumber.caller_id)
        .having(sa.func.count(sa.distinct(PersonNumber.person_id)) == 1)
        .subquery("single_link")
    )
    person = aliased(Person, name="reached")
    values = {
        "age_group": _age_group(person, year),
        "gender": _field(person, "gender"),
        "nationality": _field(person, "nationality"),
        "legal_status": _field(person, "legal_status"),
        "disability": _disability(person),
        "province": _field(person, "province"),
    }
    return (
        sa.select(links.c.caller_id, *[value.label(name) for name, value in values.items()])
        .join(person, person.id == links.c.person_id)
        .subquery("caller_dimensions")
    )


def person_columns(found: sa.Subquery) -> list[sa.Label[Any]]:
    """The six dimensions of rows joined (outer) to `caller_dimensions` on their caller:
    not identified where no single person is linked."""
    return [
        sa.func.coalesce(found.c[name], NOT_IDENTIFIED).label(name) for name in PERSON_DIMENSIONS
    ]
