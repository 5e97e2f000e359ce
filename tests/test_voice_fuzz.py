"""Webhook fuzzing: generated requests never get a 5xx, and only signed ones get in.

A seeded generator (so failures reproduce) mixes plausible and hostile values: huge,
garbled, control and non-Latin characters, wrong types, missing parameters, unknown
call SIDs, steps out of order and replays, numbers that are blocked or belong to staff.
Every answer must be 403 (exactly when the signature is bad, and then nothing is
written) or TwiML that parses. 10,000 requests in five seeded runs of 2,000, over every
POST webhook under /voice/ that the app has (taken from its URL map, so a new webhook is
fuzzed without anyone adding it here).
"""

from __future__ import annotations

import logging
import random
import secrets
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from helpline.blocklist import entries, mirror
from helpline.config import Settings
from helpline.extensions import db, get_redis
from helpline.models import AuditEntry, Call, CallEvent, PresenceChange, utcnow
from tests.factories import TEST_ACTOR, Factory

REQUESTS_PER_RUN = 2000
SEEDS = (183, 184, 185, 186, 187)
assert REQUESTS_PER_RUN * len(SEEDS) >= 10_000
BLOCKED = "+905321112244"
STAFF_PHONE = "+905321112299"
# Webhooks whose URLs carry routing's ids.
WITH_IDS = frozenset(
    {
        "/voice/connect",
        "/voice/requeue",
        "/voice/room",
        "/voice/held",
        "/voice/offer",
        "/voice/offer/answer",
        "/voice/offer/status",
    }
)


