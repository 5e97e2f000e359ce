"""The issue's whole loop in a real browser: a counsellor takes an Arabic call and writes
its record with a referral to an SSC, opens a case from it, records the profile with the
person's consent, adds a plan action (a follow-up call) and a WHO-5 (the Arabic wording,
marked as a draft translation), and sends the referral; the SSC's focal point accepts it
and records the service; the case worker sees both on the case timeline and closes the
case with a reason.

With HELPLINE_SCREENSHOTS=docs/screenshots they also save case.png, case-person.png and
case-arabic.png there (docs/cases.md shows them).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from helpline.extensions import db
from helpline.models import CallbackRequest, Case, Person, Referral, WellbeingMeasure, utcnow
from helpline.records import service as records
from tests.browser import browser_app, chromium_page, log_in_by_keyboard, require_chromium
from tests.case_pages import open_case
from tests.factories import PASSWORD, Factory
from tests.test_browser_console_keyboard import NAME as ACCESSIBLE_NAME

SUMMARY = "Her landlord keeps her residence card; she and her son may lose the flat"
NAME = "Amina Haddad"
CENTRE = "Şahinbey Sosyal Hizmet Merkezi"
SHOTS = os.environ.get("HELPLINE_SCREENSHOTS")
# Where the focused control starts on the page (its top, in page coordinates).
TOP = "() => document.activeElement.getBoundingClientRect().top + window.scrollY"


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def _log_in(page: Page, base: str, username: str, lands: str) -> None:
    page.goto(f"{base}/login")
    log_in_by_keyboard(page, username, PASSWORD)
    page.wait_for_url(f"{base}{lands}")


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def _write_the_record(page: Page, base: str, call_id: int) -> None:
    """The Arabic call's record: counselling, a category, the summary, a referral to the
    Şahinbey SSC; finalised."""
    page.goto(f"{base}/console/calls/{call_id}/record")
    page.locator("#call_type-data").check()
    page.locator("#cat-psychosocial\\.anxiety").check()
    page.locator("#summary").fill(SUMMARY)
    page.locator("#risk_level-medium").check()
    page.locator("#referrals-0-kind").select_option("social_service_centre")
    page.locator("#referrals-0-province").select_option("Gaziantep")
    page.locator("#referrals-0-centre").select_option(CENTRE)
    page.get_by_role("button", name="Finalise").click()
    expect(page.get_by_text("Record finalised: version 1.")).to_be_visible()


def _open_the_case(page: Page) -> str:
    """From the record: a new profile with the person's consent, the shelter need."""
    page.get_by_role("link", name="Open a case or add this contact to a case").click()
    expect(page.get_by_role("heading", name="Open a case")).to_be_visible()
    expect(page.get_by_label("A new person profile for this caller")).to_be_checked()
    page.get_by_label("Yes, the person agrees").check()
    page.get_by_label("Shelter").check()
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator("#case-status")).to_have_text("Open")
    return page.locator("#case-reference").inner_text()


def _record_the_profile(page: Page) -> None:
    page.get_by_role("link", name="Profile").first.click()
    expect(page.locator("#consent-state")).to_contain_text("agreed")
    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_role("textbox", name="Nationality").fill("sy")
    page.get_by_label("Prefers not to say (Gender)").check()
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("The profile is saved.")).to_be_visible()
    _shot(page, "case-person.png")


def _plan_and_wellbeing(page: Page, reference: str) -> None:
    page.get_by_role("link", name=reference).click()
    page.get_by_label("What is to be done").fill("Call her after the SSC visit")
    tomorrow = (utcnow() + dt.timedelta(days=2)).date().isoformat()
    page.get_by_label("Due date").fill(tomorrow)
    page.get_by_label("A call to the person: make a follow-up callback").check()
    page.get_by_label("The person agreed to be called").check()
    page.get_by_role("button", name="Add the action").click()
    expect(page.get_by_text("The action is added to the plan.")).to_be_visible()
    expect(page.get_by_text("Follow-up call", exact=True)).to_be_visible()
    # The WHO-5 in the caller's language, Arabic: a draft translation, and marked so.
    expect(page.locator("#who5-draft")).to_have_text("Draft translation, under review")
    expect(page.locator("form.who5")).to_have_attribute("dir", "rtl")
    for item in range(1, 6):
        page.locator(f"#item{item}-3").check()
    page.get_by_role("button", name="Record the WHO-5").click()
    expect(page.get_by_text("The WHO-5 is recorded.")).to_be_visible()
    expect(page.locator(".wellbeing-chart")).to_be_visible()


