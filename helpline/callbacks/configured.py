"""The callbacks' calling hours and sweeper times as this app is configured."""

from __future__ import annotations

from flask import current_app

from helpline.callbacks.limits import Limits
from helpline.callbacks.sweep import SweepClock
from helpline.ivr.registry import FlowRegistry
from helpline.web import settings


def limits() -> Limits:
    """Calling hours from the settings and the line's schedules (ivr_flows/schedules.yaml)."""
    flows: FlowRegistry = current_app.extensions["helpline.flows"]
    return Limits.from_settings(settings(), dict(flows.catalog.schedules))


def sweep_clock() -> SweepClock:
    return SweepClock(settings().callback_sweep_seconds)
