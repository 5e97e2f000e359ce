"""The SSC focal point in a real browser, by keyboard: sees the referral sent to the
centre, reveals the number, accepts it and records the service provided."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import AuditEntry, Referral, utcnow
from helpline.referrals import service
from tests.browser import browser_app, chromium_page, log_in_by_keyboard, require_chromium
from tests.factories import PASSWORD, Factory

NUMBER = "+905321112233"
SUMMARY = "Afraid of her landlord, who keeps her passport"


@pytest.mark.browser
def test_focal_point_reveals_accepts_and_records_the_service_by_keyboard(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Keyboard only: log in, the list shows the referral (never the record's summary),
    open it, reveal the number (audited), accept, and record the service provided."""
    require_chromium()
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            centre = factory.site("GAZ-SHB", "Gaziantep")
            owner = factory.staff("owner", password=None)
            factory.staff("focal", roles=("ssc_focal_point",), languages=(), site=centre)
            caller = factory.caller(NUMBER, language="ar")
            call = factory.call(caller, counsellor_id=owner.id, answered_at=utcnow())
            record = factory.contact_record(call, owner, [SUMMARY])
            referral = factory.referral(record)
            catalog = app.extensions["helpline.catalog"]
            consent = service.Consent("afternoons", "ar")
            service.record_consent(
                session, referral, consent, by=owner, now=utcnow(), catalog=catalog
            )
            service.send(session, referral, by=owner, now=utcnow(), catalog=catalog)
            session.commit()
            referral_id = referral.id
            session.close()
        with chromium_page(app, port) as (page, base):
            page.goto(f"{base}/login")
            log_in_by_keyboard(page, "focal", PASSWORD)
            page.wait_for_url(f"{base}/referrals/")
            expect(page.get_by_role("heading", name="Referrals to my centre")).to_be_visible()
            expect(page.locator("main")).to_contain_text("Afternoons")
            expect(page.locator("main")).not_to_contain_text(SUMMARY)

            link = page.get_by_role("link", name=f"Referral {referral_id}")
            link.focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/referrals/{referral_id}")
            expect(page.locator("#person-number")).not_to_contain_text(NUMBER)

            page.get_by_role("button", name="Reveal number").focus()
            page.keyboard.press("Enter")
            expect(page.locator("#person-number")).to_have_text(NUMBER)

            page.get_by_role("button", name=f"Accept: Referral {referral_id}").focus()
            page.keyboard.press("Enter")
            expect(page.locator("h1")).to_contain_text("Accepted")

            page.locator(f"#what-{referral_id}").focus()
            page.keyboard.type("Home visit; rent support application taken")
            page.keyboard.press("Tab")
            expect(page.locator(f"#service-note-{referral_id}")).to_be_focused()
            page.keyboard.type("Will call again next week")
            page.keyboard.press("Tab")
            expect(
                page.get_by_role(
                    "button", name=f"Record the service provided: Referral {referral_id}"
                )
            ).to_be_focused()
            page.keyboard.press("Enter")
            expect(page.locator("h1")).to_contain_text("Service provided")
            expect(page.locator("main")).to_contain_text("Home visit")

        with app.app_context():
            stored = db.session.get(Referral, referral_id)
            assert stored is not None
            assert stored.status == "service_provided"
            assert stored.service_on == utcnow().date()
            revealed = db.session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "number_revealed")
            ).all()
            assert [entry.details for entry in revealed] == [{"referral_id": referral_id}]
