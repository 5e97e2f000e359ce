"""Console login: landing pages, throttling, CSRF, logout replay, cookies, roles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import argon2
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.auth import passwords
from helpline.auth.access import LANDING
from helpline.extensions import db
from helpline.models import AuditEntry, LoginSession
from tests.factories import PASSWORD, Factory, csrf_token, login, post_form


@pytest.mark.parametrize(
    ("roles", "landing"),
    [
        (("supervisor",), "/supervisor/"),
        (("counsellor",), "/console/"),
        (("interpreter",), "/console/interpreter"),
        (("admin",), "/admin/staff"),
        (("counsellor", "supervisor"), "/supervisor/"),
    ],
)
def test_login_lands_each_role_on_its_first_page(
    client: FlaskClient, factory: Factory, roles: tuple[str, ...], landing: str
) -> None:
    """Each role lands on a real page of its own after logging in."""
    factory.staff("person", roles=roles)
    response = login(client, "person")
    assert response.status_code == 302
    start = client.get(response.headers["Location"])
    assert start.status_code == 302
    assert start.headers["Location"] == landing
    page = client.get(landing)
    assert page.status_code == 200
    assert "Log out" in page.get_data(as_text=True)


def test_landing_table_covers_every_role() -> None:
    """No role is left without a first page."""
    from helpline.models.enums import Role

    assert {role for role, _ in LANDING} == set(Role)


def test_login_wrong_password_is_refused_and_audited(client: FlaskClient, factory: Factory) -> None:
    """A wrong password gets 401 and a login_failed audit entry naming the account."""
    staff = factory.staff("ayse")
    response = login(client, "ayse", "not the password at all")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    entry = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "login_failed")
    ).one()
    assert entry.target_type == "staff"
    assert entry.target_id == str(staff.id)


def test_login_unknown_user_does_not_store_the_typed_name(
    client: FlaskClient, factory: Factory
) -> None:
    """Whatever was typed as a username (perhaps a password) stays out of the audit log."""
    login(client, "secret-typed-in-the-wrong-box", "whatever")
    entry = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "login_failed")
    ).one()
    assert entry.target_type == "account"
    assert "secret-typed" not in str(entry.target_id) + str(entry.details)


def test_login_inactive_account_is_refused(client: FlaskClient, factory: Factory) -> None:
    """A deactivated account cannot log in, even with the right password."""
    staff = factory.staff("gone")
    staff.is_active = False
    factory.session.commit()
    assert login(client, "gone").status_code == 401


def test_login_throttle_per_account(client: FlaskClient, factory: Factory) -> None:
    """After 5 failures an account is locked for the window, even for the right password."""
    factory.staff("target")
    for _ in range(5):
        assert login(client, "target", "wrong password here").status_code == 401
    response = login(client, "target")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    actions = factory.session.scalars(sa.select(AuditEntry.action)).all()
    assert "login_throttled" in actions


def test_login_throttle_per_address(app: Flask, factory: Factory) -> None:
    """One address spraying many accounts is stopped after the address limit (30)."""
    factory.staff("victim")
    client = app.test_client()
    for n in range(30):
        assert login(client, f"nobody{n}", "wrong", REMOTE_ADDR="203.0.113.9").status_code == 401
    assert login(client, "victim", REMOTE_ADDR="203.0.113.9").status_code == 429
    other = app.test_client()
    assert login(other, "victim", REMOTE_ADDR="198.51.100.7").status_code == 302


def test_login_success_clears_account_failures(client: FlaskClient, factory: Factory) -> None:
    """A successful login resets the account's failure count."""
    factory.staff("forgetful")
    for _ in range(4):
        login(client, "forgetful", "wrong password")
    assert login(client, "forgetful").status_code == 302
    post_form(client, "/console/", "/logout")
    for _ in range(4):
        assert login(client, "forgetful", "wrong password").status_code == 401
    assert login(client, "forgetful").status_code == 302