def _send_the_referral(page: Page, referral_id: int) -> None:
    page.get_by_role("link", name=re.compile(r"^Record \d+$")).first.click()
    label = f"Referral {referral_id}"
    page.get_by_role("button", name=f"The person agreed that their data be shared: {label}").click()
    page.get_by_role("button", name=f"Send: {label}").click()
    expect(page.locator("main")).to_contain_text("Sent")


def _focal_point_acts(page: Page, base: str, referral_id: int) -> None:
    _log_in(page, base, "focal", "/referrals/")
    page.get_by_role("link", name=f"Referral {referral_id}").click()
    page.get_by_role("button", name=f"Accept: Referral {referral_id}").click()
    expect(page.locator("h1")).to_contain_text("Accepted")
    page.locator(f"#what-{referral_id}").fill("Legal aid appointment for the residence card")
    page.get_by_role("button", name=f"Record the service provided: Referral {referral_id}").click()
    expect(page.locator("h1")).to_contain_text("Service provided")
    # The focal point sees no case page at all.
    assert page.request.get(f"{base}/console/cases/NONE").status == 403
    _log_out(page)


@pytest.mark.browser
def test_case_loop_from_an_arabic_call_to_closing(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The issue's loop, end to end, in chromium; the stored case, profile, plan, measure
    and referral say the same as the pages."""
    require_chromium()
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            centre = factory.site("GAZ-SHB", "Gaziantep")
            worker = factory.staff("ayse", roles=("counsellor",), languages=("ar",), site=centre)
            factory.staff("focal", roles=("ssc_focal_point",), languages=(), site=centre)
            caller = factory.caller("0532 111 22 33", language="ar")
            call = factory.call(caller, counsellor_id=worker.id, language="ar",
                                answered_at=utcnow() - dt.timedelta(minutes=5))  # fmt: skip
            call_id = call.id
            session.close()
        with chromium_page(app, port) as (page, base):
            _log_in(page, base, "ayse", "/console/")
            _write_the_record(page, base, call_id)
            with app.app_context():
                referral_id = db.session.scalars(sa.select(Referral.id)).one()
            reference = _open_the_case(page)
            _record_the_profile(page)
            _plan_and_wellbeing(page, reference)
            _send_the_referral(page, referral_id)
            _log_out(page)

            _focal_point_acts(page, base, referral_id)

            _log_in(page, base, "ayse", "/console/")
            expect(page.get_by_role("heading", name="My cases")).to_be_visible()
            page.get_by_role("link", name=reference).click()
            timeline = page.locator("#timeline")
            expect(timeline).to_contain_text(f"Referral {referral_id}: Service provided")
            expect(timeline).to_contain_text(f"Referral {referral_id}: Accepted")
            expect(timeline).to_contain_text("WHO-5 (Intake): 15/25, 60%")
            _shot(page, "case.png")
            page.get_by_label("Change the status to").select_option("closed")
            page.get_by_role("button", name="Change the status").click()
            expect(page.get_by_text("Closing a case needs a reason.").first).to_be_visible()
            page.get_by_label("Change the status to").select_option("closed")
            page.get_by_label("Closure reason (when closing)").select_option("referred_on")
            page.get_by_role("button", name="Change the status").click()
            expect(page.locator("#case-status")).to_have_text("Closed: Referred on")

        with app.app_context():
            case = db.session.scalars(sa.select(Case)).one()
            assert (case.reference, case.status, case.closure_reason) == (
                reference, "closed", "referred_on",
            )  # fmt: skip
            person = db.session.get(Person, case.person_id)
            assert person is not None
            assert (person.name_encrypted, person.nationality) == (NAME, "SY")
            assert person.declined == ["gender"]
            referral = db.session.get(Referral, referral_id)
            assert referral is not None
            assert referral.status == "service_provided"
            callback = db.session.scalars(sa.select(CallbackRequest)).one()
            assert (callback.reason, callback.language, callback.status) == (
                "follow_up", "ar", "cancelled",
            )  # fmt: skip
            measure = db.session.scalars(sa.select(WellbeingMeasure)).one()
            assert (measure.language, measure.raw_score) == ("ar", 15)


@pytest.mark.browser
def test_case_page_in_arabic_by_keyboard(database_url: str, redis_url: str, tmp_path: Path) -> None:
    """The case page in Arabic, right to left: the first Tab reaches the skip link, which
    jumps to the content; Tab then reaches every control in reading order, each with a
    name and a focus ring; nothing scrolls sideways at 1280x720; and a WHO-5 is recorded
    by keyboard alone (Space ticks an answer, Enter submits)."""
    require_chromium()
    with browser_app(database_url, redis_url, tmp_path / "i") as (app, port):
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            centre = factory.site("GAZ-SHB", "Gaziantep")
            worker = factory.staff(
                "ayse", roles=("counsellor",), languages=("ar",), site=centre, ui_language="ar"
            )
            caller = factory.caller("0532 111 22 33", language="ar")
            call = factory.call(caller, counsellor_id=worker.id, language="ar",
                                answered_at=utcnow() - dt.timedelta(minutes=5))  # fmt: skip
            record = records.create_draft(session, by=worker, now=utcnow(), call=call)
            opened = open_case(session, record.id, worker)
            session.commit()
            session.close()
        with chromium_page(app, port) as (page, base):
            _log_in(page, base, "ayse", "/console/")
            page.goto(f"{base}/console/cases/{opened.reference}")
            expect(page.locator("html")).to_have_attribute("dir", "rtl")
            page.keyboard.press("Tab")
            expect(page.locator("a.skip")).to_be_focused()
            page.keyboard.press("Enter")
            assert page.url.endswith("#main")
            names: list[str] = []
            tops: list[float] = []
            for _ in range(200):  # from the content's start to its end, once
                page.keyboard.press("Tab")
                if not page.evaluate("() => !!document.activeElement.closest('main')"):
                    break
                name = page.evaluate(ACCESSIBLE_NAME)
                assert name, "a control without a name"
                outline = page.evaluate(
                    "() => getComputedStyle(document.activeElement).outlineStyle"
                )
                assert outline != "none", f"no focus ring on {name}"
                names.append(name)
                tops.append(page.evaluate(TOP))
            for control in ("أضف الملاحظة", "سجّل WHO-5", "غيّر الحالة", "أضف الإجراء"):
                assert any(control in name for name in names), (control, names)
            # Reading order: never back up the page (controls on one line may differ by
            # a few pixels).
            previous = [0.0, *tops]
            back = [name for name, top, before in zip(names, tops, previous[:-1], strict=True)
                    if top < before - 20]  # fmt: skip
            assert back == [], "Tab jumps back up the page"
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 1280
            expect(page.locator("#who5-draft")).to_have_text("ترجمة مسودة، قيد المراجعة")

            for item in range(1, 6):
                page.locator(f"#item{item}-4").focus()
                page.keyboard.press("Space")
            page.get_by_role("button", name="سجّل WHO-5").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_text("سُجّل WHO-5.")).to_be_visible()
            _shot(page, "case-arabic.png")
        with app.app_context():
            measure = db.session.scalars(sa.select(WellbeingMeasure)).one()
            assert (measure.raw_score, measure.percentage, measure.language) == (20, 80, "ar")
