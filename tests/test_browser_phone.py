"""The practice phone in a real browser, with the real helpline behind the sandbox.

The helpline app is served over HTTP (PUBLIC_BASE_URL is its real URL, so the webhooks'
signatures validate), the sandbox calls it as Twilio would, and Debian's chromium drives
the page that the sandbox serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from helpline import create_app
from helpline.config import Settings
from helpline.ivr.loader import load_catalog
from helpline.models import Call, CallEvent
from helpline.sandbox.emulator.server import SandboxServer
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, require_chromium, serve
from tests.conftest import _empty_tables, make_settings

SPEED = 2.0  # fast enough for a short test, slow enough to press keys while a menu listens
DUTY_LINE = "+905550000183"
WAIT_MS = 20_000


@dataclass
class Line:
    """The helpline app served over HTTP, the sandbox in front of it, and a browser page."""

    app: Flask
    settings: Settings
    sandbox: SandboxServer
    page: Page
    problems: list[str]  # console errors (a CSP violation is one) and page errors

    def prompt(self, language: str, key: str) -> str:
        catalog, _ = load_catalog(self.settings.ivr_flows_path)
        return catalog.languages[language].prompts[key].text


@contextmanager
def helpline_line(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Line]:
    require_chromium()
    port = free_port()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "i",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        DUTY_LINE_NUMBER=DUTY_LINE,
    )
    app = create_app(settings)
    try:
        with (
            serve(app, port),
            SandboxServer(settings, port=0, speed=SPEED) as sandbox,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                problems: list[str] = []

                def console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        problems.append(message.text)

                page.on("console", console)
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.goto(f"{sandbox.url}/sandbox/phone")
                expect(page.locator("body")).to_have_attribute("data-ready", "true")
                yield Line(app, settings, sandbox, page, problems)
            finally:
                browser.close()
    finally:
        _empty_tables(app)


def said(page: Page, text: str) -> Any:
    """The transcript line of a say prompt with this text (up to its first {placeholder})."""
    return page.locator("#transcript .ev-say .said", has_text=text.split("{")[0].strip()[:30])


def logged_calls(line: Line) -> list[tuple[str | None, str | None, set[str]]]:
    """The calls in the helpline's database: (language, Twilio status, event kinds).

    Read before the line closes: closing empties the tables.
    """
    from helpline.extensions import db

    assert line.sandbox.exchange.settle(10)  # every status callback delivered
    with line.app.app_context():
        found = [
            (
                call.language,
                call.twilio_status,
                set(
                    db.session.scalars(
                        sa.select(CallEvent.kind).where(CallEvent.call_id == call.id)
                    )
                ),
            )
            for call in db.session.scalars(sa.select(Call))
        ]
        db.session.remove()
    return found


@pytest.mark.browser
def test_browser_phone_arabic_caller_by_keyboard(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A trainer calls, presses 2 for Arabic on the keyboard, reads the Arabic question
    (right to left), answers it, reaches the topic menu and hangs up; the app logged it."""
    with helpline_line(database_url, redis_url, tmp_path) as line:
        page = line.page
        page.get_by_role("button", name="Call", exact=True).click()
        expect(said(page, line.prompt("ar", "language_option"))).to_be_visible(timeout=WAIT_MS)
        page.keyboard.press("2")
        question = said(page, line.prompt("ar", "remember_language"))
        expect(question).to_be_visible(timeout=WAIT_MS)
        assert question.get_attribute("dir") == "auto"
        assert question.get_attribute("lang") == "ar-XA"
        assert question.evaluate("element => getComputedStyle(element).direction") == "rtl"
        expect(page.locator("#transcript .ev-pressed", has_text="Pressed 2")).to_have_count(1)
        page.keyboard.press("1")
        expect(said(page, line.prompt("ar", "topic_menu"))).to_be_visible(timeout=WAIT_MS)
        page.get_by_role("button", name="Hang up", exact=True).click()
        expect(page.locator("#call-status")).to_contain_text("Call ended", timeout=WAIT_MS)
        expect(page.get_by_role("button", name="Call", exact=True)).to_be_enabled()
        requests = page.locator("#transcript .ev-request").all_inner_texts()
        assert requests
        assert all(text.endswith(" 200") for text in requests), requests
        assert not any("http://" in text for text in requests)  # paths only
        assert line.problems == []
        ((language, status, _),) = logged_calls(line)
        assert (language, status) == ("ar", "completed")


