"""The programme report over a small line (tests/programme_line.py): every figure
against a hand count, the scopes, and small-cell suppression in the built report."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from helpline.extensions import db
from helpline.records.catalog import Catalog
from helpline.reporting.programme import build
from helpline.reporting.programme.model import (
    Cell,
    Count,
    Empty,
    Measure,
    Report,
    Suppressed,
    Table,
)
from tests import programme_line
from tests.factories import Factory

CALL_TYPES = ("data", "silent", "hang_up", "abusive", "wrong_number", "information_only")


@pytest.fixture
def small_line(factory: Factory) -> programme_line.SmallLine:
    return programme_line.build(factory)


def make_report(
    app: Flask, threshold: int = 1, site: str | None = None, province: str | None = None
) -> Report:
    with app.app_context():
        catalog: Catalog = app.extensions["helpline.catalog"]
        period = build.period_of(programme_line.FIRST, programme_line.LAST, "Europe/Istanbul")
        scope = build.scope_of(db.session, site=site, province=province)
        return build.build_report(db.session, period, scope, catalog, programme_line.NOW, threshold)


def value(cell: Cell) -> object:
    if isinstance(cell, Count):
        return cell.value
    if isinstance(cell, Measure):
        return round(cell.value, 2)
    if isinstance(cell, Empty):
        return None
    return f"[c {cell.why}]"


def grid(table: Table) -> dict[str, dict[str, object]]:
    """Row key ('total' for the total row) -> column key -> the cell's value."""
    return {
        ("total" if row.is_total else row.key): {
            column.key: value(cell) for column, cell in zip(table.columns, row.cells, strict=True)
        }
        for row in table.rows
    }


def table_of(report: Report, section: str, key: str) -> Table:
    return report.section(section).table(key)


def reach(
    offered: int,
    answered: int,
    abandoned: int,
    out_of_hours: int,
    people: int,
    contacts: dict[str, int] | None = None,
    interpreted: tuple[int, float | None] | None = None,
) -> dict[str, object]:
    """A reach row: the call figures, then contacts by call type (others 0)."""
    by_type = contacts or {}
    row: dict[str, object] = {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "out_of_hours": out_of_hours,
        "people": people,
    }
    if interpreted is not None:
        row |= {"interpreted": interpreted[0], "interpreter_minutes": interpreted[1]}
    row["contacts"] = sum(by_type.values())
    row |= {f"contacts_{t}": by_type.get(t, 0) for t in CALL_TYPES}
    return row


TOTAL = reach(7, 5, 1, 1, 3, {"data": 2, "silent": 1, "information_only": 1})
# k4 (a family's phone), k5 (linked to nobody now) and the withheld number
NOT_IDENTIFIED = reach(2, 1, 0, 1, 0, {"silent": 1})
P1 = reach(2, 2, 0, 0, 1, {"data": 1})  # calls 1 and 2 (call 9 is outbound)
P2 = reach(2, 1, 1, 0, 1, {"data": 1})  # calls 3 and 4
P3 = reach(1, 1, 0, 0, 1, {"information_only": 1})  # call 5
P1_P2 = reach(4, 3, 1, 0, 2, {"data": 2})

EXPECTED_REACH = {
    "site": {
        "GAZ-1": reach(2, 2, 0, 0, 1, {"data": 1, "silent": 1}),
        "IST-1": reach(3, 3, 0, 0, 2, {"data": 1, "information_only": 1}),
        "none": reach(2, 0, 1, 1, 0),
        "total": TOTAL,
    },
    "age_group": {
        "18_25": P1,
        "26_59": P2,
        "not_identified": NOT_IDENTIFIED,
        "unknown": P3,
        "total": TOTAL,
    },
    "gender": {"female": P1_P2, "not_identified": NOT_IDENTIFIED, "declined": P3, "total": TOTAL},
    "nationality": {"AF": P3, "SY": P1_P2, "not_identified": NOT_IDENTIFIED, "total": TOTAL},
    "legal_status": {
        "international_protection": P3,
        "temporary_protection": P1_P2,
        "not_identified": NOT_IDENTIFIED,
        "total": TOTAL,
    },
    "disability": {
        "with_disability": P1,
        "without_disability": P2,
        "not_identified": NOT_IDENTIFIED,
        "unknown": P3,
        "total": TOTAL,
    },
    "province": {
        "Gaziantep": P1_P2,
        "not_identified": NOT_IDENTIFIED,
        "declined": P3,
        "total": TOTAL,
    },
    "language": {
        "ar": reach(3, 2, 0, 1, 1, {"data": 1}, interpreted=(1, 30.0)),
        "fa": reach(1, 1, 0, 0, 1, {"information_only": 1}, interpreted=(1, 15.0)),
        "tr": reach(3, 2, 1, 0, 1, {"data": 1, "silent": 1}, interpreted=(0, None)),
        "total": reach(
            7, 5, 1, 1, 3, {"data": 2, "silent": 1, "information_only": 1}, interpreted=(2, 45.0)
        ),
    },
}


