#!/usr/bin/env python3
"""Bootstrap and run the helpline with nothing but Python 3.11 installed.

    python3 dev.py run      # the helpline on embedded defaults
    python3 dev.py test     # the whole test suite (extra arguments go to pytest)
    python3 dev.py lint     # ruff, mypy --strict and the import layers (lint-imports)

It keeps a virtual environment in .venv, installs the project (pinned by
constraints.txt) when pyproject.toml or constraints.txt change, then runs the command
inside it. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("HELPLINE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".helpline-installed"

EXTRAS = {"run": "embedded", "test": "embedded,dev", "lint": "embedded,dev"}


def _fingerprint(extras: str) -> str:
    digest = hashlib.sha256(extras.encode())
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment(extras: str) -> None:
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    installed = STAMP.read_text().split() if STAMP.exists() else []
    # An environment set up for tests also serves `run`; install only what is missing.
    wanted = sorted(set(extras.split(",")) | {e for e in installed[1:] if e})
    fingerprint = _fingerprint(",".join(wanted))
    if installed and installed[0] == fingerprint:
        return
    print(f"Installing the helpline and its dependencies ({', '.join(wanted)}) ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)  # noqa: S603
    constraints = (
        ["-c", str(ROOT / "constraints.txt")] if (ROOT / "constraints.txt").exists() else []
    )
    subprocess.run([*pip, *constraints, "-e", f"{ROOT}[{','.join(wanted)}]"], check=True)  # noqa: S603
    STAMP.write_text(" ".join([fingerprint, *wanted]))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_environment(EXTRAS[command])
    os.chdir(ROOT)
    if command == "run":
        args = [str(BIN / "helpline"), "run", *rest]
    elif command == "test":
        args = [str(PYTHON), "-m", "pytest", *rest]
    else:
        code = subprocess.call([str(PYTHON), "-m", "ruff", "check", "."])  # noqa: S603
        code |= subprocess.call([str(PYTHON), "-m", "ruff", "format", "--check", "."])  # noqa: S603
        code |= subprocess.call([str(PYTHON), "-m", "mypy"])  # noqa: S603
        return code | subprocess.call([str(BIN / "lint-imports"), "--no-cache"])  # noqa: S603
    # Replace this process, so signals (Ctrl-C, SIGTERM) reach the command directly.
    os.execv(args[0], args)  # noqa: S606 - does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
