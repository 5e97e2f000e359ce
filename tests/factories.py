"""A small factory for test data, through the same services the product uses."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from helpline import audit, privacy, staffing
from helpline.models import Call, Caller, Site, Staff
from helpline.models.base import DbSession

PASSWORD = "correct horse battery staple"
TEST_ACTOR = audit.Actor("tests")


class Factory:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    def site(self, code: str | None = None, province: str = "Ankara") -> Site:
        code = code or f"S{secrets.token_hex(3)}"
        site = staffing.add_site(self.session, code, f"Centre {code}", province, TEST_ACTOR)
        self.session.commit()
        return site

    def staff(
        self,
        username: str | None = None,
        roles: tuple[str, ...] = ("counsellor",),
        languages: tuple[str, ...] = ("tr",),
        topics: tuple[str, ...] = ("psychosocial",),
        phone: str | None = None,
        site: Site | None = None,
        password: str = PASSWORD,
    ) -> Staff:
        spec = staffing.StaffSpec(
            username=username or f"user{secrets.token_hex(3)}",
            display_name="Test Person",
            roles=roles,
            languages=languages,
            topics=topics,
            site_code=site.code if site else None,
            phone=phone,
            password=password,
        )
        staff = staffing.add_staff(self.session, spec, TEST_ACTOR)
        self.session.commit()
        return staff

    def caller(self, number: str, language: str | None = None) -> Caller:
        e164 = privacy.normalise_number(number)
        caller = Caller(
            number_index=privacy.keyring().blind_index(e164),
            number_encrypted=e164,
            preferred_language=language,
        )
        self.session.add(caller)
        self.session.commit()
        return caller

    def call(self, caller: Caller | None = None, **fields: Any) -> Call:
        call = Call(call_sid="CA" + secrets.token_hex(16), caller=caller, **fields)
        self.session.add(call)
        self.session.commit()
        return call


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token in the page")
    return match.group(1) or match.group(2)


def login(
    client: FlaskClient, username: str, password: str = PASSWORD, **environ: Any
) -> TestResponse:
    page = client.get("/login", environ_overrides=environ or None)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_overrides=environ or None,
    )


def post_form(
    client: FlaskClient, page_url: str, action: str, data: dict[str, Any] | None = None
) -> TestResponse:
    """Submit a form the way a browser does: take the CSRF token from the page first."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={**(data or {}), "csrf_token": token})
