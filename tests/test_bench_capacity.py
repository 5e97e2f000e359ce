"""The capacity benchmark's figures: percentiles, plateaus, the crossing and the section."""

from __future__ import annotations

import pytest

from bench.capacity_report import (
    HEADING,
    Cpu,
    Latency,
    Plateau,
    Sample,
    by_kind,
    capacity,
    first_crossing,
    latency,
    percentile,
    section,
    verdict,
    window,
)

CPU = Cpu(sandbox=0.25, app=1.1, worker=0.3, database=0.2, machine=1.9)


def _plateau(target: int, p99: float, errors: int = 0) -> Plateau:
    overall = Latency(count=600, p50_ms=p99 / 4, p99_ms=p99, errors=errors)
    return Plateau(
        target=target,
        live_min=target - 3,
        live_max=target,
        seconds=60.0,
        overall=overall,
        kinds={"/voice/wait": overall},
        cpu=CPU,
        answered=12,
    )


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.99, 0.0),
        ([7.0], 0.5, 7.0),
        ([5.0, 1.0, 3.0, 2.0, 4.0], 0.5, 3.0),
        ([float(n) for n in range(1, 101)], 0.99, 99.0),
        ([float(n) for n in range(1, 101)], 1.0, 100.0),
        ([float(n) for n in range(1, 201)], 0.99, 198.0),
    ],
)
def test_bench_capacity_percentile_is_nearest_rank(
    values: list[float], fraction: float, expected: float
) -> None:
    """The percentile is the nearest-rank value: never interpolated, 0 for no samples."""
    assert percentile(values, fraction) == expected


def test_bench_capacity_latency_counts_errors_and_window_keeps_its_span() -> None:
    """A plateau's latency is over the samples sent inside its window only; an error is
    any sample not ok, whatever its time."""
    samples = [
        Sample(at=9.9, kind="/voice/wait", ms=900.0, ok=False),  # before the window
        Sample(at=10.0, kind="/voice/wait", ms=10.0, ok=True),
        Sample(at=12.0, kind="/voice/step", ms=30.0, ok=False),
        Sample(at=19.9, kind="/voice/wait", ms=20.0, ok=True),
        Sample(at=20.0, kind="/voice/wait", ms=800.0, ok=True),  # the end is excluded
    ]
    kept = window(samples, 10.0, 20.0)
    assert [s.at for s in kept] == [10.0, 12.0, 19.9]
    assert latency(kept) == Latency(count=3, p50_ms=20.0, p99_ms=30.0, errors=1)
    kinds = by_kind(kept)
    assert list(kinds) == ["/voice/step", "/voice/wait"]
    assert kinds["/voice/wait"] == Latency(count=2, p50_ms=10.0, p99_ms=20.0, errors=0)


def test_bench_capacity_first_crossing_is_the_fewest_calls_over_the_threshold() -> None:
    """The crossing is the smallest N whose p99 is above the threshold (not at it), even
    if a larger N happened to measure under it; the capacity is the most calls held
    within the threshold, without errors, below that crossing."""
    plateaus = [
        _plateau(500, 40.0),
        _plateau(1000, 100.0),  # at the threshold: within it
        _plateau(2000, 101.0),
        _plateau(1500, 150.0),
        _plateau(2500, 90.0),  # under it again, but past the crossing
    ]
    crossing = first_crossing(plateaus, 100.0)
    assert crossing is not None
    assert crossing.target == 1500
    assert capacity(plateaus, 100.0) == 1000
    assert first_crossing(plateaus[:2], 100.0) is None
    assert capacity(plateaus[:2], 100.0) == 1000


def test_bench_capacity_plateau_with_errors_does_not_count() -> None:
    """A plateau that answered with errors is not capacity held, however fast it was."""
    plateaus = [_plateau(1000, 30.0), _plateau(2000, 40.0, errors=1)]
    assert capacity(plateaus, 100.0) == 1000
    assert verdict(plateaus) == "NOT met"
    assert verdict([_plateau(1000, 30.0), _plateau(2000, 40.0)]) == "met"
    assert capacity([_plateau(250, 120.0)], 100.0) is None


def test_bench_capacity_section_has_a_row_per_plateau_and_the_verdict() -> None:
    """The section names the machine line, the command and the setup it was given, a row
    per plateau with CPU shares, the webhooks' p50/p99 by plateau, and the target's
    verdict with the first crossing."""
    plateaus = [_plateau(1000, 40.0), _plateau(2000, 80.0), _plateau(2500, 130.0)]
    text = section(plateaus, "Measured today on a machine.", "bench --only capacity", "How it ran.")
    lines = text.splitlines()
    assert lines[0] == HEADING
    assert "Measured today on a machine." in lines
    assert "`bench --only capacity`" in text
    assert "How it ran." in lines
    row = "| 2,000 | 1,997-2,000 | 10 | 20.0 | 80.0 | 0 | 12 | 25 % | 110 % | 30 % | 20 % | 190 % |"
    assert row in lines
    assert "| webhook | 1,000 | 2,000 | 2,500 |" in lines
    assert "| `/voice/wait` | 10 / 40 (600) | 20 / 80 (600) | 32 / 130 (600) |" in lines
    assert "**met**" in text
    assert "p99 first crossed 100 ms at 2,500 calls (p99 130.0 ms)" in text
    assert "the most calls held within it: 2,000" in text
    assert text.endswith("\n")
