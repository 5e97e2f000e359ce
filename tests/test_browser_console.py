"""The console in a real browser: a newcomer logs in and lands on their page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import utcnow
from tests.browser import browser_app, chromium_page, log_in_by_keyboard
from tests.factories import PASSWORD, Factory


@pytest.mark.browser
def test_supervisor_logs_in_and_verifies_the_audit_chain(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Keyboard-only: type the username, tab, the password, enter; then check the chain."""
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            Factory(session).staff("elif", roles=("supervisor",))
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/supervisor/")
            assert page.url.startswith(f"{base}/login")
            log_in_by_keyboard(page, "elif", PASSWORD)
            page.wait_for_url(f"{base}/supervisor/")
            assert page.get_by_role("heading", name="Supervision").is_visible()
            page.get_by_role("button", name="Verify the audit chain").click()
            assert page.get_by_text("The chain is intact").is_visible()
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{base}/login")


@pytest.mark.browser
def test_supervisor_filters_the_call_log_pages_and_opens_a_timeline(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Filter by language, go to the next page, open a call and read its timeline."""
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            factory.staff("elif", roles=("supervisor",))
            start = utcnow() - dt.timedelta(hours=30)
            minute = dt.timedelta(minutes=1)
            calls = factory.calls(
                [{"language": "ar" if n % 3 else "fa", "started_at": start + n * minute}
                 for n in range(36)]
            )  # fmt: skip
            arabic = sorted((c for c in calls if c.language == "ar"), key=lambda c: c.started_at)
            # The newest first: the 11th Arabic call from the end opens the second page.
            opened = arabic[-11]
            factory.events(
                opened,
                ("call_started", "twilio", {"direction": "inbound", "withheld": False}),
                ("language_selected", "ivr", {"language": "ar", "source": "menu"}),
                ("ended", "twilio", {"outcome": "abandoned_ivr"}),
            )
            opened_id = opened.id
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/login")
            log_in_by_keyboard(page, "elif", PASSWORD)
            page.wait_for_url(f"{base}/supervisor/")
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Call log").click()
            page.wait_for_url(f"{base}/supervisor/calls")
            page.get_by_label("Language").select_option("ar")
            page.get_by_label("Rows per page").select_option("10")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url("**/supervisor/calls?*language=ar*")
            links = page.get_by_role("link", name=re.compile(r"^Call \d+$"))
            assert links.count() == 10
            page.get_by_role("link", name="Next page").click()
            page.wait_for_url("**after=*")
            assert links.count() == 10
            assert page.get_by_role("link", name="Previous page").is_visible()
            page.get_by_role("link", name=f"Call {opened_id}", exact=True).click()
            page.wait_for_url(f"{base}/supervisor/calls/{opened_id}")
            assert page.get_by_role("heading", name="Timeline").is_visible()
            timeline = page.locator("table.timeline")
            assert timeline.get_by_role("cell", name="Call started").is_visible()
            assert timeline.get_by_role("cell", name="Language selected").is_visible()
            assert timeline.get_by_role("cell", name="Call ended").is_visible()
