"""The programme report's charts as inline SVG (no script): the trend by month, the AGD
pyramid and the referral funnel. Each draws from a suppressed `Table`, so a chart shows
no more than its table: a suppressed cell has no bar, only the mark.

Texts are passed in already translated; numbers are written left to right whatever the
page's direction (the SVG root says `direction="ltr"`).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from helpline.reporting.programme.cells import SUPPRESSED_MARK
from helpline.reporting.programme.model import Cell, Count, Table

ROW = 22
LABEL = 110
VALUE = 46
CLASSES = ("bar", "bar-alt", "bar-third")


def _number(cell: Cell) -> int | None:
    return cell.value if isinstance(cell, Count) else None


def _text(cell: Cell) -> str:
    value = _number(cell)
    return SUPPRESSED_MARK if value is None else str(value)


def _open(title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart" role="img" direction="ltr" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]


def _legend(series: Sequence[str], x: float) -> list[str]:
    parts: list[str] = []
    for name, css in zip(series, CLASSES, strict=False):
        parts.append(f'<rect class="{css}" x="{x:.0f}" y="4" width="10" height="10"/>')
        parts.append(f'<text x="{x + 14:.0f}" y="13">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 16
    return parts


def _top(cells: Sequence[Cell]) -> int:
    return max((v for v in map(_number, cells) if v is not None), default=0)


def trend(title: str, table: Table, columns: Sequence[str], series: Sequence[str]) -> Markup:
    """Horizontal bars per month, one per column (three at most)."""
    body = [r for r in table.rows if not r.is_total]
    indexes = [table.column(c) for c in columns]
    top = _top([r.cells[i] for r in body for i in indexes])
    width, legend = 560, 20
    span = width - LABEL - VALUE
    thickness = (ROW * 1.5 - 4) / len(indexes)
    height = legend + int(ROW * 1.5) * max(len(body), 1) + 4
    parts = _open(title, width, height) + _legend(series, LABEL)
    for n, row in enumerate(body):
        y = legend + n * ROW * 1.5
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + ROW * 0.75 + 4:.1f}" text-anchor="end">'
            f"{escape(row.label)}</text>"
        )
        for k, (index, css) in enumerate(zip(indexes, CLASSES, strict=False)):
            cell = row.cells[index]
            value = _number(cell) or 0
            length = span * value / top if top else 0.0
            bar_y = y + 2 + k * thickness
            parts.append(
                f'<rect class="{css}" x="{LABEL}" y="{bar_y:.1f}" '
                f'width="{length:.1f}" height="{thickness - 1:.1f}"/>'
            )
            parts.append(
                f'<text x="{LABEL + length + 4:.1f}" y="{bar_y + thickness - 2:.1f}">'
                f"{escape(_text(cell))}</text>"
            )
    parts.append(f'<line class="axis" x1="{LABEL}" y1="{legend}" x2="{LABEL}" y2="{height - 2}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  every text part above is escaped


def pyramid(
    title: str,
    table: Table,
    left: str,
    right: str,
    names: Sequence[str],
    order: Sequence[str],
) -> Markup:
    """Two-sided bars per row (age group): the `left` column (women) leftwards, `right`
    (men) rightwards from a middle axis; rows top down in `order` (by row key)."""
    rows = {r.key: r for r in table.rows if not r.is_total}
    body = [rows[key] for key in order if key in rows]
    sides = (table.column(left), table.column(right))
    top = _top([r.cells[i] for r in body for i in sides])
    width, legend, middle_gap = 560, 20, 90
    middle = width / 2
    span = middle - middle_gap / 2 - VALUE
    height = legend + ROW * max(len(body), 1) + 4
    parts = _open(title, width, height) + _legend(names, 10)
    for n, row in enumerate(body):
        y = legend + n * ROW
        parts.append(
            f'<text x="{middle:.0f}" y="{y + ROW / 2 + 4:.1f}" text-anchor="middle">'
            f"{escape(row.label)}</text>"
        )
        for side, (index, css) in enumerate(zip(sides, CLASSES, strict=False)):
            cell = row.cells[index]
            length = span * (_number(cell) or 0) / top if top else 0.0
            if side == 0:
                x, text_x, anchor = (
                    middle - middle_gap / 2 - length,
                    middle - middle_gap / 2 - length - 4,
                    "end",
                )
            else:
                x, text_x, anchor = (
                    middle + middle_gap / 2,
                    middle + middle_gap / 2 + length + 4,
                    "start",
                )
            parts.append(
                f'<rect class="{css}" x="{x:.1f}" y="{y + 3}" '
                f'width="{length:.1f}" height="{ROW - 6}"/>'
            )
            parts.append(
                f'<text x="{text_x:.1f}" y="{y + ROW / 2 + 4:.1f}" '
                f'text-anchor="{anchor}">{escape(_text(cell))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  every text part above is escaped


def funnel(title: str, table: Table, steps: Sequence[tuple[str, str]]) -> Markup:
    """The total row's steps as centred bars, widest first (made, consented, sent...)."""
    total = next(r for r in table.rows if r.is_total)
    cells = [total.cells[table.column(key)] for key, _ in steps]
    top = _top(cells)
    width = 560
    span = width - 2 * LABEL
    height = ROW * len(steps) + 4
    parts = _open(title, width, height)
    for n, ((_, label), cell) in enumerate(zip(steps, cells, strict=True)):
        y = n * ROW + 2
        length = span * (_number(cell) or 0) / top if top else 0.0
        x = width / 2 - length / 2
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + ROW / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y + 2}" width="{length:.1f}" height="{ROW - 4}"/>'
        )
        parts.append(
            f'<text x="{width - LABEL + 6}" y="{y + ROW / 2 + 4:.1f}">{escape(_text(cell))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  every text part above is escaped
