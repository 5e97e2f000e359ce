"""The access matrix: every route of the app, for every role, gets the status this table says.

`EXPECTED` is the reviewed table: one row per (endpoint, method) in `app.url_map`, naming
what each kind of person gets. The test walks the URL map itself, so a new endpoint
without a row fails here until someone decides who may use it; a row whose endpoint is
gone fails too. Requests carry a valid CSRF token for the person's session (so a refusal
is the access rule's, not CSRF's), and webhooks carry no Twilio signature.

Outcomes: OK (the view ran: 2xx, 3xx other than to the login page, or 400 for an empty
form), LOGIN (sent to the login page), 403, 404.
"""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from helpline.blocklist import entries
from helpline.extensions import db
from helpline.models import Referral, Staff, utcnow
from helpline.referrals import service as referrals
from helpline.tasks.reports import keep_last_month_report
from tests.case_pages import open_case
from tests.factories import TEST_ACTOR, Factory, csrf_token, login

OK = "ok"
LOGIN = "login"
DENY = 403
ROLES = (
    "anonymous",
    "counsellor",
    "other_counsellor",
    "interpreter",
    "supervisor",
    "admin",
    "focal_point",  # the SSC focal point of the centre the referral was sent to
    "other_focal_point",  # the focal point of another centre
    "programme_officer",  # reads the programme report: nothing personal anywhere
)


def _all(outcome: object) -> dict[str, object]:
    return dict.fromkeys(ROLES, outcome)


def _only(*who: str, others: object = DENY) -> dict[str, object]:
    """OK for these roles, LOGIN for anonymous people, `others` for everybody else."""
    table: dict[str, object] = dict.fromkeys(ROLES, others)
    table["anonymous"] = LOGIN
    table.update(dict.fromkeys(who, OK))
    return table


PUBLIC = _all(OK)
SIGNED = _all(DENY)  # a Twilio webhook without a valid signature: 403 for everybody
COUNSELLORS = _only("counsellor", "other_counsellor")
# The object (a call, a record, a caller) belongs to "counsellor": another counsellor is
# refused it.
OWNER = {**_only("counsellor"), "other_counsellor": DENY}
OWNER_OR_SUPERVISOR = {**_only("counsellor", "supervisor"), "other_counsellor": DENY}
SUPERVISOR = _only("supervisor")
PROGRAMME_REPORT = _only("supervisor", "programme_officer")
ADMIN = _only("admin")
STAFF_ON_PHONES = _only("counsellor", "other_counsellor", "interpreter")

