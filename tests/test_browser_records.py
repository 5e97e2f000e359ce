"""The contact record in a real browser: filled by keyboard, saved by itself, finalised."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import ContactRecord, utcnow
from tests.browser import browser_app, chromium_page, require_chromium
from tests.factories import PASSWORD, Factory

NOTE = "Worried about her son's school registration; feels alone since moving to Konya"


@pytest.mark.browser
def test_counsellor_fills_a_record_by_keyboard_and_finalises(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Keyboard only: choose the call type, tick categories, write the summary, pick the
    risk, refer to an SSC; the draft saves itself; finalising shows version 1."""
    require_chromium()
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            counsellor = factory.staff("ayse", roles=("counsellor",), languages=("ar", "tr"))
            counsellor.ui_language = "en"
            session.commit()
            caller = factory.caller("0532 111 22 33", language="ar")
            call = factory.call(caller, counsellor_id=counsellor.id, language="ar",
                                answered_at=utcnow() - dt.timedelta(minutes=5))  # fmt: skip
            call_id = call.id
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/console/calls/{call_id}/record")
            # The login page focuses the username box; wait for it before typing.
            expect(page.locator("#username")).to_be_focused()
            page.keyboard.type("ayse")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/console/calls/{call_id}/record")
            assert page.get_by_role("heading", name="Contact record").is_visible()

            # Type of call: a radio group; Space checks the focused radio.
            page.locator("#call_type-data").focus()
            page.keyboard.press("Space")
            expect(page.locator("#call_type-data")).to_be_checked()
            # Non-data types hide the rest; Arrow keys move within the radio group.
            page.keyboard.press("ArrowRight")
            expect(page.locator("#data-fields")).to_be_hidden()
            page.keyboard.press("ArrowLeft")
            expect(page.locator("#data-fields")).to_be_visible()

            # Categories: Tab out of the radio group lands on the first group's checkbox.
            page.keyboard.press("Tab")
            expect(page.locator("#cat-psychosocial")).to_be_focused()
            page.keyboard.press("Tab")
            expect(page.locator("#cat-psychosocial\\.anxiety")).to_be_focused()
            page.keyboard.press("Space")
            page.locator("#cat-education\\.enrolment").focus()
            page.keyboard.press("Space")

            page.locator("#summary").focus()
            page.keyboard.type(NOTE)

            # Risk level: the group starts at "None"; the arrow moves to "Low".
            page.keyboard.press("Tab")
            expect(page.locator("#risk_level-none")).to_be_focused()
            page.keyboard.press("ArrowRight")
            expect(page.locator("#risk_level-low")).to_be_checked()

            # A referral to an SSC: typing into a closed select picks the matching option.
            page.locator("#referrals-0-kind").focus()
            page.keyboard.type("Social Service")
            expect(page.locator("#referrals-0-kind")).to_have_value("social_service_centre")
            expect(page.locator("#referrals-0-destination")).to_be_hidden()
            page.keyboard.press("Tab")
            expect(page.locator("#referrals-0-province")).to_be_focused()
            page.keyboard.type("Konya")
            expect(page.locator("#referrals-0-province")).to_have_value("Konya")
            page.keyboard.press("Tab")
            expect(page.locator("#referrals-0-centre")).to_be_focused()
            page.keyboard.type("Meram")
            expect(page.locator("#referrals-0-centre")).to_have_value("Meram Sosyal Hizmet Merkezi")

            # The draft saves itself a few seconds after the last change.
            expect(page.locator("#autosave-status")).to_have_text(
                re.compile(r"^Draft saved \d\d:\d\d$"), timeout=15_000
            )
            assert "/console/records/" in page.url, "the address is now the record's"

            page.get_by_role("button", name="Finalise").focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/console/records/*")
            expect(page.get_by_text("Record finalised: version 1.")).to_be_visible()
            versions = page.get_by_role("table").filter(has_text="Saved by")
            expect(versions.get_by_role("cell", name="Version 1")).to_be_visible()

        with app.app_context():
            session = Session(db.engine)
            record = session.scalars(sa.select(ContactRecord)).one()
            assert (record.status, record.version, record.summary_encrypted) == (
                "final", 1, NOTE,
            )  # fmt: skip
            assert record.categories == ["education.enrolment", "psychosocial.anxiety"]
            assert record.risk_level == "low"
            assert [(r.province, r.destination) for r in record.referrals] == [
                ("Konya", "Meram Sosyal Hizmet Merkezi")
            ]
            session.close()
