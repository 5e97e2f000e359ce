"""The capacity benchmark's figures: webhook latencies per plateau, the first plateau whose
p99 crosses the target, and the report's section. Pure: no I/O, no clock.

A plateau holds N simulated calls at once; every webhook the sandbox made during its
measured window is a `Sample`, timed at the client (the sandbox) and named by its path.
A sample is an error unless the app answered 200 with valid TwiML.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

from bench import sections

HEADING = "## Concurrent-call capacity"
TARGET_CALLS = 2000
TARGET_P99_MS = 100.0


@dataclasses.dataclass(frozen=True)
class Sample:
    at: float  # seconds on the bench's monotonic clock, when the request was sent
    kind: str  # the webhook's path, such as /voice/wait
    ms: float
    ok: bool  # 200 with valid TwiML


@dataclasses.dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    errors: int


@dataclasses.dataclass(frozen=True)
class Cpu:
    """Share of one core each part used during the window (1.0 = a whole core)."""

    sandbox: float  # the load generator: the bench process, sandbox and all
    app: float  # gunicorn, master and workers
    worker: float  # the RQ worker and the jobs it forked
    database: float  # PostgreSQL's backends serving the bench's database
    machine: float  # every core, busy, by anyone (2.0 = both cores of two)


@dataclasses.dataclass(frozen=True)
class Plateau:
    target: int  # calls held at once
    live_min: int  # the fewest calls live seen during the window
    live_max: int
    seconds: float  # the measured window
    overall: Latency
    kinds: dict[str, Latency]
    cpu: Cpu
    answered: int  # callers connected to a counsellor during the window

    @property
    def rate(self) -> float:
        return self.overall.count / self.seconds if self.seconds else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (sorted or not); 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency(samples: Iterable[Sample]) -> Latency:
    kept = list(samples)
    times = [s.ms for s in kept]
    return Latency(
        count=len(kept),
        p50_ms=percentile(times, 0.50),
        p99_ms=percentile(times, 0.99),
        errors=sum(1 for s in kept if not s.ok),
    )


def window(samples: Iterable[Sample], start: float, end: float) -> list[Sample]:
    """The samples sent in [start, end)."""
    return [s for s in samples if start <= s.at < end]


def by_kind(samples: Sequence[Sample]) -> dict[str, Latency]:
    kinds = sorted({s.kind for s in samples})
    return {kind: latency(s for s in samples if s.kind == kind) for kind in kinds}


def first_crossing(plateaus: Sequence[Plateau], threshold_ms: float) -> Plateau | None:
    """The plateau of fewest calls whose overall p99 is above `threshold_ms`, if any."""
    over = [p for p in plateaus if p.overall.p99_ms > threshold_ms]
    return min(over, key=lambda p: p.target) if over else None


def capacity(plateaus: Sequence[Plateau], threshold_ms: float) -> int | None:
    """The most calls held with p99 at or under the threshold and no errors, below the
    first crossing; None when no plateau did."""
    crossing = first_crossing(plateaus, threshold_ms)
    held = [
        p.target
        for p in plateaus
        if p.overall.p99_ms <= threshold_ms
        and p.overall.errors == 0
        and (crossing is None or p.target < crossing.target)
    ]
    return max(held) if held else None


def verdict(plateaus: Sequence[Plateau]) -> str:
    held = capacity(plateaus, TARGET_P99_MS)
    return "met" if held is not None and held >= TARGET_CALLS else "NOT met"


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def section(
    plateaus: Sequence[Plateau],
    measured: str,
    command: str,
    setup: str,
    notes: Sequence[str] = (),
) -> str:
    """The report's section: how it was run, a row per plateau, latency per webhook kind."""
    lines = [
        *sections.head(HEADING, measured, command),
        setup,
        "",
        "| calls at once | live (min-max) | webhooks/s | p50 ms | p99 ms | errors "
        "| answered | sandbox CPU | app CPU | worker CPU | PostgreSQL CPU | machine busy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in plateaus:
        lines.append(
            f"| {p.target:,} | {p.live_min:,}-{p.live_max:,} | {p.rate:,.0f} | "
            f"{p.overall.p50_ms:.1f} | {p.overall.p99_ms:.1f} | {p.overall.errors} | "
            f"{p.answered} | {_pct(p.cpu.sandbox)} | {_pct(p.cpu.app)} | "
            f"{_pct(p.cpu.worker)} | {_pct(p.cpu.database)} | {_pct(p.cpu.machine)} |"
        )
    kinds = sorted({kind for p in plateaus for kind in p.kinds})
    lines += [
        "",
        "p50 / p99 in ms per webhook (requests in the window), by calls at once:",
        "",
        "| webhook | " + " | ".join(f"{p.target:,}" for p in plateaus) + " |",
        "| --- | " + " | ".join("---:" for _ in plateaus) + " |",
    ]
    for kind in kinds:
        cells = []
        for p in plateaus:
            found = p.kinds.get(kind)
            cells.append(
                "-"
                if found is None
                else f"{found.p50_ms:.0f} / {found.p99_ms:.0f} ({found.count:,})"
            )
        lines.append(f"| `{kind}` | " + " | ".join(cells) + " |")
    crossing = first_crossing(plateaus, TARGET_P99_MS)
    held = capacity(plateaus, TARGET_P99_MS)
    crossed = (
        f"p99 first crossed {TARGET_P99_MS:.0f} ms at {crossing.target:,} calls "
        f"(p99 {crossing.overall.p99_ms:.1f} ms)"
        if crossing is not None
        else f"p99 stayed at or under {TARGET_P99_MS:.0f} ms on every plateau measured"
    )
    most = f"{held:,}" if held is not None else "none"
    lines += [
        "",
        f"Target (issue 9): at least {TARGET_CALLS:,} concurrent calls with webhook p99 at or "
        f"under {TARGET_P99_MS:.0f} ms and no errors: **{verdict(plateaus)}** ({crossed}; "
        f"the most calls held within it: {most}).",
        "",
    ]
    for note in notes:
        lines += [note, ""]
    return "\n".join(lines)
