"""The benchmark report: a run replaces only the sections it measured, and flushes its
Redis db only when a section it runs uses Redis."""

from __future__ import annotations

import pytest

from bench.__main__ import SECTIONS, WEBHOOK_HEADING, _replace_section, uses_redis

BEFORE = f"""# Benchmarks

Written by hand.

{WEBHOOK_HEADING}

old table

## Notes on the webhook figures

- a note a person wrote

## Routing decisions

routing table
"""


def test_bench_report_replace_section_keeps_every_other_section() -> None:
    """Replacing the webhook section keeps the introduction, the hand-written notes after
    it and the routing section, in their places."""
    after = _replace_section(BEFORE, WEBHOOK_HEADING, f"{WEBHOOK_HEADING}\n\nnew table\n")
    assert "old table" not in after
    assert after.index("Written by hand.") < after.index("new table")
    assert after.index("new table") < after.index("- a note a person wrote")
    assert after.index("- a note a person wrote") < after.index("routing table")
    assert "\n\n## Notes on the webhook figures\n" in after


def test_bench_report_replace_section_adds_a_missing_one() -> None:
    """A section the report lacks is added at the end."""
    after = _replace_section("# Benchmarks\n", "## New", "## New\n\nfigures\n")
    assert after == "# Benchmarks\n\n## New\n\nfigures\n"


@pytest.mark.parametrize("only", [None, *SECTIONS])
def test_bench_uses_redis_for_every_section_but_the_programme_report(only: str | None) -> None:
    """A run of every section, or of one that uses Redis, flushes its db; the programme
    report's bench (PostgreSQL alone) leaves Redis as it found it."""
    assert uses_redis(only) is (only != "programme")
