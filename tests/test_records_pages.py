"""Contact records in the console, through the test client with real CSRF tokens."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.auth.access import allowed_for
from helpline.models import (
    AuditEntry,
    Call,
    CallbackRequest,
    ContactRecord,
    ContactRecordVersion,
    Staff,
    utcnow,
)
from helpline.models.enums import Role
from tests.factories import Factory, csrf_token, login, post_form

NOTE = "Her landlord threatens to evict the family from the flat above the bakery"
NUMBER = "+905321112233"
MASKED = "+90 5** *** ** 33"


@dataclasses.dataclass
class Scene:
    counsellor: Staff
    call: Call


def _scene(factory: Factory) -> Scene:
    counsellor = factory.staff("ayse", roles=("counsellor",), languages=("ar", "tr"))
    caller = factory.caller("0532 111 22 33", language="ar")
    now = utcnow()
    call = factory.call(
        caller,
        counsellor_id=counsellor.id,
        language="ar",
        topic="psychosocial",
        started_at=now - dt.timedelta(minutes=20),
        answered_at=now - dt.timedelta(minutes=19),
    )
    return Scene(counsellor, call)


def _complete(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "call_type": "data",
        "categories": ["social_assistance.housing", "psychosocial.anxiety"],
        "summary": NOTE,
        "risk_level": "medium",
        "referrals-0-kind": "social_service_centre",
        "referrals-0-province": "Hatay",
        "referrals-0-centre": "Antakya Sosyal Hizmet Merkezi",
        "referrals-0-destination": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _record(factory: Factory) -> ContactRecord:
    factory.session.expire_all()
    return factory.session.scalars(sa.select(ContactRecord)).one()


def _audit(factory: Factory, action: str) -> list[AuditEntry]:
    factory.session.expire_all()
    return list(
        factory.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


def _finalised(client: FlaskClient, factory: Factory, scene: Scene) -> ContactRecord:
    page = f"/console/calls/{scene.call.id}/record"
    response = post_form(client, page, page, {**_complete(), "action": "finalise"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return _record(factory)


# --- the form ---------------------------------------------------------------------------


def test_record_form_for_a_call_is_accessible(client: FlaskClient, factory: Factory) -> None:
    """Labels for every field, fieldsets with legends, the masked number, no record yet."""
    scene = _scene(factory)
    login(client, "ayse")
    page = client.get(f"/console/calls/{scene.call.id}/record")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for legend in ("Type of call", "Categories", "Risk level", "Was a safety plan made?",
                   "Referrals", "Referral 1", "Follow-up call"):  # fmt: skip
        assert f"<legend>{legend}</legend>" in html
    for field_id in ("call_type-data", "cat-violence.domestic", "summary", "risk_level-high",
                     "safety_plan-yes", "referrals-0-kind", "referrals-0-province",
                     "referrals-0-centre", "referrals-0-destination", "follow_up_date",
                     "follow_up_time", "follow_up_consent"):  # fmt: skip
        assert f'id="{field_id}"' in html
        assert f'for="{field_id}"' in html, f"{field_id} has no label"
    assert MASKED in html
    assert NUMBER not in html
    assert "5321112233" not in html
    assert 'data-autosave-url="/console/calls/' in html
    assert '<script src="/static/records.js" defer></script>' in html
    assert factory.session.scalars(sa.select(ContactRecord)).all() == []


def test_record_home_lists_calls_and_contacts(client: FlaskClient, factory: Factory) -> None:
    """The console home links a call to its record form, and each contact to its record."""
    scene = _scene(factory)
    login(client, "ayse")
    home = client.get("/console/").get_data(as_text=True)
    assert f'href="/console/calls/{scene.call.id}/record"' in home
    record = _finalised(client, factory, scene)
    home = client.get("/console/").get_data(as_text=True)
    assert f'href="/console/records/{record.id}"' in home
    assert f'href="/console/calls/{scene.call.id}/record"' not in home


def test_record_save_draft_without_javascript(client: FlaskClient, factory: Factory) -> None:
    """ "Save draft" creates the draft and shows the same form, as it was filled; no version."""
    scene = _scene(factory)
    login(client, "ayse")
    page = f"/console/calls/{scene.call.id}/record"
    response = post_form(client, page, page, {"summary": NOTE, "risk_level": "high",
                                               "safety_plan": "no", "action": "draft"})  # fmt: skip
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Draft saved" in html
    assert NOTE in html
    assert 'id="safety_plan-no" value="no" checked' in html
    record = _record(factory)
    assert (record.status, record.version, record.summary_encrypted) == ("draft", 0, NOTE)
    assert f'action="/console/records/{record.id}"' in html
    assert factory.session.scalars(sa.select(ContactRecordVersion)).all() == []
    assert [e.target_id for e in _audit(factory, "contact_record_created")] == [str(record.id)]


def test_record_finalise_shows_errors_next_to_fields(client: FlaskClient, factory: Factory) -> None:
    """Finalising an incomplete record says what is missing, field by field, and keeps
    what was typed as the draft."""
    scene = _scene(factory)
    login(client, "ayse")
    page = f"/console/calls/{scene.call.id}/record"
    data = _complete(categories=None, summary=" ", risk_level="imminent",
                     **{"referrals-0-centre": ""}, action="finalise")  # fmt: skip
    response = post_form(client, page, page, data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<small class="error" id="categories-error">Tick at least one category.</small>' in html
    assert '<small class="error" id="summary-error">Write a summary of the contact.</small>' in html
    assert 'aria-describedby="summary-hint summary-error" aria-invalid="true"' in html
    assert 'id="safety_plan-error">Say whether a safety plan was made' in html
    assert 'id="referrals-0-centre-error">Choose the centre.</small>' in html
    assert 'role="alert"' in html
    assert 'href="#summary"' in html
    record = _record(factory)
    assert (record.status, record.risk_level) == ("draft", "imminent")
    assert _audit(factory, "contact_record_finalised") == []


def test_record_finalise_then_edit_then_read_only(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """Finalise writes version 1; an edit version 2; after 24 hours the owner only reads."""
    scene = _scene(factory)
    login(client, "ayse")
    record = _finalised(client, factory, scene)
    assert (record.status, record.version) == ("final", 1)
    assert [r.destination for r in record.referrals] == ["Antakya Sosyal Hizmet Merkezi"]
    shown = client.get(f"/console/records/{record.id}").get_data(as_text=True)
    assert "Record finalised: version 1." in shown
    assert "<td>Version 1</td><td>Test Person</td>" in shown
    assert "data-autosave-url" not in shown, "a final record saves only with its button"
    assert 'name="version" type="hidden" value="1"' in shown

    url = f"/console/records/{record.id}"
    edited = post_form(client, url, url, _complete(summary=NOTE + " Moved.", version="1",
                                                   action="save"))  # fmt: skip
    assert edited.status_code == 302
    assert _record(factory).version == 2
    stale = post_form(client, url, url, _complete(summary="older tab", version="1", action="save"))
    assert stale.status_code == 400
    assert "was saved again (version 2)" in stale.get_data(as_text=True)

    later = utcnow() + dt.timedelta(hours=25)
    app.extensions["helpline.clock"] = lambda: later
    page = client.get(url).get_data(as_text=True)
    assert 'id="record-form"' not in page
    assert "Read-only: the 24-hour edit window ended" in page
    assert NOTE + " Moved." in page
    refused = post_form(client, url, url, _complete(summary="too late", action="save"))
    assert refused.status_code == 302
    assert _record(factory).version == 2


def test_record_non_data_type_finalises_with_nothing_else(
    client: FlaskClient, factory: Factory
) -> None:
    scene = _scene(factory)
    login(client, "ayse")
    page = f"/console/calls/{scene.call.id}/record"
    response = post_form(client, page, page, {"call_type": "silent", "action": "finalise"})
    assert response.status_code == 302
    record = _record(factory)
    assert (record.status, record.call_type, record.summary_encrypted) == ("final", "silent", None)


# --- autosave ---------------------------------------------------------------------------


def test_record_autosave_creates_then_saves_the_draft(
    client: FlaskClient, factory: Factory
) -> None:
    """The first autosave of a call's record creates the draft; later ones replace its
    fields in place. No version, and the answer says when it was saved."""
    scene = _scene(factory)
    login(client, "ayse")
    page = f"/console/calls/{scene.call.id}/record"
    token = csrf_token(client.get(page).get_data(as_text=True))
    first = client.post(f"{page}/autosave", data={"csrf_token": token, "summary": "Her land"})
    assert first.status_code == 200
    answer = first.get_json()
    record = _record(factory)
    assert answer["status"] == "saved"
    assert answer["record_url"] == f"/console/records/{record.id}"
    assert answer["autosave_url"] == f"/console/records/{record.id}/autosave"
    assert len(answer["saved_at"]) == 5
    assert answer["saved_at"][2] == ":"

    again = client.post(
        answer["autosave_url"], data={**_complete(), "csrf_token": token, "risk_level": ""}
    )
    assert again.get_json()["status"] == "saved"
    record = _record(factory)
    assert record.summary_encrypted == NOTE
    assert (record.status, record.version, record.risk_level) == ("draft", 0, "")
    assert factory.session.scalars(sa.select(ContactRecordVersion)).all() == []
    assert len(_audit(factory, "contact_record_created")) == 1


def test_record_autosave_needs_the_csrf_token(client: FlaskClient, factory: Factory) -> None:
    scene = _scene(factory)
    login(client, "ayse")
    response = client.post(f"/console/calls/{scene.call.id}/record/autosave", data={"summary": "x"})
    assert response.status_code == 400
    assert factory.session.scalars(sa.select(ContactRecord)).all() == []


def test_record_autosave_refuses_a_final_record(client: FlaskClient, factory: Factory) -> None:
    scene = _scene(factory)
    login(client, "ayse")
    record = _finalised(client, factory, scene)
    url = f"/console/records/{record.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(f"{url}/autosave", data={"csrf_token": token, "summary": "changed"})
    assert response.status_code == 409
    assert response.get_json()["status"] == "error"
    assert _record(factory).summary_encrypted == NOTE


def test_record_out_of_call_contact(client: FlaskClient, factory: Factory) -> None:
    """A contact outside a call: no caller, no number, no follow-up; autosave then finalise."""
    factory.staff("ayse")
    login(client, "ayse")
    html = client.get("/console/records/new").get_data(as_text=True)
    assert "No number" in html
    assert 'id="follow-up"' not in html
    token = csrf_token(html)
    saved = client.post("/console/records/new/autosave", data={"csrf_token": token, "summary": "x"})
    record_url = saved.get_json()["record_url"]
    final = post_form(client, record_url, record_url, {**_complete(), "action": "finalise"})
    assert final.status_code == 302
    record = _record(factory)
    assert (record.call_id, record.caller_id, record.status) == (None, None, "final")
    assert _audit(factory, "contact_record_created")[0].details == {"out_of_call": True}


def test_record_finalise_with_follow_up(client: FlaskClient, factory: Factory) -> None:
    """The follow-up fields book a callback by this counsellor when the record is finalised."""
    scene = _scene(factory)
    login(client, "ayse")
    page = f"/console/calls/{scene.call.id}/record"
    when = (utcnow() + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=3)))
    data = _complete(follow_up_date=when.date().isoformat(), follow_up_time="10:30",
                     action="finalise")  # fmt: skip
    refused = post_form(client, page, page, data)
    assert refused.status_code == 400
    assert "Confirm the caller agreed to a call back." in refused.get_data(as_text=True)
    record_url = f"/console/records/{_record(factory).id}"
    accepted = post_form(client, record_url, record_url, {**data, "follow_up_consent": "y"})
    assert accepted.status_code == 302
    callback = factory.session.scalars(sa.select(CallbackRequest)).one()
    assert (callback.reason, callback.language, callback.preferred_staff_id) == (
        "follow_up", "ar", scene.counsellor.id,
    )  # fmt: skip
    assert (
        callback.due_from.astimezone(dt.timezone(dt.timedelta(hours=3))).strftime("%Y-%m-%d %H:%M")
        == f"{when.date().isoformat()} 10:30"
    )
    shown = client.get(record_url).get_data(as_text=True)
    assert "A follow-up call by you is scheduled for" in shown


# --- who may do what --------------------------------------------------------------------


def test_record_routes_never_admit_interpreters_or_admins(app: Flask) -> None:
    """No record, summary, number or history route is open to interpreters or admins."""
    views = {
        rule.endpoint: app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("records.")
    }
    assert len(views) == 11
    for endpoint, view in views.items():
        allowed = allowed_for(view)
        assert allowed, endpoint
        assert allowed <= {Role.COUNSELLOR.value, Role.SUPERVISOR.value}, endpoint


@pytest.mark.parametrize(
    ("role", "landing"), [("interpreter", "/console/interpreter"), ("admin", "/admin/staff")]
)
def test_record_pages_refuse_interpreters_and_admins(
    client: FlaskClient, factory: Factory, role: str, landing: str
) -> None:
    """Interpreters and administrators get 403 on every record page, form and endpoint."""
    scene = _scene(factory)
    owner = client.application.test_client()
    login(owner, "ayse")
    record = _finalised(owner, factory, scene)
    factory.staff("someone", roles=(role,), languages=("ar",))
    login(client, "someone")
    token = csrf_token(client.get(landing).get_data(as_text=True))
    for url in (f"/console/calls/{scene.call.id}/record", f"/console/records/{record.id}",
                "/console/records/new", f"/console/callers/{record.caller_id}"):  # fmt: skip
        assert client.get(url).status_code == 403, url
    for url in (f"/console/calls/{scene.call.id}/record",
                f"/console/calls/{scene.call.id}/record/autosave",
                f"/console/records/{record.id}", f"/console/records/{record.id}/autosave",
                f"/console/records/{record.id}/reveal", "/console/records/new",
                "/console/records/new/autosave"):  # fmt: skip
        response = client.post(url, data={"csrf_token": token, **_complete(summary="x")})
        assert response.status_code == 403, url
    assert NOTE in _record(factory).summary_encrypted  # type: ignore[operator]
    assert _audit(factory, "number_revealed") == []


def test_record_of_another_counsellor_is_refused(client: FlaskClient, factory: Factory) -> None:
    """Another counsellor cannot open, edit, autosave or reveal someone else's record."""
    scene = _scene(factory)
    owner = client.application.test_client()
    login(owner, "ayse")
    record = _finalised(owner, factory, scene)
    factory.staff("yusuf", roles=("counsellor",))
    login(client, "yusuf")
    token = csrf_token(client.get("/console/").get_data(as_text=True))
    assert client.get(f"/console/records/{record.id}").status_code == 403
    assert client.get(f"/console/calls/{scene.call.id}/record").status_code == 403
    for url in (f"/console/records/{record.id}", f"/console/records/{record.id}/autosave",
                f"/console/records/{record.id}/reveal",
                f"/console/calls/{scene.call.id}/record"):  # fmt: skip
        response = client.post(url, data={"csrf_token": token, **_complete(summary="mine now")})
        assert response.status_code == 403, url
    assert _record(factory).summary_encrypted == NOTE
    assert client.get(f"/console/callers/{record.caller_id}").status_code == 403


