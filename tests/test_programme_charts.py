"""The programme page's chart figures agree with the report's tables, and the charts show
no more than their suppressed tables."""

from __future__ import annotations

from flask import Flask

from helpline.extensions import db
from helpline.reporting.programme import build, pyramid, trend
from helpline.reporting.programme.model import LINE, Column, Count, Table
from helpline.reporting.programme.suppression import RawRow, RawTable, suppress
from helpline.supervisor import programme_charts
from tests import programme_line
from tests.factories import Factory
from tests.test_programme_report import make_report

ZONE = "Europe/Istanbul"


def test_trend_month_is_reach_total(app: Flask, factory: Factory) -> None:
    """November's row of the trend is Reach's total row (offered, answered, people); the
    months before it are empty and the table ends with November."""
    programme_line.build(factory)
    reach = make_report(app).section("reach").table("reach_by_site")
    with app.app_context():
        months = trend.months_before(programme_line.LAST, ZONE)
        table = trend.monthly_calls(db.session, months, LINE, 1)
    assert [r.key for r in table.rows[-3:-1]] == ["2026-10", "2026-11"]
    november = table.rows[-2]
    assert november.cells == tuple(reach.total(c) for c in ("offered", "answered", "people"))
    assert table.rows[0].key == "2025-12"
    assert table.rows[0].cells == (Count(0), Count(0), Count(0))


def test_pyramid_adds_up_to_reach_by_age_and_by_gender(app: Flask, factory: Factory) -> None:
    """Each age group's row total is Reach's people of that age group, and each gender's
    column total Reach's people of that gender, over the identified people."""
    programme_line.build(factory)
    report = make_report(app)
    by_age = report.section("reach").table("reach_by_age_group")
    by_gender = report.section("reach").table("reach_by_gender")
    with app.app_context():
        period = build.period_of(programme_line.FIRST, programme_line.LAST, ZONE)
        table = pyramid.people_by_age_and_gender(db.session, period, LINE, 1)
    identified = 0
    for row in table.rows:
        if row.is_total:
            continue
        found = [r for r in by_age.rows if r.key == row.key and not r.is_total]
        expected = found[0].cells[by_age.column("people")] if found else Count(0)
        assert row.cells[table.column("people")] == expected, row.key
        identified += expected.value if isinstance(expected, Count) else 0
    for gender in pyramid.GENDERS:
        found = [r for r in by_gender.rows if r.key == gender]
        expected = found[0].cells[by_gender.column("people")] if found else Count(0)
        assert table.total(gender) == expected, gender
    assert table.total("people") == Count(identified)
    assert identified > 0


def _small() -> Table:
    rows = (RawRow("60_plus", "60 and over", (12, 3)), RawRow("0_11", "0-11", (20, 30)))
    total = RawRow("", "Total", (32, 33), is_total=True)
    columns = (Column("female", "Female"), Column("male", "Male"))
    return suppress(RawTable("p", "P", "Age group", columns, (*rows, total)), 5)


def test_charts_draw_no_bar_for_a_suppressed_cell() -> None:
    """A suppressed count is drawn as the mark with a bar of no length; the oldest group
    is drawn on top; numbers are left to right whatever the page's direction."""
    svg = str(
        programme_charts.pyramid(
            "People", _small(), "female", "male", ("Women", "Men"), pyramid.DRAWN
        )
    )
    assert 'direction="ltr"' in svg
    assert "[c]" in svg
    assert ">3<" not in svg
    assert svg.index("60 and over") < svg.index("0-11")
    assert 'width="0.0"' in svg
