"""The console in a real browser: a newcomer logs in and lands on their page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from helpline import create_app
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, require_chromium, serve
from tests.conftest import _empty_tables, make_settings
from tests.factories import PASSWORD, Factory


@pytest.mark.browser
def test_supervisor_logs_in_and_verifies_the_audit_chain(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Keyboard-only: type the username, tab, the password, enter; then check the chain."""
    require_chromium()
    port = free_port()
    settings = make_settings(database_url, redis_url, tmp_path / "i",
                             PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")  # fmt: skip
    app = create_app(settings)
    try:
        from sqlalchemy.orm import Session

        from helpline.extensions import db

        with app.app_context():
            session = Session(db.engine)
            Factory(session).staff("elif", roles=("supervisor",))
            session.close()
        with serve(app, port) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{base}/supervisor/")
            assert page.url.startswith(f"{base}/login")
            # Autofocus can land after the load event on a busy machine: typed keys are lost.
            expect(page.locator("#username")).to_be_focused()
            page.keyboard.type("elif")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/supervisor/")
            assert page.get_by_role("heading", name="Supervision").is_visible()
            page.get_by_role("button", name="Verify the audit chain").click()
            assert page.get_by_text("The chain is intact").is_visible()
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{base}/login")
            browser.close()
    finally:
        _empty_tables(app)
