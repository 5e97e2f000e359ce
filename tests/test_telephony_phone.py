"""The practice phone's page and files, as the sandbox serves them (no browser needed).

The browser tests, with the real helpline behind the sandbox, are in
tests/test_browser_phone.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from helpline.sandbox.emulator.control import CALLER
from helpline.sandbox.emulator.phone import (
    SAMPLE_CALLERS,
    content_security_policy,
    origin,
)
from helpline.sandbox.emulator.server import create_app
from tests.twilio_app import BASE, emulator


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    with emulator({}) as (exchange, _app):
        yield create_app(exchange).test_client()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:5000/voice/incoming", "http://127.0.0.1:5000"),
        ("https://helpline.example.org/voice/incoming?x=1", "https://helpline.example.org"),
        ("https://helpline.example.org:8443/", "https://helpline.example.org:8443"),
        ("http://[::1]:5000/voice", "http://[::1]:5000"),
        ("ftp://files.example.org/a", None),
        ("/voice/incoming", None),
        ("", None),
    ],
)
def test_phone_origin_of_the_voice_url(url: str, expected: str | None) -> None:
    """Audio may come from the app's origin: scheme, host and port of its voice URL."""
    assert origin(url) == expected


@pytest.mark.parametrize(
    ("origins", "media"),
    [
        ((), "media-src 'self';"),
        (("http://127.0.0.1:5000",), "media-src 'self' http://127.0.0.1:5000;"),
        (("https://a.example", "https://a.example"), "media-src 'self' https://a.example;"),
    ],
)
def test_phone_content_security_policy(origins: tuple[str, ...], media: str) -> None:
    """Everything from the sandbox only; audio also from the app; no inline anything."""
    policy = content_security_policy(origins)
    assert policy.startswith("default-src 'self';")
    assert media in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy


def test_phone_sample_callers_are_numbers_the_control_api_takes() -> None:
    assert SAMPLE_CALLERS[0].number.startswith("+90")
    assert any(sample.number == "anonymous" for sample in SAMPLE_CALLERS)
    for sample in SAMPLE_CALLERS:
        assert CALLER.fullmatch(sample.number), sample


def test_phone_page_is_served_with_a_strict_policy(client: FlaskClient) -> None:
    response = client.get("/sandbox/phone")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy == content_security_policy((BASE,))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/sandbox/static/phone.js", "text/javascript"),
        ("/sandbox/static/transcript.js", "text/javascript"),
        ("/sandbox/static/phone.css", "text/css"),
    ],
)
def test_phone_static_files(client: FlaskClient, path: str, mimetype: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_phone_unknown_files_are_json_404s(client: FlaskClient) -> None:
    """Under /sandbox/ even a missing file answers the control API's error shape."""
    response = client.get("/sandbox/static/nothing.js")
    assert response.status_code == 404
    assert "error" in response.get_json()
    assert client.get("/static/phone.js").status_code == 404  # no app-wide static route


class _Page(HTMLParser):
    """What the accessibility and CSP checks need from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []  # inline styles, handlers, script bodies
        self.buttons: list[dict[str, str | None]] = []
        self.button_text: list[str] = []
        self.fields: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.live: list[dict[str, str | None]] = []
        self._in_script = False
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "style" or "style" in found or any(name.startswith("on") for name in found):
            self.inline.append(tag)
        if tag == "script":
            self.scripts.append(found)
            self._in_script = True
        if tag == "button":
            self.buttons.append(found)
            self.button_text.append("")
            self._in_button = True
        if tag in ("input", "select", "textarea"):
            self.fields.append(found)
        if tag == "label" and found.get("for"):
            self.label_for.add(found["for"] or "")
        if "aria-live" in found or found.get("role") in ("status", "alert"):
            self.live.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script body")
        if self._in_button:
            self.button_text[-1] += data.strip()


def test_phone_page_has_no_inline_code_and_names_every_control(client: FlaskClient) -> None:
    """CSP without 'unsafe-inline' needs external files only; every control has a name."""
    page = _Page()
    page.feed(client.get("/sandbox/phone").get_data(as_text=True))
    assert page.inline == []
    assert [script.get("src") for script in page.scripts] == ["/sandbox/static/phone.js"]
    keys = [b for b in page.buttons if "key" in (b.get("class") or "").split()]
    assert [b.get("data-key") for b in keys] == list("123456789*0#")
    assert all(b.get("aria-label") for b in keys)
    assert {"Press star", "Press hash", "Press 0"} <= {b.get("aria-label") for b in keys}
    named = zip(page.buttons, page.button_text, strict=True)
    assert all(text or button.get("aria-label") for button, text in named)
    labelled = {f.get("id") for f in page.fields if f.get("type") != "checkbox"}
    assert labelled <= page.label_for
    assert any(item.get("id") == "transcript" and item.get("aria-live") for item in page.live)
    assert any(item.get("role") == "alert" for item in page.live)


def test_phone_script_makes_no_inline_styles_or_code() -> None:
    """The script builds elements, never HTML strings or style attributes (CSP-safe)."""
    from importlib.resources import files

    static = files("helpline.sandbox.emulator.phone") / "static"
    for name in ("phone.js", "transcript.js"):
        source = (static / name).read_text(encoding="utf-8")
        unsafe = r"innerHTML|outerHTML|insertAdjacentHTML|\beval\(|new Function"
        assert not re.search(unsafe, source)
        assert not re.search(r"\.style\b|setAttribute\(\"style\"", source)
