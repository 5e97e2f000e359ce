"""Signed Twilio webhook requests for tests, as Twilio would send them."""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from helpline.config import Settings

CALLER = "+905321112233"
HELPLINE = "+903121234567"
# 14:00 in Istanbul on a Monday: the counselling hours are open. Tests that reach the
# queue set the app's clock to it (the `open_hours` fixture), so they pass at any hour.
OPEN = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
# 03:00 in Istanbul: closed.
CLOSED = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)


def dead_redis_url() -> str:
    """A Redis URL nothing listens at: for an app whose Redis is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the probe closes


def app_on(database_url: str, redis_url: str, instance: Path) -> Iterator[Flask]:
    """An app on these services, one of them perhaps down (`for app in app_on(...)`);
    its database connections are closed afterwards."""
    from helpline import create_app
    from helpline.extensions import db
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, redis_url, instance), {"TESTING": True})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


class Phone:
    """One simulated call, posting signed webhooks through the Flask test client."""

    def __init__(self, client: FlaskClient, settings: Settings, caller: str = CALLER) -> None:
        self.client = client
        self.settings = settings
        self.caller = caller
        self.call_sid = new_call_sid()
        self.last: ET.Element | None = None

    def params(self, **extra: Any) -> dict[str, str]:
        base = {
            "CallSid": self.call_sid,
            "AccountSid": self.settings.twilio_account_sid or "",
            "From": self.caller,
            "To": HELPLINE,
            "Caller": self.caller,
            "Called": HELPLINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        base.update({k: str(v) for k, v in extra.items()})
        return base

    def post(
        self,
        url: str,
        params: dict[str, str],
        sign: bool = True,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """POST to an absolute or relative URL, signed with the account's auth token."""
        full = url if url.startswith("http") else self.settings.public_base_url + url
        parts = urlsplit(full)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(headers or {})
        if sign:
            token = self.settings.twilio_auth_token or ""
            headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(full, params)
        return self.client.post(path, data=params, headers=headers)

    def _twiml(self, response: TestResponse) -> ET.Element:
        assert response.status_code == 200, response.status_code
        assert response.mimetype == "text/xml"
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response"
        self.last = root
        return root

    def dial_in(self) -> ET.Element:
        return self._twiml(self.post("/voice/incoming", self.params()))

    def press(self, digits: str) -> ET.Element:
        gather = self._find("Gather")
        return self._twiml(self.post(gather.attrib["action"], self.params(Digits=digits)))

    def stay_silent(self) -> ET.Element:
        return self._twiml(self.post(self._find("Redirect").text or "", self.params()))

    def finish_recording(self, seconds: int = 12) -> ET.Element:
        record = self._find("Record")
        return self._twiml(
            self.post(
                record.attrib["action"],
                self.params(
                    RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE"
                    + "0" * 32,
                    RecordingDuration=seconds,
                    RecordingSid="RE" + secrets.token_hex(16),
                    Digits="hangup",
                ),
            )
        )

    def dial_ends(self, status: str) -> ET.Element:
        dial = self._find("Dial")
        return self._twiml(self.post(dial.attrib["action"], self.params(DialCallStatus=status)))

    def status(self, status: str, sequence: int, **extra: Any) -> TestResponse:
        return self.post(
            "/voice/status", self.params(CallStatus=status, SequenceNumber=sequence, **extra)
        )

    def _find(self, tag: str) -> ET.Element:
        assert self.last is not None
        found = self.last.find(tag)
        assert found is not None, f"no <{tag}> in the last TwiML"
        return found

    def heard(self) -> list[str]:
        """What the last TwiML says or plays, in order (text, or the audio file's name)."""
        assert self.last is not None
        out = []
        for element in self.last.iter():
            if element.tag == "Say":
                out.append(element.text or "")
            elif element.tag == "Play":
                out.append((element.text or "").rsplit("/", 1)[-1])
        return out

    def node(self) -> str:
        """The node the last TwiML waits on (from its step URLs)."""
        assert self.last is not None
        for element in self.last.iter():
            url = element.attrib.get("action") or (
                element.text if element.tag == "Redirect" else None
            )
            if url and "/voice/step" in url:
                return parse_qs(urlsplit(url).query)["n"][0]
        return ""


def said(settings: Settings, language: str, prompt_key: str, /, **params: str) -> str:
    """What a prompt sounds like in the TwiML: its text, or its audio file's name."""
    from helpline.ivr.loader import load_catalog

    catalog, _ = load_catalog(settings.ivr_flows_path)
    prompt = catalog.languages[language].prompts[prompt_key]
    return prompt.audio_file(params) or prompt.render_text(params)