def webhook_paths(app: Flask) -> list[str]:
    """Every POST route under /voice/ (none takes a path variable)."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/voice/") and "POST" in (rule.methods or ()) and not rule.arguments
    )


NAMES = (
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "Caller",
    "Called",
    "CallStatus",
    "Direction",
    "ApiVersion",
    "Digits",
    "SequenceNumber",
    "CallDuration",
    "Timestamp",
    "DialCallStatus",
    "RecordingSid",
    "RecordingUrl",
    "RecordingStatus",
    "RecordingDuration",
    "ErrorCode",
    "FinishedOnKey",
    "SpeechResult",
    "QueueResult",
    "QueueTime",
    "StatusCallbackEvent",
    "Junk",
)


def _value(rng: random.Random, sids: list[str]) -> str:
    kind = rng.randrange(12)
    if kind == 0:
        return rng.choice(sids)
    if kind == 1:
        return "".join(rng.choice("0123456789*#") for _ in range(rng.randrange(0, 4)))
    if kind == 2:
        return "x" * rng.choice((1000, 20000, 200000))
    if kind == 3:
        return "".join(chr(rng.randrange(0, 0x2FFF)) for _ in range(rng.randrange(1, 40)))
    if kind == 4:
        return str(rng.randrange(-(10**12), 10**12))
    if kind == 5:
        return rng.choice(
            (
                "completed",
                "ringing",
                "in-progress",
                "busy",
                "no-answer",
                "canceled",
                "failed",
                "queued",
                "answered",
                "hangup",
            )
        )
    if kind == 6:
        return rng.choice(
            ("+905321112233", BLOCKED, STAFF_PHONE, "anonymous", "+266696687", "0532 111", "", "+")
        )
    if kind == 7:
        return "Mon, 23 Nov 2026 11:05:00 +0000" if rng.random() < 0.5 else "not a date"
    if kind == 8:
        return "https://api.twilio.com/2010-04-01/Recordings/RE" + secrets.token_hex(16)
    if kind == 9:
        return "RE" + secrets.token_hex(16)
    if kind == 10:
        return "<Response><Hangup/></Response>'\"&;--"
    return ""


def _routing_query(rng: random.Random) -> str:
    """The ids routing puts in its URLs (call, staff, role, offer), right and wrong."""
    if rng.random() < 0.2:
        return ""
    values = {
        "c": rng.choice(("1", "2", "0", "-1", "abc", "9" * 30, "")),
        "s": rng.choice(("1", "2", "x", "")),
        "r": rng.choice(("counsellor", "interpreter", "transfer", "boss", "")),
        "o": rng.choice((secrets.token_hex(8), "ZZ", "0" * 40, "")),
    }
    if rng.random() < 0.3:
        values["e"] = "timeout"
    return urlencode(values)


def _query(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return ""
    values = {
        "n": rng.choice(
            ("choose_language", "choose_topic", "callback", "voicemail", "nowhere", "")
        ),
        "t": rng.choice(("0", "1", "2", "3", "-1", "abc", "99999999999999999999")),
        "e": rng.choice(("digits", "timeout", "record", "record_empty", "dial", "bogus")),
    }
    if rng.random() < 0.1:
        values["extra"] = "\u202e" * 50
    return urlencode(values)


def _written(factory: Factory) -> int:
    """Rows that webhooks write: a request refused for its signature may add none."""
    session = factory.session
    session.expire_all()
    return sum(
        session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for model in (Call, CallEvent, PresenceChange, AuditEntry)
    )


def test_fuzz_covers_every_webhook(app: Flask) -> None:
    """The fuzzed paths are every POST webhook the app serves, the routing ones included."""
    paths = webhook_paths(app)
    assert {"/voice/incoming", "/voice/step", "/voice/staff/presence"} <= set(paths)
    assert paths[0].startswith("/voice/")
    assert set(paths) >= WITH_IDS


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_fuzzed_webhooks_never_fail_and_need_signatures(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
    seed: int,
) -> None:
    """No generated request gets a 5xx; a bad or missing signature gets 403 and writes
    nothing; every signed request gets TwiML."""
    caplog.set_level(logging.ERROR, logger="helpline")
    factory.staff(phone=STAFF_PHONE, password=None)
    with app.app_context():
        entry = entries.block(db.session, BLOCKED, 24, TEST_ACTOR, utcnow())
        db.session.commit()
        mirror.mirror_entry(get_redis(), entry, utcnow())
    paths = webhook_paths(app)
    rng = random.Random(seed)
    validator = RequestValidator(settings.twilio_auth_token or "")
    sids = ["CA" + secrets.token_hex(16) for _ in range(8)]
    bad_signed = accepted = 0
    for number in range(REQUESTS_PER_RUN):
        path = rng.choice(paths)
        query = _query(rng) if path == "/voice/step" else ""
        if path in WITH_IDS:
            query = _routing_query(rng)
        if path == "/voice/incoming" and rng.random() < 0.1:
            query = "as=caller"
        params = {
            name: _value(rng, sids) for name in rng.sample(NAMES, rng.randrange(0, len(NAMES)))
        }
        if rng.random() < 0.7:
            params["CallSid"] = rng.choice(sids)
        url = settings.public_base_url + path + (f"?{query}" if query else "")
        signing = rng.random()
        headers = {}
        if signing < 0.85:
            headers["X-Twilio-Signature"] = validator.compute_signature(url, params)
        elif signing < 0.92:
            headers["X-Twilio-Signature"] = validator.compute_signature(url + "x", params)
        elif signing < 0.96:
            headers["X-Twilio-Signature"] = "garbage" * rng.randrange(0, 3)
        is_signed = signing < 0.85
        before = 0 if is_signed else _written(factory)
        response = client.post(path + (f"?{query}" if query else ""), data=params, headers=headers)
        assert response.status_code < 500, f"seed {seed} request {number}: {response.status_code}"
        if not is_signed:
            bad_signed += 1
            assert response.status_code == 403, f"seed {seed} request {number}: accepted unsigned"
            assert _written(factory) == before, f"seed {seed} request {number}: wrote unsigned"
            continue
        accepted += 1
        assert response.status_code == 200, f"seed {seed} request {number}: {response.status_code}"
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response", f"seed {seed} request {number}: not TwiML"
    assert bad_signed > 100
    assert accepted > 900
    # The fallback catches crashes; none may have happened.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(CallEvent))
