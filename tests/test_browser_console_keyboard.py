"""The console by keyboard at 1280x720, in Debian's chromium: every control of the live
panel is reached with Tab, has a name, and the page never scrolls sideways (left to
right, and right to left in Arabic)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import utcnow
from helpline.routing.reservation import CALL_KEY, KEY
from tests.browser import browser_app, chromium_page, log_in_by_keyboard, require_chromium
from tests.factories import PASSWORD, Factory

# What Tab must reach in the panel of a connected Arabic call, by accessible name.
CONTROLS = {
    "en": [
        "Available",
        "On a break",
        "Offline",
        "Reveal number",
        "Contact history",
        "Hold",
        "Add an interpreter",
        "Transfer to a colleague speaking",
        "Transfer",
        "Ask the duty supervisor",
        "End the call",
        "Write the contact record",
    ],
    "ar": ["متاح", "إظهار الرقم", "تعليق", "إضافة مترجم", "تحويل", "إنهاء المكالمة"],
}
# The accessible name of the focused element, as a screen reader would announce it.
NAME = """() => {
  const el = document.activeElement;
  if (!el) return "";
  if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
  return (el.getAttribute("aria-label") || el.textContent || "").trim();
}"""


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ar"])
def test_browser_console_panel_by_keyboard(
    database_url: str, redis_url: str, tmp_path: Path, language: str
) -> None:
    """Tab from the top of the page reaches every presence button and call action, each
    with a visible name and a focus ring; nothing overflows 1280 pixels."""
    require_chromium()
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port), _flushed(redis_url):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            counsellor = factory.staff("ayse", languages=("tr", "ar"), ui_language=language)
            caller = factory.caller("0532 111 22 33", language="ar")
            now = utcnow()
            call = factory.call(caller, counsellor_id=counsellor.id, language="ar",
                                topic="violence", priority=3,
                                queued_at=now - dt.timedelta(minutes=4),
                                answered_at=now - dt.timedelta(minutes=1))  # fmt: skip
            connection = redis.Redis.from_url(redis_url)
            connection.hset(
                KEY.format(counsellor.id),
                mapping={"state": "busy", "since": time.time(), "call": call.id},
            )
            connection.hset(CALL_KEY.format(call.id), mapping={"state": "connected"})
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/login")
            log_in_by_keyboard(page, "ayse", PASSWORD)
            page.wait_for_url(f"{base}/console/")
            reached: list[str] = []
            for _ in range(40):
                page.keyboard.press("Tab")
                inside = page.evaluate(
                    "() => !!document.activeElement.closest('#live-panel')"
                )  # fmt: skip
                if inside:
                    name = page.evaluate(NAME)
                    assert name, "a control without a name"
                    outline = page.evaluate(
                        "() => getComputedStyle(document.activeElement).outlineStyle"
                    )
                    assert outline != "none", f"no focus ring on {name}"
                    reached.append(name)
            for control in CONTROLS[language]:
                assert control in reached, (control, reached)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 1280


@contextlib.contextmanager
def _flushed(redis_url: str) -> Iterator[None]:
    """The live state this test writes to Redis is gone afterwards."""
    try:
        yield
    finally:
        redis.Redis.from_url(redis_url).flushdb()
