"""The programme report in the console: who may open it, its form's refusals, the tables
with the suppression legend and charts, the audited downloads read back, and the monthly
job that keeps last month's report."""

from __future__ import annotations

import csv
import dataclasses
import io

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpline.config import Settings
from helpline.extensions import db
from helpline.models import ProgrammeReport
from tests import programme_line
from tests.factories import Factory, login
from tests.test_programme_files import SHEETS

NOVEMBER = {"month": "2026-11"}


@pytest.fixture
def small_line(factory: Factory) -> programme_line.SmallLine:
    return programme_line.build(factory)


def signed_in(app: Flask, factory: Factory, role: str) -> FlaskClient:
    factory.staff(f"who.{role}", roles=(role,))
    client = app.test_client()
    login(client, f"who.{role}")
    return client


@pytest.mark.parametrize(
    ("role", "status"),
    [("supervisor", 200), ("programme_officer", 200), ("counsellor", 403), ("admin", 403)],
)
def test_programme_page_opens_for_supervisors_and_programme_officers_only(
    app: Flask, factory: Factory, small_line: programme_line.SmallLine, role: str, status: int
) -> None:
    """`report.programme` is the supervisor's and the programme officer's; others are refused."""
    client = signed_in(app, factory, role)
    page = client.get("/supervisor/programme", query_string=NOVEMBER)
    assert page.status_code == status
    download = client.get("/supervisor/programme/report.csv", query_string=NOVEMBER)
    assert download.status_code == status


def test_programme_officer_sees_nothing_personal(app: Flask, factory: Factory) -> None:
    """The programme officer lands on the report and is refused the call log and exports."""
    client = signed_in(app, factory, "programme_officer")
    assert client.get("/").headers["Location"].endswith("/supervisor/programme")
    for url in ("/supervisor/calls", "/supervisor/", "/supervisor/kpis", "/supervisor/audit"):
        assert client.get(url).status_code == 403, url


def test_programme_page_shows_every_section_the_legend_and_charts(
    app: Flask, factory: Factory, small_line: programme_line.SmallLine
) -> None:
    """A month of a small line: each section's title, suppressed cells marked with the
    legend, the statement that suppression was applied, and three SVG charts."""
    client = signed_in(app, factory, "programme_officer")
    page = client.get("/supervisor/programme", query_string=NOVEMBER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for title in ("Reach", "Needs", "Referrals", "Cases", "Outcomes", "Staffing"):
        assert f">{title}</h2>" in html
    assert 'id="legend"' in html
    assert 'class="suppressed" title="suppressed' in html
    assert "Suppression was applied" in html
    assert html.count("<svg") == 3
    assert "People reached by age group and gender" in html
    assert "2026-11-01" in html
    entries = factory.audit_entries("programme_report_produced")
    assert [e.details["from"] for e in entries] == ["2026-11-01"]


def test_programme_page_defaults_to_last_month(app: Flask, factory: Factory) -> None:
    """Without a period the form fills in last month and the report is made for it."""
    client = signed_in(app, factory, "supervisor")
    page = client.get("/supervisor/programme")
    assert page.status_code == 200
    assert 'name="month" type="month" value="20' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"month": "2026-13"}, "Month: give a month as YYYY-MM."),
        ({"month": "november"}, "Month: give a month as YYYY-MM."),
        ({"from": "2026-11-31"}, "From: give a day as YYYY-MM-DD."),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "the period ends before it starts"),
        ({"month": "2026-11", "site": "NOPE"}, "no site has the code &#39;NOPE&#39;"),
        ({"month": "2026-11", "province": "Atlantis"}, "no site is in the province"),
    ],
)
def test_programme_page_refuses_bad_input_with_a_message(
    app: Flask,
    factory: Factory,
    small_line: programme_line.SmallLine,
    args: dict[str, str],
    message: str,
) -> None:
    """A bad month or day, a reversed range, an unknown site or province: 400 with a
    message, nothing produced, and no download either."""
    client = signed_in(app, factory, "supervisor")
    page = client.get("/supervisor/programme", query_string=args)
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    assert client.get("/supervisor/programme/report.xlsx", query_string=args).status_code == 400
    assert factory.audit_entries("programme_report_produced") == []


