"""Declare a Twilio webhook: a POST route open without a login, signed, and safe.

Twilio has no session, so the access rules let every webhook through (`PUBLIC`); the
signature check is what keeps others out, and a failure inside the view still answers
with TwiML. `caller_webhook` is for a caller's leg, `staff_webhook` for a leg that rings
a member of staff (the two answer a failure differently: see `common.safe`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint

from helpline.auth.access import PUBLIC, allow
from helpline.voice.common import safe, safe_for_staff
from helpline.voice.signature import twilio_signed

F = TypeVar("F", bound=Callable[..., Any])


def _webhook(bp: Blueprint, rule: str, guard: Callable[[F], F]) -> Callable[[F], F]:
    def register(view: F) -> F:
        wrapped = allow(PUBLIC)(twilio_signed(guard(view)))
        bp.post(rule)(wrapped)
        return wrapped

    return register


def caller_webhook(bp: Blueprint, rule: str) -> Callable[[F], F]:
    """Route `rule` of `bp` to the view as a webhook of a caller's leg (`common.safe`)."""
    return _webhook(bp, rule, safe)


def staff_webhook(bp: Blueprint, rule: str) -> Callable[[F], F]:
    """Route `rule` of `bp` to the view as a webhook of a staff leg (`common.safe_for_staff`)."""
    return _webhook(bp, rule, safe_for_staff)
