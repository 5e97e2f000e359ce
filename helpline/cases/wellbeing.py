"""WHO-5 wellbeing measures: scoring, recording with a case, and the change over time.

Scoring (WHO, 1998): five answers from 0 (at no time) to 5 (all of the time); the raw
score is their sum (0-25) and the percentage the raw score times four (0-100). A raw
score below 13 suggests poor wellbeing (the usual screening cut-off), and a change of
10 percentage points or more is the change the index's authors call meaningful.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.cases.access import CaseInvalid, Problem, log, require_case, require_writable
from helpline.cases.persons import touch
from helpline.cases.who5 import ANSWERS, ITEMS, REQUIRED
from helpline.models import Case, Person, Staff, WellbeingMeasure
from helpline.models.base import DbSession
from helpline.models.enums import WellbeingOccasion

POOR_BELOW = 13  # raw score
MEANINGFUL_CHANGE = 10  # percentage points


@dataclasses.dataclass(frozen=True)
class Score:
    raw: int
    percentage: int

    @property
    def is_poor(self) -> bool:
        return self.raw < POOR_BELOW


def score(answers: Sequence[int]) -> Score:
    """The raw score and percentage of five answers 0-5; CaseInvalid otherwise (pure)."""
    if len(answers) != ITEMS or not all(
        isinstance(a, int) and not isinstance(a, bool) and a in ANSWERS for a in answers
    ):
        raise CaseInvalid([Problem("answers", f"Answer all {ITEMS} statements, each 0 to 5.")])
    raw = sum(answers)
    return Score(raw, raw * 4)


@dataclasses.dataclass(frozen=True)
class Point:
    """One measure on the case's curve, with its change from the one before and the first."""

    taken_at: dt.datetime
    occasion: str
    raw: int
    percentage: int
    change: int | None  # percentage points since the previous measure
    since_first: int | None

    @property
    def is_poor(self) -> bool:
        return self.raw < POOR_BELOW

    @property
    def is_meaningful(self) -> bool:
        return self.change is not None and abs(self.change) >= MEANINGFUL_CHANGE


def change_over_time(measures: Sequence[WellbeingMeasure]) -> list[Point]:
    """The measures oldest first, each with its change (pure)."""
    ordered = sorted(measures, key=lambda m: (m.taken_at, m.id))
    points: list[Point] = []
    for n, measure in enumerate(ordered):
        previous = ordered[n - 1].percentage if n else None
        first = ordered[0].percentage if n else None
        points.append(
            Point(
                taken_at=measure.taken_at,
                occasion=measure.occasion,
                raw=measure.raw_score,
                percentage=measure.percentage,
                change=None if previous is None else measure.percentage - previous,
                since_first=None if first is None else measure.percentage - first,
            )
        )
    return points


def record_measure(
    session: DbSession,
    case: Case,
    answers: Sequence[int],
    *,
    occasion: str,
    language: str,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> WellbeingMeasure:
    """Record a WHO-5 taken with the case's person (at intake, a follow-up or closing).
    The audit entry names the measure, not the answers."""
    require_writable(session, case, by, now, action="wellbeing.record")
    problems = []
    if occasion not in {o.value for o in WellbeingOccasion}:
        problems.append(Problem("occasion", "Choose intake, follow-up or closure."))
    if language not in REQUIRED:
        problems.append(Problem("language", "Choose a language the questionnaire is in."))
    if problems:
        raise CaseInvalid(problems)
    result = score(answers)
    measure = WellbeingMeasure(
        person_id=case.person_id,
        case_id=case.id,
        occasion=occasion,
        language=language,
        answers=list(answers),
        raw_score=result.raw,
        percentage=result.percentage,
        taken_by_id=by.id,
        taken_at=now,
    )
    session.add(measure)
    person = session.get(Person, case.person_id)
    if person is not None:
        touch(person, now)
    session.flush()
    log(
        session,
        "wellbeing_recorded",
        case,
        by,
        {"measure_id": measure.id, "occasion": occasion},
        request,
    )
    return measure


def case_curve(
    session: DbSession,
    case: Case,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> list[Point]:
    """The case's measures over time, oldest first, for its page; audited."""
    require_case(session, "case.read", case, by, now)
    measures = session.scalars(
        sa.select(WellbeingMeasure)
        .where(WellbeingMeasure.case_id == case.id)
        .order_by(WellbeingMeasure.taken_at, WellbeingMeasure.id)
    ).all()
    log(session, "case_wellbeing_viewed", case, by, {"measures": len(measures)}, request)
    return change_over_time(measures)
