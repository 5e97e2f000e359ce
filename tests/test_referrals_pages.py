"""Referral pages: the focal point's list and page, the case worker's steps on the record
page, overdue lists; an access matrix over every referral route and role that checks
nothing leaks to those refused."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from flask import Flask

from helpline.extensions import db
from helpline.models import ContactRecord, Referral, Staff, utcnow
from helpline.referrals import service
from tests.factories import Factory, csrf_token, login, post_form

NUMBER = "+905321112233"
SUMMARY = "She is afraid of her brother-in-law"
REASON = "Our social worker is on leave"
ROLES = (
    "focal_point",
    "other_focal_point",
    "interpreter",
    "other_site_counsellor",
    "owner",
    "supervisor",
    "admin",
)
USERNAMES = {
    "focal_point": "focal",
    "other_focal_point": "focal2",
    "interpreter": "interp",
    "other_site_counsellor": "other",
    "owner": "owner",
    "supervisor": "sup",
    "admin": "adm",
}


@dataclasses.dataclass
class Scene:
    owner: Staff
    focal: Staff
    record: ContactRecord
    referral: Referral


def _scene(factory: Factory) -> Scene:
    centre = factory.site("GAZ-SHB", "Gaziantep")
    other_centre = factory.site("IST-ESY", "İstanbul")
    home = factory.site("ANK-ALT", "Ankara")
    owner = factory.staff("owner", site=home)
    factory.staff("other", site=centre)
    focal = factory.staff("focal", roles=("ssc_focal_point",), languages=(), site=centre)
    factory.staff("focal2", roles=("ssc_focal_point",), languages=(), site=other_centre)
    factory.staff("interp", roles=("interpreter",), languages=("ar",), site=centre)
    factory.staff("sup", roles=("supervisor",))
    factory.staff("adm", roles=("admin",))
    caller = factory.caller(NUMBER, language="ar")
    call = factory.call(caller, counsellor_id=owner.id, answered_at=utcnow(), language="ar")
    record = factory.contact_record(call, owner, [SUMMARY])
    record.categories = ["violence.domestic"]
    referral = factory.referral(record)
    return Scene(owner, focal, record, referral)


def _send(app: Flask, scene: Scene) -> None:
    with app.app_context():
        referral = db.session.get(Referral, scene.referral.id)
        owner = db.session.get(Staff, scene.owner.id)
        assert referral is not None
        assert owner is not None
        catalog = app.extensions["helpline.catalog"]
        consent = service.Consent("mornings", "ar")
        service.record_consent(
            db.session, referral, consent, by=owner, now=utcnow(), catalog=catalog
        )
        service.send(db.session, referral, by=owner, now=utcnow(), catalog=catalog)
        db.session.commit()


# --- the access matrix of the referral routes ---------------------------------------------

OK, DENY = "ok", 403
ROUTES: dict[tuple[str, str], dict[str, object]] = {
    ("GET", "/referrals/"): {"focal_point": OK, "other_focal_point": OK},
    ("GET", "/referrals/overdue"): {"other_site_counsellor": OK, "owner": OK, "supervisor": OK},
    ("GET", "/referrals/{id}"): {"focal_point": OK, "owner": OK, "supervisor": OK},
    ("POST", "/referrals/{id}/reveal"): {"focal_point": OK},
    ("POST", "/referrals/{id}/consent"): {"owner": OK},
    ("POST", "/referrals/{id}/send"): {"owner": OK},
    ("POST", "/referrals/{id}/close"): {"owner": OK},
    ("POST", "/referrals/{id}/accept"): {"focal_point": OK},
    ("POST", "/referrals/{id}/decline"): {"focal_point": OK},
    ("POST", "/referrals/{id}/service"): {"focal_point": OK},
}
# What only those allowed may see: the number, the need's label, the centre, the reason.
SECRETS = ("5321112233", "Domestic violence", "Şahinbey", REASON)


def test_referral_routes_matrix_nothing_leaks(app: Flask, factory: Factory) -> None:
    """Every referral route, for each role: the table's outcome; a refusal is 403 and
    shows none of the referral's data; the focal point never sees the record's summary.
    An unknown referral is 404 for everyone the route admits."""
    scene = _scene(factory)
    _send(app, scene)
    with app.app_context():
        referral = db.session.get(Referral, scene.referral.id)
        assert referral is not None
        catalog = app.extensions["helpline.catalog"]
        focal = db.session.get(Staff, scene.focal.id)
        assert focal is not None
        service.decline(db.session, referral, REASON, by=focal, now=utcnow(), catalog=catalog)
        db.session.commit()
    wrong: list[str] = []
    for role in ROLES:
        client = app.test_client()
        assert login(client, USERNAMES[role]).status_code == 302
        token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
        for (method, pattern), allowed in ROUTES.items():
            path = pattern.format(id=scene.referral.id)
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={"csrf_token": token})
            got = OK if response.status_code in (200, 302, 303) else response.status_code
            expected = allowed.get(role, DENY)
            if got != expected:
                wrong.append(f"{method} {path} as {role}: {got}, expected {expected}")
            body = response.get_data(as_text=True)
            if got != OK:
                leaked = [s for s in SECRETS if s in body]
                if leaked:
                    wrong.append(f"{method} {path} as {role} leaked {leaked}")
            if role in ("focal_point", "other_focal_point") and SUMMARY in body:
                wrong.append(f"{method} {path} as {role} showed the record's summary")
            missing = pattern.format(id=999_999)
            if "{id}" in pattern and got == OK:
                gone = (
                    client.get(missing)
                    if method == "GET"
                    else client.post(missing, data={"csrf_token": token})
                )
                if gone.status_code != 404:
                    wrong.append(f"{method} {missing} as {role}: {gone.status_code}")
    assert wrong == []


# --- the pages --------------------------------------------------------------------------


def test_focal_point_list_page_and_reveal(app: Flask, factory: Factory) -> None:
    """The focal point's list shows the need, preference and language, never the summary;
    the page reveals the whole number on request, audited, and does not keep it."""
    scene = _scene(factory)
    _send(app, scene)
    client = app.test_client()
    login(client, "focal")
    home = client.get("/", follow_redirects=True)
    page = home.get_data(as_text=True)
    assert home.request.path == "/referrals/"
    assert f"Referral {scene.referral.id}" in page
    assert "Domestic violence" in page
    assert "Mornings" in page
    assert "Arabic" in page
    assert SUMMARY not in page
    url = f"/referrals/{scene.referral.id}"
    detail = client.get(url).get_data(as_text=True)
    assert NUMBER not in detail
    assert "Reveal number" in detail
    shown = post_form(client, url, f"{url}/reveal")
    assert shown.status_code == 200
    assert NUMBER in shown.get_data(as_text=True)
    assert NUMBER not in client.get(url).get_data(as_text=True)
    actions = [e.action for e in factory.audit_entries("number_revealed")]
    assert actions == ["number_revealed"]
    assert len(factory.audit_entries("referral_viewed")) == 3
    assert len(factory.audit_entries("referrals_listed")) == 1


def test_case_worker_records_consent_and_sends_from_the_record_page(
    app: Flask, factory: Factory
) -> None:
    """The record page shows the referral's follow-up: consent (with preference and
    language), then Send; sending without consent is not offered."""
    scene = _scene(factory)
    client = app.test_client()
    login(client, "owner")
    url = f"/console/records/{scene.record.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Referral follow-up" in page
    viewed = factory.audit_entries("referral_viewed")
    assert [(e.actor_id, e.target_id) for e in viewed] == [(scene.owner.id, str(scene.referral.id))]
    assert "The person agreed that their data be shared" in page
    assert f"/referrals/{scene.referral.id}/send" not in page
    answer = post_form(
        client,
        url,
        f"/referrals/{scene.referral.id}/consent",
        {"contact_preference": "evenings", "language": "ar", "back": "record"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert f"/referrals/{scene.referral.id}/send" in page
    post_form(client, url, f"/referrals/{scene.referral.id}/send", {"back": "record"})
    factory.session.expire_all()
    referral = factory.session.get(Referral, scene.referral.id)
    assert referral is not None
    assert (referral.status, referral.contact_preference) == ("sent", "evenings")
    assert referral.site_id == scene.focal.site_id


def test_focal_point_accepts_declines_and_records_service(app: Flask, factory: Factory) -> None:
    """Accept, then record the service with its day and what; a decline without a reason
    is refused with a message and changes nothing."""
    scene = _scene(factory)
    _send(app, scene)
    client = app.test_client()
    login(client, "focal")
    url = f"/referrals/{scene.referral.id}"
    refused = post_form(client, url, f"{url}/decline", {"reason": ""})
    assert refused.status_code == 302
    assert "Fill in the fields" in client.get(url).get_data(as_text=True)
    post_form(client, url, f"{url}/accept")
    today = utcnow().date().isoformat()
    post_form(client, url, f"{url}/service", {"on": today, "what": "Home visit", "note": "ok"})
    factory.session.expire_all()
    referral = factory.session.get(Referral, scene.referral.id)
    assert referral is not None
    assert referral.status == "service_provided"
    assert (referral.service_what, referral.service_on) == ("Home visit", utcnow().date())
    page = client.get(url).get_data(as_text=True)
    assert "Service provided" in page
    assert "Home visit" in page


def test_overdue_referrals_for_counsellor_and_supervisor(app: Flask, factory: Factory) -> None:
    """An overdue referral shows on its counsellor's list and the supervisors', with a site
    filter; another counsellor's list does not have it."""
    scene = _scene(factory)
    factory.session.get(Referral, scene.referral.id).due_at = utcnow() - dt.timedelta(hours=1)  # type: ignore[union-attr]
    factory.session.commit()
    mark = f"Referral {scene.referral.id}"
    owner = app.test_client()
    login(owner, "owner")
    assert mark in owner.get("/referrals/overdue").get_data(as_text=True)
    other = app.test_client()
    login(other, "other")
    assert mark not in other.get("/referrals/overdue").get_data(as_text=True)
    supervisor = app.test_client()
    login(supervisor, "sup")
    assert mark in supervisor.get("/referrals/overdue").get_data(as_text=True)
    assert mark in supervisor.get(f"/referrals/overdue?site={scene.owner.site_id}").get_data(
        as_text=True
    )
    assert mark not in supervisor.get(f"/referrals/overdue?site={scene.focal.site_id}").get_data(
        as_text=True
    )
    assert len(factory.audit_entries("referrals_overdue_viewed")) == 5