EXPECTED: dict[tuple[str, str], dict[str, object]] = {
    ("static", "GET"): PUBLIC,
    ("health.live", "GET"): PUBLIC,
    ("health.ready", "GET"): PUBLIC,
    ("auth.index", "GET"): _only(*ROLES[1:]),
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    # Logging out ends on the login page, as an anonymous person is sent there (test_auth
    # checks that the session really ends).
    ("auth.logout", "POST"): _all(LOGIN),
    # The counsellor's and interpreter's console.
    ("console.home", "GET"): COUNSELLORS,
    ("console.interpreter", "GET"): _only("interpreter"),
    ("console.set_presence", "POST"): STAFF_ON_PHONES,
    ("console.set_language", "POST"): STAFF_ON_PHONES,
    # The live panel and the call's actions (console/calls.py): only on one's own call.
    ("calls.live_json", "GET"): STAFF_ON_PHONES,
    ("calls.live_panel", "GET"): STAFF_ON_PHONES,
    ("calls.hold", "POST"): OWNER,
    ("calls.end", "POST"): OWNER,
    ("calls.add_interpreter", "POST"): OWNER,
    ("calls.transfer", "POST"): OWNER,
    ("calls.escalate", "POST"): OWNER,
    ("calls.reveal", "POST"): OWNER,
    # My callbacks and follow-ups: the callback is the counsellor's (assigned to them).
    ("my_callbacks.page", "GET"): COUNSELLORS,
    ("my_callbacks.call_now", "POST"): OWNER,
    ("my_callbacks.reschedule", "POST"): OWNER,
    ("my_callbacks.record_outcome", "POST"): OWNER,
    # Voicemail messages: the message is in "counsellor"'s language, not in the other
    # counsellor's; its audio was destroyed (410 for those who may play it: nothing to
    # fetch). Supervisors play and handle any; only counsellors call back.
    ("voicemails.play", "GET"): OWNER_OR_SUPERVISOR,
    ("voicemails.mark_handled", "POST"): OWNER_OR_SUPERVISOR,
    ("voicemails.call_back", "POST"): OWNER,
    # Escalated calls, which a supervisor joins to listen or coach.
    ("calls.escalations", "GET"): SUPERVISOR,
    ("calls.join", "POST"): SUPERVISOR,
    # The duty supervisor's live alerts (console/alerts.py).
    ("alerts.poll", "GET"): SUPERVISOR,
    ("alerts.region", "GET"): SUPERVISOR,
    ("alerts.acknowledge", "POST"): SUPERVISOR,
    # Contact records.
    ("records.new", "GET"): COUNSELLORS,
    ("records.save_new", "POST"): COUNSELLORS,
    ("records.autosave_new", "POST"): COUNSELLORS,
    ("records.for_call", "GET"): OWNER,
    ("records.save_for_call", "POST"): OWNER,
    ("records.autosave_for_call", "POST"): OWNER,
    ("records.show", "GET"): OWNER_OR_SUPERVISOR,
    ("records.save", "POST"): {**OWNER, "supervisor": DENY},
    ("records.autosave", "POST"): OWNER,
    ("records.reveal", "POST"): OWNER_OR_SUPERVISOR,
    ("records.caller", "GET"): OWNER_OR_SUPERVISOR,
    # Referrals, closed loop (console/referrals.py). The referral was sent to
    # "focal_point"'s centre and belongs to "counsellor" (its case worker); a step that
    # cannot follow its status still gets past the access rule (a flash, a redirect).
    ("referrals.mine", "GET"): _only("focal_point", "other_focal_point"),
    ("referrals.overdue", "GET"): _only("counsellor", "other_counsellor", "supervisor"),
    ("referrals.show", "GET"): _only("counsellor", "supervisor", "focal_point"),
    ("referrals.reveal", "POST"): _only("focal_point"),
    ("referrals.consent", "POST"): OWNER,
    ("referrals.send", "POST"): OWNER,
    ("referrals.close", "POST"): OWNER,
    ("referrals.accept", "POST"): _only("focal_point"),
    ("referrals.decline", "POST"): _only("focal_point"),
    ("referrals.record_service", "POST"): _only("focal_point"),
    # Cases (console/cases.py, case_start.py, person_pages.py): "counsellor" works the
    # case (at the supervisor's centre) and owns the person's profile; a focal point sees
    # no case page at all. Empty forms are 400 (OK) for those who may use them.
    ("cases.show", "GET"): OWNER_OR_SUPERVISOR,
    ("cases.status", "POST"): OWNER,
    ("cases.needs", "POST"): OWNER,
    ("cases.risk", "POST"): OWNER,
    ("cases.link_person", "POST"): OWNER,
    ("cases.add_relative", "POST"): OWNER,
    ("cases.unlink_person", "POST"): OWNER,
    ("cases.add_goal", "POST"): OWNER,
    ("cases.goal_status", "POST"): OWNER,
    ("cases.add_action", "POST"): OWNER,
    ("cases.finish_action", "POST"): OWNER,
    ("cases.reschedule_action", "POST"): OWNER,
    ("cases.add_note", "POST"): OWNER,
    ("cases.record_wellbeing", "POST"): OWNER,
    ("cases.assign", "POST"): OWNER_OR_SUPERVISOR,
    ("case_start.start", "GET"): OWNER,
    ("case_start.open_case", "POST"): OWNER,
    ("case_start.add_to_case", "POST"): OWNER,
    ("persons.show", "GET"): OWNER_OR_SUPERVISOR,
    ("persons.save", "POST"): OWNER,
    ("persons.consent", "POST"): OWNER,
    ("persons.link_number", "POST"): OWNER,
    ("persons.unlink_number", "POST"): OWNER,
    ("supervisor_cases.search", "GET"): SUPERVISOR,
    ("supervisor_cases.caseload", "GET"): SUPERVISOR,
    # The supervisor's console.
    ("supervisor.home", "GET"): SUPERVISOR,
    ("supervisor.calls", "GET"): SUPERVISOR,
    ("supervisor.call_detail", "GET"): SUPERVISOR,
    ("supervisor.export_calls", "GET"): SUPERVISOR,
    ("supervisor.export_calls_csv", "POST"): SUPERVISOR,
    ("supervisor.audit_search", "GET"): SUPERVISOR,
    ("supervisor.verify_audit", "POST"): SUPERVISOR,
    ("supervisor.kpi_report", "GET"): SUPERVISOR,
    # The programme report: aggregates only, small cells suppressed (its kept copy too).
    ("supervisor.programme_report", "GET"): PROGRAMME_REPORT,
    ("supervisor.programme_download", "GET"): PROGRAMME_REPORT,
    ("supervisor.programme_kept", "GET"): PROGRAMME_REPORT,
    ("supervisor.blocklist_page", "GET"): SUPERVISOR,
    ("supervisor.blocklist_add", "POST"): SUPERVISOR,
    ("supervisor.block_call", "POST"): SUPERVISOR,
    ("supervisor.blocklist_remove", "POST"): SUPERVISOR,
    ("supervisor.wallboard_page", "GET"): SUPERVISOR,
    ("supervisor.wallboard_data", "GET"): SUPERVISOR,
    ("supervisor.flows", "GET"): SUPERVISOR,
    ("supervisor.flow_page", "GET"): SUPERVISOR,
    ("supervisor.flow_diagram", "GET"): SUPERVISOR,
    # The caller gave no recording consent: nobody plays it, supervisors included.
    ("supervisor.play_recording", "GET"): {**SUPERVISOR, "supervisor": DENY},
    ("supervisor.retention_page", "GET"): SUPERVISOR,
    ("supervisor.voicemails", "GET"): SUPERVISOR,
    ("supervisor.retention_purge", "POST"): SUPERVISOR,
    ("supervisor_callbacks.failed", "GET"): SUPERVISOR,
    # Administration.
    ("admin.staff_list", "GET"): ADMIN,
    ("admin.staff_add", "POST"): ADMIN,
    ("admin.staff_toggle", "POST"): ADMIN,
    # Twilio's webhooks: public, but only with Twilio's signature.
    ("voice.audio", "GET"): PUBLIC,
    ("voice.incoming", "POST"): SIGNED,
    ("voice.step", "POST"): SIGNED,
    ("voice.status", "POST"): SIGNED,
    ("voice.recording", "POST"): SIGNED,
    ("voice.fallback", "POST"): SIGNED,
    ("voice_queue.wait", "POST"): SIGNED,
    ("voice_queue.hold", "POST"): SIGNED,
    ("voice_queue.held", "POST"): SIGNED,
    ("voice_queue.connect", "POST"): SIGNED,
    ("voice_queue.requeue", "POST"): SIGNED,
    ("voice_queue.room", "POST"): SIGNED,
    ("voice_offers.offer", "POST"): SIGNED,
    ("voice_offers.answer", "POST"): SIGNED,
    ("voice_offers.status", "POST"): SIGNED,
    ("voice_staff.set_presence", "POST"): SIGNED,
    ("voice_callbacks.answer", "POST"): SIGNED,
    ("voice_callbacks.safe_to_talk", "POST"): SIGNED,
    ("voice_callbacks.status", "POST"): SIGNED,
}
# Requests that end the session or change who may log in go last; so does unlinking the
# relative from the case, after which their profile is no longer the supervisor's to read.
LAST = ("cases.unlink_person", "admin.staff_toggle", "auth.logout")