def risks(contacts: int, **levels: int) -> dict[str, object]:
    row: dict[str, object] = {"contacts": contacts}
    for level in ("none", "low", "medium", "high", "imminent"):
        row[f"risk_{level}"] = levels.get(level, 0)
    return row


def referral_row(*counts: int, share: float | None) -> dict[str, object]:
    keys = ("made", "consented", "sent", "accepted", "declined", "service_provided", "in_time")
    return dict(zip(keys, counts, strict=True)) | {"in_time_share": share}


@pytest.mark.parametrize("dimension", list(EXPECTED_REACH))
def test_report_reach_by_every_dimension(
    app: Flask, small_line: programme_line.SmallLine, dimension: str
) -> None:
    """Calls offered, answered, abandoned and out of hours, people reached and contacts by
    call type, for each value of each dimension, as counted by hand."""
    report = make_report(app)
    assert grid(table_of(report, "reach", f"reach_by_{dimension}")) == EXPECTED_REACH[dimension]


def test_report_needs_referrals_cases_outcomes_callbacks_staffing(
    app: Flask, small_line: programme_line.SmallLine
) -> None:
    """Every other section of the report, as counted by hand."""
    report = make_report(app)
    assert grid(table_of(report, "needs", "needs_by_category")) == {
        "psychosocial": risks(3, none=1, low=1, high=1),
        "psychosocial.anxiety": risks(2, low=1, high=1),
        "psychosocial.grief": risks(1, high=1),
        "violence": risks(1, high=1),
        "violence.domestic": risks(1, high=1),
        "total": risks(4, none=2, low=1, high=1),
    }
    assert grid(table_of(report, "referrals", "referrals_by_kind")) == {
        "health / elsewhere": referral_row(1, 1, 1, 0, 0, 1, 0, share=0.0),
        "police / elsewhere": referral_row(1, 0, 0, 0, 0, 0, 0, share=None),
        "social_service_centre / GAZ-1": referral_row(1, 1, 1, 1, 1, 1, 1, share=1.0),
        "total": referral_row(3, 2, 2, 1, 1, 2, 1, share=0.5),
    }
    assert grid(table_of(report, "cases", "cases_by_site")) == {
        "GAZ-1": {
            "opened": 1,
            "closed": 0,
            "worked": 1,
            "workers": 1,
            "caseload": 1.0,
            "median_days": None,
        },
        "IST-1": {
            "opened": 1,
            "closed": 2,
            "worked": 2,
            "workers": 1,
            "caseload": 2.0,
            "median_days": 30.5,
        },
        "total": {
            "opened": 2,
            "closed": 2,
            "worked": 3,
            "workers": 2,
            "caseload": 1.5,
            "median_days": 30.5,
        },
    }
    assert grid(table_of(report, "cases", "closure_reasons")) == {
        "goals_met": {"closed": 1},
        "no_contact": {"closed": 1},
        "total": {"closed": 2},
    }
    assert grid(table_of(report, "outcomes", "wellbeing_by_site")) == {
        "GAZ-1": {"people": 1, "improved": 0, "improved_share": 0.0},
        "IST-1": {"people": 1, "improved": 1, "improved_share": 1.0},
        "total": {"people": 2, "improved": 1, "improved_share": 0.5},
    }
    assert grid(table_of(report, "callbacks", "callbacks_by_reason")) == {
        "queue_key": {"due": 1, "completed": 1, "completed_share": 1.0, "median_hours": 2.0},
        "out_of_hours": {"due": 1, "completed": 1, "completed_share": 1.0, "median_hours": 11.0},
        "abandoned": {"due": 1, "completed": 0, "completed_share": 0.0, "median_hours": None},
        "follow_up": {"due": 1, "completed": 0, "completed_share": 0.0, "median_hours": None},
        "total": {"due": 4, "completed": 2, "completed_share": 0.5, "median_hours": 6.5},
    }
    assert grid(table_of(report, "staffing", "staffing_by_site")) == {
        "GAZ-1": {
            "counsellors": 1,
            "interpreters": 0,
            "counsellor_hours": 0.0,
            "interpreter_hours": None,
        },
        "IST-1": {
            "counsellors": 1,
            "interpreters": 1,
            "counsellor_hours": 7.0,
            "interpreter_hours": 1.5,
        },
        "total": {
            "counsellors": 2,
            "interpreters": 1,
            "counsellor_hours": 7.0,
            "interpreter_hours": 1.5,
        },
    }


