"""The console's live panel and call actions, through the test client with real CSRF tokens.

A connected call is set up as routing leaves it: the call row with its counsellor, the
counsellor `busy` in Redis with the call, and the call's live offer `connected`. The
actions' jobs are queued on the dispatch queue (no worker here); the end-to-end run of
the jobs is in test_call_operations.py and test_browser_console_live.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue

from helpline import create_app
from helpline.auth.access import allowed_for
from helpline.console.live import build_panel
from helpline.extensions import db
from helpline.models import AuditEntry, Call, CallEvent, ContactRecord, LoginSession, Staff, utcnow
from helpline.routing.reservation import CALL_KEY, KEY
from tests.browser import free_port
from tests.conftest import make_settings
from tests.factories import Factory, csrf_token, login

NUMBER = "0532 111 22 33"
MASKED = "+90 5** *** ** 33"


@dataclasses.dataclass
class Scene:
    counsellor: Staff
    call: Call


def _busy(redis_url: str, staff: Staff, call: Call, state: str = "busy") -> None:
    connection = redis.Redis.from_url(redis_url)
    connection.hset(
        KEY.format(staff.id),
        mapping={"state": state, "since": time.time(), "call": call.id, "offer": "o1"},
    )
    connection.hset(
        CALL_KEY.format(call.id),
        mapping={"state": "connected", "offer": "o1", "counsellor": staff.id},
    )


def _scene(factory: Factory, redis_url: str, *, past_record: bool = True) -> Scene:
    """A counsellor in a connected Arabic call about violence, from a caller seen before."""
    counsellor = factory.staff("ayse", roles=("counsellor",), languages=("ar", "tr"))
    caller = factory.caller(NUMBER, language="ar")
    now = utcnow()
    if past_record:
        earlier = factory.call(
            caller,
            counsellor_id=counsellor.id,
            language="ar",
            started_at=now - dt.timedelta(days=9),
        )
        factory.session.add(
            ContactRecord(
                call_id=earlier.id,
                caller_id=caller.id,
                counsellor_id=counsellor.id,
                call_type="data",
                categories=["psychosocial.anxiety"],
                risk_level="high",
                status="final",
                version=1,
            )
        )
        factory.session.commit()
    call = factory.call(
        caller,
        counsellor_id=counsellor.id,
        language="ar",
        topic="violence",
        priority=3,
        started_at=now - dt.timedelta(minutes=6),
        queued_at=now - dt.timedelta(minutes=5),
        answered_at=now - dt.timedelta(minutes=3),
    )
    factory.events(
        call,
        ("ivr_step", "ivr", {"action": "start", "node": "choose_language"}),
        ("branch", "ivr", {"to": "choose_topic"}),
        ("branch", "ivr", {"to": "queue"}),
    )
    _busy(redis_url, counsellor, call)
    return Scene(counsellor, call)


def _audit(factory: Factory, action: str) -> list[AuditEntry]:
    factory.session.expire_all()
    return list(factory.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _jobs(redis_url: str) -> list[str]:
    queue = Queue("dispatch", connection=redis.Redis.from_url(redis_url))
    return [str(job.func_name).rsplit(".", 1)[-1] for job in queue.get_jobs()]


def _token(client: FlaskClient, page: str = "/console/") -> str:
    return csrf_token(client.get(page).get_data(as_text=True))


# --- the panel ----------------------------------------------------------------------------


def test_live_panel_shows_the_current_call(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Language, topic, IVR path, wait, masked number, flags and the caller's previous
    contacts (count, date, categories); reading those is audited; no whole number."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    page = client.get("/console/live").get_data(as_text=True)
    assert "Current call" in page
    assert '<dd id="call-language">Arabic</dd>' in page
    assert "Violence" in page
    assert "<li>choose_language</li><li>choose_topic</li><li>queue</li>" in page
    assert "2 min 00 s" in page  # queued until answered
    assert MASKED in page
    assert "+905321112233" not in page
    assert "Urgent topic" in page
    assert "High risk recorded before" in page
    assert "1 contact recorded before." in page
    assert ": Anxiety and stress</li>" in page  # the category, in the reader's language
    assert f'action="/console/calls/{scene.call.id}/hold"' in page
    assert [e.target_id for e in _audit(factory, "caller_history_viewed")] == [
        str(scene.call.caller_id)
    ]


def test_live_json_is_small_and_audits_nothing(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """The polled JSON has the fingerprint, state, wrap-up end and call id, and nothing
    personal; the fingerprint changes when the state does."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    first = client.get("/console/live.json").get_json()
    assert set(first) == {"fingerprint", "state", "wrap_up_until", "call_id"}
    assert (first["state"], first["call_id"], first["wrap_up_until"]) == (
        "busy",
        scene.call.id,
        None,
    )
    _busy(redis_url, scene.counsellor, scene.call, state="wrap_up")
    second = client.get("/console/live.json").get_json()
    assert second["fingerprint"] != first["fingerprint"]
    assert second["wrap_up_until"] is not None
    assert _audit(factory, "caller_history_viewed") == []


