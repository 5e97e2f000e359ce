"""The supervisor's call log, call detail and CSV export."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import io
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.audit import chain as audit
from helpline.extensions import db
from helpline.models import AuditEntry, Call, CallEvent, Site, Staff
from helpline.models.enums import CallbackStatus, CallOutcome, ReferralKind, RiskLevel
from helpline.supervisor import calllog, export
from tests.factories import Factory, csrf_token, login, post_form

ISTANBUL = ZoneInfo("Europe/Istanbul")
NUMBER = "+905321112233"
NUMBER_FORMS = (NUMBER, NUMBER[1:], "5321112233", "532 111 22 33")
NOTE = "Afraid of her husband; staying with a cousin in Keçiören since Tuesday"
NOTE_WORDS = ("husband", "cousin", "Keçiören")
CALL_LINK = re.compile(r">Call (\d+)</a>")


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in November 2026, given on the line's clock, as UTC."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ISTANBUL).astimezone(dt.UTC)


def seconds(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def listed(client: FlaskClient, **params: Any) -> list[int]:
    response = client.get("/supervisor/calls", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(n) for n in CALL_LINK.findall(response.get_data(as_text=True))]


@dataclasses.dataclass
class World:
    supervisor: Staff
    counsellor: Staff
    other_counsellor: Staff
    interpreter: Staff
    site: Site
    other_site: Site
    calls: dict[str, Call]


@pytest.fixture
def world(factory: Factory) -> World:
    """Four calls that differ in every filter, a supervisor, counsellors and sites."""
    site, other_site = factory.site("ANK"), factory.site("IST")
    supervisor = factory.staff("sup", roles=("supervisor",))
    counsellor = factory.staff(
        "cansu", roles=("counsellor",), languages=("ar",), site=site, password=None
    )
    other = factory.staff("deniz", roles=("counsellor",), site=other_site, password=None)
    interpreter = factory.staff("idris", roles=("interpreter",), languages=("ar",), password=None)
    caller = factory.caller(NUMBER, language="ar")

    start = local(2, 10)
    answered = factory.call(
        caller,
        language="ar",
        topic="psychosocial",
        started_at=start,
        queued_at=start + seconds(30),
        answered_at=start + seconds(45),
        ended_at=start + seconds(300),
        outcome=CallOutcome.ANSWERED,
        counsellor_id=counsellor.id,
        interpreter_id=interpreter.id,
        site_id=site.id,
    )
    # Half past midnight on the 4th in Istanbul is still the 3rd in UTC.
    start = local(4, 0, 30)
    abandoned = factory.call(
        None,
        language="fa",
        topic="violence",
        started_at=start,
        queued_at=start + seconds(10),
        ended_at=start + seconds(70),
        outcome=CallOutcome.ABANDONED_QUEUE,
        is_number_withheld=True,
    )
    start = local(5, 12)
    callback = factory.call(
        caller,
        language="tr",
        topic="social_assistance",
        started_at=start,
        queued_at=start + seconds(20),
        ended_at=start + seconds(50),
        outcome=CallOutcome.CALLBACK_REQUESTED,
        counsellor_id=other.id,
        site_id=other_site.id,
    )
    factory.callback(callback, status=CallbackStatus.PENDING)
    factory.contact_record(callback, other, [NOTE], risk=RiskLevel.HIGH)
    start = local(6, 9)
    ivr = factory.call(
        None,
        started_at=start,
        ended_at=start + seconds(20),
        outcome=CallOutcome.ABANDONED_IVR,
    )
    return World(
        supervisor=supervisor,
        counsellor=counsellor,
        other_counsellor=other,
        interpreter=interpreter,
        site=site,
        other_site=other_site,
        calls={"answered": answered, "abandoned": abandoned, "callback": callback, "ivr": ivr},
    )


FILTERS: list[tuple[str, Callable[[World], dict[str, Any]], set[str]]] = [
    ("nothing", lambda w: {}, {"answered", "abandoned", "callback", "ivr"}),
    ("language", lambda w: {"language": "ar"}, {"answered"}),
    ("topic", lambda w: {"topic": "violence"}, {"abandoned"}),
    ("outcome", lambda w: {"outcome": "abandoned_queue"}, {"abandoned"}),
    ("counsellor", lambda w: {"counsellor": w.counsellor.id}, {"answered"}),
    ("interpreter", lambda w: {"interpreter": w.interpreter.id}, {"answered"}),
    ("site", lambda w: {"site": w.other_site.id}, {"callback"}),
    ("wait from", lambda w: {"wait_min": 30}, {"callback", "abandoned"}),
    ("wait to", lambda w: {"wait_max": 20}, {"answered"}),
    ("wait between", lambda w: {"wait_min": 16, "wait_max": 59}, {"callback"}),
    ("duration from", lambda w: {"duration_min": 100}, {"answered"}),
    ("duration to", lambda w: {"duration_max": 50}, {"callback", "ivr"}),
    ("risk", lambda w: {"risk": "high"}, {"callback"}),
    ("risk none recorded", lambda w: {"risk": "low"}, set()),
    ("callback status", lambda w: {"callback": "pending"}, {"callback"}),
    ("callback completed", lambda w: {"callback": "completed"}, set()),
    ("any callback", lambda w: {"callback": "any"}, {"callback"}),
    ("no callback", lambda w: {"callback": "none"}, {"answered", "abandoned", "ivr"}),
    ("from a local day", lambda w: {"from": "2026-11-04"}, {"abandoned", "callback", "ivr"}),
    ("to a local day", lambda w: {"to": "2026-11-03"}, {"answered"}),
    ("one local day", lambda w: {"from": "2026-11-04", "to": "2026-11-04"}, {"abandoned"}),
    ("combined", lambda w: {"language": "tr", "risk": "high", "callback": "any"}, {"callback"}),
    ("by wait", lambda w: {"sort": "longest_wait"}, {"answered", "abandoned", "callback"}),
]


@pytest.mark.parametrize(
    ("params", "expected"), [(f, e) for _, f, e in FILTERS], ids=[name for name, _, _ in FILTERS]
)
def test_call_log_filters_each_narrow_the_list(
    client: FlaskClient,
    world: World,
    params: Callable[[World], dict[str, Any]],
    expected: set[str],
) -> None:
    """Each filter keeps exactly the calls it names; days are the line's days."""
    login(client, "sup")
    ids = {call.id: name for name, call in world.calls.items()}
    assert {ids[n] for n in listed(client, **params(world))} == expected


