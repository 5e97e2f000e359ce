"""The console in Debian's chromium against the live line: the telephony sandbox, a real
RQ worker, simulated callers and staff phones (tests/live.py).

A counsellor logs in, goes available, a caller comes through the sandbox, the
counsellor's phone accepts the whisper, the live panel shows the call; the counsellor
holds and resumes the caller, asks for the duty supervisor (who joins from their page),
ends the call, writes the contact record in the wrap-up and schedules a follow-up. An
interpreter added to an Arabic call sees the assignment's language, and none of the
caller's number, history or notes; they switch their console to Arabic (right to left).

With HELPLINE_SCREENSHOTS=docs/screenshots these tests also save the screenshots kept in
docs/ (docs/console.md lists them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from helpline.models import CallbackRequest, CallEvent, ContactRecord
from helpline.sandbox.emulator.phones import Behaviour
from tests.browser import chromium_page, free_port, log_in_by_keyboard, require_chromium
from tests.factories import PASSWORD
from tests.live import Line

STAYS = Behaviour("answer", after=3, talk=80_000, keys="1")  # accepts, stays until ended
TURKISH_PSYCHOSOCIAL = "press 1; press 2; press 1"
ARABIC_VIOLENCE = "press 2; press 2; press 3"
CALLER = "+905321110701"
NOTE = "Lost her job in Gaziantep; worried about the rent; her sister helps"
LIVE_WAIT = 60_000  # ms: a bound for failure, not a measure of speed


SHOTS = os.environ.get("HELPLINE_SCREENSHOTS")
SUPERVISOR_PHONE = Behaviour("answer", after=2, talk=80_000)


def _shot(page: Page, name: str) -> None:
    """Save a screenshot of the page for docs/, when asked to."""
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


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
    topic, path, masked number), hold and resume it, ask for the duty supervisor (who
    joins), end it, write the record in wrap-up and book a follow-up."""
    require_chromium()
    counsellor = line.factory.staff(
        "zeynep", roles=("counsellor",), languages=("tr",), phone="+905550000701"
    )
    line.sandbox.exchange.set_phone("+905550000701", STAYS)
    supervisor = line.factory.staff("deniz", roles=("supervisor",), phone="+905550000799")
    supervisor.display_name = "Deniz Supervisor"
    line.factory.session.commit()
    line.sandbox.exchange.set_phone("+905550000799", SUPERVISOR_PHONE)
    port = free_port()
    with chromium_page(line.app, port) as (page, base):
        page.goto(f"{base}/login")
        log_in_by_keyboard(page, "zeynep", PASSWORD)
        page.wait_for_url(f"{base}/console/")
        expect(page.get_by_role("heading", name="Current call")).to_be_visible()
        _go_available(page)
        _shot(page, "console-available")

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
        actions = panel.get_by_role("group", name="Call actions")
        expect(actions).to_be_visible()

        # Hold and resume: the worker holds the caller, the panel shows it by itself.
        actions.get_by_role("button", name="Hold").click()
        expect(panel.locator(".flag-hold")).to_be_visible(timeout=LIVE_WAIT)
        actions = panel.get_by_role("group", name="Call actions")
        actions.get_by_role("button", name="Resume the caller").click()
        expect(panel.locator(".flag-hold")).to_have_count(0, timeout=LIVE_WAIT)

        # Escalate: the duty supervisor sees the call and joins it to listen.
        panel.get_by_role("button", name="Ask the duty supervisor").click()
        expect(page.get_by_text("The duty supervisor has been asked to join")).to_be_visible()
        _shot(page, "console-current-call")
        browser = page.context.browser
        assert browser is not None
        watch = browser.new_page(viewport={"width": 1280, "height": 720})  # its own cookies
        watch.goto(f"{base}/login")
        log_in_by_keyboard(watch, "deniz", PASSWORD)
        watch.wait_for_url(f"{base}/supervisor/")
        watch.get_by_role("navigation", name="Main").get_by_role("link", name="Escalations").click()
        watch.wait_for_url(f"{base}/console/escalations")
        row = watch.get_by_role("row").filter(has_text="Test Person")
        row.get_by_role("button", name=re.compile(r"^Listen")).click()
        expect(watch.get_by_text("Your phone is being rung to join the call.")).to_be_visible()
        line.until(lambda: _joined(line), "the supervisor to join")
        watch.reload()
        expect(watch.get_by_role("cell", name="Deniz Supervisor")).to_be_visible()
        _shot(watch, "escalations")
        watch.close()

        # End the call by keyboard; the worker ends the room and wrap-up starts.
        page.get_by_role("button", name="End the call").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_text("The call is ending.")).to_be_visible()
        line.when(leg, lambda c: c.ended_at is not None, "the call to end")
        expect(panel.locator("#presence-now")).to_contain_text("Wrap-up", timeout=LIVE_WAIT)
        expect(page.locator("#wrap-up-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
        _shot(page, "console-wrap-up")

        page.get_by_role("link", name="Write the contact record").click()
        page.wait_for_url(re.compile(r".*/console/calls/\d+/record$"))
        page.get_by_label("Counselling contact").check()
        page.get_by_label("Anxiety and stress").check()
        page.get_by_label("Summary").fill(NOTE)
        page.get_by_label("Low", exact=True).check()
        page.get_by_label("Date", exact=True).fill("2026-11-24")
        page.get_by_label("Time", exact=True).fill("10:30")
        page.get_by_label("The caller agreed to be called back").check()
        _shot(page, "record-form")
        page.get_by_role("button", name="Finalise").click()
        expect(page.get_by_text("Record finalised: version 1.")).to_be_visible()
        expect(page.get_by_text("A follow-up call by you is scheduled")).to_be_visible()
        _shot(page, "record-final")

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
    with chromium_page(line.app, port) as (page, base):
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
        _shot(page, "interpreter")
        # The interpreter reads the console in Arabic, right to left.
        page.get_by_label("The console and the phone prompts speak").select_option("ar")
        page.get_by_role("button", name="Change language").click()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("#call-language")).to_have_text("العربية", timeout=LIVE_WAIT)
        _shot(page, "interpreter-arabic")
        expect(page.get_by_role("cell", name="العربية")).to_be_visible()  # the assignments
        for url in (f"/console/calls/{call.id}/record", f"/console/callers/{call.caller_id}",
                    "/console/records/new", "/console/"):  # fmt: skip
            response = page.goto(f"{base}{url}")
            assert response is not None
            assert response.status == 403, url
    assert call.counsellor_id == counsellor.id


def _joined(line: Line) -> bool:
    session = line.factory.session
    return bool(
        session.scalars(sa.select(CallEvent).where(CallEvent.kind == "supervisor_listen")).first()
    )
