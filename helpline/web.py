"""Helpers shared by the console blueprints: settings, request details, the acting user."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request

from helpline.audit import chain as audit
from helpline.auth.sessions import Lifetimes
from helpline.auth.throttle import Limits, LocalWindows, LoginThrottle
from helpline.config import Settings
from helpline.extensions import get_redis
from helpline.models import Staff, utcnow


def settings() -> Settings:
    value: Settings = current_app.extensions["helpline.settings"]
    return value


def session_lifetimes() -> Lifetimes:
    config = settings()
    return Lifetimes(
        idle=dt.timedelta(minutes=config.session_idle_minutes),
        absolute=dt.timedelta(hours=config.session_max_hours),
    )


def request_info() -> audit.RequestInfo:
    return audit.RequestInfo(
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string or None,
        request_id=g.get("request_id"),
    )


def actor(staff: Staff) -> audit.Actor:
    return audit.Actor(label=staff.username, staff_id=staff.id)


def throttle() -> LoginThrottle:
    """The login throttle; its stand-in for Redis lives as long as this app, per process."""
    config = settings()
    local: LocalWindows = current_app.extensions.setdefault(
        "helpline.login-throttle-local", LocalWindows()
    )
    return LoginThrottle(
        get_redis(),
        Limits(
            per_account=config.login_max_failures_per_account,
            per_address=config.login_max_failures_per_address,
            window_seconds=config.login_throttle_window_seconds,
        ),
        local,
    )


def now() -> dt.datetime:
    """The current time; `helpline simulate --at` replaces the app's clock, nothing else does."""
    clock = current_app.extensions.get("helpline.clock")
    return clock() if clock is not None else utcnow()