def test_login_without_csrf_token_is_refused(client: FlaskClient, factory: Factory) -> None:
    """A login POST without the CSRF token is a 400, and logs nobody in."""
    factory.staff("ayse")
    response = client.post("/login", data={"username": "ayse", "password": PASSWORD})
    assert response.status_code == 400
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_logout_without_csrf_token_is_refused(client: FlaskClient, factory: Factory) -> None:
    """Logout is a POST with a CSRF token; a forged cross-site POST does nothing."""
    factory.staff("ayse")
    login(client, "ayse")
    assert client.post("/logout").status_code == 400
    assert client.get("/console/").status_code == 200


def test_logout_replayed_cookie_is_refused(client: FlaskClient, factory: Factory) -> None:
    """After logout, the old session cookie no longer authenticates anyone."""
    factory.staff("ayse")
    login(client, "ayse")
    stolen = client.get_cookie("helpline")
    assert stolen is not None
    assert post_form(client, "/console/", "/logout").status_code == 302

    client.set_cookie("helpline", stolen.value)
    replay = client.get("/console/")
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/login")


def test_session_idle_timeout_ends_the_session(client: FlaskClient, factory: Factory) -> None:
    """A session idle for longer than SESSION_IDLE_MINUTES is revoked."""
    factory.staff("ayse")
    login(client, "ayse")
    row = factory.session.scalars(sa.select(LoginSession)).one()
    row.last_seen_at = row.last_seen_at - dt.timedelta(minutes=31)
    factory.session.commit()
    assert client.get("/console/").status_code == 302
    factory.session.refresh(row)
    assert row.revoked_at is not None


def test_deactivating_staff_ends_their_sessions(client: FlaskClient, factory: Factory) -> None:
    """An account deactivated by an administrator is logged out everywhere at once."""
    factory.staff("boss", roles=("admin",))
    victim = factory.staff("leaver")
    login(client, "leaver")
    admin = client.application.test_client()
    login(admin, "boss")
    response = post_form(admin, "/admin/staff", f"/admin/staff/{victim.id}/active")
    assert response.status_code == 302
    assert client.get("/console/").status_code == 302


