"""The live wallboard: callers waiting and staff states per language."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpline.models import utcnow
from helpline.routing.router import WaitingCall
from helpline.supervisor import wallboard
from helpline.supervisor.wallboard import StaffCounts
from tests.factories import Factory, login

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
LANGUAGES = {"tr": "Turkish", "ar": "Arabic", "fa": "Farsi"}


def waiting(call_id: int, language: str, seconds: int) -> WaitingCall:
    return WaitingCall(call_id, language, None, 0, NOW - dt.timedelta(seconds=seconds))


def live(state: str, roles: str, languages: str, **extra: str) -> dict[str, str]:
    return {"state": state, "roles": roles, "languages": languages, **extra}


def test_build_board_counts_waiting_callers_and_longest_wait_per_language() -> None:
    """Each language counts its waiting callers and the longest of their waits."""
    board = wallboard.build_board(
        [waiting(1, "ar", 30), waiting(2, "ar", 95), waiting(3, "tr", 4)], {}, LANGUAGES, NOW
    )
    rows = {row.language: row for row in board.rows}
    assert [row.language for row in board.rows] == ["tr", "ar", "fa"]
    assert (rows["ar"].waiting, rows["ar"].longest_wait) == (2, 95)
    assert (rows["tr"].waiting, rows["tr"].longest_wait) == (1, 4)
    assert (rows["fa"].waiting, rows["fa"].longest_wait) == (0, None)
    assert (board.waiting, board.longest_wait) == (3, 95)


@pytest.mark.parametrize(
    ("hash_", "column"),
    [
        (live("available", "counsellor", "tr"), "available"),
        (live("busy", "counsellor", "tr"), "busy"),
        (live("wrap_up", "counsellor", "tr"), "wrap_up"),
        (live("break", "counsellor", "tr"), "break"),
        (live("offline", "counsellor", "tr"), None),
        (live("reserved", "counsellor", "tr", reserved_until=str(NOW.timestamp() + 5)), "busy"),
        (
            live("reserved", "counsellor", "tr", reserved_until=str(NOW.timestamp() - 1)),
            "available",
        ),
        ({}, None),
    ],
)
def test_staff_state_maps_live_states_to_columns(hash_: dict[str, str], column: str | None) -> None:
    """Ringing counts as busy until the reservation lapses; offline is left out."""
    assert wallboard.staff_state(hash_, NOW.timestamp()) == column


def test_build_board_counts_staff_under_each_language_and_role() -> None:
    """A member counts under every language they speak; interpreters count apart, and one
    with both roles counts in both."""
    staff = {
        1: live("available", "counsellor", "tr,ar"),
        2: live("busy", "counsellor", "ar"),
        3: live("wrap_up", "interpreter", "ar,ps"),
        4: live("break", "counsellor,interpreter", "fa"),
        5: live("offline", "counsellor", "ar"),
    }
    board = wallboard.build_board([], staff, LANGUAGES, NOW)
    rows = {row.language: row for row in board.rows}
    assert rows["tr"].counsellors == StaffCounts(available=1)
    assert rows["ar"].counsellors == StaffCounts(available=1, busy=1)
    assert rows["ar"].interpreters == StaffCounts(wrap_up=1)
    assert rows["fa"].counsellors == StaffCounts(on_break=1)
    assert rows["fa"].interpreters == StaffCounts(on_break=1)
    # Pashto is in no flow here, but an interpreter speaks it: it gets a row at the end.
    assert board.rows[-1].language == "ps"
    assert rows["ps"].interpreters == StaffCounts(wrap_up=1)


def test_board_json_carries_every_figure() -> None:
    """The JSON the page polls holds the totals and each row's counts."""
    board = wallboard.build_board(
        [waiting(1, "fa", 12)], {1: live("busy", "interpreter", "fa")}, LANGUAGES, NOW
    )
    data = wallboard.board_json(board)
    assert (data["waiting"], data["longest_wait"], data["staff_known"]) == (1, 12, True)
    fa = next(row for row in data["rows"] if row["language"] == "fa")
    assert fa["interpreters"]["busy"] == 1
    assert fa["counsellors"] == {"available": 0, "busy": 0, "wrap_up": 0, "on_break": 0}


def test_wallboard_reads_waiting_calls_and_live_presence(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """The page and its JSON come from the database's waiting calls and Redis's presence."""
    from helpline.extensions import db, get_redis
    from helpline.routing import presence

    factory.staff("sup", roles=("supervisor",))
    counsellor = factory.staff("ayse", languages=("ar", "tr"), password=None)
    interpreter = factory.staff(
        "reza", roles=("interpreter",), languages=("fa", "tr"), password=None
    )
    now = utcnow()
    factory.calls(
        [
            {"language": "ar", "started_at": now, "queued_at": now - dt.timedelta(seconds=70)},
            {"language": "ar", "started_at": now, "queued_at": now - dt.timedelta(seconds=5)},
            {  # answered: not waiting any more
                "language": "ar", "started_at": now, "queued_at": now,
                "dequeued_at": now, "answered_at": now,
            },
        ]
    )  # fmt: skip
    with app.app_context():
        connection = get_redis()
        presence.set_state(connection, db.session, counsellor.id, "available")
        presence.set_state(connection, db.session, interpreter.id, "wrap_up", system=True)
        db.session.commit()
    login(client, "sup")
    data = client.get("/supervisor/wallboard.json").get_json()
    rows = {row["language"]: row for row in data["rows"]}
    assert rows["ar"]["waiting"] == 2
    assert rows["ar"]["longest_wait"] >= 70
    assert rows["ar"]["counsellors"]["available"] == 1
    assert rows["fa"]["interpreters"]["wrap_up"] == 1
    assert rows["tr"]["interpreters"]["wrap_up"] == 1
    page = client.get("/supervisor/wallboard")
    assert page.status_code == 200
    assert 'data-language="ar"' in page.get_data(as_text=True)


def test_wallboard_is_for_supervisors_only(client: FlaskClient, factory: Factory) -> None:
    """A counsellor is refused the board and its JSON."""
    factory.staff("ayse")
    login(client, "ayse")
    assert client.get("/supervisor/wallboard").status_code == 403
    assert client.get("/supervisor/wallboard.json").status_code == 403


def test_read_board_without_redis_still_shows_callers(app: Flask, factory: Factory) -> None:
    """Redis unreachable: the callers waiting still show, and the board says staff states
    are unknown instead of failing."""
    import redis

    from helpline.extensions import db
    from helpline.routing import live as routing_live
    from tests.browser import free_port

    now = utcnow()
    factory.call(language="tr", queued_at=now - dt.timedelta(seconds=9))
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    with app.app_context():
        board = wallboard.read_board(db.session, dead, routing_live.policy(), LANGUAGES, now)
    assert board.staff_known is False
    assert (board.waiting, board.longest_wait) == (1, 9)
