"""The console in Debian's chromium against the live line: the telephony sandbox, a real
RQ worker, simulated callers and staff phones (tests/live.py).

A counsellor logs in, goes available, a caller comes through the sandbox, the
counsellor's phone accepts the whisper, the live panel shows the call, the counsellor
ends it, writes the contact record in the wrap-up and schedules a follow-up. An
interpreter added to an Arabic call sees the assignment's language, and none of the
caller's number, history or notes.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect, sync_playwright

from helpline.models import CallbackRequest, ContactRecord
from helpline.telephony.emulator.phones import Behaviour
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, log_in_by_keyboard, require_chromium
from tests.browser import serve as serve_app
from tests.factories import PASSWORD
from tests.live import Line

STAYS = Behaviour("answer", after=3, talk=80_000, keys="1")  # accepts, stays until ended
TURKISH_PSYCHOSOCIAL = "press 1; press 2; press 1"
ARABIC_VIOLENCE = "press 2; press 2; press 3"
CALLER = "+905321110701"
NOTE = "Lost her job in Gaziantep; worried about the rent; her sister helps"
LIVE_WAIT = 60_000  # ms: a bound for failure, not a measure of speed


def _go_available(page: Page) -> None:
    button = page.get_by_role("button", name="Available", exact=True)
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are now: Available.")).to_be_visible()
    expect(page.locator("#presence-now")).to_contain_text("Available")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_counsellor_takes_a_call_and_records_it(line: Line) -> None:
    """Log in, go available, receive a sandbox call, see it on the live panel (language,
    topic, path, masked number), end it, write the record in wrap-up and book a follow-up."""
    require_chromium()
    counsellor = line.factory.staff(
        "zeynep", roles=("counsellor",), languages=("tr",), phone="+905550000701"
    )
    line.sandbox.exchange.set_phone("+905550000701", STAYS)
    port = free_port()
    with serve_app(line.app, port) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{base}/login")
        log_in_by_keyboard(page, "zeynep", PASSWORD)
        page.wait_for_url(f"{base}/console/")
        expect(page.get_by_role("heading", name="Current call")).to_be_visible()
        _go_available(page)

        leg = line.call(CALLER, TURKISH_PSYCHOSOCIAL)
        # The panel updates by itself (live.js polls), with no reload.
        panel = page.locator("#live-panel")
        expect(panel.get_by_role("heading", name="Current call")).to_be_visible(timeout=LIVE_WAIT)
        expect(panel.locator("#presence-now")).to_contain_text("In a call")
        expect(panel.locator("#call-language")).to_have_text("Turkish")
        expect(panel).to_contain_text("Psychosocial support")
        expect(panel.get_by_label("IVR path")).to_be_visible()
        expect(panel.locator("#call-number")).to_have_text("+90 5** *** ** 01")
        expect(panel).not_to_contain_text(CALLER)
        expect(panel.get_by_role("group", name="Call actions")).to_be_visible()

        # End the call by keyboard; the worker ends the room and wrap-up starts.
        page.get_by_role("button", name="End the call").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_text("The call is ending.")).to_be_visible()
        line.when(leg, lambda c: c.ended_at is not None, "the call to end")
        expect(panel.locator("#presence-now")).to_contain_text("Wrap-up", timeout=LIVE_WAIT)
        expect(page.locator("#wrap-up-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))

        page.get_by_role("link", name="Write the contact record").click()
        page.wait_for_url(re.compile(r".*/console/calls/\d+/record$"))
        page.get_by_label("Counselling contact").check()
        page.get_by_label("Anxiety and stress").check()
        page.get_by_label("Summary").fill(NOTE)
        page.get_by_label("Low", exact=True).check()
        page.get_by_label("Date", exact=True).fill("2026-11-24")
        page.get_by_label("Time", exact=True).fill("10:30")
        page.get_by_label("The caller agreed to be called back").check()
        page.get_by_role("button", name="Finalise").click()
        expect(page.get_by_text("Record finalised: version 1.")).to_be_visible()
        expect(page.get_by_text("A follow-up call by you is scheduled")).to_be_visible()
        browser.close()

    session = line.factory.session
    session.expire_all()
    record = session.scalars(sa.select(ContactRecord)).one()
    assert (record.status, record.summary_encrypted) == ("final", NOTE)
    assert record.counsellor_id == counsellor.id
    follow_up = session.scalars(sa.select(CallbackRequest)).one()
    assert (follow_up.reason, follow_up.preferred_staff_id) == ("follow_up", counsellor.id)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_interpreter_sees_the_assignment_and_nothing_more(line: Line) -> None:
    """An interpreter goes available, is added to an Arabic call with a Turkish counsellor,
    and sees its language, topic and counsellor; no number, path, history or record; every
    record and caller page answers 403."""
    require_chromium()
    counsellor = line.on_duty("selin", "+905550000702", STAYS, languages=("tr",),
                              topics=("violence",))  # fmt: skip
    line.factory.staff(
        "omar", roles=("interpreter",), languages=("ar", "tr"), phone="+905550000703"
    )
    line.sandbox.exchange.set_phone("+905550000703", STAYS)
    port = free_port()
    with serve_app(line.app, port) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{base}/login")
        log_in_by_keyboard(page, "omar", PASSWORD)
        page.wait_for_url(f"{base}/console/interpreter")
        _go_available(page)

        leg = line.call("+905321110702", ARABIC_VIOLENCE)
        call = line.when(leg, lambda c: c.interpreter_id is not None, "the interpreter to join")
        panel = page.locator("#live-panel")
        expect(panel.get_by_role("heading", name="Current call")).to_be_visible(timeout=LIVE_WAIT)
        expect(panel.locator("#call-language")).to_have_text("Arabic")
        expect(panel).to_contain_text("Violence")
        expect(panel).to_contain_text("Test Person")  # the counsellor's name
        shown = page.content()
        assert "+90 5**" not in shown
        assert "/record" not in shown
        assert "/callers/" not in shown
        expect(panel.get_by_role("group", name="Call actions")).to_have_count(0)
        page.reload()
        expect(page.get_by_role("cell", name="Arabic")).to_be_visible()  # the assignments
        for url in (f"/console/calls/{call.id}/record", f"/console/callers/{call.caller_id}",
                    "/console/records/new", "/console/"):  # fmt: skip
            response = page.goto(f"{base}{url}")
            assert response is not None
            assert response.status == 403, url
        browser.close()
    assert call.counsellor_id == counsellor.id
