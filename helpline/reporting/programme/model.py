"""The report as typed values: sections, tables, rows and cells.

A cell is a `Count`, a `Measure` (a share, a median, hours: a value computed from
`basis` items), a `Suppressed` marker, or `Empty` (a measure with nothing to measure).
Labels are English, and the message ids the console's page translates; each thing also
has a stable `key` (docs/programme-report.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


@dataclasses.dataclass(frozen=True)
class Count:
    value: int


class Unit(enum.StrEnum):
    SHARE = "share"  # 0 to 1
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    PER_WORKER = "per_worker"


@dataclasses.dataclass(frozen=True)
class Measure:
    value: float
    unit: Unit
    basis: int  # how many items (people, calls, cases) the value is computed from


class Why(enum.StrEnum):
    PRIMARY = "primary"  # below the threshold
    SECONDARY = "secondary"  # so that a total does not give another suppressed cell away


@dataclasses.dataclass(frozen=True)
class Suppressed:
    why: Why


@dataclasses.dataclass(frozen=True)
class Empty:
    """A measure with nothing to measure (no item in its basis)."""


Cell = Count | Measure | Suppressed | Empty


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: str
    is_measure: bool = False
    # For a measure: the count columns of the same row it could give away (a share gives
    # its numerator and denominator away together); it is hidden when one of them is.
    derived_from: tuple[str, ...] = ()
    # Whether the column's body rows add up to its total row (distinct people counted per
    # language or site do not: one person may call in two languages).
    is_additive: bool = True


@dataclasses.dataclass(frozen=True)
class Row:
    key: str  # the dimension value ("" for the total row)
    label: str
    cells: tuple[Cell, ...]
    is_total: bool = False


@dataclasses.dataclass(frozen=True)
class Table:
    key: str
    title: str
    dimension: str  # the label of the row dimension
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    # The column that is the sum of the `row_parts` columns in every row, if any.
    row_total: str | None = None
    row_parts: tuple[str, ...] = ()
    # Counts of people served and their contacts are protected by suppression; the line's
    # own staffing is not (docs/programme-report.md).
    is_protected: bool = True
    note: str = ""

    def column(self, key: str) -> int:
        return next(i for i, column in enumerate(self.columns) if column.key == key)

    def cell(self, row_key: str, column_key: str) -> Cell:
        row = next(r for r in self.rows if r.key == row_key and not r.is_total)
        return row.cells[self.column(column_key)]

    def total(self, column_key: str) -> Cell:
        row = next(r for r in self.rows if r.is_total)
        return row.cells[self.column(column_key)]

    @property
    def is_suppressed(self) -> bool:
        return any(isinstance(c, Suppressed) for row in self.rows for c in row.cells)


@dataclasses.dataclass(frozen=True)
class Section:
    key: str
    title: str
    tables: tuple[Table, ...]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


@dataclasses.dataclass(frozen=True)
class Period:
    """Whole local days, first to last, in the line's time zone; [since, until) in UTC."""

    first_day: dt.date
    last_day: dt.date
    zone: str
    since: dt.datetime
    until: dt.datetime


@dataclasses.dataclass(frozen=True)
class Scope:
    """The whole line, one province's sites, or one site."""

    kind: str  # "line", "province" or "site"
    code: str | None  # the province's name or the site's code
    label: str
    site_ids: tuple[int, ...] | None  # None: the whole line


LINE = Scope("line", None, "The whole line", None)


@dataclasses.dataclass(frozen=True)
class Report:
    period: Period
    scope: Scope
    threshold: int
    generated_at: dt.datetime
    sections: tuple[Section, ...]

    @property
    def is_suppressed(self) -> bool:
        """Whether any cell was suppressed (the cover says so either way)."""
        return any(t.is_suppressed for s in self.sections for t in s.tables)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)