def test_live_panel_wrap_up_shows_the_timer_and_the_record_link(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """In wrap-up the panel counts down and links the call's record form; no actions."""
    scene = _scene(factory, redis_url, past_record=False)
    _busy(redis_url, scene.counsellor, scene.call, state="wrap_up")
    login(client, "ayse")
    page = client.get("/console/").get_data(as_text=True)
    assert 'id="wrap-up-timer"' in page
    assert f'href="/console/calls/{scene.call.id}/record" id="write-record"' in page
    assert "/hold" not in page


def test_live_panel_offer_shows_no_history_and_no_actions(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """A call only offered (ringing) shows its facts, but neither the caller's previous
    contacts nor any action: it is not the counsellor's yet."""
    scene = _scene(factory, redis_url)
    other = factory.staff("yusuf", roles=("counsellor",), languages=("ar",))
    _busy(redis_url, other, scene.call, state="reserved")
    login(client, "yusuf")
    page = client.get("/console/live").get_data(as_text=True)
    assert "A call is offered to you" in page
    assert "Arabic" in page
    assert MASKED in page
    assert "recorded before" not in page
    assert "High risk" not in page
    assert "/hold" not in page
    assert "/reveal" not in page
    assert _audit(factory, "caller_history_viewed") == []


def test_interpreter_panel_shows_the_language_and_nothing_personal(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """The interpreter sees the assignment's language, topic and counsellor; never the
    number, the path, the history or a link to a record."""
    scene = _scene(factory, redis_url)
    interpreter = factory.staff("ali", roles=("interpreter",), languages=("ar", "tr"))
    factory.session.execute(
        sa.update(Call).where(Call.id == scene.call.id).values(interpreter_id=interpreter.id)
    )
    factory.session.commit()
    _busy(redis_url, interpreter, scene.call)
    login(client, "ali")
    for url in ("/console/interpreter", "/console/live"):
        page = client.get(url).get_data(as_text=True)
        assert "Arabic" in page, url
        assert "Test Person" in page, url
        assert MASKED not in page, url
        assert "choose_topic" not in page, url
        assert "recorded before" not in page, url
        assert "/record" not in page, url
        assert "/hold" not in page, url
        assert "/reveal" not in page, url


# --- actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "job"),
    [
        ("hold", {"on": "1"}, "hold_caller"),
        ("hold", {"on": "0"}, "hold_caller"),
        ("end", {}, "end_call"),
        ("interpreter", {}, "add_interpreter"),
    ],
)
def test_call_action_queues_its_operation(
    client: FlaskClient, factory: Factory, redis_url: str, path: str, data: dict[str, str], job: str
) -> None:
    """Each button queues the routing operation for the counsellor's own call."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    response = client.post(
        f"/console/calls/{scene.call.id}/{path}", data={**data, "csrf_token": _token(client)}
    )
    assert response.status_code == 302
    assert job in _jobs(redis_url)


def test_call_transfer_with_nobody_free_says_so(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """A transfer to a language nobody free speaks is refused with a safe message."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    response = client.post(
        f"/console/calls/{scene.call.id}/transfer",
        data={"language": "fa", "csrf_token": _token(client)},
        follow_redirects=True,
    )
    assert "Nobody free speaks that language" in response.get_data(as_text=True)
    assert _jobs(redis_url) == []


def test_call_escalation_reaches_the_supervisors(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Escalating records an `escalated` CallEvent; supervisors see the call with listen
    and coach buttons; a supervisor without a phone is told so, and nothing is queued."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    response = client.post(
        f"/console/calls/{scene.call.id}/escalate", data={"csrf_token": _token(client)}
    )
    assert response.status_code == 302
    factory.session.expire_all()
    events = factory.session.scalars(
        sa.select(CallEvent).where(CallEvent.kind == "escalated")
    ).all()
    assert [(e.call_id, e.staff_id, e.source) for e in events] == [
        (scene.call.id, scene.counsellor.id, "console")
    ]
    factory.staff("elif", roles=("supervisor",))
    supervisor = client.application.test_client()
    login(supervisor, "elif")
    page = supervisor.get("/console/escalations").get_data(as_text=True)
    assert f'action="/console/escalations/{scene.call.id}/listen"' in page
    assert f'action="/console/escalations/{scene.call.id}/coach"' in page
    assert MASKED in page
    joined = supervisor.post(
        f"/console/escalations/{scene.call.id}/listen",
        data={"csrf_token": _token(supervisor, "/console/escalations")},
        follow_redirects=True,
    )
    assert "You have no phone number on record." in joined.get_data(as_text=True)
    assert _jobs(redis_url) == []


def test_call_reveal_number_is_audited(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """The counsellor of the call sees the whole number once; the reveal is audited."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    response = client.post(
        f"/console/calls/{scene.call.id}/reveal", data={"csrf_token": _token(client)}
    )
    assert response.status_code == 200
    assert "+905321112233" in response.get_data(as_text=True)
    [entry] = _audit(factory, "number_revealed")
    assert entry.details == {"call_id": scene.call.id}


def test_call_actions_need_the_csrf_token(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Without the CSRF token every action is refused and nothing happens."""
    scene = _scene(factory, redis_url)
    login(client, "ayse")
    for path in ACTIONS:
        response = client.post(f"/console/calls/{scene.call.id}/{path}", data={"language": "ar"})
        assert response.status_code == 400, path
    assert _jobs(redis_url) == []
    assert _audit(factory, "number_revealed") == []


ACTIONS = ("hold", "end", "interpreter", "transfer", "escalate", "reveal")


def test_call_actions_refuse_a_call_not_ones_own(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Another counsellor gets 403 on every action; an unknown call is 404."""
    scene = _scene(factory, redis_url)
    factory.staff("yusuf", roles=("counsellor",), languages=("ar",))
    login(client, "yusuf")
    token = _token(client)
    for path in ACTIONS:
        url = f"/console/calls/{scene.call.id}/{path}"
        assert client.post(url, data={"csrf_token": token}).status_code == 403, path
        missing = f"/console/calls/{scene.call.id + 1000}/{path}"
        assert client.post(missing, data={"csrf_token": token}).status_code == 404, path
    assert _jobs(redis_url) == []


# --- every console endpoint, for every role ----------------------------------------------

# (method, url template, roles allowed). {call}, {record}, {caller}, {callback}: the
# scene's ids.
ENDPOINTS = [
    ("GET", "/console/", {"counsellor"}),
    ("GET", "/console/interpreter", {"interpreter"}),
    ("POST", "/console/presence", {"counsellor", "interpreter"}),
    ("POST", "/console/language", {"counsellor", "interpreter"}),
    ("GET", "/console/live", {"counsellor", "interpreter"}),
    ("GET", "/console/live.json", {"counsellor", "interpreter"}),
    *[("POST", f"/console/calls/{{call}}/{a}", {"counsellor"}) for a in ACTIONS],
    ("GET", "/console/escalations", {"supervisor"}),
    ("POST", "/console/escalations/{call}/listen", {"supervisor"}),
    ("POST", "/console/escalations/{call}/coach", {"supervisor"}),
    ("GET", "/console/alerts.json", {"supervisor"}),
    ("GET", "/console/alerts", {"supervisor"}),
    ("POST", "/console/alerts/{event}/acknowledge", {"supervisor"}),
    ("GET", "/console/calls/{call}/record", {"counsellor"}),
    ("POST", "/console/calls/{call}/record", {"counsellor"}),
    ("POST", "/console/calls/{call}/record/autosave", {"counsellor"}),
    ("GET", "/console/records/new", {"counsellor"}),
    ("POST", "/console/records/new", {"counsellor"}),
    ("POST", "/console/records/new/autosave", {"counsellor"}),
    ("GET", "/console/records/{record}", {"counsellor", "supervisor"}),
    ("POST", "/console/records/{record}", {"counsellor"}),
    ("POST", "/console/records/{record}/autosave", {"counsellor"}),
    ("POST", "/console/records/{record}/reveal", {"counsellor", "supervisor"}),
    ("GET", "/console/callers/{caller}", {"counsellor", "supervisor"}),
    ("GET", "/console/callbacks/", {"counsellor"}),
    ("POST", "/console/callbacks/{callback}/call-now", {"counsellor"}),
    ("POST", "/console/callbacks/{callback}/reschedule", {"counsellor"}),
    ("POST", "/console/callbacks/{callback}/outcome", {"counsellor"}),
    # Cases (docs/cases.md): a supervisor reads a case and a profile, and transfers.
    ("GET", "/console/records/{record}/case", {"counsellor"}),
    ("POST", "/console/records/{record}/case", {"counsellor"}),
    ("POST", "/console/records/{record}/case/add", {"counsellor"}),
    ("GET", "/console/cases/{case}", {"counsellor", "supervisor"}),
    ("POST", "/console/cases/{case}/assign", {"counsellor", "supervisor"}),
    *[
        ("POST", f"/console/cases/{{case}}/{change}", {"counsellor"})
        for change in (
            "status",
            "needs",
            "risk",
            "persons",
            "relatives",
            "goals",
            "actions",
            "notes",
        )
    ],
    ("POST", "/console/cases/{case}/wellbeing", {"counsellor"}),
    ("POST", "/console/cases/{case}/persons/{person}/unlink", {"counsellor"}),
    ("POST", "/console/cases/{case}/goals/{goal}", {"counsellor"}),
    ("POST", "/console/cases/{case}/actions/{action}", {"counsellor"}),
    ("POST", "/console/cases/{case}/actions/{action}/reschedule", {"counsellor"}),
    ("GET", "/console/persons/{person}", {"counsellor", "supervisor"}),
    ("POST", "/console/persons/{person}", {"counsellor"}),
    ("POST", "/console/persons/{person}/consent", {"counsellor"}),
    ("POST", "/console/persons/{person}/numbers", {"counsellor"}),
    ("POST", "/console/persons/{person}/numbers/{caller}/unlink", {"counsellor"}),
]
ROLES = ("counsellor", "interpreter", "supervisor", "admin")
LANDING = {
    "counsellor": "/console/",
    "interpreter": "/console/interpreter",
    "supervisor": "/supervisor/",
    "admin": "/admin/staff",
}


def _shape(url: str) -> str:
    """A listed URL as a rule's shape: ids and the supervisor's mode become {}."""
    return re.sub(r"\{\w+\}|(?<=/)(listen|coach)$", "{}", url)


def test_console_endpoints_are_all_in_the_matrix(client: FlaskClient) -> None:
    """Every console route is listed in ENDPOINTS with exactly the roles it admits."""
    app = client.application
    listed = {(m, _shape(u)): roles for m, u, roles in ENDPOINTS}
    seen = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console"):
            continue
        roles = {str(r) for r in allowed_for(app.view_functions[rule.endpoint])}
        shape = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            seen.add((method, shape))
            assert listed.get((method, shape)) == roles, (method, rule.rule, roles)
    assert set(listed) == seen


@pytest.mark.parametrize("role", ROLES)
def test_console_endpoints_refuse_the_wrong_role(
    client: FlaskClient, factory: Factory, redis_url: str, role: str
) -> None:
    """Each role gets 403 or 404 on every console endpoint not meant for it, and the
    interpreter in particular on every record and caller endpoint."""
    scene = _scene(factory, redis_url)
    record = factory.session.scalars(sa.select(ContactRecord)).one()
    factory.staff("someone", roles=(role,), languages=("ar", "tr"))
    login(client, "someone")
    token = _token(client, LANDING[role])
    ids = {
        "call": scene.call.id,
        "record": record.id,
        "caller": scene.call.caller_id,
        "callback": factory.callback(scene.call).id,
        "event": factory.events(scene.call, ("escalated", "console", {}))[0].id,
        # No case is needed: a role the route does not admit is refused before the lookup.
        "case": "CS-TEST-TEST",
        "person": 1,
        "goal": 1,
        "action": 1,
    }
    for method, template, allowed in ENDPOINTS:
        if role in allowed:
            continue
        url = template.format(**ids)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "state": "available"})
        assert response.status_code in (403, 404), (method, url, response.status_code)
    assert _jobs(redis_url) == []
    assert _audit(factory, "number_revealed") == []


def test_live_polling_does_not_keep_an_idle_session_alive(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """The page's own polls (X-Helpline-Background) leave the session's last activity as
    it was, so the idle timeout still ends an unattended console; a person's request
    does count."""
    _scene(factory, redis_url)
    login(client, "ayse")
    before = utcnow() - dt.timedelta(minutes=5)
    factory.session.execute(sa.update(LoginSession).values(last_seen_at=before))
    factory.session.commit()
    polled = client.get("/console/live.json", headers={"X-Helpline-Background": "1"})
    assert polled.status_code == 200
    factory.session.expire_all()
    assert factory.session.scalars(sa.select(LoginSession.last_seen_at)).one() == before
    assert client.get("/console/").status_code == 200
    factory.session.expire_all()
    assert factory.session.scalars(sa.select(LoginSession.last_seen_at)).one() > before
    idle = utcnow() - dt.timedelta(hours=2)
    factory.session.execute(sa.update(LoginSession).values(last_seen_at=idle))
    factory.session.commit()
    expired = client.get("/console/live.json", headers={"X-Helpline-Background": "1"})
    assert expired.status_code == 302
    assert expired.headers["Location"].startswith("/login")


def test_live_panel_without_redis_shows_the_open_call(
    app: Flask, factory: Factory, redis_url: str
) -> None:
    """With Redis unreachable the state is unknown, and the database still names the
    counsellor's open call, with no actions offered (the operations need Redis)."""
    scene = _scene(factory, redis_url, past_record=False)
    unreachable = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    with app.app_context():
        staff = db.session.get(Staff, scene.counsellor.id)
        assert staff is not None
        found = build_panel(
            db.session, unreachable, staff, now=utcnow(), wrap_up_seconds=60, with_history=False
        )
        assert (found.state, found.since, found.wrap_up_until) == ("unknown", None, None)
        assert found.facts is not None
        assert (found.facts.call.id, found.facts.stage) == (scene.call.id, "connected")
        assert found.summary()["call_id"] == scene.call.id


def test_call_actions_with_redis_unreachable_say_so(
    client: FlaskClient, factory: Factory, database_url: str, tmp_path: Path
) -> None:
    """With Redis unreachable the console still opens (state unknown, no actions) and an
    action posted anyway is refused with a message, never a server error."""
    counsellor = factory.staff("ayse", roles=("counsellor",), languages=("ar",))
    call = factory.call(None, counsellor_id=counsellor.id, language="ar", answered_at=utcnow())
    login(client, "ayse")  # while Redis is up: logging in needs its throttle
    down = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(make_settings(database_url, down, tmp_path / "i"), {"TESTING": True})
    try:
        browser = app.test_client()
        cookie = client.get_cookie("helpline")
        assert cookie is not None
        browser.set_cookie("helpline", cookie.value)
        page = browser.get("/console/").get_data(as_text=True)
        assert "Unknown (live presence is unreachable)" in page
        assert "/hold" not in page
        token = csrf_token(page)
        for path in ("hold", "end", "interpreter", "escalate"):
            response = browser.post(
                f"/console/calls/{call.id}/{path}",
                data={"csrf_token": token},
                follow_redirects=True,
            )
            assert response.status_code == 200, path
            assert "Live routing is unreachable; try again." in response.get_data(as_text=True)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
