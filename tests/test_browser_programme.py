"""The programme officer in a real browser: opens the programme report for a month,
sees the suppressed-cell legend, downloads the workbook, which opens with a sheet per
section."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import AuditEntry
from tests import programme_line
from tests.browser import browser_app, chromium_page, log_in_by_keyboard, require_chromium
from tests.factories import PASSWORD, Factory
from tests.test_programme_files import SHEETS


@pytest.mark.browser
def test_programme_officer_opens_the_report_and_downloads_the_workbook(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Log in, land on the report, choose November, see the legend and a suppressed cell,
    download the workbook (audited), and read it back with openpyxl."""
    require_chromium()
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            programme_line.build(factory)
            factory.staff("officer", roles=("programme_officer",), languages=())
            session.commit()
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/login")
            log_in_by_keyboard(page, "officer", PASSWORD)
            page.wait_for_url(f"{base}/supervisor/programme")
            expect(page.get_by_role("heading", name="Programme report", exact=True)).to_be_visible()
            page.get_by_label("Month").fill("2026-11")
            page.get_by_role("button", name="Show").click()
            page.wait_for_url(f"{base}/supervisor/programme?month=2026-11**")
            expect(page.locator("#legend")).to_contain_text("a suppressed cell")
            expect(page.locator("#suppression-statement")).to_contain_text(
                "Suppression was applied"
            )
            expect(page.locator("td abbr.suppressed").first).to_have_text("[c]")
            with page.expect_download() as waiting:
                page.get_by_role("link", name="Download the workbook (Excel)").click()
            download = waiting.value
            assert download.suggested_filename == (
                "programme-report-2026-11-01-2026-11-30-line.xlsx"
            )
            target = tmp_path / download.suggested_filename
            download.save_as(target)
        book = openpyxl.load_workbook(target)
        assert book.sheetnames == SHEETS
        with app.app_context():
            formats = db.session.scalars(
                sa.select(AuditEntry.details).where(
                    AuditEntry.action == "programme_report_downloaded"
                )
            ).all()
            assert [d["format"] for d in formats] == ["xlsx"]
