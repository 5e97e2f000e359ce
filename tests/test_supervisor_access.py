"""Who sees what in the supervisor console, and the audit of every view and every play."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline import create_app
from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.auth.permissions import Rule
from helpline.config import DEFAULT_DATA_PATH, Settings
from helpline.models import Call
from tests.conftest import ACCOUNT, AUDIO, _empty_tables, make_settings
from tests.factories import Factory, login, post_form


def _recording(factory: Factory, call: Call, base: str) -> int:
    recording = factory.recording(call)
    recording.url = f"{base}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording.recording_sid}"
    factory.session.commit()
    return recording.id


def test_audit_records_every_record_view_and_every_recording_play(
    console: tuple[Flask, Factory], provider: str
) -> None:
    """Each opening of a call's detail is a call_viewed and (with a record) a
    contact_record_viewed entry, each opening of the record in the console another (its
    author's too, marked own), and each play of the recording a recording_played entry
    written before the audio goes out."""
    app, factory = console
    supervisor = factory.staff("sup", roles=("supervisor",))
    counsellor = factory.staff("cansu")
    caller = factory.caller("+905321119988")
    call = factory.call(caller, counsellor_id=counsellor.id, is_recording_consented=True)
    record = factory.contact_record(call, counsellor, ["a note"])
    recording_id = _recording(factory, call, provider)
    client = app.test_client()
    login(client, "sup")
    for _ in range(3):
        page = client.get(f"/supervisor/calls/{call.id}")
        assert page.status_code == 200
    assert f"/supervisor/recordings/{recording_id}/audio" in page.get_data(as_text=True)
    assert client.get(f"/console/records/{record.id}").status_code == 200
    for _ in range(2):
        played = client.get(f"/supervisor/recordings/{recording_id}/audio")
        assert played.status_code == 200
        assert played.data == AUDIO
        assert played.mimetype == "audio/x-wav"
    author = app.test_client()
    login(author, "cansu")
    assert author.get(f"/console/records/{record.id}").status_code == 200
    assert len(factory.audit_entries("call_viewed")) == 3
    viewed = factory.audit_entries("contact_record_viewed")
    assert len(viewed) == 5
    assert [(e.actor_id, e.target_id) for e in viewed] == [
        *[(supervisor.id, str(record.id))] * 4,
        (counsellor.id, str(record.id)),
    ]
    assert viewed[-1].details == {"own": True}
    plays = factory.audit_entries("recording_played")
    assert [(e.target_type, e.target_id, e.details) for e in plays] == [
        ("recording", str(recording_id), {"call_id": call.id})
    ] * 2
    assert audit.verify(factory.session).is_intact


def test_recording_plays_only_with_consent(console: tuple[Flask, Factory], provider: str) -> None:
    """Without the caller's consent there is no player and the audio is refused (403),
    with nothing fetched and no play recorded; a destroyed recording is gone (410)."""
    app, factory = console
    factory.staff("sup", roles=("supervisor",))
    call = factory.call(factory.caller("+905321119989"), is_recording_consented=False)
    refused = _recording(factory, call, provider)
    consented = factory.call(factory.caller("+905321119990"), is_recording_consented=True)
    destroyed = _recording(factory, consented, provider)
    from helpline.models import Recording, utcnow

    row = factory.session.get(Recording, destroyed)
    assert row is not None
    row.url, row.purged_at = "", utcnow()
    factory.session.commit()
    client = app.test_client()
    login(client, "sup")
    page = client.get(f"/supervisor/calls/{call.id}").get_data(as_text=True)
    assert "<audio" not in page
    assert "no consent" in page
    assert client.get(f"/supervisor/recordings/{refused}/audio").status_code == 403
    assert client.get(f"/supervisor/recordings/{destroyed}/audio").status_code == 410
    assert client.get("/supervisor/recordings/999999/audio").status_code == 404
    assert factory.audit_entries("recording_played") == []


def test_recording_is_fetched_only_from_the_provider(console: tuple[Flask, Factory]) -> None:
    """A stored URL elsewhere than the provider's API is never fetched (502, not played)."""
    app, factory = console
    factory.staff("sup", roles=("supervisor",))
    call = factory.call(factory.caller("+905321119991"), is_recording_consented=True)
    recording_id = _recording(factory, call, "http://127.0.0.1:9")
    client = app.test_client()
    login(client, "sup")
    assert client.get(f"/supervisor/recordings/{recording_id}/audio").status_code == 502
    assert factory.audit_entries("recording_played") == []


def _with_rules(tmp_path: Path, changes: list[tuple[str, str]]) -> Path:
    """A copy of data/ whose permissions.yaml has these text changes."""
    root = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_PATH, root)
    text = (root / "permissions.yaml").read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    (root / "permissions.yaml").write_text(text, encoding="utf-8")
    return root


