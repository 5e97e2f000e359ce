"""What opens every section of docs/BENCHMARKS.md: its heading, when and where it was
measured, and the command that reproduces it."""

from __future__ import annotations

SERVICES = "PostgreSQL and Redis"


def head(heading: str, measured: str, command: str, needs: str = SERVICES) -> list[str]:
    """The section's first lines, `needs` naming what must run on the machine."""
    return [
        heading,
        "",
        measured,
        f"Reproduce this section alone with `{command}` ({needs} on the machine).",
        "",
    ]
