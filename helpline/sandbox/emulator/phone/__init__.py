"""The practice phone: a page, served by the sandbox itself, that calls the helpline.

A trainer or a flow author dials the line from a browser, presses keys, and reads (and
hears, where a prompt is a recording) what a caller hears; staff phones registered with
the `human` behaviour are answered there too. The page is a client of the control API
(`control.py`) on the same origin, so it needs no proxy and exists only while the sandbox
runs.

- `GET /sandbox/phone`: the page, with a strict Content-Security-Policy: scripts, styles
  and requests from the sandbox only; audio also from the app's origin (the origin of the
  line's voice URL, which is PUBLIC_BASE_URL), where prompt recordings live
  (`/voice/audio/...`). No inline script or style.
- `GET /sandbox/static/<file>`: its script and style (files in `static/` beside this
  module; a package of its own, so the emulator's app gets no `/static` route).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template

from helpline.sandbox.emulator.exchange import Exchange

STATIC_PREFIX = "/sandbox/static"


@dataclass(frozen=True)
class SampleCaller:
    """A caller a trainer can pick: who they are, and the number their call comes from."""

    label: str
    number: str  # E.164, or "anonymous" for a withheld number


# Made-up numbers; "anonymous" is how Twilio presents a withheld number.
SAMPLE_CALLERS = (
    SampleCaller("Caller on a Turkish mobile", "+905321112233"),
    SampleCaller("Arabic-speaking caller, Syrian number", "+963944123456"),
    SampleCaller("Farsi-speaking caller, Iranian number", "+989121234567"),
    SampleCaller("Pashto-speaking caller, Afghan number", "+93701234567"),
    SampleCaller("Withheld number", "anonymous"),
)


def origin(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(media_origins: tuple[str, ...] = ()) -> str:
    """The page's policy: everything from the sandbox; audio also from `media_origins`."""
    media = " ".join(["'self'", *dict.fromkeys(media_origins)])
    return (
        f"default-src 'self'; media-src {media}; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def phone_blueprint(exchange: Exchange) -> Blueprint:
    bp = Blueprint(
        "sandbox_phone",
        __name__,
        url_prefix="/sandbox",
        static_folder="static",
        static_url_path="/static",
        template_folder="templates",
    )
    app_origin = origin(exchange.line.voice_url)
    policy = content_security_policy((app_origin,) if app_origin else ())

    @bp.get("/phone")
    def page() -> Response:
        html = render_template(
            "sandbox/phone.html",
            helpline_number=exchange.line.number,
            app_origin=app_origin or "",
            samples=SAMPLE_CALLERS,
        )
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = policy
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return bp
