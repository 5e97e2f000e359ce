"""The audit log: append-only, hash-chained, and `helpline audit verify` names tampering."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from helpline.audit import chain as audit
from helpline.cli import main
from helpline.config import Settings
from helpline.models import AuditEntry
from tests.cli_env import use_settings
from tests.factories import Factory, login, post_form


def _fill(factory: Factory, n: int = 6) -> None:
    for i in range(n):
        audit.record(
            factory.session,
            "test_action",
            audit.Actor("tests"),
            target_type="thing",
            target_id=i,
            details={"i": i, "word": "ş"},
        )
    factory.session.commit()


@contextmanager
def _tampering(factory: Factory) -> Iterator[sa.Connection]:
    """Act as an attacker with database rights: switch the append-only guard off."""
    connection = factory.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        )
    else:
        connection.execute(sa.text("DROP TRIGGER audit_entry_no_update"))
        connection.execute(sa.text("DROP TRIGGER audit_entry_no_delete"))
    yield connection
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
        )
    factory.session.commit()


def _verify_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["audit", "verify"])
    return result.exit_code, result.output


def test_intact_chain_verifies(
    factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An untouched chain passes, from the code and from the command line."""
    _fill(factory)
    report = audit.verify(factory.session)
    assert report.is_intact
    assert report.checked == 6
    code, output = _verify_cli(settings, monkeypatch)
    assert code == 0
    assert "audit chain intact: 6 entries checked" in output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET action = 'nothing' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 2",
    ],
)
def test_audit_entries_cannot_be_changed_or_deleted(factory: Factory, statement: str) -> None:
    """The database itself refuses UPDATE and DELETE on the audit log."""
    _fill(factory, 3)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        factory.session.execute(sa.text(statement))
    factory.session.rollback()


def test_verify_names_a_changed_entry(
    factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changing an entry's action is detected, and the entry is named."""
    _fill(factory)
    with _tampering(factory) as connection:
        connection.execute(sa.text("UPDATE audit_entry SET target_id = '999' WHERE seq = 3"))
    code, output = _verify_cli(settings, monkeypatch)
    assert code == 1
    assert "entry seq 3" in output
    assert "changed" in output


def test_verify_names_a_changed_entry_whose_hash_was_recomputed(factory: Factory) -> None:
    """An attacker who also recomputes the entry's hash is caught by the next link."""
    _fill(factory)
    entry = factory.session.scalars(sa.select(AuditEntry).where(AuditEntry.seq == 3)).one()
    entry.target_id = "999"
    forged = audit.entry_digest(entry)
    factory.session.expire_all()
    with _tampering(factory) as connection:
        connection.execute(
            sa.text("UPDATE audit_entry SET target_id = '999', entry_hash = :h WHERE seq = 3"),
            {"h": forged},
        )
    report = audit.verify(factory.session)
    assert [str(p) for p in report.problems] == [
        "entry seq 3: changed or replaced (the next entry's link does not match it)"
    ]


def test_verify_names_a_deleted_entry(
    factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleting an entry in the middle leaves a named gap."""
    _fill(factory)
    with _tampering(factory) as connection:
        connection.execute(sa.text("DELETE FROM audit_entry WHERE seq = 4"))
    code, output = _verify_cli(settings, monkeypatch)
    assert code == 1
    assert "entry seq 4: deleted (seq 4 missing)" in output


def test_verify_detects_deletion_of_the_newest_entries(factory: Factory) -> None:
    """Cutting off the end of the chain is detected through the chain head."""
    _fill(factory)
    with _tampering(factory) as connection:
        connection.execute(sa.text("DELETE FROM audit_entry WHERE seq >= 5"))
    report = audit.verify(factory.session)
    assert [str(p) for p in report.problems] == [
        "entry seq 5: deleted (seq 5 to 6 missing at the end)"
    ]


def test_logins_and_staff_changes_are_audited(client: FlaskClient, factory: Factory) -> None:
    """Logins, failed logins, logouts and staff changes all leave audit entries."""
    factory.staff("boss", roles=("admin",))
    login(client, "boss", "wrong password, sorry")
    login(client, "boss")
    response = post_form(
        client,
        "/admin/staff",
        "/admin/staff",
        {
            "username": "new.counsellor",
            "display_name": "New Counsellor",
            "roles": ["counsellor"],
            "languages": "ar, tr",
            "topics": "psychosocial",
            "site": "",
            "phone": "0532 765 43 21",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 302
    post_form(client, "/admin/staff", "/logout")
    actions = factory.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["staff_created", "login_failed", "login", "staff_created", "logout"]
    assert audit.verify(factory.session).is_intact


def test_supervisor_verifies_the_chain_from_the_console(app: Flask, factory: Factory) -> None:
    """The hash-chain check runs from the supervisor's page and reports tampering."""
    factory.staff("sup", roles=("supervisor",))
    _fill(factory)
    client = app.test_client()
    login(client, "sup")
    ok = post_form(client, "/supervisor/", "/supervisor/audit/verify")
    assert "The chain is intact" in ok.get_data(as_text=True)
    with _tampering(factory) as connection:
        connection.execute(
            sa.text("UPDATE audit_entry SET actor_label = 'someone else' WHERE seq = 2")
        )
    broken = post_form(client, "/supervisor/", "/supervisor/audit/verify")
    assert "The chain is broken" in broken.get_data(as_text=True)
    assert "entry seq 2" in broken.get_data(as_text=True)
