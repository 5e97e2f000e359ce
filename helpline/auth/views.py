"""Login, logout and the role-aware start page."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import redis
from flask import (
    Blueprint,
    abort,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from helpline.audit import chain as audit
from helpline.auth import passwords, sessions
from helpline.auth.access import AUTHENTICATED, PUBLIC, ConsoleUser, allow, landing_endpoint
from helpline.auth.forms import LoginForm, PostForm
from helpline.auth.throttle import LoginThrottle
from helpline.extensions import db, get_redis
from helpline.models import Staff, utcnow
from helpline.models.enums import Role
from helpline.privacy import crypto as privacy
from helpline.routing import presence
from helpline.web import actor, request_info, session_lifetimes, throttle

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str | None:
    """Only follow `next` to a path on this site, never to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
@allow(AUTHENTICATED)
def index() -> Response:
    endpoint = landing_endpoint(current_user.staff)
    if endpoint is None:
        abort(403)
    return redirect(url_for(endpoint))


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status

    username = (form.username.data or "").strip().lower()
    password = form.password.data or ""
    account_key = privacy.keyring().pseudonym(username)
    address = request.remote_addr or "unknown"
    limiter: LoginThrottle = throttle()
    wait = limiter.retry_after(account_key, address)
    if wait is not None:
        audit.record(
            db.session,
            "login_throttled",
            audit.Actor("anonymous"),
            target_type="account",
            target_id=account_key,
            request=request_info(),
        )
        db.session.commit()
        log.warning("login throttled: account %s, retry in %ss", account_key, wait)
        minutes = max(1, round(wait / 60))
        flash(f"Too many failed attempts. Try again in {minutes} minute(s).", "error")
        return render_template("auth/login.html", form=form), 429

    staff = db.session.scalars(db.select(Staff).where(Staff.username == username)).one_or_none()
    password_hash = staff.password_hash if staff is not None and staff.is_active else None
    if not passwords.verify_password(password_hash, password) or staff is None:
        limiter.record_failure(account_key, address)
        audit.record(
            db.session,
            "login_failed",
            audit.Actor("anonymous"),
            target_type="staff" if staff is not None else "account",
            target_id=staff.id if staff is not None else account_key,
            request=request_info(),
        )
        db.session.commit()
        log.info("login failed: %s", f"staff {staff.id}" if staff else f"account {account_key}")
        flash("Wrong username or password.", "error")
        return render_template("auth/login.html", form=form), 401

    limiter.record_success(account_key)
    if staff.password_hash and passwords.needs_rehash(staff.password_hash):
        staff.password_hash = passwords.hash_password(password)
    info = request_info()
    token = sessions.start(
        db.session,
        staff,
        session_lifetimes(),
        ip_address=info.ip_address,
        user_agent=info.user_agent,
    )
    staff.last_login_at = utcnow()
    audit.record(
        db.session, "login", actor(staff), target_type="staff", target_id=staff.id, request=info
    )
    db.session.commit()
    log.info("login: staff %s", staff.id)

    session.clear()  # no state from before the login survives it
    # A browser-session cookie: not `permanent`, which would also weaken Flask-Login's
    # strong session protection to "basic". The server-side row bounds its life.
    login_user(ConsoleUser(staff, token), remember=False)
    return redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))


@bp.post("/logout")
@allow(AUTHENTICATED)
def logout() -> Response:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    staff = current_user.staff
    _go_offline(staff)
    sessions.end(db.session, current_user.token)
    audit.record(
        db.session,
        "logout",
        actor(staff),
        target_type="staff",
        target_id=staff.id,
        request=request_info(),
    )
    db.session.commit()
    log.info("logout: staff %s", staff.id)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def _go_offline(staff: Staff) -> None:
    """Logging out takes counsellors and interpreters off the routing, if Redis answers."""
    if not staff.has_role(Role.COUNSELLOR, Role.INTERPRETER):
        return
    try:
        presence.set_state(get_redis(), db.session, staff.id, "offline", reason="logout")
    except redis.RedisError:
        log.warning("logout of staff %s: Redis unreachable, live state not updated", staff.id)


BACKGROUND_HEADER = "X-Helpline-Background"


def load_user(token: str) -> ConsoleUser | None:
    """Flask-Login's user loader: a live server-side session, or nobody. A request the
    console's script makes by itself (BACKGROUND_HEADER) does not count as activity."""
    background = has_request_context() and request.headers.get(BACKGROUND_HEADER) == "1"
    row = sessions.resume(db.session, token, session_lifetimes(), touch=not background)
    return None if row is None else ConsoleUser(row.staff, token)
