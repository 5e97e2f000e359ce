"""Run the sandbox: the emulator's REST and control APIs in a real HTTP server.

`serve(settings, host, port, speed)` blocks until Ctrl-C; `SandboxServer` is the same as a
context manager (start, `url`, stop) for `helpline run` and tests. Webhooks go to
`settings.public_base_url` (voice `/voice/incoming`, status `/voice/status`, fallback
`/voice/fallback`), signed with `settings.twilio_auth_token`; the REST API answers to
`settings.twilio_account_sid` and that token. Point the app at `server.url` through
TWILIO_API_BASE_URL.

The control API has no auth: bind to 127.0.0.1 (the default) unless the network is trusted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from helpline.config import Settings
from helpline.sandbox.clock import MAX_REAL_WAIT
from helpline.sandbox.transport import HttpTransport, Transport
from helpline.telephony.client import helpline_number

from . import control, phone, rest
from .deliveries import Faults
from .exchange import MAX_LIVE_LEGS, Exchange
from .phones import Behaviour
from .switchboard import Line

log = logging.getLogger(__name__)

DEFAULT_PORT = 8183
MAX_BODY = 64 * 1024
WEBHOOK_TIMEOUT = 15.0  # seconds, as Twilio's default read timeout
POLL_SECONDS = 0.05  # how soon the server notices it is asked to stop


class _QuietHandler(WSGIRequestHandler):
    """Log requests without their paths: the control API's paths hold phone numbers."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s", self.command, code)


def line_for(settings: Settings) -> Line:
    """The helpline's number as the sandbox configures it: the app's voice webhooks."""
    base = settings.public_base_url.rstrip("/")
    return Line(
        number=helpline_number(settings),
        voice_url=f"{base}/voice/incoming",
        fallback_url=f"{base}/voice/fallback",
        status_callback=f"{base}/voice/status",
    )


def create_app(exchange: Exchange) -> Flask:
    """The emulator's Flask app: Twilio's REST API, recording audio and the control API."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.register_blueprint(rest.media_blueprint(exchange))
    app.register_blueprint(rest.rest_blueprint(exchange))
    app.register_blueprint(control.control_blueprint(exchange))
    app.register_blueprint(phone.phone_blueprint(exchange))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = error.description or error.name
        if request.path.startswith("/sandbox/"):
            return control.error_response(status, message)
        return rest.error_response(status, rest.ERROR_CODES.get(status, 20001), message)

    return app


class SandboxServer:
    """The emulator served over HTTP in a background thread; stop it to end every call."""

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        speed: float = 1.0,
        *,
        transport: Transport | None = None,
        phones: Mapping[str, Behaviour] | None = None,
        faults: Faults | None = None,
        line: Line | None = None,
        max_live_legs: int = MAX_LIVE_LEGS,
        poll: float = MAX_REAL_WAIT,
        measure_audio: bool = False,
    ) -> None:
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            raise ValueError("the sandbox needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        self._app: Flask | None = None
        self._server: BaseWSGIServer = make_server(
            host, port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{host}:{self._server.server_port}"
        self.exchange = Exchange(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            transport=transport or HttpTransport(timeout=WEBHOOK_TIMEOUT),
            line=line or line_for(settings),
            speed=speed,
            recording_base=self.url,
            faults=faults,
            max_live_legs=max_live_legs,
            poll=poll,
            measure_audio=measure_audio,
        )
        for number, behaviour in (phones or {}).items():
            self.exchange.set_phone(number, behaviour)
        self._app = create_app(self.exchange)
        self._thread: threading.Thread | None = None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self._app is None:  # requests before start() finished
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self._app(environ, start_response)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking requests, end every call, send what is pending."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self._server.server_close()
        self.exchange.close(timeout)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    settings: Settings, host: str = "127.0.0.1", port: int = DEFAULT_PORT, speed: float = 1.0
) -> None:
    """Run the sandbox until Ctrl-C."""
    stop = threading.Event()
    with SandboxServer(settings, host, port, speed, measure_audio=True) as server:
        log.info(
            "telephony sandbox on %s (speed %gx); webhooks to %s; set TWILIO_API_BASE_URL=%s",
            server.url,
            speed,
            settings.public_base_url,
            server.url,
        )
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            log.info("telephony sandbox stopping")
