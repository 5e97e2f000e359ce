"""The programme report's texts in Turkish and Arabic: every label of a report has a
translation, and the page reads right to left in Arabic with its numbers left to right."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale

from helpline.reporting.programme import labels
from helpline.reporting.programme.model import Report
from helpline.supervisor.programme_texts import translate
from tests import programme_line
from tests.factories import Factory, login
from tests.test_programme_report import make_report


def texts(report: Report) -> set[str]:
    """Every English text the page shows of a report, data (codes, names) left out."""
    found = {report.scope.label}
    labelled = set(labels.VALUES.values()) | {"Total"}
    for section in report.sections:
        found.add(section.title)
        for table in section.tables:
            found |= {table.title, table.dimension, *(c.label for c in table.columns)}
            found |= {table.note} - {""}
            found |= {row.label for row in table.rows if row.label in labelled}
    return found


@pytest.mark.parametrize("language", ["tr", "ar"])
def test_programme_texts_are_all_translated(app: Flask, factory: Factory, language: str) -> None:
    """Each section, table, dimension, column, note and labelled row has a translation
    (only the age groups, which are numbers, read the same)."""
    programme_line.build(factory)
    report = make_report(app, threshold=5)
    with app.test_request_context(), force_locale(language):
        same = sorted(t for t in texts(report) if translate(t) == t and not t[0].isdigit())
        reach = translate("Reach by gender")
    assert same == []
    assert reach != "Reach by gender"


def test_programme_page_in_arabic_reads_right_to_left(app: Flask, factory: Factory) -> None:
    """An Arabic reader gets the page right to left, translated, its numbers left to right."""
    programme_line.build(factory)
    factory.staff("officer.ar", roles=("programme_officer",), ui_language="ar")
    client = app.test_client()
    login(client, "officer.ar")
    html = client.get("/supervisor/programme", query_string={"month": "2026-11"}).get_data(
        as_text=True
    )
    assert 'dir="rtl"' in html
    assert "<h1>تقرير البرنامج</h1>" in html
    assert "الخط بأكمله" in html
    assert '<td class="num"><span dir="ltr">' in html
    assert 'direction="ltr"' in html  # the charts
