"""The duty supervisor's alerts in Debian's chromium: an alert appears on an open page
without a reload, and is acknowledged by keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from helpline.models import AuditEntry, CallEvent, utcnow
from tests.browser import browser_app, chromium_page, log_in_by_keyboard
from tests.factories import PASSWORD, Factory

WAIT_MS = 20_000  # the page polls every 2 s; a loaded machine may take longer


@pytest.mark.browser
def test_browser_alert_appears_without_reload_and_is_acknowledged_by_keyboard(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A supervisor's open page shows an emergency alert once it is appended (the page is
    not reloaded: a mark set in the page survives), with the call's language, topic and
    what happened, in the aria-live region; Tab reaches its Acknowledge button and Enter
    acknowledges it (audited), after which it is gone."""
    from helpline.extensions import db

    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port), app.app_context():
        session = Session(db.engine)
        factory = Factory(session)
        factory.staff("elif", roles=("supervisor",))
        call = factory.call(language="ps", topic="violence", queued_at=utcnow())
        with chromium_page(app, port) as (page, base):
            page.set_default_timeout(WAIT_MS)
            expect.set_options(timeout=WAIT_MS)
            try:
                page.goto(f"{base}/login")
                log_in_by_keyboard(page, "elif", PASSWORD)
                page.wait_for_url(f"{base}/supervisor/")
                region = page.locator("#duty-alerts")
                expect(region).to_have_attribute("aria-live", "assertive")
                expect(region.locator("li")).to_have_count(0)
                page.evaluate("() => { window.notReloaded = true; }")
                session.add(
                    CallEvent(call_id=call.id, kind="emergency_queued", source="ivr", data={})
                )
                session.commit()
                alert = region.locator("li")
                expect(alert).to_have_count(1)
                expect(alert).to_contain_text("Emergency: the duty line did not answer")
                expect(alert).to_contain_text("Pashto")
                expect(alert).to_contain_text("Violence")
                assert page.evaluate("() => window.notReloaded === true")
                button = alert.get_by_role("button", name="Acknowledge")
                for _ in range(40):
                    page.keyboard.press("Tab")
                    if page.evaluate("() => document.activeElement.textContent.trim()") == (
                        "Acknowledge"
                    ):
                        break
                expect(button).to_be_focused()
                page.keyboard.press("Enter")
                page.wait_for_url(f"{base}/supervisor/")
                expect(page.get_by_text("Alert acknowledged.")).to_be_visible()
                expect(page.locator("#duty-alerts li")).to_have_count(0)
            finally:
                expect.set_options(timeout=5_000)  # Playwright's default, for other tests
        entries = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "alert_acknowledged")
        ).all()
        assert [entry.actor_label for entry in entries] == ["elif"]
        session.close()
