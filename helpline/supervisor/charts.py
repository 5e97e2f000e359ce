"""Bar charts drawn on the server as inline SVG: no script, no CDN, no inline style.

Colours come from classes in console.css (the CSP forbids style attributes). Each chart
sits beside a table with the same numbers, which is what screen readers should use; the
SVG carries a title saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW = 22  # height of one group of bars
LABEL = 150  # width kept for the labels on the left
VALUE = 60  # width kept for the numbers on the right
CLASSES = ("bar", "bar-alt")


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    width: int = 520,
) -> Markup:
    """Horizontal bars, one group per row, one bar per series (two at most)."""
    if not 1 <= len(series) <= len(CLASSES):
        raise ValueError(f"one or {len(CLASSES)} series")
    top = max((v for _, values in rows for v in values), default=0.0)
    span = width - LABEL - VALUE
    thickness = (ROW - 6) / len(series)
    legend = 18
    height = legend + ROW * max(len(rows), 1) + 4
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)} (the table beside it gives the numbers)</title>",
    ]
    x = LABEL
    for name, css in zip(series, CLASSES, strict=False):
        parts.append(f'<rect class="{css}" x="{x}" y="4" width="10" height="10"/>')
        parts.append(f'<text x="{x + 14}" y="13">{escape(name)}</text>')
        x += 14 + 8 * len(name) + 16
    for index, (label, values) in enumerate(rows):
        y = legend + index * ROW
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + ROW / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for number, (value, css) in enumerate(zip(values, CLASSES, strict=False)):
            length = 0.0 if top <= 0 else span * value / top
            bar_y = y + 3 + number * thickness
            parts.append(
                f'<rect class="{css}" x="{LABEL}" y="{bar_y:.1f}" '
                f'width="{length:.1f}" height="{thickness - 1:.1f}"/>'
            )
            parts.append(
                f'<text x="{LABEL + length + 4:.1f}" y="{bar_y + thickness - 2:.1f}">'
                f"{value:g}</text>"
            )
    parts.append(f'<line class="axis" x1="{LABEL}" y1="{legend}" x2="{LABEL}" y2="{height - 2}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  every text part above is escaped
