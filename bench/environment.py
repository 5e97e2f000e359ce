"""The benchmark environment: a fresh PostgreSQL database, Redis, and gunicorn processes."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_BASE_URL = "https://bench.helpline.invalid"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """CREATE a database of its own on the server, migrated; DROP it afterwards."""
    from helpline import migrate

    name = f"helpline_bench_{secrets.token_hex(4)}"
    admin_url = sa.make_url(server_url).set(drivername="postgresql+psycopg", database="postgres")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def production_environment(database_url: str, redis_url: str, instance: Path) -> dict[str, str]:
    """Production settings with throwaway secrets: what the app refuses to run without."""
    env = dict(os.environ)
    env.update(
        {
            "HELPLINE_ENV": "production",
            "HELPLINE_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "BLIND_INDEX_KEY": secrets.token_urlsafe(48),
            "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
            "TWILIO_AUTH_TOKEN": secrets.token_hex(16) + secrets.token_hex(16),
            "HELPLINE_NUMBER": "+903121234567",
            "DUTY_LINE_NUMBER": "+905550000183",
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def production_gunicorn_options(dockerfile: Path = ROOT / "Dockerfile") -> list[str]:
    """The gunicorn options the production image runs with (the Dockerfile's CMD, which
    docker-compose.yml repeats), without the bind address and the app."""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD ["):
            command = [str(part) for part in json.loads(line[len("CMD ") :])]
            break
    else:
        raise RuntimeError(f"{dockerfile} has no CMD in exec form")
    if command[:1] != ["gunicorn"]:
        raise RuntimeError(f"{dockerfile}'s CMD does not run gunicorn")
    options, rest = [], command[1:-1]  # the last word is the app
    skip = False
    for word in rest:
        if skip:
            skip = False
        elif word == "--bind":
            skip = True
        else:
            options.append(word)
    return options


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    workers: int = 3,
    options: Sequence[str] | None = None,
    stdout: Path | None = None,
) -> Iterator[str]:
    """gunicorn serving bench.wsgi:app; yields the base URL. Without `options`, `workers`
    sync workers; with them, exactly those (see production_gunicorn_options). Its stdout
    (an access log, with `--access-logfile -`) goes to `stdout`, or nowhere."""
    port = free_port()
    chosen = (
        list(options)
        if options is not None
        else ["--workers", str(workers), "--worker-class", "sync", "--log-level", "warning"]
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        *chosen,
        "--bind",
        f"127.0.0.1:{port}",
        "bench.wsgi:app",
    ]
    out = stdout.open("ab") if stdout is not None else None
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=out if out is not None else subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("gunicorn exited at start") from None
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer /healthz in time")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if out is not None:
            out.close()


def machine() -> str:
    """One line describing the machine, for the results table."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}"