def test_call_log_default_order_is_newest_first(client: FlaskClient, world: World) -> None:
    login(client, "sup")
    names = ["ivr", "callback", "abandoned", "answered"]
    assert listed(client) == [world.calls[n].id for n in names]


def test_call_log_shows_no_number_and_no_note(client: FlaskClient, world: World) -> None:
    """The list holds masked data only: no phone number in any form, no note text."""
    login(client, "sup")
    for params in ({}, {"risk": "high"}, {"sort": "longest"}):
        page = client.get("/supervisor/calls", query_string=params).get_data(as_text=True)
        assert "Call " in page
        for needle in (*NUMBER_FORMS, *NOTE_WORDS, "5** ***"):
            assert needle not in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-45"}, "From: give a date as YYYY-MM-DD."),
        ({"to": "yesterday"}, "To: give a date as YYYY-MM-DD."),
        ({"from": "0001-01-01"}, "between the years 2000 and 2100"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "must not be after the last day"),
        ({"language": "xx"}, "Language: choose one from the list."),
        ({"topic": "<script>"}, "Topic: choose one from the list."),
        ({"outcome": "maybe"}, "Outcome: choose one from the list."),
        ({"counsellor": "99999"}, "Counsellor: choose one from the list."),
        ({"counsellor": "one"}, "Counsellor: choose one from the list."),
        ({"interpreter": "-1"}, "Interpreter: choose one from the list."),
        ({"site": "1e9"}, "Site: choose one from the list."),
        ({"wait_min": "-5"}, "Wait from: give a whole number"),
        ({"wait_max": "٣"}, "Wait to: give a whole number"),
        ({"duration_min": "9" * 40}, "Duration from: give a whole number"),
        ({"duration_min": "50", "duration_max": "10"}, "lower bound must not be above"),
        ({"risk": "extreme"}, "Risk level: choose one from the list."),
        ({"callback": "soon"}, "Callback: choose one from the list."),
        ({"sort": "random"}, "Order: choose one from the list."),
        ({"size": "7"}, "Rows per page: choose one from the list."),
    ],
)
def test_call_log_bad_input_gets_a_message_not_an_error(
    client: FlaskClient, world: World, params: dict[str, str], message: str
) -> None:
    """Bad filter input is a 400 page that says what to correct, never a 500."""
    login(client, "sup")
    response = client.get("/supervisor/calls", query_string=params)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert html.escape(message) in page
    assert 'role="alert"' in page
    assert CALL_LINK.search(page) is None  # no results for a search that was not understood


