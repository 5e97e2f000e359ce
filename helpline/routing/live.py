"""The app's routing pieces: the policy, the staff whispers, and the reservations.

Loaded once by `create_app` from IVR_FLOWS_PATH and kept in `app.extensions`, so that web
views and RQ jobs share them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from helpline.extensions import get_redis
from helpline.ivr.loader import ROUTING_FILE
from helpline.routing.policy import Policy, load_policy
from helpline.routing.reservation import Reservations
from helpline.routing.whisper import StaffPrompts, load_staff_prompts


def init_routing(app: Flask, flows_path: Path) -> None:
    """Load routing.yaml and staff_prompts.yaml; PolicyError or WhisperError if unusable."""
    app.extensions["helpline.routing.policy"] = load_policy(flows_path / ROUTING_FILE)
    app.extensions["helpline.routing.whispers"] = load_staff_prompts(flows_path)


def policy() -> Policy:
    value: Policy = current_app.extensions["helpline.routing.policy"]
    return value


def whispers() -> StaffPrompts:
    value: StaffPrompts = current_app.extensions["helpline.routing.whispers"]
    return value


def reservations() -> Reservations:
    """The Lua scripts, registered once per app on its Redis connection."""
    found: Reservations | None = current_app.extensions.get("helpline.routing.reservations")
    if found is None:
        found = current_app.extensions["helpline.routing.reservations"] = Reservations(get_redis())
    return found
