"""Turning grouped numbers into raw tables: row order, labels and the total row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from helpline.reporting.programme import dimensions as dims
from helpline.reporting.programme import labels
from helpline.reporting.programme.model import Column
from helpline.reporting.programme.sql import TOTAL, Groups
from helpline.reporting.programme.suppression import RawRow, RawTable, RawValue

# Values that are not answers sort after the answers.
LAST = (dims.NOT_IDENTIFIED, dims.UNKNOWN, dims.DECLINED, dims.NONE)


def order(keys: Iterable[str]) -> list[str]:
    """Answers sorted, then the non-answers in a fixed order; the total left out."""
    found = {k for k in keys if k != TOTAL}
    return sorted(found - set(LAST)) + [k for k in LAST if k in found]


def rows(
    groups: Groups,
    values: Callable[[Mapping[str, float]], Sequence[RawValue]],
    keys: Sequence[str] | None = None,
    label: Callable[[str], str] = labels.value,
) -> tuple[RawRow, ...]:
    """A row per group (in `keys` order, or sorted), and the total row from `groups[TOTAL]`
    (an empty total when no row was found)."""
    empty: dict[str, float] = {}
    body = [
        RawRow(key, label(key), tuple(values(groups.get(key, empty))))
        for key in (keys if keys is not None else order(groups))
    ]
    total = RawRow(TOTAL, "Total", tuple(values(groups.get(TOTAL, empty))), is_total=True)
    return (*body, total)


def table(
    key: str,
    title: str,
    dimension: str,
    columns: Sequence[Column],
    found: tuple[RawRow, ...],
    *,
    row_total: str | None = None,
    row_parts: Sequence[str] = (),
    is_protected: bool = True,
    note: str = "",
) -> RawTable:
    return RawTable(
        key=key,
        title=title,
        dimension=labels.DIMENSIONS.get(dimension, dimension),
        columns=tuple(columns),
        rows=found,
        row_total=row_total,
        row_parts=tuple(row_parts),
        is_protected=is_protected,
        note=note,
    )


def count(numbers: Mapping[str, float], name: str) -> int:
    return round(numbers.get(name, 0.0))
