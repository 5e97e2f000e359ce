"""The `helpline` command: staff and sites, key rotation, database commands."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.fernet import Fernet, InvalidToken
from flask.testing import FlaskClient

from helpline import migrate
from helpline.cli import main
from helpline.config import Settings
from helpline.extensions import db
from helpline.models import AuditEntry, Staff
from helpline.privacy import crypto as privacy
from tests.cli_env import use_settings
from tests.factories import Factory, login

PASSWORD = "a perfectly long password\n"


def test_staff_add_creates_a_member_who_can_log_in(
    settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`staff add` takes name, roles, languages, topics, site and phone; the person can log in."""
    use_settings(monkeypatch, settings)
    runner = CliRunner()
    site = runner.invoke(
        main, ["site", "add", "GAZ-1", "--name", "Şahinbey SSC", "--province", "Gaziantep"]
    )
    assert site.exit_code == 0, site.output
    result = runner.invoke(
        main,
        [
            "staff",
            "add",
            "yusuf",
            "--name",
            "Yusuf Haddad",
            "--role",
            "counsellor",
            "--role",
            "interpreter",
            "--language",
            "ar",
            "--language",
            "tr",
            "--topic",
            "psychosocial",
            "--site",
            "GAZ-1",
            "--phone",
            "0532 765 43 21",
            "--password-stdin",
        ],
        input=PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "added yusuf (counsellor, interpreter)" in result.output

    staff = factory.session.scalars(sa.select(Staff).where(Staff.username == "yusuf")).one()
    assert staff.languages == ["ar", "tr"]
    assert staff.topics == ["psychosocial"]
    assert staff.site is not None
    assert staff.site.province == "Gaziantep"
    assert staff.phone_encrypted == "+905327654321"
    actions = factory.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["site_created", "staff_created"]

    listing = runner.invoke(main, ["staff", "list"])
    assert "+90 5** *** ** 21" in listing.output
    assert "7654321" not in listing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "chief"], "roles must be among"),
        (["--role", "counsellor"], "counsellors and interpreters need at least one language"),
        (["--role", "admin", "--site", "NOPE"], "no site with code NOPE"),
        (["--role", "admin", "--phone", "12"], "phone: not a possible phone number"),
        (["--role", "admin", "--language", "Turkish!"], "not a valid language code"),
    ],
)
def test_staff_add_refuses_bad_input_clearly(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """Bad input gets a clear error and exit code 1, never a traceback."""
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(
        main,
        ["staff", "add", "someone", "--name", "Some One", *args, "--password-stdin"],
        input=PASSWORD,
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_staff_add_refuses_a_weak_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(
        main,
        ["staff", "add", "someone", "--name", "S", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_staff_deactivate_ends_sessions(
    settings: Settings, factory: Factory, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deactivating from the command line logs the person out of the console at once."""
    factory.staff("leaver")
    login(client, "leaver")
    assert client.get("/console/").status_code == 200
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["staff", "deactivate", "leaver"])
    assert result.exit_code == 0
    assert "leaver is inactive" in result.output
    assert client.get("/console/").status_code == 302


def test_keys_rotate_reencrypts_under_the_newest_key(
    settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After rotation, the data is readable with only the new key, and unreadable with the old."""
    factory.staff("ayse", phone="0532 111 22 33")
    caller = factory.caller("0533 444 55 66")
    raw_before = factory.session.execute(
        sa.text("SELECT number_encrypted FROM caller")
    ).scalar_one()

    new_key = Fernet.generate_key().decode()
    use_settings(
        monkeypatch, settings, ENCRYPTION_KEYS=",".join([new_key, *settings.encryption_keys])
    )
    result = CliRunner().invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "caller.number_encrypted: 1 value(s) re-encrypted" in result.output
    assert "staff.phone_encrypted: 1 value(s) re-encrypted" in result.output

    raw_after = factory.session.execute(sa.text("SELECT number_encrypted FROM caller")).scalar_one()
    assert raw_after != raw_before
    assert Fernet(new_key.encode()).decrypt(raw_after.encode()) == b"+905334445566"
    old_only = Fernet(settings.encryption_keys[0].encode())
    with pytest.raises(InvalidToken):
        old_only.decrypt(raw_after.encode())
    assert caller.id is not None


def test_keys_reindex_finds_callers_and_staff_under_a_new_blind_index_key(
    settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After BLIND_INDEX_KEY changes, `keys reindex` recomputes every index, so a returning
    caller and a staff phone are found again; a second run changes nothing; it is audited."""
    factory.staff("ayse", phone="0532 111 22 33")
    factory.caller("0533 444 55 66")
    new_key = "a-new-blind-index-key-" + "x" * 40
    use_settings(monkeypatch, settings, BLIND_INDEX_KEY=new_key)
    result = CliRunner().invoke(main, ["keys", "reindex"])
    assert result.exit_code == 0, result.output
    assert "caller.number_index: 1 index(es) recomputed" in result.output
    assert "staff.phone_index: 1 index(es) recomputed" in result.output
    expected = privacy.Keyring(settings.encryption_keys, new_key)
    indexes = factory.session.execute(
        sa.text("SELECT number_index FROM caller UNION ALL SELECT phone_index FROM staff")
    ).scalars()
    assert set(indexes) == {
        expected.blind_index("+905334445566"),
        expected.blind_index("+905321112233"),
    }
    use_settings(monkeypatch, settings, BLIND_INDEX_KEY=new_key)
    again = CliRunner().invoke(main, ["keys", "reindex"])
    assert "caller.number_index: 0 index(es) recomputed" in again.output
    actions = factory.session.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("blind_index_rebuilt") == 2


def test_db_upgrade_and_current(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """`db upgrade` creates the schema in an empty database; `db current` reports it."""
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    use_settings(monkeypatch, settings, DATABASE_URL=url)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "current"]).output.strip() == "base (empty)"
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at {migrate.head_revision()}" in result.output


def test_demo_seed_refuses_production(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.setenv("HELPLINE_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["demo", "seed"])
    assert result.exit_code == 1
    assert "never created in production" in result.output


def test_demo_seed_creates_staff_who_can_log_in(
    settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo staff exist once, with every role, and log in with the printed password."""
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["demo", "seed"])
    assert result.exit_code == 0
    assert "created 9 demo staff" in result.output
    again = CliRunner().invoke(main, ["demo", "seed"])
    assert "nothing created" in again.output
    from helpline import create_app
    from helpline.staff.demo import DEMO_PASSWORD

    app = create_app(settings, {"TESTING": True})
    try:
        assert login(app.test_client(), "counsellor.ar", DEMO_PASSWORD).status_code == 302
        officer = app.test_client()
        assert login(officer, "programme.officer", DEMO_PASSWORD).status_code == 302
        assert officer.get("/").headers["Location"].endswith("/supervisor/programme")
    finally:
        with app.app_context():
            db.engine.dispose()
