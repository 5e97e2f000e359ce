"""The supervisor's search of the access audit log, and its chain check."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from helpline.audit import chain as audit
from helpline.models import Staff
from tests.factories import Factory, login, post_form

SEQ = re.compile(r"<tr>\s*<td>(\d+)</td>")


def entries(client: FlaskClient, **params: Any) -> list[int]:
    response = client.get("/supervisor/audit", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(n) for n in SEQ.findall(response.get_data(as_text=True))]


@pytest.fixture
def boss(factory: Factory) -> Staff:
    return factory.staff("boss", roles=("supervisor",))


def _record(
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    when: dt.datetime,
    action: str,
    actor: audit.Actor,
    **target: Any,
) -> int:
    monkeypatch.setattr(audit, "utcnow", lambda: when)
    entry = audit.record(factory.session, action, actor, **target)
    factory.session.commit()
    monkeypatch.undo()
    return entry.seq


@pytest.fixture
def trail(factory: Factory, boss: Staff, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A few entries on different days (in Istanbul), by staff and by the system."""
    other = factory.staff("ozan", roles=("supervisor",), password=None)
    # Staff creation above wrote entries 1 and 2.
    day = dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.UTC)  # 10:00 in Istanbul
    me, them = audit.Actor("boss", boss.id), audit.Actor("ozan", other.id)
    return {
        "viewed": _record(
            factory, monkeypatch, day, "call_viewed", me, target_type="call", target_id=17
        ),
        "exported": _record(
            factory,
            monkeypatch,
            day + dt.timedelta(days=1),
            "calls_exported",
            them,
            target_type="call",
        ),
        "system": _record(
            factory,
            monkeypatch,
            day + dt.timedelta(days=2),
            "keys_rotated",
            audit.Actor("cli:root"),
        ),
        # 23:30 UTC on the 5th is already the 6th in Istanbul
        "late": _record(
            factory,
            monkeypatch,
            dt.datetime(2026, 11, 5, 23, 30, tzinfo=dt.UTC),
            "call_viewed",
            them,
            target_type="call",
            target_id=18,
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "boss", "action": "call_viewed"}, {"viewed"}),
        ({"actor": "OZAN"}, {"exported", "late"}),
        ({"actor": "cli:root"}, {"system"}),
        ({"action": "call_viewed"}, {"viewed", "late"}),
        ({"target_type": "call", "target_id": "18"}, {"late"}),
        ({"target_type": "call"}, {"viewed", "exported", "late"}),
        ({"from": "2026-11-03", "to": "2026-11-04"}, {"exported", "system"}),
        ({"from": "2026-11-06", "to": "2026-11-06"}, {"late"}),
        ({"to": "2026-11-05", "action": "call_viewed"}, {"viewed"}),
        ({"actor": "nobody"}, set()),
    ],
)
def test_audit_search_filters_narrow(
    client: FlaskClient, trail: dict[str, int], params: dict[str, str], expected: set[str]
) -> None:
    """Who, what, which target, and which days (the line's days)."""
    login(client, "boss")
    login_seq = max(trail.values()) + 1  # logging in is audited too
    names = {seq: name for name, seq in trail.items()}
    found = [seq for seq in entries(client, **params) if seq != login_seq]
    assert {names[seq] for seq in found} == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"actor": "a b"}, "Who: use only letters"),
        ({"action": "DROP TABLE"}, "Action: use only letters"),
        ({"target_type": "call;"}, "Target type: use only letters"),
        ({"target_id": "17"}, "Target id: give the target type too"),
        ({"from": "2026-02-30"}, "From: give a date"),
        ({"size": "1000"}, "Rows per page"),
    ],
)
def test_audit_search_bad_input_gets_a_message(
    client: FlaskClient, boss: Staff, params: dict[str, str], message: str
) -> None:
    login(client, "boss")
    response = client.get("/supervisor/audit", query_string=params)
    assert response.status_code == 400
    assert html.escape(message) in response.get_data(as_text=True)


def _walk(client: FlaskClient, url: str, rel: str) -> Iterator[tuple[str, list[int]]]:
    while True:
        page = client.get(url).get_data(as_text=True)
        yield url, [int(n) for n in SEQ.findall(page)]
        match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
        if match is None:
            return
        url = html.unescape(match.group(1))


def test_audit_search_pages_give_every_entry_once(
    client: FlaskClient, factory: Factory, boss: Staff
) -> None:
    """Keyset pages over the chain, newest first, forwards and back."""
    for n in range(30):
        audit.record(
            factory.session,
            "call_viewed",
            audit.Actor("boss", boss.id),
            target_type="call",
            target_id=n,
        )
    factory.session.commit()
    login(client, "boss")
    forward = list(_walk(client, "/supervisor/audit?size=10&action=call_viewed", "next"))
    seqs = [n for _, page in forward for n in page]
    assert [len(page) for _, page in forward] == [10, 10, 10]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 30
    backward = list(_walk(client, forward[-1][0], "prev"))
    assert [page for _, page in backward] == [page for _, page in reversed(forward)]


def test_audit_page_verifies_the_chain(client: FlaskClient, factory: Factory, boss: Staff) -> None:
    """The chain-check button on the audit page still works, and the check is audited."""
    login(client, "boss")
    response = post_form(client, "/supervisor/audit", "/supervisor/audit/verify")
    assert response.status_code == 200
    assert "The chain is intact" in response.get_data(as_text=True)
    assert audit.verify(factory.session).is_intact
    assert "audit verified" in client.get("/supervisor/audit").get_data(as_text=True)


def test_audit_page_links_call_targets_to_the_call(
    client: FlaskClient, trail: dict[str, int]
) -> None:
    login(client, "boss")
    page = client.get("/supervisor/audit").get_data(as_text=True)
    assert '<a href="/supervisor/calls/17">call 17</a>' in page


def test_known_actions_cover_what_the_code_records() -> None:
    """Every action the code passes to audit.record is offered as a suggestion."""
    from pathlib import Path

    import helpline
    from helpline.supervisor.auditlog import KNOWN_ACTIONS

    recorded: set[str] = set()
    # audit.record(session, "action", ...), or a module's own wrapper (`_audit(...)`, the
    # cases package's `log(...)`).
    call = re.compile(r"(?:audit\.record|\b_audit|\blog)\(\s*[\w.]+,\s*\"([a-z_]+)\"", re.S)
    for path in Path(helpline.__file__).parent.rglob("*.py"):
        recorded.update(call.findall(path.read_text(encoding="utf-8")))
    assert recorded
    assert recorded <= set(KNOWN_ACTIONS)
