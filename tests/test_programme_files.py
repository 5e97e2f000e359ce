"""The programme report's files (CSV, Excel read back with openpyxl), its audit, and
`helpline report programme` through click's runner."""

from __future__ import annotations

import csv
import getpass
import io
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from flask import Flask

from helpline.audit import chain as audit
from helpline.cli import main
from helpline.config import Settings
from helpline.extensions import db
from helpline.reporting.programme import build, service
from helpline.reporting.programme.csv_file import HEADER, write_csv
from helpline.reporting.programme.workbook import write_xlsx
from tests import programme_line
from tests.cli_env import use_settings
from tests.factories import Factory
from tests.test_programme_report import make_report

SHEETS = [
    "Cover",
    "Reach",
    "Needs",
    "Referrals",
    "Cases",
    "Outcomes",
    "Callbacks and follow-ups",
    "Staffing",
]


@pytest.fixture
def small_line(factory: Factory) -> programme_line.SmallLine:
    return programme_line.build(factory)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def find(rows: list[dict[str, str]], table: str, row: str, column: str) -> dict[str, str]:
    return next(
        r for r in rows if r["table"] == table and r["row_key"] == row and r["column_key"] == column
    )


def test_csv_has_a_cover_a_section_column_and_marks_suppressed_cells(
    app: Flask, small_line: programme_line.SmallLine
) -> None:
    """One file: the cover rows first, then a row per cell with its section; a suppressed
    cell has no value and says why; numbers are plain."""
    rows = csv_rows(write_csv(make_report(app, threshold=2)))
    assert tuple(rows[0]) == HEADER
    cover = {r["row"]: r["value"] for r in rows if r["section"] == "report"}
    assert cover["Period"] == "2026-11-01 to 2026-11-30"
    assert cover["Scope"] == "The whole line"
    assert cover["Threshold"] == "2"
    assert cover["Suppression"].startswith("applied")
    assert cover["Cells suppressed"] == "yes"
    assert {r["section"] for r in rows} == {
        "report",
        "reach",
        "needs",
        "referrals",
        "cases",
        "outcomes",
        "callbacks",
        "staffing",
    }
    hidden = find(rows, "reach_by_gender", "declined", "offered")
    assert (hidden["value"], hidden["status"]) == ("", "suppressed (primary)")
    giveaway = find(rows, "reach_by_gender", "not_identified", "offered")
    assert giveaway["status"] == "suppressed (secondary)"
    total = find(rows, "reach_by_gender", "total", "offered")
    assert (total["value"], total["unit"], total["status"]) == ("7", "count", "shown")
    # 1 of 2 provided in time: the 1 is hidden, and so is the share that would give it back
    share = find(rows, "referrals_by_kind", "total", "in_time_share")
    assert (share["value"], share["status"]) == ("", "suppressed (secondary)")
    shown = csv_rows(write_csv(make_report(app)))
    share = find(shown, "referrals_by_kind", "total", "in_time_share")
    assert (share["value"], share["unit"]) == ("0.5", "share")


def test_csv_carries_no_free_text_and_no_identifier(
    app: Flask, small_line: programme_line.SmallLine
) -> None:
    """The referral's free-text destination, phone numbers and staff usernames never appear."""
    text = write_csv(make_report(app))
    for secret in ("Free text hospital", "+90532", "0532", "cns1", "int1", "CS-"):
        assert secret not in text


def test_xlsx_has_a_cover_and_a_sheet_per_section(
    app: Flask, small_line: programme_line.SmallLine
) -> None:
    """Read back with openpyxl: the cover states period, scope, threshold and suppression;
    each section's sheet holds its tables with numbers as numbers and [c] where suppressed."""
    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(make_report(app, threshold=2))))
    assert book.sheetnames == SHEETS
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True)}
    assert cover["Period"] == "2026-11-01 to 2026-11-30"
    assert cover["Threshold"] == "2"
    assert str(cover["Suppression"]).startswith("applied")
    reach = list(book["Reach"].iter_rows(values_only=True))
    gender_at = reach.index(("Reach by gender",) + (None,) * (len(reach[0]) - 1))
    header = reach[gender_at + 1]
    assert header[:3] == ("Gender", "Calls offered", "Calls answered")
    body = {row[0]: row for row in reach[gender_at + 2 : gender_at + 6]}
    assert body["Female"][1] == 4
    assert body["Prefers not to say"][1] == "[c]"
    assert body["Total"][1] == 7
    staffing = list(book["Staffing"].iter_rows(values_only=True))
    assert ("Total", 2, 1, 7.0, 1.5) in staffing