@pytest.mark.browser
def test_browser_phone_farsi_audio_plays_from_the_app(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A prompt recording on the app's origin loads in the page's audio player (CSP allows)."""
    with helpline_line(database_url, redis_url, tmp_path) as line:
        page = line.page
        page.get_by_role("button", name="Press 3").wait_for(state="attached")
        page.get_by_role("button", name="Call", exact=True).click()
        expect(said(page, line.prompt("ar", "language_option"))).to_be_visible(timeout=WAIT_MS)
        page.get_by_role("button", name="Press 3").click()  # the mouse this time
        audio = page.locator("#transcript .ev-play audio[src$='/fa/remember_language.mp3']")
        expect(audio).to_have_count(1, timeout=WAIT_MS)
        duration = audio.evaluate(
            """audio => new Promise((resolve, reject) => {
                audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
                audio.addEventListener("error", () => reject(new Error("audio failed")));
                audio.preload = "metadata";
                audio.load();
            })"""
        )
        assert duration > 0.5
        page.get_by_role("button", name="Hang up", exact=True).click()
        expect(page.locator("#call-status")).to_contain_text("Call ended", timeout=WAIT_MS)
        assert line.problems == []


@pytest.mark.browser
def test_browser_phone_trainer_answers_the_duty_line(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The duty line rings on the page (human behaviour); answering bridges the caller."""
    with helpline_line(database_url, redis_url, tmp_path) as line:
        page = line.page
        page.get_by_label("Add a phone you answer here").fill(DUTY_LINE)
        page.get_by_label("Add a phone you answer here").press("Enter")
        phone = page.locator("#phones .phone", has_text=DUTY_LINE)
        expect(phone.locator(".badge")).to_have_text("idle")
        expect(phone).to_contain_text("answered here")

        page.get_by_role("button", name="Call", exact=True).click()
        expect(said(page, line.prompt("tr", "welcome"))).to_be_visible(timeout=WAIT_MS)
        page.locator("body").press("9")  # the emergency key, from any menu
        expect(phone.locator(".badge")).to_have_text("ringing", timeout=WAIT_MS)
        expect(page.locator("#phones-status")).to_have_text(f"Phone {DUTY_LINE} is ringing.")
        page.get_by_role("button", name=f"Answer {DUTY_LINE}").click()
        expect(phone.locator(".badge")).to_have_text("in-call", timeout=WAIT_MS)
        expect(page.locator("#transcript .ev-connected")).to_have_count(1, timeout=WAIT_MS)
        page.get_by_role("button", name=f"Hang up {DUTY_LINE}").click()
        expect(phone.locator(".badge")).to_have_text("idle", timeout=WAIT_MS)
        # The duty counsellor hung up: the transfer was the end of the flow.
        expect(page.locator("#call-status")).to_contain_text("Call ended", timeout=WAIT_MS)
        expect(page.get_by_role("button", name="Hang up", exact=True)).to_be_disabled()
        assert line.problems == []

        # A mistake reads as the API's own words (the browser logs the 400 itself).
        page.get_by_label("Calling from").fill("not a number")
        page.get_by_role("button", name="Call", exact=True).click()
        expect(page.get_by_role("alert").first).to_have_text(
            "Could not place the call: from is not valid"
        )
        assert all("status of 400" in problem for problem in line.problems), line.problems
        ((_, status, kinds),) = logged_calls(line)
        assert status == "completed"
        assert "emergency_transfer" in kinds


# The pure helpers of transcript.js, run in the browser: (function, arguments, expected).
HELPER_CASES: list[tuple[str, list[Any], Any]] = [
    ("pathOnly", ["→ POST http://127.0.0.1:5000/voice/step?n=x [gather action] 200"],
     "→ POST /voice/step?n=x [gather action] 200"),
    ("pathOnly", ["dials +905550000183: busy"], "dials +905550000183: busy"),
    ("pathOnly", ["hop https://a.example:8443/x → https://b.example/y"], "hop /x → /y"),
    ("clock", [0], "00:00"),
    ("clock", [75.9], "01:15"),
    ("clock", [-3], "00:00"),
    ("playable", ["http://127.0.0.1:5000/voice/audio/fa/welcome.mp3", ["http://127.0.0.1:5000"]],
     True),
    ("playable", ["https://twimlets.com/holdmusic", ["http://127.0.0.1:5000"]], False),
    ("playable", ["javascript:alert(1)", ["null"]], False),
    ("playable", ["/relative.mp3", ["http://127.0.0.1:5000"]], False),
    ("errorText", [409, {"error": "call CA1 has ended"}], "call CA1 has ended"),
    ("errorText", [502, None], "the sandbox answered 502"),
    ("errorText", [0, None], "the sandbox does not answer; is it still running?"),
    ("behaviourText", [{"kind": "answer", "after": 4, "keys": ""}], "answers after 4 s"),
    ("behaviourText", [{"kind": "answer", "after": 2, "keys": "1"}],
     "answers after 2 s, presses 1"),
    ("behaviourText", [{"kind": "human"}], "answered here"),
    ("behaviourText", [{"kind": "busy"}], "busy"),
]  # fmt: skip

EVENT_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"kind": "say", "text": "مرحبا", "language": "ar-XA", "voice": "Google.ar-XA-Wavenet-A",
         "cut_after": None, "detail": "hears"},
        {"label": "Hears (ar-XA, Google.ar-XA-Wavenet-A)", "said": "مرحبا", "lang": "ar-XA",
         "audio": None, "note": None},
    ),
    (
        {"kind": "play", "audio_url": "http://h:5000/voice/audio/fa/a.mp3", "cut_after": 1.26},
        {"label": "Audio prompt /voice/audio/fa/a.mp3", "said": None,
         "audio": "http://h:5000/voice/audio/fa/a.mp3", "note": "cut short after 1.3 s"},
    ),
    ({"kind": "pressed", "text": "2"}, {"label": "Pressed 2"}),
    ({"kind": "request", "detail": "→ GET http://h:5000/voice/x [voice] 403"},
     {"label": "Request GET /voice/x [voice] 403"}),
    ({"kind": "ended", "text": "hangup by caller"}, {"label": "Call ended: hangup by caller"}),
    ({"kind": "error", "text": "TwiML not valid"}, {"label": "Error: TwiML not valid"}),
    ({"kind": "silence", "detail": "silence 6s (gather timed out, no input)"},
     {"label": "Silence 6s (gather timed out, no input)"}),
    ({"kind": "connected", "detail": "bridged with CA12"}, {"label": "Bridged with CA12"}),
]  # fmt: skip

