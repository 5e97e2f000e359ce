"""Browser tests: Debian's chromium driven by Playwright, against an app served over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from helpline import create_app

CHROMIUM = os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium")
# Flags measured on this kind of machine (shared/NOTES.md): no sandbox as root, no GPU,
# and no background networking, which the closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Flask, port: int) -> Iterator[str]:
    """Serve an app on 127.0.0.1:port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def require_chromium() -> None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian's chromium is not installed (CI installs it: apt-get install chromium)")


def log_in_by_keyboard(page: Page, username: str, password: str) -> None:
    """Type the username, Tab, the password, Enter, as a keyboard user does.

    Each field must have the focus before its keys are sent: on a loaded machine the
    autofocus can land after the page's load event, and keys sent before it are lost.
    """
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Enter")


@contextmanager
def browser_app(database_url: str, redis_url: str, instance: Path) -> Iterator[tuple[Flask, int]]:
    """An app for a browser test, to be served on the port it yields; tables emptied after."""
    from tests.conftest import _empty_tables, make_settings

    require_chromium()
    port = free_port()
    settings = make_settings(
        database_url, redis_url, instance, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}"
    )
    app = create_app(settings)
    try:
        yield app, port
    finally:
        _empty_tables(app)


@contextmanager
def chromium_page(
    app: Flask, port: int, width: int = 1280, height: int = 720
) -> Iterator[tuple[Page, str]]:
    """The app served on the port and one chromium page (1280x720 unless told); yields
    (page, base URL)."""
    with serve(app, port) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height}), base
        finally:
            browser.close()
