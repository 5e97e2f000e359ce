"""Small-cell suppression, pure: primary below the threshold, secondary so that no row or
column total gives a suppressed cell away, measures with their basis."""

from __future__ import annotations

import pytest

from helpline.reporting.programme.model import Column, Count, Empty, Measure, Suppressed, Unit, Why
from helpline.reporting.programme.suppression import RawMeasure, RawRow, RawTable, suppress

P, S = Suppressed(Why.PRIMARY), Suppressed(Why.SECONDARY)


def counts(*rows: tuple[int, ...], row_total: bool = False, total: bool = True) -> RawTable:
    """A table of counts, columns a, b, c; with `row_total`, c is a + b; the last row is the
    total row when `total`."""
    columns = tuple(Column(k, k) for k in ("a", "b", "c")[: len(rows[0])])
    made = tuple(
        RawRow(str(i), str(i), row, is_total=total and i == len(rows) - 1)
        for i, row in enumerate(rows)
    )
    return RawTable(
        "t",
        "t",
        "d",
        columns,
        made,
        row_total="c" if row_total else None,
        row_parts=("a", "b") if row_total else (),
    )


def cells(table: RawTable, threshold: int = 5) -> list[tuple[object, ...]]:
    return [tuple(row.cells) for row in suppress(table, threshold).rows]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # nothing small: nothing hidden
        (((10,), (20,), (30,)), [(Count(10),), (Count(20),), (Count(30),)]),
        # one small cell in a column: the next smallest non-zero goes with it
        (((3,), (8,), (20,), (31,)), [(P,), (S,), (Count(20),), (Count(31),)]),
        # two small cells protect each other
        (((3,), (4,), (20,), (27,)), [(P,), (P,), (Count(20),), (Count(27),)]),
        # zeros are shown and never chosen to protect a cell (here the total equals the
        # small cell, so it is small itself)
        (((0,), (3,), (0,), (3,)), [(Count(0),), (P,), (Count(0),), (P,)]),
        # a small total alone would be recovered from its rows: the smallest row goes
        (((2,), (2,), (4,)), [(P,), (P,), (P,)]),
        (((0,), (6,), (0,), (6,)), [(Count(0),), (Count(6),), (Count(0),), (Count(6),)]),
    ],
)
def test_suppress_columns_with_a_total(
    rows: tuple[tuple[int, ...], ...], expected: list[tuple[object, ...]]
) -> None:
    """Primary below 5; a column with one hidden cell gets a second."""
    assert cells(counts(*rows)) == expected


def test_suppress_rows_with_a_row_total_and_cascades() -> None:
    """A row whose parts add up to its row total is a line too; a secondary suppression in
    a row can leave a column with one hidden cell, which then gets another."""
    table = counts((2, 10, 12), (7, 9, 16), (9, 19, 28), row_total=True)
    assert cells(table) == [
        (P, S, Count(12)),
        (S, S, Count(16)),
        (Count(9), Count(19), Count(28)),
    ]


def test_suppress_nothing_where_no_total_gives_a_cell_away() -> None:
    """Without a total row or row total, only the small cells themselves go."""
    assert cells(counts((3,), (8,), total=False)) == [(P,), (Count(8),)]


def test_suppress_a_non_additive_column_only_primarily() -> None:
    """A column whose rows do not add up to its total (people by language) cannot give a
    cell away by subtraction."""
    table = counts((3,), (8,), (10,))
    table = RawTable("t", "t", "d", (Column("a", "a", is_additive=False),), table.rows)
    assert cells(table) == [(P,), (Count(8),), (Count(10),)]


def test_suppress_measures_by_basis_and_by_what_they_give_away() -> None:
    """A measure on fewer items than the threshold goes; so does one that would give a
    hidden count back (a share of a shown denominator); none to measure is empty."""
    columns = (
        Column("n", "n"),
        Column("k", "k"),
        Column("share", "share", is_measure=True, derived_from=("n", "k")),
        Column("hours", "hours", is_measure=True),
    )
    rows = (
        RawRow("a", "a", (10, 3, RawMeasure(0.3, Unit.SHARE, 10), RawMeasure(2.0, Unit.HOURS, 3))),
        RawRow("b", "b", (0, 0, RawMeasure(None, Unit.SHARE, 0), RawMeasure(None, Unit.HOURS, 0))),
        RawRow("c", "c", (20, 9, RawMeasure(0.45, Unit.SHARE, 20), RawMeasure(4.0, Unit.HOURS, 9))),
    )
    found = cells(RawTable("t", "t", "d", columns, rows))
    assert found == [
        (Count(10), P, S, P),
        (Count(0), Count(0), Empty(), Empty()),
        (Count(20), Count(9), Measure(0.45, Unit.SHARE, 20), Measure(4.0, Unit.HOURS, 9)),
    ]


def test_suppress_leaves_unprotected_tables_and_refuses_a_bad_threshold() -> None:
    """The line's staffing is not suppressed; a threshold below 1 is refused."""
    table = counts((1,), (2,), (3,))
    open_table = RawTable("t", "t", "d", table.columns, table.rows, is_protected=False)
    assert cells(open_table) == [(Count(1),), (Count(2),), (Count(3),)]
    with pytest.raises(ValueError, match="threshold"):
        suppress(table, 0)
