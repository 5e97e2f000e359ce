"""Health checks for load balancers, container checks and process supervisors.

- `/healthz/live`: the process answers HTTP. No dependency is checked, so a restart is
  never triggered by an outage elsewhere.
- `/healthz/ready`: this instance can answer Twilio's webhooks. Ready (200) while the IVR
  can answer, in degraded mode included: with Redis or the database down every webhook
  still answers (the duty line, the fallback), so taking the instance out of a load
  balancer would only silence the line. The body names each degraded part. Not ready
  (503) only when the instance cannot answer webhooks at all: its flows are not loaded.
- `/healthz`: the same as `/healthz/ready`, for existing checks.
"""

from __future__ import annotations

import redis
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from helpline.auth.access import PUBLIC, allow
from helpline.extensions import db, get_redis

bp = Blueprint("health", __name__)

OK = "ok"
# Parts without which webhooks still get TwiML (degraded), and those without which not.
DEGRADABLE = ("database", "redis")


def readiness(checks: dict[str, str]) -> tuple[str, int, list[str]]:
    """(status, HTTP status, degraded parts) for these check results."""
    degraded = [part for part in DEGRADABLE if checks.get(part, OK) != OK]
    essential_failed = any(value != OK for part, value in checks.items() if part not in DEGRADABLE)
    if essential_failed:
        return "unavailable", 503, degraded
    return ("degraded" if degraded else OK), 200, degraded


def _check_flows() -> str:
    flows = current_app.extensions.get("helpline.flows")
    if flows is None or not flows.catalog.flows:
        return "not loaded"
    return OK


def _check_database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return "unreachable"
    return OK


def _check_redis() -> str:
    try:
        get_redis().ping()
    except redis.RedisError:
        return "unreachable"
    return OK


@bp.get("/healthz/live")
@allow(PUBLIC)
def live() -> ResponseReturnValue:
    """200 while the process answers; nothing else is checked."""
    return jsonify(status="live"), 200


@bp.get("/healthz/ready")
@bp.get("/healthz")
@allow(PUBLIC)
def ready() -> ResponseReturnValue:
    """200 while webhooks can be answered (naming degraded parts), 503 when they cannot."""
    checks = {"flows": _check_flows(), "database": _check_database(), "redis": _check_redis()}
    status, code, degraded = readiness(checks)
    return jsonify(status=status, checks=checks, degraded=degraded), code
