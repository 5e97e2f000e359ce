"""The supervisor console in Debian's chromium: wallboard, call detail, KPIs, export and
retention preview (the call-log search is in test_browser_console.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy.orm import Session

from helpline.models import utcnow
from helpline.models.enums import CallOutcome
from tests.browser import browser_app, chromium_page, log_in_by_keyboard
from tests.factories import PASSWORD, Factory

WAIT_MS = 20_000  # the wallboard asks every 5 s; a loaded machine may take longer


class Console:
    """The app served over HTTP, a factory on its database, and a logged-in page."""

    def __init__(self, app: Flask, factory: Factory, page: Page, base: str) -> None:
        self.app, self.factory, self.page, self.base = app, factory, page, base

    def log_in(self, username: str) -> None:
        self.page.goto(f"{self.base}/login")
        log_in_by_keyboard(self.page, username, PASSWORD)
        self.page.wait_for_url(f"{self.base}/supervisor/")


@pytest.fixture
def console(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Console]:
    from helpline.extensions import db

    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port), app.app_context():
        session = Session(db.engine)
        factory = Factory(session)
        factory.staff("elif", roles=("supervisor",))
        with chromium_page(app, port, height=800) as (page, base):
            page.set_default_timeout(WAIT_MS)
            expect.set_options(timeout=WAIT_MS)
            try:
                yield Console(app, factory, page, base)
            finally:
                expect.set_options(timeout=5_000)  # Playwright's default, for other tests
        session.close()


@pytest.mark.browser
def test_browser_wallboard_updates_live(console: Console) -> None:
    """The board shows who waits and how staff stand, then follows a change without a
    reload: a counsellor becoming available and a second caller starting to wait."""
    from helpline.extensions import db, get_redis
    from helpline.routing import presence

    factory, page = console.factory, console.page
    counsellor = factory.staff("ayse", languages=("ar",), password=None)
    now = utcnow()
    factory.call(language="ar", queued_at=now - dt.timedelta(seconds=75))
    console.log_in("elif")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Wallboard").click()
    page.wait_for_url(f"{console.base}/supervisor/wallboard")
    arabic = page.locator('table.wallboard tr[data-language="ar"]')
    expect(arabic.locator('[data-field="waiting"]')).to_have_text("1")
    expect(arabic.locator('[data-field="longest_wait"]')).to_contain_text("1 min")
    expect(arabic.locator('[data-field="counsellors.available"]')).to_have_text("0")
    with console.app.app_context():
        presence.set_state(get_redis(), db.session, counsellor.id, "available")
        db.session.commit()
    factory.call(language="ar", queued_at=utcnow())
    expect(arabic.locator('[data-field="counsellors.available"]')).to_have_text("1")
    expect(arabic.locator('[data-field="waiting"]')).to_have_text("2")
    expect(page.locator('.lead [data-field="waiting"]')).to_have_text("2")


@pytest.mark.browser
def test_browser_call_detail_shows_timeline_record_and_flow(console: Console) -> None:
    """From the call log to a call: its timeline, its contact record, and a link to the
    diagram of the flow version it used."""
    factory, page = console.factory, console.page
    counsellor = factory.staff("cansu", password=None)
    flow = next(iter(console.app.extensions["helpline.flows"].catalog.flows.values()))
    call = factory.call(
        language="tr",
        started_at=utcnow() - dt.timedelta(minutes=10),
        counsellor_id=counsellor.id,
        flow_id=flow.id,
        flow_version=flow.version,
        outcome=CallOutcome.ANSWERED,
    )
    factory.events(
        call,
        ("call_started", "twilio", {"direction": "inbound", "withheld": False}),
        ("ended", "twilio", {"outcome": "answered"}),
    )
    factory.contact_record(call, counsellor, ["Caller asked about a centre"])
    console.log_in("elif")
    page.goto(f"{console.base}/supervisor/calls")
    page.get_by_role("link", name=f"Call {call.id}", exact=True).click()
    page.wait_for_url(f"{console.base}/supervisor/calls/{call.id}")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text("Caller asked about a centre").first).to_be_visible()
    page.get_by_role("link", name=flow.version).click()
    page.wait_for_url(f"**/supervisor/flows/{flow.id}?version=*")
    diagram = page.get_by_role("img", name=f"Diagram of the flow {flow.title}")
    expect(diagram).to_be_visible()
    assert diagram.evaluate("image => image.naturalWidth") > 0


@pytest.mark.browser
def test_browser_kpis_show_figures_definitions_and_charts(console: Console) -> None:
    """The KPI page for a period: figures beside their definitions, and the charts drawn
    as inline SVG."""
    factory, page = console.factory, console.page
    start = utcnow() - dt.timedelta(hours=2)
    factory.calls(
        [
            {
                "language": "ar", "started_at": start, "queued_at": start,
                "answered_at": start + dt.timedelta(seconds=12),
                "ended_at": start + dt.timedelta(seconds=300),
                "outcome": CallOutcome.ANSWERED,
            },
            {
                "language": "tr", "started_at": start, "queued_at": start,
                "ended_at": start + dt.timedelta(seconds=40),
                "outcome": CallOutcome.ABANDONED_QUEUE,
            },
        ]
    )  # fmt: skip
    console.log_in("elif")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Performance").click()
    page.get_by_role("button", name="Show").click()

    def figure(label: str) -> Locator:
        header = page.get_by_role("rowheader", name=label, exact=True)
        return page.locator("table.figures tr").filter(has=header).first.get_by_role("cell")

    expect(figure("Offered").first).to_have_text("2")
    expect(figure("Answered").first).to_have_text("1")
    expect(figure("Service level").last).to_contain_text("answered within 20 s")
    charts = page.locator("svg.chart")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3


@pytest.mark.browser
def test_browser_export_shows_progress_and_downloads(console: Console) -> None:
    """Export from the call log: the page tells the count, a bar follows the rows as they
    stream, and the CSV is saved with every call in it."""
    factory, page = console.factory, console.page
    start = utcnow() - dt.timedelta(hours=3)
    factory.calls(
        [{"language": "fa", "started_at": start + dt.timedelta(seconds=n)} for n in range(2500)]
    )
    console.log_in("elif")
    page.goto(f"{console.base}/supervisor/calls?language=fa")
    page.get_by_role("link", name="Export").first.click()
    expect(page.get_by_text("This search gives")).to_contain_text("2500")
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download CSV").click()
    download = waiting.value
    expect(page.get_by_role("status")).to_contain_text("Done: 2,500 calls exported")
    expect(page.get_by_label("Export progress")).to_have_attribute("value", "2500")
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2501
    assert lines[0].startswith("call_id,")


@pytest.mark.browser
def test_browser_retention_preview_and_purge(console: Console) -> None:
    """The retention page previews what a purge would destroy without destroying it;
    "Purge now" queues the job and says so."""
    factory, page = console.factory, console.page
    caller = factory.caller("+905321117766")
    caller.last_seen_at = utcnow() - dt.timedelta(days=400)
    factory.session.commit()
    console.log_in("elif")
    page.get_by_role("link", name="Retention").click()
    page.wait_for_url(f"{console.base}/supervisor/retention")
    numbers = page.get_by_role("row", name="Caller phone numbers")
    expect(numbers.get_by_role("cell").last).to_have_text("1")
    expect(page.get_by_text("No purge has run yet.")).to_be_visible()
    page.reload()
    expect(numbers.get_by_role("cell").last).to_have_text("1")  # a preview destroys nothing
    page.get_by_role("button", name="Purge now").click()
    expect(page.get_by_text("The purge is queued")).to_be_visible()
