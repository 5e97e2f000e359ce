"""Settings read from the environment, documented in one place (the README's table).

`Settings.from_env()` never raises for a bad value: it collects every problem in
`Settings.problems()`, so that `helpline check` can say all that is wrong at once and
the app factory can refuse to start in production with the full list.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

Environment = Literal["development", "production", "test"]
ENVIRONMENTS: tuple[Environment, ...] = ("development", "production", "test")

# Values that ship in examples and must never reach production.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "change-me", "changeme", "secret", "dev", "development", "test", "insecure"}
)
MIN_SECRET_LENGTH = 32
DEFAULT_TIMEZONE = "Europe/Istanbul"
# Local hours of callbacks: "HH:MM-HH:MM", the end may be 24:00.
CALLBACK_HOURS_FORMAT = re.compile(r"([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)")
DEV_SECRETS_FILE = "dev-secrets.json"
DEFAULT_FLOWS_PATH = Path(__file__).resolve().parent.parent / "ivr_flows"
DEFAULT_DATA_PATH = Path(__file__).resolve().parent.parent / "data"
# The programme report suppresses counts from 1 to this minus one (docs/programme-report.md).
DEFAULT_PROGRAMME_REPORT_THRESHOLD = 5


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message lists every problem."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the helpline reads from its environment."""

    env: Environment
    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    encryption_keys: tuple[str, ...]
    blind_index_key: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_api_base_url: str | None
    helpline_number: str | None
    public_base_url: str
    timezone: str
    # The duty line: one number or several, rung together (DUTY_LINE_NUMBER, commas between).
    duty_line_numbers: tuple[str, ...] = ()
    ivr_flows_path: Path = Path()
    ivr_flow: str = "default"
    data_path: Path = DEFAULT_DATA_PATH
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 30
    login_throttle_window_seconds: int = 900
    log_level: str = "INFO"
    trusted_proxy_count: int = 0
    # Callbacks (docs/callbacks.md): when and how fast the line calls people back.
    callback_hours: str = "09:00-20:00"
    callback_schedule: str = "counselling_hours"
    callback_retry_seconds: tuple[int, ...] = (900, 3600, 14400)
    callback_later_seconds: int = 3600
    callback_rate_per_second: float = 1.0
    callback_ring_seconds: int = 30
    callback_abandoned_seconds: int = 60
    # The sweeper's clock (tasks/callbacks.py): how often it runs; its grace and leases
    # are fractions and multiples of it.
    callback_sweep_seconds: int = 20
    # Live alerts (docs/supervisor.md): an alert nobody acknowledged for this long rings
    # the duty supervisor's phone.
    alert_ring_seconds: int = 60
    # The programme report's suppression threshold on the page, in the monthly job and as
    # the command's default --threshold.
    programme_report_threshold: int = DEFAULT_PROGRAMME_REPORT_THRESHOLD
    # Where a value came from a development fallback rather than the environment.
    generated: frozenset[str] = frozenset()
    invalid: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_tls(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def has_twilio_credentials(self) -> bool:
        """Real Twilio credentials were given (not the sandbox's generated ones)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token) and not (
            {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"} & self.generated
        )

    @property
    def uses_sandbox(self) -> bool:
        return not self.has_twilio_credentials

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; in development, fill missing secrets from the instance folder."""
        env_map = os.environ if environ is None else environ
        invalid: list[str] = []

        env_name = env_map.get("HELPLINE_ENV", "development").strip().lower()
        if env_name not in ENVIRONMENTS:
            invalid.append(f"HELPLINE_ENV must be one of {', '.join(ENVIRONMENTS)}")
            env_name = "production"  # the strictest reading of an unknown value
        env: Environment = env_name  # type: ignore[assignment]

        instance_path = Path(env_map.get("HELPLINE_INSTANCE_PATH", "instance")).resolve()
        database_url = normalise_database_url(
            env_map.get("DATABASE_URL") or f"sqlite:///{instance_path / 'helpline.sqlite3'}"
        )
        generated: set[str] = set()
        dev_secrets = _DevSecrets(instance_path) if env != "production" else None

        def secret(name: str, make: str) -> str:
            value = env_map.get(name, "").strip()
            if value or dev_secrets is None:
                return value
            generated.add(name)
            return dev_secrets.get(name, make)

        secret_key = secret("SECRET_KEY", secrets.token_urlsafe(48))
        keys_raw = secret("ENCRYPTION_KEYS", Fernet.generate_key().decode())
        encryption_keys = tuple(k.strip() for k in keys_raw.split(",") if k.strip())
        blind_index_key = secret("BLIND_INDEX_KEY", secrets.token_urlsafe(48))
        # Without Twilio credentials the telephony sandbox stands in; it signs its
        # webhooks with a generated token, exactly as Twilio signs with the real one.
        twilio_sid = env_map.get("TWILIO_ACCOUNT_SID", "").strip()
        twilio_token = env_map.get("TWILIO_AUTH_TOKEN", "").strip()
        if not twilio_sid and not twilio_token:
            twilio_sid = secret("TWILIO_ACCOUNT_SID", "AC" + secrets.token_hex(16))
            twilio_token = secret("TWILIO_AUTH_TOKEN", secrets.token_hex(16))

        timezone = env_map.get("CALLING_HOURS_TZ", DEFAULT_TIMEZONE).strip() or DEFAULT_TIMEZONE
        public_base_url = env_map.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

        def integer(name: str, default: int, minimum: int = 1) -> int:
            raw = env_map.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                invalid.append(f"{name} must be a whole number")
                return default
            if value < minimum:
                invalid.append(f"{name} must be at least {minimum}")
                return default
            return value

        callback_hours = env_map.get("CALLBACK_HOURS", "09:00-20:00").strip()
        if not CALLBACK_HOURS_FORMAT.fullmatch(callback_hours):
            invalid.append('CALLBACK_HOURS must be a local time range such as "09:00-20:00"')
            callback_hours = "09:00-20:00"
        retry_raw = env_map.get("CALLBACK_RETRY_SECONDS", "900,3600,14400")
        try:
            retry_seconds = tuple(int(part) for part in retry_raw.split(",") if part.strip())
        except ValueError:
            retry_seconds = ()
        if not retry_seconds or min(retry_seconds) < 1:
            invalid.append("CALLBACK_RETRY_SECONDS must be whole seconds, comma-separated")
            retry_seconds = (900, 3600, 14400)
        rate_raw = env_map.get("CALLBACK_RATE_PER_SECOND", "1")
        try:
            rate = float(rate_raw)
        except ValueError:
            rate = 0.0
        if not (0 < rate <= 100):
            invalid.append("CALLBACK_RATE_PER_SECOND must be a number above 0, at most 100")
            rate = 1.0

        return cls(
            env=env,
            instance_path=instance_path,
            database_url=database_url,
            redis_url=env_map.get("REDIS_URL") or None,
            secret_key=secret_key,
            encryption_keys=encryption_keys,
            blind_index_key=blind_index_key,
            twilio_account_sid=twilio_sid or None,
            twilio_auth_token=twilio_token or None,
            twilio_api_base_url=(env_map.get("TWILIO_API_BASE_URL") or None),
            helpline_number=env_map.get("HELPLINE_NUMBER") or None,
            public_base_url=public_base_url,
            timezone=timezone,
            duty_line_numbers=tuple(
                n.strip() for n in env_map.get("DUTY_LINE_NUMBER", "").split(",") if n.strip()
            ),
            ivr_flows_path=Path(env_map.get("IVR_FLOWS_PATH") or DEFAULT_FLOWS_PATH).resolve(),
            ivr_flow=env_map.get("IVR_FLOW", "default").strip() or "default",
            data_path=Path(env_map.get("HELPLINE_DATA_PATH") or DEFAULT_DATA_PATH).resolve(),
            session_idle_minutes=integer("SESSION_IDLE_MINUTES", 30),
            session_max_hours=integer("SESSION_MAX_HOURS", 12),
            login_max_failures_per_account=integer("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
            login_max_failures_per_address=integer("LOGIN_MAX_FAILURES_PER_ADDRESS", 30),
            login_throttle_window_seconds=integer("LOGIN_THROTTLE_WINDOW_SECONDS", 900),
            log_level=env_map.get("LOG_LEVEL", "INFO").upper(),
            trusted_proxy_count=integer("TRUSTED_PROXY_COUNT", 0, minimum=0),
            callback_hours=callback_hours,
            callback_schedule=env_map.get("CALLBACK_SCHEDULE", "counselling_hours").strip(),
            callback_retry_seconds=retry_seconds,
            callback_later_seconds=integer("CALLBACK_LATER_SECONDS", 3600),
            callback_rate_per_second=rate,
            callback_ring_seconds=integer("CALLBACK_RING_SECONDS", 30),
            callback_abandoned_seconds=integer("CALLBACK_ABANDONED_SECONDS", 60, minimum=0),
            callback_sweep_seconds=integer("CALLBACK_SWEEP_SECONDS", 20, minimum=2),
            alert_ring_seconds=integer("ALERT_RING_SECONDS", 60),
            programme_report_threshold=integer(
                "PROGRAMME_REPORT_THRESHOLD", DEFAULT_PROGRAMME_REPORT_THRESHOLD, minimum=2
            ),
            generated=frozenset(generated),
            invalid=tuple(invalid),
        )

    def problems(self) -> list[str]:
        """Every reason this configuration is unfit; empty when it is sound."""
        found = list(self.invalid)
        found += _secret_problems("SECRET_KEY", self.secret_key, self.is_production)
        found += _secret_problems("BLIND_INDEX_KEY", self.blind_index_key, self.is_production)
        if not self.encryption_keys:
            found.append("ENCRYPTION_KEYS is missing: give one or more Fernet keys, newest first")
        for position, key in enumerate(self.encryption_keys, start=1):
            if not _is_fernet_key(key):
                found.append(
                    f"ENCRYPTION_KEYS entry {position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with `helpline keys generate`)"
                )
        if self.blind_index_key and self.blind_index_key in self.encryption_keys:
            found.append("BLIND_INDEX_KEY must differ from every encryption key")
        if self.is_production and self.generated:
            names = ", ".join(sorted(self.generated))
            found.append(f"{names} must be set in production")

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(f"CALLING_HOURS_TZ is not a known time zone: {self.timezone!r}")

        scheme = urlsplit(self.database_url).scheme
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            found.append("DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if self.is_production and self.is_sqlite:
            found.append("DATABASE_URL must point at PostgreSQL in production")
        if self.is_production and not self.redis_url:
            found.append(
                "REDIS_URL must be set in production (the embedded server is for development)"
            )
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            found.append("REDIS_URL must be a redis://, rediss:// or unix:// URL")

        base = urlsplit(self.public_base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            found.append("PUBLIC_BASE_URL must be an absolute http(s) URL")
        elif self.is_production and base.scheme != "https":
            found.append("PUBLIC_BASE_URL must use https in production")

        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            found.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
        if self.is_production and not self.has_twilio_credentials:
            found.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set in production")
        if self.twilio_auth_token and self.is_production:
            found += _secret_problems("TWILIO_AUTH_TOKEN", self.twilio_auth_token, True, 32)
        if self.twilio_api_base_url:
            api = urlsplit(self.twilio_api_base_url)
            if api.scheme not in ("http", "https") or not api.netloc:
                found.append("TWILIO_API_BASE_URL must be an absolute http(s) URL")
        if self.helpline_number is not None and not _looks_e164(self.helpline_number):
            found.append("HELPLINE_NUMBER must be in E.164 form, such as +9003121234567")
        if self.is_production and self.helpline_number is None:
            found.append("HELPLINE_NUMBER must be set in production")
        if not all(_looks_e164(number) for number in self.duty_line_numbers):
            found.append(
                "DUTY_LINE_NUMBER must be in E.164 form, such as +905551234567 (several"
                " numbers, rung together, are separated by commas)"
            )
        if self.is_production and not self.duty_line_numbers:
            found.append("DUTY_LINE_NUMBER must be set in production (the emergency key dials it)")
        if not (self.ivr_flows_path / f"{self.ivr_flow}.yaml").is_file():
            found.append(f"IVR_FLOW {self.ivr_flow!r} has no file in {self.ivr_flows_path}")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            found.append("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return found

    def require_sound(self) -> None:
        """Raise ConfigError naming every problem; in development only hard errors count."""
        found = self.problems()
        if found:
            raise ConfigError("the configuration is not usable:\n  - " + "\n  - ".join(found))


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_problems(
    name: str, value: str, strict: bool, minimum: int = MIN_SECRET_LENGTH
) -> list[str]:
    if not value:
        return [f"{name} is missing"]
    if not strict:
        return []
    if value.lower() in KNOWN_DEFAULT_SECRETS:
        return [f"{name} is a known default value"]
    if len(value) < minimum:
        return [f"{name} is too short: use at least {minimum} random characters"]
    return []


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def _looks_e164(number: str) -> bool:
    return number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16


class _DevSecrets:
    """Random development secrets kept in the instance folder, so data stays readable."""

    def __init__(self, instance_path: Path) -> None:
        self.path = instance_path / DEV_SECRETS_FILE
        self.values: dict[str, str] = {}
        if self.path.exists():
            self.values = dict(json.loads(self.path.read_text(encoding="utf-8")))

    def get(self, name: str, fresh: str) -> str:
        if name not in self.values:
            self.values[name] = fresh
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.values, indent=2), encoding="utf-8")
            tmp.chmod(0o600)
            tmp.replace(self.path)
        return self.values[name]
