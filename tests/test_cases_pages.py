"""The case pages through the Flask test client: opening a case from a contact record,
the case page and each of its changes, the profile, "My cases", the supervisor's search
and caseload; bad input answered with field messages (400), never a 500; CSRF; unknown
references (404); and who may use each route (403), with nothing of the case leaking."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.cases import cases, persons
from helpline.models import (
    AuditEntry,
    CallbackRequest,
    Case,
    CaseAction,
    ContactRecord,
    Person,
    PersonNumber,
    Staff,
    WellbeingMeasure,
    utcnow,
)
from helpline.records import service as records
from tests.case_pages import NAME, USERNAMES, Desk, desk, logged_in
from tests.cases import NUMBER
from tests.factories import Factory


@pytest.fixture
def office(factory: Factory) -> Desk:
    return desk(factory)


def _client(app: Flask, who: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, logged_in(client, USERNAMES[who])


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _audited(factory: Factory, action: str) -> int:
    factory.session.expire_all()
    query = sa.select(sa.func.count()).where(AuditEntry.action == action)
    return int(factory.session.scalar(query) or 0)


def _case(factory: Factory, case_id: int) -> Case:
    factory.session.expire_all()
    found = factory.session.get(Case, case_id)
    assert found is not None
    return found


# --- opening a case from a contact record -------------------------------------------------


def _new_contact(factory: Factory, office: Desk) -> ContactRecord:
    """Another call of the person's number, with its draft record."""
    now = utcnow()
    caller_id = office.record.caller_id
    call = factory.call(
        None, counsellor_id=office.worker.id, language="ar", started_at=now, answered_at=now
    )
    call.caller_id = caller_id
    record = records.create_draft(factory.session, by=office.worker, now=now, call=call)
    factory.session.commit()
    return record