def test_producing_and_downloading_are_audited(
    app: Flask, factory: Factory, small_line: programme_line.SmallLine
) -> None:
    """Each names the period, the scope and the threshold (the download its format), never
    a figure."""
    with app.app_context():
        period = build.period_of(programme_line.FIRST, programme_line.LAST, "Europe/Istanbul")
        scope = build.scope_of(db.session, site="IST-1")
        who = audit.Actor("supervisor", small_line.c1.id)
        found = service.produce(
            db.session,
            period,
            scope,
            app.extensions["helpline.catalog"],
            who,
            programme_line.NOW,
            5,
        )
        service.record_download(db.session, found, "xlsx", who)
        db.session.commit()
        with pytest.raises(ValueError, match="format"):
            service.record_download(db.session, found, "pdf", who)
    produced = factory.audit_entries("programme_report_produced")
    downloaded = factory.audit_entries("programme_report_downloaded")
    assert [e.details for e in produced] == [
        {
            "from": "2026-11-01",
            "to": "2026-11-30",
            "scope": "site",
            "scope_code": "IST-1",
            "threshold": 5,
            "suppressed": True,
        }
    ]
    assert downloaded[0].details["format"] == "xlsx"
    assert downloaded[0].actor_id == small_line.c1.id


def test_cli_writes_csv_and_xlsx_and_audits_as_the_operator(
    settings: Settings,
    factory: Factory,
    small_line: programme_line.SmallLine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """`helpline report programme` writes the same report, audited as cli:<user>."""
    use_settings(monkeypatch, settings)
    runner = CliRunner()
    period = ["--from", "2026-11-01", "--to", "2026-11-30"]
    result = runner.invoke(main, ["report", "programme", *period, "--threshold", "1"])
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert find(rows, "reach_by_site", "total", "offered")["value"] == "7"
    target = tmp_path / "november.xlsx"
    result = runner.invoke(
        main,
        [
            "report",
            "programme",
            *period,
            "--site",
            "GAZ-1",
            "--format",
            "xlsx",
            "--output",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(target)
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True)}
    assert cover["Scope"] == "Centre GAZ-1 (GAZ-1)"
    entries = factory.audit_entries("programme_report_downloaded")
    assert [e.details["format"] for e in entries] == ["csv", "xlsx"]
    assert {e.actor_label for e in entries} == {f"cli:{getpass.getuser()}"}
    assert len(factory.audit_entries("programme_report_produced")) == 2


@pytest.mark.parametrize(("arguments", "expected"), [([], 3), (["--threshold", "7"], 7)])
def test_cli_threshold_defaults_to_the_setting(
    settings: Settings,
    factory: Factory,
    small_line: programme_line.SmallLine,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    expected: int,
) -> None:
    """Without --threshold the command uses PROGRAMME_REPORT_THRESHOLD; --threshold wins."""
    use_settings(monkeypatch, settings, PROGRAMME_REPORT_THRESHOLD="3")
    period = ["--from", "2026-11-01", "--to", "2026-11-30"]
    result = CliRunner().invoke(main, ["report", "programme", *period, *arguments])
    assert result.exit_code == 0, result.output
    cover = {r["row"]: r["value"] for r in csv_rows(result.stdout) if r["section"] == "report"}
    assert cover["Threshold"] == str(expected)
    produced = factory.audit_entries("programme_report_produced")
    assert [e.details["threshold"] for e in produced] == [expected]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2026-13-01"], "Invalid value for '--from'"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "ends before"),
        (["--to", "2026-11-30"], "give --from with --to"),
        (["--from", "2026-11-01", "--site", "NOPE"], "no site has the code"),
        (["--from", "2026-11-01", "--threshold", "0"], "Invalid value for '--threshold'"),
    ],
)
def test_cli_refuses_bad_input_with_exit_code_2(
    settings: Settings,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    message: str,
) -> None:
    """A clear message, exit code 2, no traceback, and nothing audited."""
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["report", "programme", *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert factory.audit_entries("programme_report_produced") == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], "2026-11-01 to 2026-11-30"),  # today is in December: last month
        (["--from", "2026-10-15"], "2026-10-15 to 2026-10-31"),  # to the end of its month
    ],
)
def test_cli_default_period(
    settings: Settings,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    expected: str,
) -> None:
    """Without --from, the last whole month; --from alone runs to its month's end."""
    import helpline.models as models

    monkeypatch.setattr(models, "utcnow", lambda: programme_line.NOW)
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["report", "programme", *arguments])
    assert result.exit_code == 0, result.output
    cover = {r["row"]: r["value"] for r in csv_rows(result.stdout) if r["section"] == "report"}
    assert cover["Period"] == expected
