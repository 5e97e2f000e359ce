"""Twilio-style identifiers, and the placeholder URL of a recording nobody can fetch."""

from __future__ import annotations

import secrets

API_VERSION = "2010-04-01"
TWILIO_API = "https://api.twilio.com"


def new_sid(prefix: str) -> str:
    """Return `prefix` and 32 random hex digits, like CA…, RE…, QU…"""
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"a sid prefix is two capital letters, not {prefix!r}")
    return prefix + secrets.token_hex(16)


def recording_url(account_sid: str, recording_sid: str, base: str = TWILIO_API) -> str:
    """Where the recording is kept: Twilio's address (a placeholder nobody can fetch), or the
    emulator's own `base`, which serves silence in its place."""
    return f"{base}/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"
