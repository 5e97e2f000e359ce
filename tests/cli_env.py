"""Point the `helpline` command, or a child process, at the test database and Redis."""

from __future__ import annotations

import os

import pytest

from helpline.config import Settings

PREFIXES = ("HELPLINE_", "DATABASE_", "REDIS_", "CALLBACK_", "ALERT_", "PROGRAMME_")


def settings_environ(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment variables that reproduce these settings."""
    return {
        "HELPLINE_ENV": settings.env,
        "HELPLINE_INSTANCE_PATH": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "SECRET_KEY": settings.secret_key,
        "ENCRYPTION_KEYS": ",".join(settings.encryption_keys),
        "BLIND_INDEX_KEY": settings.blind_index_key,
        "CALLBACK_HOURS": settings.callback_hours,
        "CALLBACK_SCHEDULE": settings.callback_schedule,
        "CALLBACK_RETRY_SECONDS": ",".join(map(str, settings.callback_retry_seconds)),
        "CALLBACK_LATER_SECONDS": str(settings.callback_later_seconds),
        "CALLBACK_RATE_PER_SECOND": str(settings.callback_rate_per_second),
        "CALLBACK_RING_SECONDS": str(settings.callback_ring_seconds),
        "CALLBACK_ABANDONED_SECONDS": str(settings.callback_abandoned_seconds),
        "CALLBACK_SWEEP_SECONDS": str(settings.callback_sweep_seconds),
        "ALERT_RING_SECONDS": str(settings.alert_ring_seconds),
        "PROGRAMME_REPORT_THRESHOLD": str(settings.programme_report_threshold),
        **extra,
    }


def child_environ(**values: str) -> dict[str, str]:
    """This process's environment without helpline settings, plus the given ones."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    return {**clean, **values}


def use_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings, **extra: str) -> None:
    for name, value in settings_environ(settings, **extra).items():
        monkeypatch.setenv(name, value)
