"""The voicemail inbox in Debian's chromium, by keyboard at 1280x720: a counsellor finds
the messages in their languages on their start page, urgent first, and marks one handled.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import AuditEntry, Voicemail, utcnow
from tests.browser import browser_app, chromium_page, log_in_by_keyboard
from tests.factories import PASSWORD, Factory


def _messages(factory: Factory) -> tuple[int, int]:
    """Two Arabic messages for Ayşe: one urgent, one an hour older."""
    factory.staff("ayse", languages=("ar", "tr"))
    ids = []
    for number, urgent, age in (("+905321110031", True, 1), ("+905321110032", False, 2)):
        caller = factory.caller(number, language="ar")
        call = factory.call(caller, language="ar", outcome="voicemail")
        created = utcnow() - dt.timedelta(hours=age)
        ids.append(factory.voicemail(call, "ar", urgent=urgent, created_at=created).id)
    return ids[0], ids[1]


@pytest.mark.browser
def test_browser_voicemail_inbox_mark_handled_by_keyboard(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """On the start page the urgent message comes first, flagged; Tab reaches the older
    message's "Mark handled" button and Enter marks it: the page says so, the row is gone,
    the urgent one stays, and the audit log names who did it."""
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            urgent, older = _messages(Factory(session))
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/login")
            log_in_by_keyboard(page, "ayse", PASSWORD)
            page.wait_for_url(f"{base}/console/")
            section = page.get_by_role("region", name="Voicemail messages")
            expect(section).to_be_visible()
            rows = section.locator("tbody tr")
            expect(rows).to_have_count(2)
            expect(rows.nth(0)).to_have_id(f"voicemail-{urgent}")
            expect(rows.nth(0).get_by_text("Urgent")).to_be_visible()
            expect(page.get_by_label(f"Play message {older}")).to_be_attached()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280

            # From the urgent row's button, Tab moves on to the older message's button.
            first = page.get_by_role("button", name=f"Mark message {urgent} handled")
            first.focus()
            button = page.get_by_role("button", name=f"Mark message {older} handled")
            for _ in range(6):
                page.keyboard.press("Tab")
                if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
                    f"Mark message {older} handled"
                ):
                    break
            expect(button).to_be_focused()
            page.keyboard.press("Enter")
            expect(page.get_by_text(f"Message {older} is marked handled.")).to_be_visible()
            expect(page.locator(f"#voicemail-{older}")).to_have_count(0)
            expect(page.locator(f"#voicemail-{urgent}")).to_have_count(1)
        with app.app_context():
            handled = db.session.get(Voicemail, older)
            assert handled is not None
            assert handled.handled_at is not None
            labels = db.session.scalars(
                sa.select(AuditEntry.actor_label).where(AuditEntry.action == "voicemail_handled")
            ).all()
            assert labels == ["ayse"]