KEY_CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"key": "2"}, "2"),
    ({"key": "#"}, "#"),
    ({"key": "*"}, "*"),
    ({"key": "a"}, None),
    ({"key": "Enter"}, None),
    ({"key": "1", "ctrlKey": True}, None),
]


@pytest.mark.browser
def test_browser_phone_transcript_helpers(tmp_path: Path) -> None:
    """Table-driven checks of the page's pure helpers, run by chromium itself."""
    from helpline.sandbox.transport import FlaskTransport
    from tests.twilio_app import ACCOUNT, BASE, TOKEN, AppUnderTest, line

    require_chromium()
    settings = Settings.from_env(
        {
            "HELPLINE_ENV": "test",
            "HELPLINE_INSTANCE_PATH": str(tmp_path / "instance"),
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": BASE,
        }
    )
    transport = FlaskTransport(AppUnderTest({}).app, BASE)
    with (
        SandboxServer(settings, port=0, transport=transport, line=line()) as sandbox,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{sandbox.url}/sandbox/phone")
            results = page.evaluate(
                """async ([helpers, events, keys]) => {
                    const module = await import("/sandbox/static/transcript.js");
                    return [
                        helpers.map(([name, args]) => module[name](...args)),
                        events.map(([event]) => module.describe(event)),
                        keys.map(([event]) => module.keyOf(event)),
                    ];
                }""",
                [HELPER_CASES, EVENT_CASES, KEY_CASES],
            )
        finally:
            browser.close()
    helpers, events, keys = results
    assert helpers == [expected for _, _, expected in HELPER_CASES]
    for described, (_, expected) in zip(events, EVENT_CASES, strict=True):
        assert expected.items() <= described.items(), described
    assert keys == [expected for _, expected in KEY_CASES]
