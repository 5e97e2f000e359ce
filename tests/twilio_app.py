"""A small app under test for the telephony emulator: handcrafted TwiML, every signature checked.

Every request must carry an X-Twilio-Signature that twilio's RequestValidator accepts for
the URL requested; otherwise the app answers 403 and counts it in `refused`. Pages are TwiML
bodies (wrapped in <Response>) or callables given the request's parameters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, Response, abort, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from helpline.sandbox.emulator.exchange import Exchange
from helpline.sandbox.emulator.switchboard import Line
from helpline.sandbox.transport import FlaskTransport

TOKEN = "emulator-test-token"
ACCOUNT = "AC" + "e" * 32
BASE = "http://app.test"
HELPLINE = "+903120000183"
CALLER = "+905321112233"
SPEED = 50.0

Page = str | Callable[[dict[str, str]], str]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # without the query string
    query: str
    params: dict[str, str]  # the form for POST, the query for GET
    token: str  # I-Twilio-Idempotency-Token

    def get(self, name: str) -> str | None:
        return self.params.get(name)


class AppUnderTest:
    """The Flask app and what it saw; thread-safe, as the emulator calls it from many threads."""

    def __init__(self, pages: Mapping[str, Page]) -> None:
        self.pages = dict(pages)
        self.app = Flask(__name__)
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self.refused = 0
        validator = RequestValidator(TOKEN)

        @self.app.route("/<path:path>", methods=["GET", "POST"])
        def serve(path: str) -> ResponseReturnValue:
            query = request.query_string.decode()
            url = request.base_url + (f"?{query}" if query else "")
            form = request.form if request.method == "POST" else {}
            if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
                with self._lock:
                    self.refused += 1
                abort(403)
            params = (
                request.form.to_dict()
                if request.method == "POST"
                else dict(parse_qsl(urlsplit(url).query))
            )
            token = request.headers.get("I-Twilio-Idempotency-Token", "")
            with self._lock:
                self._seen.append(Seen(request.method, "/" + path, query, params, token))
            page = self.pages.get("/" + path)
            if page is None:
                abort(404)
            body = page(params) if callable(page) else page
            return Response(f"<Response>{body}</Response>", mimetype="text/xml")

    def seen(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [item for item in self._seen if path is None or item.path == path]

    def wait_for(self, check: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll `check` until true (in real time); False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.01)
        return check()


def line(status_events: frozenset[str] | None = None) -> Line:
    events = status_events or frozenset({"initiated", "ringing", "answered", "completed"})
    return Line(
        number=HELPLINE,
        voice_url=f"{BASE}/voice",
        status_callback=f"{BASE}/status",
        status_events=events,
    )


@contextmanager
def emulator(
    pages: Mapping[str, Page], speed: float = SPEED, **options: Any
) -> Iterator[tuple[Exchange, AppUnderTest]]:
    """An exchange calling the app under test in-process; closed (every leg ended) afterwards."""
    app = AppUnderTest({"/status": "", **pages})
    options.setdefault("line", line())
    exchange = Exchange(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        transport=FlaskTransport(app.app, BASE),
        speed=speed,
        **options,
    )
    try:
        yield exchange, app
    finally:
        exchange.close()
