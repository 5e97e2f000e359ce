"""My callbacks and follow-ups in Debian's chromium, by keyboard at 1280x720: a counsellor
opens the page from the menu, reschedules one follow-up and records the outcome of
another.

With HELPLINE_SCREENSHOTS=docs/screenshots it also saves docs/screenshots/my-callbacks.png
(docs/console.md lists the screenshots).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import AuditEntry, CallbackRequest, utcnow
from helpline.models.enums import CallbackReason
from tests.browser import browser_app, chromium_page, log_in_by_keyboard
from tests.factories import PASSWORD, Factory

SHOTS = os.environ.get("HELPLINE_SCREENSHOTS")
ISTANBUL = ZoneInfo("Europe/Istanbul")


def _follow_ups(factory: Factory) -> tuple[int, int]:
    """Two follow-ups Ayşe booked from her records, due tomorrow."""
    ayse = factory.staff("ayse", languages=("ar", "tr"))
    ids = []
    for number in ("+905321110011", "+905321110022"):
        caller = factory.caller(number, language="ar")
        call = factory.call(caller, counsellor_id=ayse.id, language="ar", topic="migration")
        record = factory.contact_record(call, ayse, ["a note the page never shows"])
        callback = factory.callback(call)
        callback.reason = CallbackReason.FOLLOW_UP.value
        callback.contact_record_id = record.id
        callback.preferred_staff_id = ayse.id
        callback.topic = call.topic
        callback.next_attempt_at = utcnow() + dt.timedelta(days=1)
        factory.session.commit()
        ids.append(callback.id)
    return ids[0], ids[1]


def _tab_to(page: Page, element_id: str) -> None:
    """Press Tab until the element has the focus (a date field's calendar button is a
    stop of its own in chromium)."""
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def _press(page: Page, name: str) -> None:
    """Give the named button the focus and press Enter, as a keyboard user does."""
    button = page.get_by_role("button", name=name)
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")


@pytest.mark.browser
def test_browser_my_callbacks_reschedule_and_record_outcome_by_keyboard(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """From the menu to the page; a new date and time typed into one follow-up's form
    move it (the line's time zone); choosing "reached another way" for the other closes
    it; the page never scrolls sideways and shows no note."""
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            first, second = _follow_ups(Factory(session))
            session.close()
        when = (
            (utcnow() + dt.timedelta(days=2))
            .astimezone(ISTANBUL)
            .replace(hour=10, minute=30, second=0, microsecond=0)
        )
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/login")
            log_in_by_keyboard(page, "ayse", PASSWORD)
            page.wait_for_url(f"{base}/console/")
            menu = page.get_by_role("navigation", name="Main")
            link = menu.get_by_role("link", name="My callbacks")
            link.focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/console/callbacks/")
            expect(page.get_by_role("heading", name=f"Callback {first}: Follow-up")).to_be_visible()
            assert "a note the page never shows" not in page.content()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / "my-callbacks.png"), full_page=True)

            # Reschedule the first: type the date and the time (en-US fields: month, day,
            # year; hour, minute, AM/PM), then the button.
            date = page.locator(f"#date-{first}")
            date.focus()
            page.keyboard.type(when.strftime("%m%d%Y"))
            _tab_to(page, f"time-{first}")
            page.keyboard.type("1030AM")
            expect(date).to_have_value(when.strftime("%Y-%m-%d"))
            expect(page.locator(f"#time-{first}")).to_have_value("10:30")
            _tab_to(page, f"reschedule-{first}")
            page.keyboard.press("Enter")
            local = when.strftime("%Y-%m-%d %H:%M")
            expect(page.get_by_text(f"The callback is now due at {local}.")).to_be_visible()

            # Record the second's outcome: choose from the list by keyboard.
            outcome = page.locator(f"#outcome-{second}")
            outcome.focus()
            page.keyboard.press("ArrowDown")
            expect(outcome).to_have_value("connected")
            _press(page, f"Record outcome: Callback {second}")
            expect(
                page.get_by_text("Outcome recorded: Reached the caller another way.")
            ).to_be_visible()
            expect(
                page.get_by_role("heading", name=re.compile(f"^Callback {second}:"))
            ).to_have_count(0)
            expect(page.get_by_role("heading", name=f"Callback {first}: Follow-up")).to_be_visible()
        with app.app_context():
            moved = db.session.get(CallbackRequest, first)
            closed = db.session.get(CallbackRequest, second)
            assert moved is not None
            assert closed is not None
            assert moved.next_attempt_at == when.astimezone(dt.UTC)
            assert (closed.status, closed.outcome) == ("completed", "connected")
            actions = db.session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.target_type == "callback_request")
            ).all()
            assert sorted(actions) == ["callback_outcome_recorded", "callback_rescheduled"]