def test_session_protection_strong_drops_a_cookie_used_elsewhere(
    client: FlaskClient, factory: Factory
) -> None:
    """A session cookie presented from another address and browser is not honoured."""
    factory.staff("ayse")
    login(client, "ayse", REMOTE_ADDR="192.0.2.1")
    assert (
        client.get("/console/", environ_overrides={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
    )
    moved = client.get(
        "/console/",
        environ_overrides={"REMOTE_ADDR": "198.51.100.2", "HTTP_USER_AGENT": "evil/1.0"},
    )
    assert moved.status_code == 302


def test_cookies_are_httponly_and_samesite(client: FlaskClient, factory: Factory) -> None:
    """The session cookie is HttpOnly and SameSite=Lax over plain HTTP in development."""
    factory.staff("ayse")
    response = login(client, "ayse")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("helpline="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_cookies_are_secure_behind_tls(redis_url: str, database_url: str, tmp_path: Path) -> None:
    """With an https PUBLIC_BASE_URL the cookie is Secure and __Host- prefixed, with HSTS."""
    from helpline import create_app
    from tests.conftest import _empty_tables, make_settings

    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "i",
        PUBLIC_BASE_URL="https://helpline.example.org",
    )
    app = create_app(settings, {"TESTING": True})
    try:
        with app.app_context():
            from tests.factories import Factory as F

            F(db.session).staff("ayse")
        client = app.test_client()
        page = client.get("/login", base_url="https://helpline.example.org")
        token = csrf_token(page.get_data(as_text=True))
        response = client.post(
            "/login",
            data={"username": "ayse", "password": PASSWORD, "csrf_token": token},
            base_url="https://helpline.example.org",
            headers={"Referer": "https://helpline.example.org/login"},
        )
        assert response.status_code == 302
        cookie = next(h for h in response.headers.getlist("Set-Cookie") if "helpline=" in h)
        assert cookie.startswith("__Host-helpline=")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    finally:
        _empty_tables(app)


def test_password_hashes_are_strong_outside_the_test_environment(
    app: Flask, factory: Factory, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Only HELPLINE_ENV=test hashes with argon2's cheapest parameters (the suite logs in
    hundreds of times); any other environment hashes with the RFC 9106 low-memory profile,
    and a weaker hash is replaced by a strong one at the next login."""
    from helpline import create_app
    from tests.conftest import make_settings

    staff = factory.staff("ayse")
    assert staff.password_hash is not None
    assert argon2.extract_parameters(staff.password_hash) == argon2.profiles.CHEAPEST
    settings = make_settings(database_url, redis_url, tmp_path / "dev", HELPLINE_ENV="development")
    development = create_app(settings, {"TESTING": True})  # chooses the process's hasher
    try:
        assert login(development.test_client(), "ayse").status_code == 302
        factory.session.refresh(staff)
        assert staff.password_hash is not None
        strong = argon2.extract_parameters(staff.password_hash)
        assert strong == argon2.profiles.RFC_9106_LOW_MEMORY
        made = factory.staff("emre")
        assert made.password_hash is not None
        assert argon2.extract_parameters(made.password_hash) == strong
    finally:
        passwords.configure(test=True)  # as the test app chose
        with development.app_context():
            db.session.remove()
            db.engine.dispose()


def test_security_headers_on_every_page(client: FlaskClient) -> None:
    """Pages carry a same-origin CSP, anti-framing, nosniff and no-store."""
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("roles", "path", "status"),
    [
        (("counsellor",), "/supervisor/", 403),
        (("counsellor",), "/admin/staff", 403),
        (("interpreter",), "/console/", 403),
        (("supervisor",), "/admin/staff", 403),
        (("admin",), "/supervisor/", 403),
        (("admin",), "/console/", 403),
        (("counsellor",), "/console/interpreter", 403),
        (("supervisor",), "/supervisor/", 200),
    ],
)
def test_roles_are_enforced(
    client: FlaskClient, factory: Factory, roles: tuple[str, ...], path: str, status: int
) -> None:
    """A role reaches only its own pages."""
    factory.staff("person", roles=roles)
    login(client, "person")
    assert client.get(path).status_code == status


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    """Pages need a login; the login page remembers where the user was going."""
    response = client.get("/supervisor/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/supervisor/"


def test_view_without_allow_mark_is_denied_to_everyone(app: Flask, factory: Factory) -> None:
    """A view someone forgot to mark is refused, even to an administrator (deny by default)."""

    @app.get("/forgotten")
    def forgotten() -> str:
        return "exposed"

    factory.staff("boss", roles=("admin", "supervisor", "counsellor", "interpreter"))
    client = app.test_client()
    assert client.get("/forgotten").status_code == 403
    login(client, "boss")
    assert client.get("/forgotten").status_code == 403


def test_login_next_never_leaves_the_site(client: FlaskClient, factory: Factory) -> None:
    """The `next` parameter cannot send a user to another host after login."""
    factory.staff("ayse")
    page = client.get("/login?next=//evil.example/")
    token = csrf_token(page.get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": "ayse", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_health_reports_database_and_redis(client: FlaskClient) -> None:
    """/healthz is public and says both backing services answer."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"flows": "ok", "database": "ok", "redis": "ok"},
        "degraded": [],
    }


def test_client_address_behind_a_trusted_proxy(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    """With TRUSTED_PROXY_COUNT=1 the audit log records the caller's address, not the proxy's."""
    from helpline import create_app
    from tests.conftest import _empty_tables, make_settings

    settings = make_settings(database_url, redis_url, tmp_path / "i", TRUSTED_PROXY_COUNT="1")
    app = create_app(settings, {"TESTING": True})
    try:
        client = app.test_client()
        login(client, "nobody", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.50")
        with app.app_context():
            entry = db.session.scalars(sa.select(AuditEntry)).one()
            assert entry.ip_address == "203.0.113.50"
    finally:
        _empty_tables(app)