@pytest.mark.parametrize("cursor", ["garbage", "2026-11-02T10:00:00_x", "1_2", "_", "9" * 50])
def test_call_log_damaged_page_link_starts_again(
    client: FlaskClient, world: World, cursor: str
) -> None:
    """A damaged page link shows the first page with a notice."""
    login(client, "sup")
    for name in ("after", "before"):
        response = client.get("/supervisor/calls", query_string={name: cursor})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "damaged or out of date" in page
        assert len(CALL_LINK.findall(page)) == 4


def _link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(match.group(1)) if match else None


def _walk(client: FlaskClient, url: str, rel: str) -> Iterator[tuple[str, list[int]]]:
    """Follow next (or previous) links from a page; yield each page's URL and calls."""
    next_url: str | None = url
    while next_url is not None:
        page = client.get(next_url)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        yield next_url, [int(n) for n in CALL_LINK.findall(text)]
        next_url = _link(text, rel)


@pytest.mark.parametrize(
    ("sort", "column", "descending"),
    [
        ("newest", "started_at", True),
        ("oldest", "started_at", False),
        ("longest_wait", "wait_seconds", True),
        ("shortest_wait", "wait_seconds", False),
        ("longest", "duration_seconds", True),
        ("shortest", "duration_seconds", False),
    ],
)
def test_call_log_keyset_pages_give_every_call_once_in_order(
    client: FlaskClient, factory: Factory, sort: str, column: str, descending: bool
) -> None:
    """Across pages, ties included, every call appears exactly once and in order, both ways."""
    factory.staff("sup", roles=("supervisor",))
    base = local(2, 8)
    specs = []
    for i in range(47):
        start = base + dt.timedelta(minutes=i // 6)  # six calls share each start time
        specs.append(
            {
                "language": "ar",
                "started_at": start,
                "queued_at": start + seconds(5),
                "answered_at": start + seconds(5 + i % 4),  # waits tie four ways
                "ended_at": start + seconds(60 + 10 * (i % 3)),  # durations three ways
                "outcome": CallOutcome.ANSWERED,
            }
        )
    made = factory.calls(specs)
    factory.call(language="fa", started_at=base)  # filtered out by language: never listed
    keyed = sorted(made, key=lambda c: (getattr(c, column), c.id), reverse=descending)
    expected = [c.id for c in keyed]

    login(client, "sup")
    first = f"/supervisor/calls?language=ar&sort={sort}&size=10"
    forward = list(_walk(client, first, "next"))
    assert [len(ids) for _, ids in forward] == [10, 10, 10, 10, 7]
    assert [n for _, ids in forward for n in ids] == expected

    backward = list(_walk(client, forward[-1][0], "prev"))
    assert [ids for _, ids in backward] == [ids for _, ids in reversed(forward)]


def test_call_log_keyset_query_uses_no_offset(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """Pages are found by key, not by counting rows to skip."""
    factory.staff("sup", roles=("supervisor",))
    factory.calls([{"started_at": local(2, 8) + seconds(i // 3)} for i in range(25)])
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, Any]] = []

    def spy(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    login(client, "sup")
    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        pages = list(_walk(client, "/supervisor/calls?size=10", "next"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
    assert [len(ids) for _, ids in pages] == [10, 10, 5]
    listing = [(s, p) for s, p in seen if "FROM call LEFT OUTER JOIN contact_record" in s]
    assert len(listing) == 3
    for statement, parameters in listing:
        if engine.dialect.name == "sqlite":
            # SQLAlchemy always writes "OFFSET ?" for SQLite, bound to 0.
            assert statement.endswith("LIMIT ? OFFSET ?")
            assert parameters[-1] == 0
        else:
            assert "OFFSET" not in statement.upper()


ROLES = [("counsellor",), ("interpreter",), ("admin",)]


@pytest.mark.parametrize("roles", ROLES)
def test_supervisor_pages_are_refused_to_other_roles(
    client: FlaskClient, factory: Factory, world: World, roles: tuple[str, ...]
) -> None:
    """Counsellors, interpreters and administrators get 403 on every supervisor page."""
    factory.staff("someone", roles=roles)
    login(client, "someone")
    for url in (
        "/supervisor/calls",
        f"/supervisor/calls/{world.calls['answered'].id}",
        "/supervisor/calls/export",
        "/supervisor/audit",
        "/supervisor/kpis",
    ):
        assert client.get(url).status_code == 403, url
    # With a valid CSRF token (the 403 page has one, in its logout form), still refused.
    assert post_form(client, "/supervisor/calls", "/supervisor/calls/export").status_code == 403
    assert post_form(client, "/supervisor/audit", "/supervisor/audit/verify").status_code == 403
    assert not factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action.in_(["call_viewed", "calls_exported"]))
    ).all()


def test_supervisor_pages_send_anonymous_people_to_login(client: FlaskClient, world: World) -> None:
    for url in ("/supervisor/calls", "/supervisor/audit", "/supervisor/kpis"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# Call detail


def test_call_detail_shows_the_timeline_in_order(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """Every event, in the order it happened, with its kind and data readable."""
    call = world.calls["answered"]
    factory.events(
        call,
        ("call_started", "twilio", {"direction": "inbound", "withheld": False}),
        ("ivr_step", "ivr", {"node": "welcome", "action": "start", "flow": "default"}),
        ("branch", "ivr", {"from": "welcome", "to": "choose_language", "via": "next"}),
        ("key_pressed", "ivr", {"node": "choose_language", "key": "2"}),
        ("language_selected", "ivr", {"language": "ar", "source": "menu"}),
        ("branch", "ivr", {"from": "choose_language", "to": "queue", "via": "key 2"}),
        ("status_callback", "twilio", {"status": "completed", "duration": 300}),
        ("ended", "twilio", {"outcome": "answered"}),
    )
    factory.session.add(
        CallEvent(
            call_id=call.id,
            kind="consent_recorded",
            source="ivr",
            data={"kind": "callback", "granted": True},
            occurred_at=call.started_at + seconds(3.5),
        )
    )
    factory.session.commit()
    login(client, "sup")
    response = client.get(f"/supervisor/calls/{call.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    timeline = page[page.index('id="h-timeline"') :]
    shown = re.findall(
        r"<td>\d+</td>\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]+)</td>", timeline
    )
    assert shown == [
        "Call started",
        "IVR step",
        "IVR moved on",
        "Key pressed",
        "Consent recorded",  # stored last, but it happened before the language was chosen
        "Language selected",
        "IVR moved on",
        "Telephony status",
        "Call ended",
    ]
    assert '<span class="k">key</span> 2' in timeline
    assert '<span class="k">withheld</span> no' in timeline
    path = re.findall(r"<li>([a-z_]+)</li>", page[page.index('aria-label="IVR path"') :])
    assert path[:3] == ["welcome", "choose_language", "queue"]
    assert "+90 5** *** ** 33" in page  # the caller, masked
    for needle in NUMBER_FORMS:
        assert needle not in page


def test_call_detail_is_audited_with_the_request(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """Viewing a call is a call_viewed entry naming the call, the viewer and the request."""
    call = world.calls["answered"]
    where = {"REMOTE_ADDR": "192.0.2.44", "HTTP_USER_AGENT": "pytest-browser"}
    login(client, "sup", **where)
    response = client.get(f"/supervisor/calls/{call.id}", environ_overrides=where)
    assert response.status_code == 200
    entry = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "call_viewed")
    ).one()
    assert (entry.target_type, entry.target_id) == ("call", str(call.id))
    assert (entry.actor_id, entry.actor_label) == (world.supervisor.id, "sup")
    assert entry.ip_address == "192.0.2.44"
    assert entry.user_agent == "pytest-browser"
    assert entry.request_id == response.headers["X-Request-Id"]
    actions = factory.session.scalars(sa.select(AuditEntry.action)).all()
    assert "contact_record_viewed" not in actions  # this call has no record
    assert audit.verify(factory.session).is_intact


def test_call_detail_shows_the_record_and_audits_reading_it(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """The contact record, its versions (who, when) and summary; reading it is audited."""
    call = world.calls["answered"]
    record = factory.contact_record(
        call,
        world.counsellor,
        ["First draft of the note", NOTE],
        risk=RiskLevel.MEDIUM,
        referral=ReferralKind.VIOLENCE_PREVENTION_CENTRE,
    )
    callback = factory.callback(call, status=CallbackStatus.COMPLETED)
    recording = factory.recording(call)
    login(client, "sup")
    page = client.get(f"/supervisor/calls/{call.id}").get_data(as_text=True)
    assert html.escape(NOTE) in page
    assert "First draft of the note" in page  # an earlier version, behind a disclosure
    assert page.count("Test Person (cansu)") >= 3  # the counsellor, and the editor of each
    assert "violence prevention centre" in page
    assert f"<td>{callback.id}</td>" in page
    assert recording.recording_sid in page
    assert recording.url not in page  # a reference only: no link to the audio
    entries = factory.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
    viewed = [e for e in entries if e.action == "contact_record_viewed"]
    assert len(viewed) == 1
    assert (viewed[0].target_type, viewed[0].target_id) == ("contact_record", str(record.id))
    assert viewed[0].details == {"call_id": call.id, "versions": 2}
    assert NOTE not in str([e.details for e in entries])
    assert audit.verify(factory.session).is_intact


def test_call_detail_of_an_unknown_call_is_404(client: FlaskClient, world: World) -> None:
    login(client, "sup")
    assert client.get("/supervisor/calls/987654").status_code == 404


# Export


def _export(client: FlaskClient, query: str = "", **form: str) -> tuple[int, list[list[str]], Any]:
    page = client.get(f"/supervisor/calls/export{query}")
    assert page.status_code == 200
    response = client.post(
        f"/supervisor/calls/export{query}",
        data={**form, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    if response.status_code != 200 or response.mimetype != "text/csv":
        return response.status_code, [], response
    return 200, list(csv.reader(io.StringIO(response.get_data(as_text=True)))), response


def test_export_page_tells_the_count_before_starting(client: FlaskClient, world: World) -> None:
    login(client, "sup")
    page = client.get("/supervisor/calls/export?language=ar").get_data(as_text=True)
    assert "<strong>1</strong> call." in page
    page = client.get("/supervisor/calls/export").get_data(as_text=True)
    assert "<strong>4</strong> calls." in page


def test_export_columns_and_rows_without_personal_data(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """The CSV has the documented columns, the search's rows, and no personal data."""
    login(client, "sup")
    code, rows, response = _export(client, "?sort=oldest")
    assert code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="calls-')
    assert response.headers["Cache-Control"] == "no-store"
    assert rows[0] == list(export.COLUMNS)
    body = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    order = ["answered", "abandoned", "callback", "ivr"]
    assert list(body) == [str(world.calls[n].id) for n in order]
    answered = body[str(world.calls["answered"].id)]
    assert answered["started_at"] == "2026-11-02T10:00:00+03:00"
    assert answered["wait_seconds"] == "15"
    assert answered["duration_seconds"] == "300"
    assert answered["counsellor"] == "cansu"
    assert answered["interpreter"] == "idris"
    assert answered["site"] == "ANK"
    callback = body[str(world.calls["callback"].id)]
    assert (callback["risk_level"], callback["callbacks"]) == ("high", "pending")
    assert body[str(world.calls["abandoned"].id)]["number_withheld"] == "yes"
    text = response.get_data(as_text=True)
    for needle in (*NUMBER_FORMS, *NOTE_WORDS, "5** ***"):
        assert needle not in text
    entry = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "calls_exported")
    ).one()
    assert entry.details == {
        "filters": {"sort": "oldest"},
        "rows": 4,
        "personal_data": False,
        "reason": None,
    }
    assert entry.actor_id == world.supervisor.id
    assert audit.verify(factory.session).is_intact


def test_export_with_a_reason_adds_the_masked_number_only(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """With a reason, the masked number is added; the whole number never is."""
    login(client, "sup")
    reason = "Ministry request about repeat callers, ref MIN/2026/41"
    code, rows, response = _export(client, "?language=ar", include_number="y", reason=reason)
    assert code == 200
    assert rows[0] == [*export.COLUMNS, *export.PERSONAL_COLUMNS]
    assert rows[1][-1] == "'+90 5** *** ** 33"  # quoted so no spreadsheet runs it
    for needle in NUMBER_FORMS:
        assert needle not in response.get_data(as_text=True)
    entry = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "calls_exported")
    ).one()
    assert entry.details["personal_data"] is True
    assert entry.details["reason"] == reason
    assert entry.details["rows"] == 1
    assert entry.details["filters"] == {"language": "ar", "sort": "newest"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"include_number": "y"}, "Give a reason of at least 10 characters"),
        ({"include_number": "y", "reason": "because"}, "Give a reason of at least 10"),
        (
            {"include_number": "y", "reason": "caller 0532 111 22 33 asked"},
            "Do not type phone numbers",
        ),
    ],
)
def test_export_with_personal_data_needs_a_proper_reason(
    client: FlaskClient, factory: Factory, world: World, form: dict[str, str], message: str
) -> None:
    """No reason, a too short one, or one holding a number: refused, nothing exported."""
    login(client, "sup")
    code, _rows, response = _export(client, **form)
    assert code == 400
    assert message in response.get_data(as_text=True)
    assert "0532 111 22 33" not in response.get_data(as_text=True)
    actions = factory.session.scalars(sa.select(AuditEntry.action)).all()
    assert "calls_exported" not in actions


def test_export_needs_the_csrf_token(client: FlaskClient, factory: Factory, world: World) -> None:
    login(client, "sup")
    assert client.post("/supervisor/calls/export").status_code == 400
    assert "calls_exported" not in factory.session.scalars(sa.select(AuditEntry.action)).all()


def test_export_with_bad_filters_is_a_message(client: FlaskClient, world: World) -> None:
    login(client, "sup")
    response = client.get("/supervisor/calls/export?language=xx")
    assert response.status_code == 400
    assert "Language: choose one from the list." in response.get_data(as_text=True)


def test_export_streams_batch_by_batch(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The response is a generator over a server-side cursor: one batch in memory at a time.

    A spy on the batches shows that when the first rows reach the client only the first
    batch has been read, and the SELECT is run with yield_per (a named cursor on
    PostgreSQL).
    """
    factory.staff("sup", roles=("supervisor",))
    base = local(2, 8)
    factory.calls(
        [
            {"language": "tr", "started_at": base + seconds(i), "ended_at": base + seconds(i + 60)}
            for i in range(230)
        ]
    )
    monkeypatch.setattr(export, "BATCH_ROWS", 50)
    read: list[int] = []
    real_stream = calllog.stream

    def spy(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for rows in real_stream(*args, **kwargs):
            read.append(len(rows))
            yield rows

    monkeypatch.setattr(calllog, "stream", spy)
    with app.app_context():
        engine = db.engine
    cursors: list[tuple[dict[str, Any], str]] = []

    def on_execute(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        context = _rest[1]
        if statement.lstrip().upper().startswith("SELECT CALL.ID"):
            cursors.append((dict(context.execution_options), type(cursor).__name__))

    login(client, "sup")
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    response = None
    try:
        page = client.get("/supervisor/calls/export")
        response = client.post(
            "/supervisor/calls/export",
            data={"csrf_token": csrf_token(page.get_data(as_text=True))},
        )
        assert response.status_code == 200
        assert response.is_streamed
        assert response.headers["X-Export-Rows"] == "230"
        # The WSGI body, chunk by chunk as the server would send it.
        chunks: Iterator[bytes] = iter(cast("Iterable[bytes]", response.response))
        header = next(chunks)
        assert header.startswith(b"call_id,started_at")
        assert read == []  # the header goes out before any row is read
        first = next(chunks)
        assert read == [50]  # one batch read, one batch sent
        assert first.count(b"\r\n") == 50
        rest = list(chunks)
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        if response is not None:
            response.close()
    assert read == [50, 50, 50, 50, 30]
    assert [chunk.count(b"\r\n") for chunk in rest] == [50, 50, 50, 30]
    [(options, cursor_type)] = cursors
    assert options.get("yield_per") == 50
    assert options.get("stream_results") is True
    if engine.dialect.name == "postgresql":
        assert cursor_type == "ServerCursor"


def test_export_is_audited_before_any_row_is_sent(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """The audit entry is committed when the download starts, even if it is never read."""
    login(client, "sup")
    page = client.get("/supervisor/calls/export")
    response = client.post(
        "/supervisor/calls/export",
        data={"csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    try:
        assert response.status_code == 200
        actions = factory.session.scalars(sa.select(AuditEntry.action)).all()
        assert "calls_exported" in actions
    finally:
        response.close()


def test_call_detail_links_to_who_opened_it(
    client: FlaskClient, factory: Factory, world: World
) -> None:
    """From a call, the audit search of everyone who opened it is one link away."""
    call = world.calls["callback"]
    login(client, "sup")
    page = client.get(f"/supervisor/calls/{call.id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">who has opened this call</a>', page)
    assert link is not None
    audit_page = client.get(html.unescape(link.group(1))).get_data(as_text=True)
    assert "call viewed" in audit_page
    assert f'<a href="/supervisor/calls/{call.id}">call {call.id}</a>' in audit_page
    assert "who has read its record" in page


def test_export_with_a_too_long_reason_says_so(client: FlaskClient, world: World) -> None:
    login(client, "sup")
    code, _rows, response = _export(client, include_number="y", reason="x" * 201)
    assert code == 400
    assert "longer than 200 characters" in response.get_data(as_text=True)