@pytest.mark.parametrize(
    ("language", "words"), [("tr", "Merkezime yapılan yönlendirmeler"), ("ar", 'dir="rtl"')]
)
def test_focal_point_pages_in_turkish_and_arabic(
    app: Flask, factory: Factory, language: str, words: str
) -> None:
    """The focal point reads its pages in its own language (Arabic right to left)."""
    scene = _scene(factory)
    _send(app, scene)
    focal = factory.session.get(Staff, scene.focal.id)
    assert focal is not None
    focal.ui_language = language
    factory.session.commit()
    client = app.test_client()
    login(client, "focal")
    assert words in client.get("/referrals/").get_data(as_text=True)


def test_admin_creates_an_ssc_focal_point_for_one_site(app: Flask, factory: Factory) -> None:
    """The staff form offers the role; a focal point without a site is refused, with one
    it is created and lands on its centre's referrals."""
    site = factory.site("GAZ-SHB", "Gaziantep")
    factory.staff("adm", roles=("admin",))
    admin = app.test_client()
    login(admin, "adm")
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert 'value="ssc_focal_point"' in page
    form = {
        "username": "focal.new",
        "display_name": "Selin Focal",
        "roles": "ssc_focal_point",
        "password": "a long enough password 1",
    }
    refused = post_form(admin, "/admin/staff", "/admin/staff", form)
    assert refused.status_code == 400
    assert "belongs to a site" in refused.get_data(as_text=True)
    made = post_form(admin, "/admin/staff", "/admin/staff", {**form, "site": site.code})
    assert made.status_code == 302
    focal = app.test_client()
    assert login(focal, "focal.new", "a long enough password 1").status_code == 302
    assert focal.get("/").headers["Location"] == "/referrals/"
