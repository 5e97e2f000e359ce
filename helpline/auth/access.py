"""Role-based access: one decorator marks who may use a view; everything else is denied.

`enforce_access` runs before every request. A view that carries no `allow(...)` mark is
refused with 403 even to a logged-in administrator, so a forgotten decorator fails
closed instead of exposing data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import UserMixin, current_user
from werkzeug.wrappers import Response

from helpline.models import Staff
from helpline.models.enums import Role

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC: Final = "public"
AUTHENTICATED: Final = "authenticated"
_MARK = "_helpline_allowed"

# Where each role starts, in order of precedence for people with several roles.
LANDING: Final[tuple[tuple[Role, str], ...]] = (
    (Role.SUPERVISOR, "supervisor.home"),
    (Role.COUNSELLOR, "console.home"),
    (Role.INTERPRETER, "console.interpreter"),
    (Role.SSC_FOCAL_POINT, "referrals.mine"),
    (Role.PROGRAMME_OFFICER, "supervisor.programme_report"),
    (Role.ADMIN, "admin.staff_list"),
)


class ConsoleUser(UserMixin):  # type: ignore[misc]
    """The logged-in member of staff, as Flask-Login sees them: id is the session token."""

    def __init__(self, staff: Staff, token: str) -> None:
        self.staff = staff
        self.token = token

    def get_id(self) -> str:
        return self.token

    @property
    def roles(self) -> frozenset[Role]:
        return self.staff.roles


def allow(*who: str) -> Callable[[F], F]:
    """Let only these roles (or PUBLIC, or AUTHENTICATED) use the decorated view."""
    allowed = frozenset(who)
    unknown = allowed - {PUBLIC, AUTHENTICATED, *(r.value for r in Role)}
    if not allowed or unknown:
        raise ValueError(f"allow() needs roles, PUBLIC or AUTHENTICATED, not {sorted(unknown)}")

    def mark(view: F) -> F:
        setattr(view, _MARK, allowed)
        return view

    return mark


def allowed_for(view: Callable[..., Any]) -> frozenset[str]:
    return frozenset(getattr(view, _MARK, frozenset()))


def current_staff() -> Staff:
    """The logged-in member of staff; only call from a view that requires a login."""
    staff: Staff = current_user.staff
    return staff


def landing_endpoint(staff: Staff) -> str | None:
    for role, endpoint in LANDING:
        if role in staff.roles:
            return endpoint
    return None


def enforce_access() -> Response | None:
    """before_request hook: deny by default, send anonymous users to the login page."""
    if request.endpoint is None:
        return None  # a 404 or 405 follows
    if request.endpoint == "static":
        return None
    view = current_app.view_functions[request.endpoint]
    allowed = allowed_for(view)
    if PUBLIC in allowed:
        return None
    if not current_user.is_authenticated:
        if not allowed:
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if AUTHENTICATED in allowed:
        return None
    if not allowed or not any(role.value in allowed for role in current_user.roles):
        abort(403)
    return None
