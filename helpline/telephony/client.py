"""The app's Twilio REST client: Twilio itself, or the sandbox at TWILIO_API_BASE_URL.

Rules (TWILIO.md §4, option A):
- With TWILIO_API_BASE_URL set, `client.api.base_url` points there; nothing else in the
  app knows whether it talks to Twilio or to the sandbox.
- Every request has a timeout (`timeout` seconds), so a slow API never hangs a worker.
"""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from helpline.config import Settings

DEFAULT_TIMEOUT = 10.0
SANDBOX_HELPLINE_NUMBER = "+903120000183"  # the line's number in the sandbox, when unset


def helpline_number(settings: Settings) -> str:
    """The number the helpline calls from: HELPLINE_NUMBER, or the sandbox's."""
    return settings.helpline_number or SANDBOX_HELPLINE_NUMBER


def rest_client(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> Client:
    """A twilio `Client` for the account; close `client.http_client.session` when done."""
    if not settings.twilio_account_sid or not settings.twilio_auth_token:
        raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed for the REST API")
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=timeout),
    )
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client
