"""Send one webhook request and read the answer: in-process through Flask, or over real HTTP.

Both transports follow 3xx redirects as an HTTP client does: 301, 302 and 303 turn a POST
into a GET without parameters, 307 and 308 repeat the request. A client re-sends the same
headers, so the signature no longer matches the new URL; pass `resign` to sign each hop.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO, Protocol

from flask import Flask

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
METHODS = frozenset({"GET", "POST"})

# Headers for a redirected hop, given its URL and parameters (the new signature).
Resign = Callable[[str, Mapping[str, str]], Mapping[str, str]]


class TransportError(Exception):
    """No answer came: bad or foreign URL, connection failure, timeout, redirect loop."""


@dataclass(frozen=True)
class TransportResponse:
    """The last answer, after redirects; header names are in lower case."""

    status: int
    body: str
    headers: Mapping[str, str]
    final_url: str
    content: bytes = b""  # the body as sent (audio is not text)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Transport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        resign: Resign | None = None,
    ) -> TransportResponse:
        """Send `params` form-encoded (POST) or in the query string (GET); follow redirects."""
        ...


Send = Callable[[str, str, Mapping[str, str], Mapping[str, str]], TransportResponse]


def with_query(url: str, params: Mapping[str, str]) -> str:
    """Append `params` to the query string of `url`, keeping what is there untouched."""
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)


def follow_redirects(
    send: Send,
    method: str,
    url: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    resign: Resign | None,
) -> TransportResponse:
    """Send through `send` and follow up to MAX_REDIRECTS redirects."""
    if method not in METHODS:
        raise ValueError(f"method must be GET or POST, not {method!r}")
    for _ in range(MAX_REDIRECTS + 1):
        response = send(method, url, params, headers)
        location = response.headers.get("location")
        if response.status not in REDIRECTS or not location:
            return response
        url = urllib.parse.urljoin(url, location)
        if response.status in (301, 302, 303):
            method, params = "GET", {}
        if resign is not None:
            headers = {**headers, **resign(url, params)}
    raise TransportError(f"more than {MAX_REDIRECTS} redirects, the last to {url}")


class _RedirectingTransport(ABC):
    """A Transport whose subclass sends one hop; this base follows the redirects."""

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        resign: Resign | None = None,
    ) -> TransportResponse:
        return follow_redirects(self._send, method, url, params, headers, resign)

    @abstractmethod
    def _send(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> TransportResponse:
        """Send one request and return its answer, a redirect included."""


class FlaskTransport(_RedirectingTransport):
    """Serve requests in-process with the app's test client.

    Absolute URLs under `base_url` (scheme, host and an optional mount path) map to paths of
    `app`; the query string is passed on exactly. An exception in the app is logged and
    answered as a 500, as a WSGI server would.
    """

    def __init__(self, app: Flask, base_url: str = "http://localhost") -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"base_url must be an http(s) URL without a query, not {base_url!r}")
        self._app = app
        self._base = base_url.rstrip("/")

    def _send(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> TransportResponse:
        url = urllib.parse.urldefrag(url).url
        rest = url[len(self._base) :]
        if not url.startswith(self._base) or rest[:1] not in ("", "/", "?"):
            raise TransportError(f"{url} is not served by this app (base URL {self._base})")
        path = rest if rest.startswith("/") else "/" + rest
        data = None
        if method == "GET":
            path = with_query(path, params)
        else:
            data = dict(params)
        client = self._app.test_client()
        try:
            response = client.open(
                path, base_url=self._base, method=method, data=data, headers=dict(headers)
            )
        except Exception as error:  # the safe answer: what a WSGI server sends for a crash
            # The path only: a query string may hold the caller's number.
            log.exception("the app raised on %s %s", method, urllib.parse.urlsplit(url).path)
            return TransportResponse(500, f"{type(error).__name__}: {error}", {}, url)
        try:
            headers_out = {name.lower(): value for name, value in response.headers.items()}
            content = response.get_data()
            return TransportResponse(
                response.status_code,
                content.decode("utf-8", errors="replace"),
                headers_out,
                url,
                content,
            )
        finally:
            response.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back instead of following them (follow_redirects does that)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


class HttpTransport(_RedirectingTransport):
    """Send requests over real HTTP with urllib; POST bodies are form-encoded."""

    def __init__(self, timeout: float = 15.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _send(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> TransportResponse:
        url = urllib.parse.urldefrag(url).url
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise TransportError(f"{url} is not an http(s) URL")
        body = None
        all_headers = dict(headers)
        if method == "GET":
            url = with_query(url, params)
        else:
            body = urllib.parse.urlencode(params).encode()
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(url, data=body, headers=all_headers, method=method)  # noqa: S310 (scheme checked)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _read(response.status, response.headers, response.read(), url)
        except urllib.error.HTTPError as error:
            try:
                return _read(error.code, error.headers, error.read(), url)
            finally:
                error.close()
        except (OSError, http.client.HTTPException) as error:
            raise TransportError(f"{method} {url}: {error}") from error


def _read(status: int, headers: Message, body: bytes, url: str) -> TransportResponse:
    charset = headers.get_content_charset() or "utf-8"
    return TransportResponse(
        status,
        body.decode(charset, errors="replace"),
        {name.lower(): value for name, value in headers.items()},
        url,
        body,
    )