def test_deployment_rules_limit_supervisors_to_their_site(
    database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `scope: site` in the deployment's file, a supervisor opens calls of their own
    centre only, and without `call.number` sees no number and cannot export one."""
    from sqlalchemy.orm import Session

    from helpline.extensions import db

    sup_all = "\n    - {role: supervisor, scope: all}"
    root = _with_rules(
        tmp_path,
        [
            ("call.view:" + sup_all, "call.view:\n    - {role: supervisor, scope: site}"),
            ("call.number:" + sup_all, "call.number: []"),
            ("calls.export_personal:" + sup_all, "calls.export_personal: []"),
        ],
    )
    settings: Settings = make_settings(
        database_url, redis_url, tmp_path / "i", HELPLINE_DATA_PATH=str(root)
    )
    app = create_app(settings, {"TESTING": True})
    try:
        with app.app_context():
            session = Session(db.engine)
            factory = Factory(session)
            home, away = factory.site("ANK"), factory.site("HAT", province="Hatay")
            factory.staff("sup", roles=("supervisor",), site=home)
            ours = factory.call(factory.caller("+905321110101"), site_id=home.id)
            theirs = factory.call(site_id=away.id)
            ours_id, theirs_id = ours.id, theirs.id
            session.close()
        client: FlaskClient = app.test_client()
        login(client, "sup")
        page = client.get(f"/supervisor/calls/{ours_id}")
        assert page.status_code == 200
        assert "not shown to your role" in page.get_data(as_text=True)
        assert client.get(f"/supervisor/calls/{theirs_id}").status_code == 403
        listed = client.get("/supervisor/calls").get_data(as_text=True)
        assert f"Call {ours_id}<" in listed
        assert f"Call {theirs_id}<" not in listed
        export_page = client.get("/supervisor/calls/export").get_data(as_text=True)
        assert "Your role may not export personal data" in export_page
        assert "This search gives <strong>1</strong> call." in export_page
        refused = post_form(
            client,
            "/supervisor/calls/export",
            "/supervisor/calls/export",
            {"include_number": "y", "reason": "a reason long enough"},
        )
        assert refused.status_code == 403
    finally:
        monkeypatch.undo()
        _empty_tables(app)


RULE_SETS = {
    "all": [Rule(roles=frozenset({"supervisor"}), scope="all")],
    "site": [Rule(roles=frozenset({"supervisor"}), scope="site")],
    "province": [Rule(roles=frozenset({"supervisor"}), scope="province")],
    "own or recent consented": [
        Rule(owner=True),
        Rule(within_hours=12, consent=True),
    ],
    "not own": [Rule(owner=False, scope="province")],
    "drafts": [Rule(draft=True)],
    "counsellors only": [Rule(roles=frozenset({"counsellor"}))],
    "speaks the language": [Rule(language=True)],
    "does not speak it": [Rule(language=False, consent=True)],
    "nobody": [],
}


@pytest.mark.parametrize("name", list(RULE_SETS))
def test_visible_calls_agrees_with_the_evaluator(factory: Factory, name: str) -> None:
    """The SQL that narrows the call log lists exactly the calls whose detail the
    evaluator would open, for every kind of condition."""
    from helpline.auth.permissions import Rules, who
    from helpline.models import utcnow
    from helpline.supervisor import access

    now = utcnow()
    ankara, ankara2, hatay = factory.site("A1"), factory.site("A2"), factory.site("H1", "Hatay")
    me = factory.staff("sup", roles=("supervisor", "counsellor"), site=ankara, password=None)
    other = factory.staff("cansu", site=hatay, password=None)
    hour = dt.timedelta(hours=1)
    for site in (ankara, ankara2, hatay, None):
        for counsellor in (me, other, None):
            for ended, consent, language in ((now - 2 * hour, True, "tr"),
                                             (now - 20 * hour, True, "ku"),
                                             (now - 2 * hour, False, "tr"),
                                             (None, False, None)):  # fmt: skip
                factory.call(
                    site_id=site.id if site else None,
                    counsellor_id=counsellor.id if counsellor else None,
                    ended_at=ended,
                    is_recording_consented=consent,
                    language=language,
                )
    rules = Rules({"call.view": tuple(RULE_SETS[name])})
    actor = who(me)
    scope = access.visible_calls(rules, "call.view", actor, now)
    query = sa.select(Call.id)
    listed = set(factory.session.scalars(query if scope is None else query.where(scope)))
    opened = {
        call.id
        for call in factory.session.scalars(sa.select(Call))
        if permissions.allows(
            rules, "call.view", actor, access.call_subject(factory.session, call), now
        )
    }
    assert listed == opened
    assert 0 < len(listed) < 48 or name in ("all", "nobody", "drafts", "counsellors only")
