"""The production app never imports the telephony sandbox (`helpline.sandbox`).

Checked twice: statically, over every import in helpline/ (function bodies and
TYPE_CHECKING blocks included, and `import_module("helpline.sandbox...")` strings), and
dynamically, by building the app and loading the worker and every RQ task in a fresh
interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from helpline.config import Settings
from tests.cli_env import child_environ, settings_environ

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helpline"
SANDBOX = "helpline.sandbox"

# The only modules outside the sandbox that may import it, each for a command that runs it:
ALLOWED = {
    # `helpline sandbox` serves the emulator; `simulate` plays a call through the call
    # simulator; `demo-traffic` (defined in sandbox/traffic.py) drives simulated callers.
    "helpline.cli.sandbox",
    # `helpline flows test` plays the scenarios through the call simulator (lazily, inside
    # that command: `flows check`, `diagram` and `render-audio` load nothing of it).
    "helpline.cli.flows",
}

# What production runs: gunicorn's `helpline.wsgi:app` (create_app), `worker.py` and
# `helpline worker` (helpline.worker), and the RQ jobs the worker executes.
PRODUCTION = ("helpline", "helpline.wsgi", "helpline.worker", "helpline.tasks")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterator[str]:
    """Every module `name` names in an import, wherever the import is, and any string
    constant that names a helpline module (for importlib.import_module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("helpline.")
            and " " not in node.value
        ):
            yield node.value


def is_sandbox(name: str) -> bool:
    return name == SANDBOX or name.startswith(SANDBOX + ".")


def graph() -> dict[str, set[str]]:
    """module -> the helpline modules it imports (a package's __init__ included)."""
    found = modules()

    def resolve(target: str) -> set[str]:
        out = set()
        while target:
            if target in found:
                out.add(target)
            target = target.rpartition(".")[0]
        return out

    return {
        name: {t for target in imported(name, path) for t in resolve(target)} - {name}
        for name, path in found.items()
    }


def test_layers_only_sandbox_commands_import_the_sandbox() -> None:
    """No module outside helpline.sandbox imports it, even lazily, but the two command
    modules that run it; and those two do (the allowance is not stale)."""
    edges = graph()
    assert SANDBOX in edges, "helpline/sandbox/ is missing"
    importers = {
        name
        for name, targets in edges.items()
        if not is_sandbox(name) and any(is_sandbox(target) for target in targets)
    }
    assert importers == ALLOWED


def test_layers_production_graph_reaches_no_sandbox() -> None:
    """What the app, the worker and the RQ tasks import, followed to the end, holds no
    sandbox module and no command module (which could reach it)."""
    edges = graph()
    roots = [name for name in edges if name in PRODUCTION or name.startswith("helpline.tasks.")]
    reached: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(edges[name])
    assert "helpline.telephony.client" in reached  # the walk follows the app's imports
    assert sorted(n for n in reached if is_sandbox(n) or n.startswith("helpline.cli")) == []


PROBE = """
import importlib, json, pkgutil, runpy, sys
import helpline.wsgi  # gunicorn's entry point: create_app() from the environment
import helpline.worker
import helpline.tasks
for found in pkgutil.walk_packages(helpline.tasks.__path__, "helpline.tasks."):
    importlib.import_module(found.name)
runpy.run_path(sys.argv[1])  # worker.py, as a module: its imports, not its main
print(json.dumps(sorted(name for name in sys.modules if name.startswith("helpline."))))
"""


def test_layers_app_and_worker_load_no_sandbox(settings: Settings) -> None:
    """A fresh interpreter that builds the app as gunicorn does and loads the worker and
    every RQ task has no helpline.sandbox module in sys.modules."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "worker.py")],
        env=child_environ(**settings_environ(settings)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "helpline.telephony.client" in loaded
    assert [name for name in loaded if is_sandbox(name)] == []