def test_programme_downloads_are_audited_and_read_back(
    app: Flask, factory: Factory, small_line: programme_line.SmallLine
) -> None:
    """The workbook has a sheet per section; the CSV its header; each download is audited
    with its format; the file name carries the period and the scope."""
    client = signed_in(app, factory, "programme_officer")
    book_response = client.get(
        "/supervisor/programme/report.xlsx", query_string={**NOVEMBER, "site": "IST-1"}
    )
    assert book_response.status_code == 200
    disposition = book_response.headers["Content-Disposition"]
    assert 'filename="programme-report-2026-11-01-2026-11-30-site-IST-1.xlsx"' in disposition
    book = openpyxl.load_workbook(io.BytesIO(book_response.data))
    assert book.sheetnames == SHEETS
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True)}
    assert cover["Threshold"] == "5"
    text = client.get("/supervisor/programme/report.csv", query_string=NOVEMBER).data
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8"))))
    assert {r["section"] for r in rows} >= {"report", "reach", "staffing"}
    downloaded = factory.audit_entries("programme_report_downloaded")
    assert [(e.details["format"], e.details["scope_code"]) for e in downloaded] == [
        ("xlsx", "IST-1"),
        ("csv", None),
    ]


def test_monthly_job_keeps_one_report_per_month(
    app: Flask, factory: Factory, small_line: programme_line.SmallLine
) -> None:
    """On a day of December the job keeps November's whole-line report; a second run keeps
    the same one; the page lists it and serves its files, audited as kept downloads."""
    from helpline.tasks.reports import keep_last_month_report

    with app.app_context():
        first = keep_last_month_report(programme_line.NOW)
        second = keep_last_month_report(programme_line.NOW)
        assert first == second
        kept = db.session.get(ProgrammeReport, first)
        assert kept is not None
        assert (kept.first_day, kept.last_day, kept.scope_key) == (
            programme_line.FIRST,
            programme_line.LAST,
            "line",
        )
        assert db.session.query(ProgrammeReport).count() == 1
    produced = factory.audit_entries("programme_report_produced")
    assert [e.actor_label for e in produced] == ["monthly programme report"]
    client = signed_in(app, factory, "supervisor")
    page = client.get("/supervisor/programme", query_string=NOVEMBER).get_data(as_text=True)
    assert f"/supervisor/programme/kept/{first}.xlsx" in page
    book = client.get(f"/supervisor/programme/kept/{first}.xlsx")
    assert (
        'filename="programme-report-2026-11-01-2026-11-30-line.xlsx"'
        in (book.headers["Content-Disposition"])
    )
    assert openpyxl.load_workbook(io.BytesIO(book.data)).sheetnames == SHEETS
    assert client.get(f"/supervisor/programme/kept/{first + 1}.csv").status_code == 404
    downloaded = factory.audit_entries("programme_report_downloaded")
    assert [(e.target_id, e.details["format"]) for e in downloaded] == [(str(first), "xlsx")]


def test_programme_page_and_job_use_the_threshold_setting(
    app: Flask, settings: Settings, factory: Factory, small_line: programme_line.SmallLine
) -> None:
    """With PROGRAMME_REPORT_THRESHOLD at 3 the page shows 3 and produces, downloads and
    keeps the report at 3, not at the default 5."""
    from helpline.tasks.reports import keep_last_month_report

    app.extensions["helpline.settings"] = dataclasses.replace(
        settings, programme_report_threshold=3
    )
    client = signed_in(app, factory, "supervisor")
    html = client.get("/supervisor/programme", query_string=NOVEMBER).get_data(as_text=True)
    assert "Suppression threshold: 3. Counts from 1 to 2 are hidden." in html
    assert "counts from 1 to 2 of people and their contacts are hidden" in html
    download = client.get("/supervisor/programme/report.xlsx", query_string=NOVEMBER)
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True)}
    assert cover["Threshold"] == "3"
    with app.app_context():
        kept = db.session.get(ProgrammeReport, keep_last_month_report(programme_line.NOW))
        assert kept is not None
        assert kept.threshold == 3
    produced = factory.audit_entries("programme_report_produced")
    assert [e.details["threshold"] for e in produced] == [3, 3, 3]