def test_record_supervisor_reads_but_does_not_edit(client: FlaskClient, factory: Factory) -> None:
    """A supervisor reads any record (audited) with its versions, and cannot change it."""
    scene = _scene(factory)
    owner = client.application.test_client()
    login(owner, "ayse")
    record = _finalised(owner, factory, scene)
    supervisor = factory.staff("elif", roles=("supervisor",))
    login(client, "elif")
    page = client.get(f"/console/records/{record.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert NOTE in html
    assert 'id="record-form"' not in html
    assert "Version 1" in html
    viewed = _audit(factory, "contact_record_viewed")
    assert [(e.actor_id, e.target_id) for e in viewed] == [(supervisor.id, str(record.id))]
    token = csrf_token(html)
    response = client.post(f"/console/records/{record.id}",
                           data={"csrf_token": token, **_complete(summary="x")})  # fmt: skip
    assert response.status_code == 403


# --- the number -------------------------------------------------------------------------


def test_reveal_number_owner_sees_it_and_it_is_audited(
    client: FlaskClient, factory: Factory
) -> None:
    """The owner's Reveal button shows the whole number once and audits it without it."""
    scene = _scene(factory)
    login(client, "ayse")
    record = _finalised(client, factory, scene)
    url = f"/console/records/{record.id}"
    before = client.get(url).get_data(as_text=True)
    assert MASKED in before
    assert NUMBER not in before
    assert "Reveal number" in before
    shown = post_form(client, url, f"{url}/reveal")
    assert shown.status_code == 200
    assert NUMBER in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    entries = _audit(factory, "number_revealed")
    assert [(e.actor_id, e.target_type, e.target_id) for e in entries] == [
        (scene.counsellor.id, "caller", str(record.caller_id))
    ]
    assert "5321112233" not in str(entries[0].details)
    assert NUMBER not in client.get(url).get_data(as_text=True), "revealed once, not kept"


def test_reveal_number_needs_csrf_token(client: FlaskClient, factory: Factory) -> None:
    scene = _scene(factory)
    login(client, "ayse")
    record = _finalised(client, factory, scene)
    assert client.post(f"/console/records/{record.id}/reveal").status_code == 400
    assert _audit(factory, "number_revealed") == []


def test_reveal_number_supervisor_may(client: FlaskClient, factory: Factory) -> None:
    scene = _scene(factory)
    owner = client.application.test_client()
    login(owner, "ayse")
    record = _finalised(owner, factory, scene)
    factory.staff("elif", roles=("supervisor",))
    login(client, "elif")
    url = f"/console/records/{record.id}"
    shown = post_form(client, url, f"{url}/reveal")
    assert shown.status_code == 200
    assert NUMBER in shown.get_data(as_text=True)
    assert len(_audit(factory, "number_revealed")) == 1


# --- caller history ---------------------------------------------------------------------


def test_caller_history_audited_and_summaries_gated(client: FlaskClient, factory: Factory) -> None:
    """Contacts linked through the caller: count, dates, categories and risk. Summaries
    only for their owner and supervisors. Opening it is audited."""
    scene = _scene(factory)
    owner = client.application.test_client()
    login(owner, "ayse")
    record = _finalised(owner, factory, scene)

    # A second counsellor takes a later call from the same number and writes a draft.
    other = factory.staff("yusuf", roles=("counsellor",), languages=("ar",))
    first_call = factory.session.get(Call, scene.call.id)
    assert first_call is not None
    call = factory.call(first_call.caller, counsellor_id=other.id, language="ar",
                        answered_at=utcnow())  # fmt: skip
    login(client, "yusuf")
    page = f"/console/calls/{call.id}/record"
    post_form(client, page, page, {"summary": "Second contact notes", "action": "draft"})

    history = client.get(f"/console/callers/{record.caller_id}")
    assert history.status_code == 200
    html = history.get_data(as_text=True)
    assert "<dt>Contacts recorded</dt><dd>2</dd>" in html
    assert "Housing and shelter" in html or "Barınma" in html
    assert NOTE not in html, "another counsellor's summary is not shown"
    assert "Second contact notes" in html
    assert MASKED in html
    assert NUMBER not in html
    entries = _audit(factory, "caller_history_viewed")
    assert [(e.actor_id, e.target_id, e.details) for e in entries] == [
        (other.id, str(record.caller_id), {"contacts": 2})
    ]

    mine = owner.get(f"/console/callers/{record.caller_id}").get_data(as_text=True)
    assert NOTE in mine
    assert "Second contact notes" not in mine

    factory.staff("elif", roles=("supervisor",))
    supervisor = client.application.test_client()
    login(supervisor, "elif")
    both = supervisor.get(f"/console/callers/{record.caller_id}").get_data(as_text=True)
    assert NOTE in both
    assert "Second contact notes" in both
    assert len(_audit(factory, "caller_history_viewed")) == 3