def test_case_pages_open_a_case_with_a_new_profile(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """From a contact record the counsellor opens a case for a new profile with the
    person's consent; the case page shows it, and the record page links to it."""
    record = _new_contact(factory, office)
    client, token = _client(app, "worker")
    assert "Open a case or add this contact to a case" in _page(
        client, f"/console/records/{record.id}"
    )
    page = _page(client, f"/console/records/{record.id}/case")
    assert "Add to an existing case of this person" in page
    assert NAME not in page  # profiles are shown only once they have a name
    response = client.post(
        f"/console/records/{record.id}/case",
        data={"csrf_token": token, "person": "new", "consent": "yes", "needs": ["shelter"]},
    )
    assert response.status_code == 302
    factory.session.expire_all()
    stored = factory.session.get(ContactRecord, record.id)
    assert stored is not None
    assert stored.case_id is not None
    case = _case(factory, stored.case_id)
    assert case.needs == ["shelter"]
    assert response.headers["Location"].endswith(f"/console/cases/{case.reference}")
    page = _page(client, response.headers["Location"])
    assert case.reference in page
    assert "Shelter" in page


def test_case_pages_open_a_case_refuses_bad_input_with_field_messages(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """No person chosen, no consent answer for a new profile, an unknown need: 400 with
    the field's message; nothing is made. No CSRF token: 400."""
    record = _new_contact(factory, office)
    client, token = _client(app, "worker")
    path = f"/console/records/{record.id}/case"
    persons_before = factory.session.scalar(sa.select(sa.func.count()).select_from(Person))
    for data, message in (
        ({"person": "new"}, "Choose one of the listed options."),
        ({"person": ""}, "Fill this in."),
        ({"person": "new", "consent": "yes", "needs": ["flying"]}, "Choose needs from the list."),
        ({"person": "99999999"}, "There is no such"),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        body = response.get_data(as_text=True)
        assert response.status_code in (400, 404), data
        if response.status_code == 400:
            assert message in body, data
    assert client.post(path, data={"person": "new", "consent": "yes"}).status_code == 400
    factory.session.expire_all()
    after = factory.session.scalar(sa.select(sa.func.count()).select_from(Person))
    assert after == persons_before


def test_case_pages_add_a_contact_to_the_persons_case(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """ "Add to an existing case" joins the contact to the person's open case; an unknown
    reference is a field message."""
    record = _new_contact(factory, office)
    client, token = _client(app, "worker")
    path = f"/console/records/{record.id}/case/add"
    refused = client.post(path, data={"csrf_token": token, "case": "CS-NONE-NONE"})
    assert refused.status_code == 400
    assert "Choose one of the person&#39;s cases." in refused.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": token, "case": office.case.reference})
    assert done.status_code == 302
    factory.session.expire_all()
    stored = factory.session.get(ContactRecord, record.id)
    assert stored is not None
    assert stored.case_id == office.case.id


# --- the case page ------------------------------------------------------------------------


def test_case_pages_show_the_case_audited(app: Flask, factory: Factory, office: Desk) -> None:
    """The case page: header, needs, risk history, linked persons, the plan, wellbeing
    with the draft mark of the Arabic questionnaire, the timeline; the view, the
    wellbeing curve and the timeline are audited."""
    client, _token = _client(app, "worker")
    page = _page(client, f"/console/cases/{office.case.reference}")
    for text in (
        office.case.reference,
        "Risk assessment",
        "Her residence papers renewed",
        "Book the appointment",
        f"Profile {office.relative.id}",
        "Child",
        "Draft translation, under review",
        'lang="ar"',
        "Timeline",
        "Goal added",
    ):
        assert text in page, text
    assert _audited(factory, "case_viewed") == 1
    assert _audited(factory, "case_wellbeing_viewed") == 1
    assert _audited(factory, "case_timeline_viewed") == 1
    english = _page(client, f"/console/cases/{office.case.reference}?who5=en")
    assert "Draft translation, under review" not in english


def _timeline_pages(
    factory: Factory, office: Desk, client: FlaskClient, path: str
) -> tuple[str, str]:
    """Sixty notes on the case; the page at `path` shows the newest 50 and its "Older
    entries" link the other 10, each once. The older link and the second page."""
    start = utcnow()
    for n in range(60):
        cases.add_note(
            factory.session, office.case, f"note number {n:02d}", by=office.worker,
            now=start + dt.timedelta(minutes=n + 1),
        )  # fmt: skip
    factory.session.commit()
    first = _page(client, path)
    shown = re.findall(r"note number (\d\d)", first)
    assert shown == [f"{n:02d}" for n in range(59, 9, -1)]
    older = re.search(r'href="([^"]*after=[^"#]*)[^"]*" rel="next"', first)
    assert older is not None
    link = html.unescape(older.group(1))
    second = _page(client, link)
    rest = re.findall(r"note number (\d\d)", second)
    assert rest == [f"{n:02d}" for n in range(9, -1, -1)]
    return link, second


def test_case_pages_timeline_in_keyset_pages(app: Flask, factory: Factory, office: Desk) -> None:
    """The timeline shows 50 entries, newest first, and links the older ones by the last
    entry's key; following it shows the rest, each entry once."""
    client, _token = _client(app, "worker")
    path = f"/console/cases/{office.case.reference}"
    link, second = _timeline_pages(factory, office, client, path)
    assert link.startswith(f"{path}?after=")
    assert f'<a href="{path}">' in second  # back to the newest


def test_case_pages_unknown_reference_is_404(app: Flask, office: Desk) -> None:
    client, token = _client(app, "worker")
    assert client.get("/console/cases/CS-NONE-NONE").status_code == 404
    response = client.post("/console/cases/CS-NONE-NONE/notes", data={"csrf_token": token})
    assert response.status_code == 404
    assert client.get(f"/console/cases/{office.case.reference}?after=junk").status_code == 404


def _post(client: FlaskClient, token: str, office: Desk, what: str, **data: object) -> int:
    response = client.post(
        f"/console/cases/{office.case.reference}/{what}", data={"csrf_token": token, **data}
    )
    return response.status_code


def test_case_pages_each_change_happy_path(app: Flask, factory: Factory, office: Desk) -> None:
    """Status, needs, risk, a goal achieved, an action done, a call action making its
    follow-up callback, a note, a WHO-5: each a redirect back to the case, and stored."""
    client, token = _client(app, "worker")
    reference = office.case.reference
    assert _post(client, token, office, "status", status="active") == 302
    assert _post(client, token, office, "needs", needs=["health", "food"]) == 302
    assert _post(client, token, office, "risk", risk_level="high") == 302
    assert _post(client, token, office, f"goals/{office.goal.id}", status="achieved") == 302
    assert _post(client, token, office, f"actions/{office.action.id}", status="done") == 302
    day = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    call = {
        "action_description": "Call her about the appointment",
        "owner": office.worker.id,
        "due_date": day,
        "due_time": "11:00",
        "is_call": "yes",
        "call_consent": "yes",
    }
    assert _post(client, token, office, "actions", **call) == 302
    assert _post(client, token, office, "notes", note="She found a lawyer") == 302
    answers = {f"item{n}": "3" for n in range(1, 6)}
    who5 = {"occasion": "intake", "language": "ar", **answers}
    assert _post(client, token, office, "wellbeing", **who5) == 302
    case = _case(factory, office.case.id)
    assert (case.status, case.risk_level) == ("active", "high")
    assert sorted(case.needs) == ["food", "health"]
    callbacks = factory.session.scalars(sa.select(CallbackRequest)).all()
    assert [(c.reason, c.language) for c in callbacks] == [("follow_up", "ar")]
    measure = factory.session.scalars(sa.select(WellbeingMeasure)).one()
    assert (measure.raw_score, measure.percentage, measure.language) == (15, 60, "ar")
    page = _page(client, f"/console/cases/{reference}")
    assert "She found a lawyer" in page
    assert "Follow-up call" in page
    assert "<svg" in page
    assert "Incoming call: " in page  # the timeline says what happened in words
    assert "Callback (follow-up): waiting" in page


def test_case_pages_bad_input_gets_field_messages_never_a_500(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """Closing without a reason, an unknown status, a past call action without consent,
    an empty note, a half-answered WHO-5, a transfer to nobody: 400 with the field's
    message, and nothing changes."""
    client, token = _client(app, "worker")
    cases_path = f"/console/cases/{office.case.reference}"

    def refused(what: str, message: str, **data: object) -> None:
        response = client.post(f"{cases_path}/{what}", data={"csrf_token": token, **data})
        assert response.status_code == 400, (what, response.status_code)
        body = response.get_data(as_text=True)
        assert message in body, (what, message)
        assert 'role="alert"' in body

    refused("status", "Closing a case needs a reason.", status="closed")
    refused("status", "Choose one of the listed options.", status="flying")
    refused("risk", "Choose one of the listed options.", risk_level="extreme")
    refused("notes", "Fill this in.", note="   ")
    refused("goals", "Fill this in.", goal_description="")
    refused("actions", "A date, as YYYY-MM-DD.", action_description="x", owner=1, due_date="soon")
    refused(
        "actions",
        "Confirm the person agreed to a call back.",
        action_description="Call",
        owner=office.worker.id,
        due_date=(utcnow() + dt.timedelta(days=2)).date().isoformat(),
        is_call="yes",
    )
    refused("wellbeing", "Choose an answer for every statement.", item1="3", occasion="intake")
    refused("assign", "Fill this in.", worker="")
    refused("assign", "Choose an active counsellor.", worker=office.supervisor.id)
    refused("persons", "Choose one of the listed options.", person=office.relative.id)
    assert client.post(f"{cases_path}/notes", data={"note": "no token"}).status_code == 400
    case = _case(factory, office.case.id)
    assert case.status == "open"
    assert factory.session.scalars(sa.select(CallbackRequest)).all() == []


def test_case_pages_add_a_family_member(app: Flask, factory: Factory, office: Desk) -> None:
    """A child without a profile: made and linked from the case page, with the answer to
    keeping it; without an answer, or a relationship, a field message."""
    client, token = _client(app, "worker")
    path = f"/console/cases/{office.case.reference}/relatives"
    missing = client.post(path, data={"csrf_token": token, "new_relationship": "child"})
    assert missing.status_code == 400
    assert "Choose one of the listed options." in missing.get_data(as_text=True)
    no_kind = client.post(path, data={"csrf_token": token, "relative_consent": "yes"})
    assert no_kind.status_code == 400
    done = client.post(
        path, data={"csrf_token": token, "new_relationship": "spouse", "relative_consent": "no"}
    )
    assert done.status_code == 302
    factory.session.expire_all()
    newest = factory.session.scalars(sa.select(Person).order_by(Person.id.desc())).first()
    assert newest is not None
    page = _page(client, f"/console/cases/{office.case.reference}")
    assert f"Profile {newest.id}</a>: Spouse" in page
    assert not persons.has_profile_consent(factory.session, newest.id)


def test_case_pages_reschedule_an_action(app: Flask, factory: Factory, office: Desk) -> None:
    """A new due date and time, read in the line's time zone; one beyond a year, or an
    unreadable one, is a field message (400); another case's action is 404."""
    client, token = _client(app, "worker")
    path = f"/console/cases/{office.case.reference}/actions/{office.action.id}/reschedule"
    later = (utcnow() + dt.timedelta(days=5)).date()
    moved = client.post(path, data={"csrf_token": token, "due_date": later.isoformat(),
                                    "due_time": "14:30"})  # fmt: skip
    assert moved.status_code == 302
    factory.session.expire_all()
    action = factory.session.get(CaseAction, office.action.id)
    assert action is not None
    zone = ZoneInfo(app.extensions["helpline.settings"].timezone)
    assert action.due_at.astimezone(zone).replace(tzinfo=None) == dt.datetime.combine(
        later, dt.time(14, 30)
    )
    for data, message in (
        ({"due_date": (later + dt.timedelta(days=400)).isoformat()}, "within a year"),
        ({"due_date": "tomorrow"}, "A date, as YYYY-MM-DD."),
        ({"due_date": later.isoformat(), "due_time": "25:99"}, "A time, as HH:MM."),
    ):
        refused = client.post(path, data={"csrf_token": token, **data})
        assert refused.status_code == 400, data
        assert message in refused.get_data(as_text=True), data
    other = f"/console/cases/{office.case.reference}/actions/99999999/reschedule"
    assert client.post(other, data={"csrf_token": token}).status_code == 404


def test_case_pages_close_with_a_reason_then_read_only(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """Closing with a reason cancels the open actions; the closed case shows no change
    form, refuses a note with its message (400), and may be reopened."""
    client, token = _client(app, "worker")
    assert _post(client, token, office, "status", status="closed", reason="goals_met") == 302
    case = _case(factory, office.case.id)
    assert (case.status, case.closure_reason) == ("closed", "goals_met")
    action = factory.session.get(CaseAction, office.action.id)
    assert action is not None
    assert action.status == "cancelled"
    page = _page(client, f"/console/cases/{office.case.reference}")
    assert "Goals met" in page
    assert "Add the note" not in page
    assert _post(client, token, office, "notes", note="late") == 400
    assert _post(client, token, office, "status", status="reopened") == 302


def test_case_pages_transfer_by_the_supervisor(app: Flask, factory: Factory, office: Desk) -> None:
    """The supervisor of the centre reads the case without change forms and transfers it
    to another counsellor (audited); the case moves to their centre."""
    client, token = _client(app, "supervisor")
    page = _page(client, f"/console/cases/{office.case.reference}")
    assert "Transfer the case" in page
    assert "Add the note" not in page
    assert "Record the WHO-5" not in page
    response = client.post(
        f"/console/cases/{office.case.reference}/assign",
        data={"csrf_token": token, "worker": office.far_worker.id},
    )
    assert response.status_code == 302
    case = _case(factory, office.case.id)
    assert (case.worker_id, case.site_id) == (office.far_worker.id, office.far_site.id)
    assert _audited(factory, "case_assigned") == 1


# --- the profile --------------------------------------------------------------------------


def test_case_pages_profile_edit_with_consent(app: Flask, factory: Factory, office: Desk) -> None:
    """The profile saves with consent (the name encrypted; a field "prefers not to
    say"); both an answer and "prefers not to say" is a field message; a no erases the
    details and hides the form."""
    client, token = _client(app, "worker")
    path = f"/console/persons/{office.person.id}"
    assert "Save the profile" in _page(client, path)
    data = {"csrf_token": token, "name": NAME, "nationality": "sy", "declined": ["gender"]}
    assert client.post(path, data=data).status_code == 302
    factory.session.expire_all()
    person = factory.session.get(Person, office.person.id)
    assert person is not None
    assert (person.name_encrypted, person.nationality, person.declined) == (NAME, "SY", ["gender"])
    raw = factory.session.execute(
        sa.text("SELECT name_encrypted FROM person WHERE id = :id"), {"id": person.id}
    ).scalar_one()
    assert NAME not in str(raw)
    both = client.post(path, data={"csrf_token": token, "gender": "female", "declined": "gender"})
    assert both.status_code == 400
    assert "Either an answer or" in both.get_data(as_text=True)
    bad_year = client.post(path, data={"csrf_token": token, "birth_year": "19x0"})
    assert bad_year.status_code == 400
    no = client.post(f"{path}/consent", data={"csrf_token": token, "consent": "no"})
    assert no.status_code == 302
    page = _page(client, path)
    assert NAME not in page
    assert "Save the profile" not in page
    refused = client.post(path, data={"csrf_token": token, "name": NAME})
    assert refused.status_code == 400
    assert "has not agreed" in refused.get_data(as_text=True)


def test_case_pages_profile_numbers_linked_and_unlinked(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """A typed number is linked (audited, shown masked), a junk one is a field message,
    and unlinking ends the link (audited)."""
    client, token = _client(app, "worker")
    path = f"/console/persons/{office.person.id}"
    junk = client.post(f"{path}/numbers", data={"csrf_token": token, "number": "hello"})
    assert junk.status_code == 400
    assert "This is not a phone number." in junk.get_data(as_text=True)
    added = client.post(f"{path}/numbers", data={"csrf_token": token, "number": "0532 999 88 77"})
    assert added.status_code == 302
    page = _page(client, path)
    assert "999 88 77" not in page
    assert _audited(factory, "person_number_linked") == 1
    caller_id = office.record.caller_id
    gone = client.post(f"{path}/numbers/{caller_id}/unlink", data={"csrf_token": token})
    assert gone.status_code == 302
    assert _audited(factory, "person_number_unlinked") == 1
    again = client.post(f"{path}/numbers/{caller_id}/unlink", data={"csrf_token": token})
    assert again.status_code == 404
    factory.session.expire_all()
    links = factory.session.scalars(
        sa.select(PersonNumber).where(PersonNumber.person_id == office.person.id)
    ).all()
    assert sorted(link.unlinked_at is None for link in links) == [False, True]
    assert client.get("/console/persons/99999999").status_code == 404


def test_case_pages_profile_shows_the_persons_timeline(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """The profile shows the person's timeline: the call from their number and its contact
    record; reading it is audited (person_timeline_viewed)."""
    client, _token = _client(app, "worker")
    page = _page(client, f"/console/persons/{office.person.id}")
    timeline = page[page.index('id="timeline-heading"') :]
    assert "Incoming call" in timeline
    assert f"Contact record {office.record.id}</a>" in timeline
    assert f'href="/console/records/{office.record.id}"' in timeline
    assert _audited(factory, "person_timeline_viewed") == 1


def test_case_pages_profile_timeline_in_keyset_pages(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """The profile's timeline shows 50 entries, newest first, and links the older ones by
    the last entry's key on the profile; following it shows the rest, each entry once; a
    page key that does not read is 404."""
    client, _token = _client(app, "worker")
    path = f"/console/persons/{office.person.id}"
    link, second = _timeline_pages(factory, office, client, path)
    assert link.startswith(f"{path}?after=")
    assert f'<a href="{path}">' in second  # back to the newest
    assert _audited(factory, "person_timeline_viewed") == 2
    assert client.get(f"{path}?after=junk").status_code == 404
    assert client.get(f"{path}?after=2026-01-01T00:00:00+00:00~call~x").status_code == 404


# --- my cases, the supervisor's pages -------------------------------------------------------


def test_case_pages_my_cases_overdue_first(app: Flask, factory: Factory, office: Desk) -> None:
    """The console's home lists "My cases" with the overdue one first and flagged."""
    now = utcnow()
    record = _new_contact(factory, office)
    later = cases.open_case(factory.session, record.id, office.person.id, by=office.worker, now=now)
    action = factory.session.get(CaseAction, office.action.id)
    assert action is not None
    action.due_at = now - dt.timedelta(hours=2)
    factory.session.get(Case, office.case.id).next_due_at = action.due_at  # type: ignore[union-attr]
    factory.session.commit()
    client, _token = _client(app, "worker")  # logging in lands on the console's home
    seen = _audited(factory, "my_cases_viewed")
    page = _page(client, "/console/")
    assert "My cases" in page
    assert page.index(office.case.reference) < page.index(later.reference)
    assert "1 overdue" in page
    assert _audited(factory, "my_cases_viewed") == seen + 1


def test_case_pages_supervisor_search_and_caseload(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """The supervisor searches the centre's cases (audited; bad input a field message)
    and sees the caseload per worker; another centre's supervisor sees none of them and
    is refused the other centre."""
    client, _token = _client(app, "supervisor")
    page = _page(client, "/supervisor/cases/?status=open")
    assert office.case.reference in page
    assert _audited(factory, "cases_searched") == 1
    for query, message in (
        ("status=flying", "Choose one of the listed statuses."),
        ("min_age=-3", "A whole number, please."),
        ("worker=x", "A whole number, please."),
    ):
        bad = client.get(f"/supervisor/cases/?{query}")
        assert bad.status_code == 400, query
        assert message in bad.get_data(as_text=True), query
    load = _page(client, "/supervisor/cases/caseload")
    assert "Test Person" in load
    far, _token = _client(app, "far_supervisor")
    assert office.case.reference not in _page(far, "/supervisor/cases/")
    assert far.get(f"/supervisor/cases/?site={office.site.id}").status_code == 403
    assert far.get(f"/supervisor/cases/caseload?site={office.site.id}").status_code == 403


def test_case_pages_supervisor_search_in_keyset_pages(
    app: Flask, factory: Factory, office: Desk
) -> None:
    """50 cases a page, newest first; "Next page" carries the filters and the last
    case's key, and the next page shows the rest, each case once."""
    start = utcnow() - dt.timedelta(days=60)
    for n in range(52):
        factory.session.add(
            Case(
                reference=f"CS-PAGE-{n:04d}", person_id=office.person.id,
                worker_id=office.worker.id, site_id=office.site.id, status="active",
                needs=[], opened_at=start + dt.timedelta(hours=n), updated_at=start,
            )
        )  # fmt: skip
    factory.session.commit()
    client, _token = _client(app, "supervisor")
    first = _page(client, "/supervisor/cases/?status=active")
    shown = re.findall(r"CS-PAGE-(\d{4})</a>", first)
    assert shown == [f"{n:04d}" for n in range(51, 1, -1)]
    following = re.search(r'href="([^"]*)" rel="next"', first)
    assert following is not None
    link = html.unescape(following.group(1))
    assert "status=active" in link
    rest = re.findall(r"CS-PAGE-(\d{4})</a>", _page(client, link))
    assert rest == ["0001", "0000"]


# --- who may use each route ----------------------------------------------------------------

ROLES = ("worker", "far_worker", "interpreter", "supervisor", "far_supervisor", "admin", "focal")


def _routes(office: Desk) -> list[tuple[str, str, frozenset[str]]]:
    """(method, path, the roles that get past the access rules) for every case route."""
    case = f"/console/cases/{office.case.reference}"
    person = f"/console/persons/{office.person.id}"
    record = f"/console/records/{office.record.id}/case"
    worker = frozenset({"worker"})
    readers = frozenset({"worker", "supervisor"})
    supervisors = frozenset({"supervisor", "far_supervisor"})
    return [
        ("GET", case, readers),
        ("GET", person, readers),
        ("GET", record, worker),
        ("POST", record, worker),
        ("POST", f"{record}/add", worker),
        ("POST", f"{case}/status", worker),
        ("POST", f"{case}/needs", worker),
        ("POST", f"{case}/risk", worker),
        ("POST", f"{case}/persons", worker),
        ("POST", f"{case}/relatives", worker),
        ("POST", f"{case}/persons/{office.relative.id}/unlink", worker),
        ("POST", f"{case}/goals", worker),
        ("POST", f"{case}/goals/{office.goal.id}", worker),
        ("POST", f"{case}/actions", worker),
        ("POST", f"{case}/actions/{office.action.id}", worker),
        ("POST", f"{case}/actions/{office.action.id}/reschedule", worker),
        ("POST", f"{case}/notes", worker),
        ("POST", f"{case}/wellbeing", worker),
        ("POST", f"{case}/assign", readers),
        ("POST", person, worker),
        ("POST", f"{person}/consent", worker),
        ("POST", f"{person}/numbers", worker),
        ("GET", "/supervisor/cases/", supervisors),
        ("GET", "/supervisor/cases/caseload", supervisors),
    ]


def test_case_pages_access_matrix(app: Flask, factory: Factory, office: Desk) -> None:
    """Every case route for the owner counsellor, a counsellor of another site, an
    interpreter, the supervisor of the site and of another site, an administrator and an
    SSC focal point: those the rules allow get past them (200, a redirect, or 400 for an
    empty form); everybody else gets 403 and a page that names nothing of the case (its
    reference's person, needs, plan or notes)."""
    clients = {who: _client(app, who) for who in ROLES}
    secrets_shown = ("Her residence papers renewed", "Book the appointment", NUMBER)
    wrong: list[str] = []
    for method, path, allowed in _routes(office):
        for who in ROLES:
            client, token = clients[who]
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={"csrf_token": token})
            body = response.get_data(as_text=True)
            assert response.status_code < 500, (method, path, who)
            passed = response.status_code in (200, 302, 400)
            if passed != (who in allowed):
                wrong.append(f"{method} {path} as {who}: {response.status_code}")
            if who not in allowed:
                assert response.status_code == 403, (method, path, who, response.status_code)
                assert not any(text in body for text in secrets_shown), (method, path, who)
                assert office.case.reference not in body or path.startswith("/console/records")
    assert wrong == []
    assert persons.has_profile_consent(factory.session, office.person.id)


def test_case_pages_speak_the_staff_language(app: Flask, factory: Factory, office: Desk) -> None:
    """In Arabic the case page is right to left and translated, and so is a field message
    of the domain; the supervisor's search speaks Turkish."""
    worker = factory.session.get(Staff, office.worker.id)
    supervisor = factory.session.get(Staff, office.supervisor.id)
    assert worker is not None
    assert supervisor is not None
    worker.ui_language, supervisor.ui_language = "ar", "tr"
    factory.session.commit()
    client, token = _client(app, "worker")
    page = _page(client, f"/console/cases/{office.case.reference}")
    assert 'dir="rtl"' in page
    assert "الخط الزمني" in page  # Timeline
    assert "ترجمة مسودة، قيد المراجعة" in page  # the draft mark
    refused = client.post(
        f"/console/cases/{office.case.reference}/status",
        data={"csrf_token": token, "status": "closed"},
    )
    assert refused.status_code == 400
    assert "إغلاق الحالة يحتاج إلى سبب." in refused.get_data(as_text=True)
    turkish, _token = _client(app, "supervisor")
    assert "Vakalar" in _page(turkish, "/supervisor/cases/")