def test_report_of_a_site_and_of_a_province(
    app: Flask, small_line: programme_line.SmallLine
) -> None:
    """A site's report counts its own calls, contacts, cases and staff; a province's, its
    sites'. Calls nobody answered belong to no site."""
    site = make_report(app, site="IST-1")
    assert site.scope.label.endswith("(IST-1)")
    assert grid(table_of(site, "reach", "reach_by_site")) == {
        "IST-1": EXPECTED_REACH["site"]["IST-1"],
        "total": EXPECTED_REACH["site"]["IST-1"],
    }
    assert grid(table_of(site, "cases", "cases_by_site"))["total"]["closed"] == 2
    assert grid(table_of(site, "callbacks", "callbacks_by_reason"))["total"]["due"] == 1
    assert list(grid(table_of(site, "staffing", "staffing_by_site"))) == ["IST-1", "total"]
    province = make_report(app, province="Gaziantep")
    assert grid(table_of(province, "reach", "reach_by_gender"))["total"] == reach(
        2, 2, 0, 0, 1, {"data": 1, "silent": 1}
    )
    assert grid(table_of(province, "referrals", "referrals_by_kind"))["total"]["declined"] == 1


def test_report_refuses_an_unknown_scope_or_a_bad_period(app: Flask) -> None:
    """An unknown site or province, both at once, or a period ending before it starts."""
    with app.app_context():
        for site, province in (("NOPE", None), (None, "Atlantis"), ("A", "B")):
            with pytest.raises(build.ReportInvalid):
                build.scope_of(db.session, site=site, province=province)
    with pytest.raises(build.ReportInvalid, match="ends before"):
        build.period_of(programme_line.LAST, programme_line.FIRST, "Europe/Istanbul")


def test_report_suppresses_a_small_cell_and_its_giveaway(
    app: Flask, small_line: programme_line.SmallLine
) -> None:
    """At a threshold of 2: the one call offered by a person who declined their gender is
    suppressed; the next smallest count of the column (not identified: 2) is suppressed
    too, or the total (7) would give it away. A zero stays; measures on one call go."""
    report = make_report(app, threshold=2)
    gender = grid(table_of(report, "reach", "reach_by_gender"))
    assert gender["declined"]["offered"] == "[c primary]"
    assert gender["not_identified"]["offered"] == "[c secondary]"
    assert gender["female"]["offered"] == 4
    assert gender["total"]["offered"] == 7
    assert gender["declined"]["abandoned"] == 0
    language = grid(table_of(report, "reach", "reach_by_language"))
    assert language["ar"]["interpreter_minutes"] == "[c primary]"
    assert language["total"]["interpreter_minutes"] == 45.0
    assert report.is_suppressed
    # The line's own staff are not suppressed.
    assert grid(table_of(report, "staffing", "staffing_by_site"))["GAZ-1"]["counsellors"] == 1
    cell = table_of(report, "reach", "reach_by_gender").cell("declined", "offered")
    assert isinstance(cell, Suppressed)


def test_report_of_an_empty_line_has_zeros_and_a_total_row_everywhere(app: Flask) -> None:
    """With nothing in the period every table still has its total row, of zeros and
    empty measures, and nothing is suppressed."""
    report = make_report(app, threshold=5)
    for section in report.sections:
        for table in section.tables:
            totals = [row for row in table.rows if row.is_total]
            assert len(totals) == 1, table.key
            assert all(isinstance(c, Count | Empty) for c in totals[0].cells), table.key
            assert all(c.value == 0 for c in totals[0].cells if isinstance(c, Count)), table.key
    assert not report.is_suppressed


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 11, 15), (dt.date(2026, 11, 1), dt.date(2026, 11, 30))),
        (dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2026, 12, 31))),
        (dt.date(2028, 2, 1), (dt.date(2028, 2, 1), dt.date(2028, 2, 29))),
    ],
)
def test_month_of_gives_the_first_and_last_day(
    day: dt.date, expected: tuple[dt.date, dt.date]
) -> None:
    """The default period is a calendar month."""
    assert build.month_of(day) == expected


def test_period_is_whole_local_days_in_utc() -> None:
    """November in Istanbul (UTC+3) starts at 21:00 UTC on 31 October; a year is the most."""
    period = build.period_of(programme_line.FIRST, programme_line.LAST, "Europe/Istanbul")
    assert period.since == dt.datetime(2026, 10, 31, 21, tzinfo=dt.UTC)
    assert period.until == dt.datetime(2026, 11, 30, 21, tzinfo=dt.UTC)
    with pytest.raises(build.ReportInvalid, match="at most"):
        build.period_of(dt.date(2025, 1, 1), dt.date(2026, 1, 2), "Europe/Istanbul")