@dataclasses.dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    rule: Rule

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.method)


def routes(app: Flask) -> list[Route]:
    found = [
        Route(rule.endpoint, method, rule)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(
        found,
        key=lambda r: (
            r.endpoint in LAST,
            LAST.index(r.endpoint) if r.endpoint in LAST else 0,
            r.endpoint,
            r.method,
        ),
    )


def test_access_matrix_has_a_row_for_every_route(app: Flask) -> None:
    """Every (endpoint, method) the app serves has a reviewed row, and every row a route."""
    served = {route.key for route in routes(app)}
    missing = sorted(served - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - served)
    assert missing == [], f"routes without a row in EXPECTED (decide who may use them): {missing}"
    assert stale == [], f"rows in EXPECTED for routes that no longer exist: {stale}"
    for key, row in EXPECTED.items():
        assert set(row) == set(ROLES), key


def _outcome(response: TestResponse) -> object:
    if response.status_code in (301, 302, 303) and (
        response.headers.get("Location", "").startswith("/login")
    ):
        return LOGIN
    if response.status_code in (403, 404):
        return response.status_code
    assert response.status_code < 500, response.status_code
    return OK


@dataclasses.dataclass
class People:
    clients: dict[str, FlaskClient]
    tokens: dict[str, str]
    arguments: dict[str, object]

    def path(self, app: Flask, route: Route) -> str:
        """The route's URL, with the ids of the test's objects."""
        unknown = set(route.rule.arguments) - self.arguments.keys()
        assert not unknown, f"{route.endpoint}: give the test a value for {sorted(unknown)}"
        with app.test_request_context():
            values = {name: self.arguments[name] for name in route.rule.arguments}
            return app.url_for(route.endpoint, **values)  # type: ignore[arg-type]


@pytest.fixture
def people(app: Flask, factory: Factory) -> People:
    home = factory.site("ANK-1", "Ankara")  # the case's centre
    counsellor = factory.staff("couns", roles=("counsellor",), site=home)
    factory.staff("other", roles=("counsellor",), languages=("ar",))
    factory.staff("interp", roles=("interpreter",), languages=("ps",))
    factory.staff("sup", roles=("supervisor",), site=home)
    factory.staff("adm", roles=("admin",))
    bystander = factory.staff("bystander", password=None)
    caller = factory.caller("+905321112233")
    call = factory.call(caller, counsellor_id=counsellor.id, answered_at=utcnow())
    record = factory.contact_record(call, counsellor, ["first words"])
    recording = factory.recording(call)
    callback = factory.callback(call)
    alert = factory.events(call, ("escalated", "console", {}))[0]
    callback.assigned_staff_id = counsellor.id
    voicemail = factory.voicemail(call, "tr", callback=callback)
    voicemail.recording.purged_at = utcnow()
    referral = factory.referral(record)
    centre = factory.site("GAZ-SHB", "Gaziantep")
    factory.staff("focal", roles=("ssc_focal_point",), languages=(), site=centre)
    factory.staff("focal2", roles=("ssc_focal_point",), languages=(), site=factory.site())
    factory.staff("prog", roles=("programme_officer",), languages=())
    with app.app_context():
        catalog = app.extensions["helpline.catalog"]
        kept = db.session.get(Referral, referral.id)
        owner = db.session.get(Staff, counsellor.id)
        assert kept is not None
        assert owner is not None
        consent = referrals.Consent("any_time", "tr")
        referrals.record_consent(db.session, kept, consent, by=owner, now=utcnow(), catalog=catalog)
        referrals.send(db.session, kept, by=owner, now=utcnow(), catalog=catalog)
        db.session.commit()
        case = open_case(db.session, record.id, owner)
        db.session.commit()
    factory.session.commit()
    with app.app_context():
        entry = entries.block(db.session, "+905329998877", 24, TEST_ACTOR, utcnow())
        db.session.commit()
        entry_id = entry.id
        kept_id = keep_last_month_report()
    usernames = {
        "counsellor": "couns",
        "other_counsellor": "other",
        "interpreter": "interp",
        "supervisor": "sup",
        "admin": "adm",
        "focal_point": "focal",
        "other_focal_point": "focal2",
        "programme_officer": "prog",
    }
    clients: dict[str, FlaskClient] = {}
    tokens: dict[str, str] = {}
    for role in ROLES:
        client = app.test_client()
        if role == "anonymous":
            page = client.get("/login")
        else:
            assert login(client, usernames[role]).status_code == 302
            page = client.get("/", follow_redirects=True)
        tokens[role] = csrf_token(page.get_data(as_text=True))
        clients[role] = client
    return People(
        clients,
        tokens,
        {
            "call_id": call.id,
            "record_id": record.id,
            "caller_id": caller.id,
            "staff_id": bystander.id,
            "entry_id": entry_id,
            "recording_id": recording.id,
            "callback_id": callback.id,
            "event_id": alert.id,
            "voicemail_id": voicemail.id,
            "referral_id": referral.id,
            "reference": case.reference,
            # the relative: a profile of "counsellor"'s, linked to the case (and unlinked
            # from it, and from the caller's number, by the counsellor's requests)
            "person_id": case.relative_id,
            "goal_id": case.goal_id,
            "action_id": case.action_id,
            "flow_id": "default",
            "mode": "listen",
            "language": "fa",
            "name": "line_blocked.mp3",
            "filename": "console.css",
            "kept_id": kept_id,
            "file_format": "xlsx",
        },
    )


REQUIRED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _check_headers(response: TestResponse, where: str) -> None:
    for name, value in REQUIRED_HEADERS.items():
        assert response.headers.get(name) == value, f"{where}: {name}"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'"), where
    if response.mimetype == "text/html":
        assert response.headers.get("Cache-Control") == "no-store", where


def test_access_matrix_every_route_every_role(app: Flask, people: People) -> None:
    """Each role gets exactly the table's outcome on each route (IDOR: a counsellor is
    refused another counsellor's call, record and caller). Every answer, pages, errors,
    redirects, files and TwiML alike, carries the same-origin CSP, anti-framing, nosniff
    and no-referrer headers, and every HTML page is no-store."""
    wrong: list[str] = []
    for route in routes(app):
        path = people.path(app, route)
        for role in ROLES:
            client = people.clients[role]
            if route.method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={"csrf_token": people.tokens[role]})
            got = _outcome(response)
            _check_headers(response, f"{route.method} {path} as {role}")
            response.close()
            expected = EXPECTED[route.key][role]
            if got != expected:
                wrong.append(f"{route.method} {path} as {role}: {got}, expected {expected}")
    assert wrong == []


def test_every_console_post_needs_the_csrf_token(app: Flask, people: People) -> None:
    """Every POST of the console refuses, with 400, a request without the CSRF token from
    someone who may otherwise use it (webhooks are signed instead)."""
    checked = 0
    for route in routes(app):
        row = EXPECTED[route.key]
        allowed = [role for role in ROLES[1:] if row[role] == OK]
        if route.method != "POST" or row == SIGNED or not allowed:
            continue
        path = people.path(app, route)
        for role in allowed:
            response = people.clients[role].post(path, data={"summary": "x", "number": "1"})
            assert response.status_code == 400, f"POST {path} as {role} without a token"
            checked += 1
    assert checked >= 20
