"""Cookie settings, security headers, request ids and the access check for every request."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask, Response, g, render_template
from werkzeug.exceptions import HTTPException

from helpline.auth.access import enforce_access
from helpline.config import Settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def flask_config(settings: Settings) -> dict[str, object]:
    secure = settings.uses_tls
    return {
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings),
        # `__Host-` cookies are only sent over TLS, to this exact host and path.
        "SESSION_COOKIE_NAME": "__Host-helpline" if secure else "helpline",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=settings.session_max_hours),
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "WTF_CSRF_SSL_STRICT": secure,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
    }


def engine_options(settings: Settings) -> dict[str, object]:
    # SQL parameters may hold what a user typed (a number in the username box): never log them.
    if settings.is_sqlite:
        return {"connect_args": {"timeout": 15}, "hide_parameters": True}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "hide_parameters": True}


def _headers(response: Response, settings: Settings) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(), geolocation=(), microphone=(self)")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if settings.uses_tls:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        # Console pages show personal data: never keep them in a cache.
        headers.setdefault("Cache-Control", "no-store")
    headers["X-Request-Id"] = g.get("request_id", "")
    return response


def install(app: Flask, settings: Settings) -> None:
    from helpline.sqlite import install_pragmas

    install_pragmas(app)

    @app.before_request
    def _request_id() -> None:
        g.request_id = secrets.token_hex(8)

    app.before_request(enforce_access)

    @app.after_request
    def _secure(response: Response) -> Response:
        return _headers(response, settings)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return render_template("error.html", error=error, code=code), code
