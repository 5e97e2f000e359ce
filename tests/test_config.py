"""Configuration: production refuses unsafe settings and names them; development fills in."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from helpline import create_app
from helpline.cli import main
from helpline.config import ConfigError, Settings
from tests.cli_env import use_settings

GOOD_PRODUCTION = {
    "HELPLINE_ENV": "production",
    "DATABASE_URL": "postgresql://helpline@db/helpline",
    "REDIS_URL": "redis://redis:6379/0",
    "SECRET_KEY": "s" * 20 + "k" * 30,
    "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "BLIND_INDEX_KEY": "b" * 20 + "i" * 30,
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "HELPLINE_NUMBER": "+903121234567",
    "DUTY_LINE_NUMBER": "+905550001234",
    "PUBLIC_BASE_URL": "https://helpline.example.org",
}


def test_production_settings_that_are_complete_have_no_problems(tmp_path: Path) -> None:
    """A complete production configuration passes."""
    settings = Settings.from_env({**GOOD_PRODUCTION, "HELPLINE_INSTANCE_PATH": str(tmp_path)})
    assert settings.problems() == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_KEY", "", "SECRET_KEY is missing"),
        ("SECRET_KEY", "change-me", "SECRET_KEY is a known default value"),
        ("SECRET_KEY", "k3y-0f-9-chars", "SECRET_KEY is too short"),
        ("BLIND_INDEX_KEY", "", "BLIND_INDEX_KEY is missing"),
        ("ENCRYPTION_KEYS", "", "ENCRYPTION_KEYS is missing"),
        ("ENCRYPTION_KEYS", "not-a-key", "ENCRYPTION_KEYS entry 1 is not a Fernet key"),
        ("TWILIO_AUTH_TOKEN", "", "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together"),
        ("PUBLIC_BASE_URL", "http://helpline.example.org", "PUBLIC_BASE_URL must use https"),
        ("DATABASE_URL", "sqlite:///x.db", "DATABASE_URL must point at PostgreSQL"),
        ("REDIS_URL", "", "REDIS_URL must be set in production"),
        ("HELPLINE_NUMBER", "0312 123 45 67", "HELPLINE_NUMBER must be in E.164 form"),
        ("CALLING_HOURS_TZ", "Mars/Olympus", "CALLING_HOURS_TZ is not a known time zone"),
        ("DUTY_LINE_NUMBER", "", "DUTY_LINE_NUMBER must be set in production"),
        ("DUTY_LINE_NUMBER", "0555 000", "DUTY_LINE_NUMBER must be in E.164 form"),
        ("DUTY_LINE_NUMBER", "+905550001234,0555", "DUTY_LINE_NUMBER must be in E.164 form"),
        ("IVR_FLOW", "missing", "IVR_FLOW 'missing' has no file"),
    ],
)
def test_production_refuses_unsafe_values_and_names_them(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    """Each missing or default secret, or unsafe setting, is named in the refusal."""
    environ = {**GOOD_PRODUCTION, name: value, "HELPLINE_INSTANCE_PATH": str(tmp_path)}
    settings = Settings.from_env(environ)
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    assert message in str(caught.value)
    if value and name != "HELPLINE_NUMBER" and "KEY" in name:
        assert value not in str(caught.value), "a secret's value must never be echoed"


def test_config_duty_line_takes_several_numbers(tmp_path: Path) -> None:
    """DUTY_LINE_NUMBER may name several numbers, separated by commas, in the order given."""
    environ = {
        **GOOD_PRODUCTION,
        "DUTY_LINE_NUMBER": "+905550001234, +905550001235",
        "HELPLINE_INSTANCE_PATH": str(tmp_path),
    }
    settings = Settings.from_env(environ)
    assert settings.duty_line_numbers == ("+905550001234", "+905550001235")
    assert settings.problems() == []


def test_production_never_generates_secrets(tmp_path: Path) -> None:
    """In production nothing is invented: every missing secret is listed at once."""
    settings = Settings.from_env(
        {"HELPLINE_ENV": "production", "HELPLINE_INSTANCE_PATH": str(tmp_path)}
    )
    problems = "\n".join(settings.problems())
    for name in ("SECRET_KEY", "BLIND_INDEX_KEY", "ENCRYPTION_KEYS", "TWILIO_ACCOUNT_SID"):
        assert name in problems
    assert not (tmp_path / "dev-secrets.json").exists()


def test_development_generates_and_keeps_secrets(tmp_path: Path) -> None:
    """In development, missing secrets are made once and reused, so data stays readable."""
    first = Settings.from_env({"HELPLINE_INSTANCE_PATH": str(tmp_path)})
    second = Settings.from_env({"HELPLINE_INSTANCE_PATH": str(tmp_path)})
    assert first.problems() == []
    assert first.secret_key == second.secret_key
    assert first.encryption_keys == second.encryption_keys
    assert first.generated == {
        "SECRET_KEY",
        "ENCRYPTION_KEYS",
        "BLIND_INDEX_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    }
    assert first.uses_sandbox
    assert first.twilio_auth_token == second.twilio_auth_token
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert first.database_url == f"sqlite:///{tmp_path / 'helpline.sqlite3'}"


def test_encryption_keys_are_a_list_newest_first(tmp_path: Path) -> None:
    """ENCRYPTION_KEYS holds several keys, so they can rotate."""
    keys = [Fernet.generate_key().decode() for _ in range(3)]
    settings = Settings.from_env(
        {
            **GOOD_PRODUCTION,
            "ENCRYPTION_KEYS": " , ".join(keys),
            "HELPLINE_INSTANCE_PATH": str(tmp_path),
        }
    )
    assert settings.encryption_keys == tuple(keys)
    assert settings.problems() == []


def test_unknown_environment_name_is_an_error(tmp_path: Path) -> None:
    """A typo in HELPLINE_ENV is reported, and treated as production meanwhile."""
    settings = Settings.from_env({"HELPLINE_ENV": "prod", "HELPLINE_INSTANCE_PATH": str(tmp_path)})
    assert settings.is_production
    assert any("HELPLINE_ENV" in p for p in settings.problems())


def test_postgres_urls_use_psycopg3(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgres://u@h/db", "HELPLINE_INSTANCE_PATH": str(tmp_path)}
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_check_command_lists_every_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`helpline check` exits 1 and prints each problem of a broken production setup."""
    for name in [*list(GOOD_PRODUCTION), "HELPLINE_INSTANCE_PATH"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.setenv("HELPLINE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "changeme")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "SECRET_KEY is a known default value" in result.output
    assert "ENCRYPTION_KEYS is missing" in result.output
    assert "changeme" not in result.output


def test_check_command_passes_a_sound_setup(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`helpline check` connects to the database and Redis and says OK."""
    use_settings(monkeypatch, settings)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output


@pytest.mark.parametrize(("value", "expected"), [(None, 5), ("", 5), ("2", 2), (" 12 ", 12)])
def test_config_programme_report_threshold_reads_a_whole_number(
    tmp_path: Path, value: str | None, expected: int
) -> None:
    """PROGRAMME_REPORT_THRESHOLD is a whole number of at least 2; unset or empty, 5."""
    environ = {**GOOD_PRODUCTION, "HELPLINE_INSTANCE_PATH": str(tmp_path)}
    if value is not None:
        environ["PROGRAMME_REPORT_THRESHOLD"] = value
    settings = Settings.from_env(environ)
    assert settings.programme_report_threshold == expected
    assert settings.problems() == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1", "PROGRAMME_REPORT_THRESHOLD must be at least 2"),
        ("0", "PROGRAMME_REPORT_THRESHOLD must be at least 2"),
        ("five", "PROGRAMME_REPORT_THRESHOLD must be a whole number"),
        ("4.5", "PROGRAMME_REPORT_THRESHOLD must be a whole number"),
    ],
)
def test_config_programme_report_threshold_refuses_a_bad_value_by_name(
    tmp_path: Path, value: str, message: str
) -> None:
    """A threshold below 2 or not a whole number stops the app with a ConfigError that
    names the setting, in development as in production."""
    for environ in (
        {**GOOD_PRODUCTION, "HELPLINE_INSTANCE_PATH": str(tmp_path)},
        {"HELPLINE_INSTANCE_PATH": str(tmp_path)},
    ):
        settings = Settings.from_env({**environ, "PROGRAMME_REPORT_THRESHOLD": value})
        with pytest.raises(ConfigError, match=message):
            create_app(settings)


def test_config_bad_programme_report_threshold_is_a_message_not_a_traceback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command says what is wrong with the setting and exits 1, without a traceback."""
    use_settings(monkeypatch, settings, PROGRAMME_REPORT_THRESHOLD="1")
    for command in (["check"], ["report", "programme"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, command
        assert "PROGRAMME_REPORT_THRESHOLD must be at least 2" in result.output
        assert "Traceback" not in result.output
