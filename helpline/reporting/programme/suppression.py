"""Small-cell suppression: primary below the threshold, secondary so totals give none away.

Pure: a `RawTable` of plain numbers in, a `model.Table` of cells out.

- Primary: a count of 1 to threshold - 1 is suppressed. Zero is shown (it points at
  nobody; docs/programme-report.md argues it).
- Secondary: a line is a column with its total row (when the column is additive) or a
  row with its row-total column. A line with exactly one hidden cell (its total
  included) would give it away by subtraction, so the smallest other non-zero count of
  the line is hidden too, or the line's total when there is none; repeated until no line
  has exactly one hidden cell.
- A measure (a share, a median) is suppressed when its basis is below the threshold, or
  when a count it could give away (`Column.derived_from`) is hidden.
"""

from __future__ import annotations

import dataclasses

from helpline.reporting.programme.model import (
    Cell,
    Column,
    Count,
    Empty,
    Measure,
    Row,
    Suppressed,
    Table,
    Unit,
    Why,
)

DEFAULT_THRESHOLD = 5


@dataclasses.dataclass(frozen=True)
class RawMeasure:
    value: float | None  # None: nothing to measure
    unit: Unit
    basis: int


RawValue = int | RawMeasure


@dataclasses.dataclass(frozen=True)
class RawRow:
    key: str
    label: str
    values: tuple[RawValue, ...]
    is_total: bool = False


@dataclasses.dataclass(frozen=True)
class RawTable:
    key: str
    title: str
    dimension: str
    columns: tuple[Column, ...]
    rows: tuple[RawRow, ...]
    row_total: str | None = None
    row_parts: tuple[str, ...] = ()
    is_protected: bool = True
    note: str = ""


Position = tuple[int, int]
Line = tuple[list[Position], Position]


def _count(value: RawValue) -> int:
    return value if isinstance(value, int) else 0


def _lines(table: RawTable) -> list[Line]:
    counts = [i for i, c in enumerate(table.columns) if not c.is_measure]
    totals = [r for r, row in enumerate(table.rows) if row.is_total]
    body = [r for r, row in enumerate(table.rows) if not row.is_total]
    found: list[Line] = []
    if totals:
        for c in counts:
            if table.columns[c].is_additive:
                found.append(([(r, c) for r in body], (totals[0], c)))
    if table.row_total is not None:
        keys = [c.key for c in table.columns]
        whole = keys.index(table.row_total)
        parts = [keys.index(k) for k in table.row_parts]
        for r in range(len(table.rows)):
            found.append(([(r, p) for p in parts], (r, whole)))
    return found


def hidden_counts(table: RawTable, threshold: int) -> dict[Position, Why]:
    """Which count cells are suppressed, and why."""
    if not table.is_protected:
        return {}
    hidden: dict[Position, Why] = {}
    for r, row in enumerate(table.rows):
        for c, value in enumerate(row.values):
            if isinstance(value, int) and 0 < value < threshold:
                hidden[(r, c)] = Why.PRIMARY
    lines = _lines(table)
    changed = True
    while changed:
        changed = False
        for members, total in lines:
            if sum(1 for p in [*members, total] if p in hidden) != 1:
                continue
            size = {p: _count(table.rows[p[0]].values[p[1]]) for p in [*members, total]}
            shown = sorted((size[p], p) for p in members if p not in hidden and size[p] > 0)
            pick = shown[0][1] if shown else (None if total in hidden else total)
            if pick is not None:
                hidden[pick] = Why.SECONDARY
                changed = True
    return hidden


def suppress(table: RawTable, threshold: int = DEFAULT_THRESHOLD) -> Table:
    """The table with its small cells suppressed."""
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    hidden = hidden_counts(table, threshold)
    keys = [c.key for c in table.columns]
    rows = []
    for r, row in enumerate(table.rows):
        cells: list[Cell] = []
        for c, value in enumerate(row.values):
            if (r, c) in hidden:
                cells.append(Suppressed(hidden[(r, c)]))
            elif isinstance(value, int):
                cells.append(Count(value))
            else:
                gives = any((r, keys.index(k)) in hidden for k in table.columns[c].derived_from)
                cells.append(_measure(value, threshold if table.is_protected else 1, gives))
        rows.append(Row(row.key, row.label, tuple(cells), row.is_total))
    return Table(
        key=table.key,
        title=table.title,
        dimension=table.dimension,
        columns=table.columns,
        rows=tuple(rows),
        row_total=table.row_total,
        row_parts=table.row_parts,
        is_protected=table.is_protected,
        note=table.note,
    )


def _measure(value: RawMeasure, threshold: int, gives_away: bool) -> Cell:
    if value.value is None or value.basis == 0:
        return Empty()
    if value.basis < threshold:
        return Suppressed(Why.PRIMARY)
    if gives_away:
        return Suppressed(Why.SECONDARY)
    return Measure(value.value, value.unit, value.basis)
