"""A case's WHO-5 percentages over time, as a small inline SVG line (no script, no style
attribute: console.css colours it), drawn beside a table with the same numbers."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from helpline.cases.wellbeing import Point

WIDTH, HEIGHT = 320, 120
PAD = 24  # room for the axis labels
POOR = 52  # percentage: a raw score under 13 suggests poor wellbeing


def wellbeing_chart(title: str, points: Sequence[Point]) -> Markup:
    """One dot per measure (0-100 %, left to right oldest to newest), joined by a line,
    with the "poor wellbeing" threshold dashed."""
    span_x = WIDTH - 2 * PAD
    span_y = HEIGHT - 2 * PAD

    def y(percentage: float) -> float:
        return HEIGHT - PAD - span_y * percentage / 100

    step = span_x / max(len(points) - 1, 1)
    spots = [(PAD + index * step, y(point.percentage)) for index, point in enumerate(points)]
    parts = [
        f'<svg class="chart wellbeing-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}"/>',
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/>',
        f'<line class="threshold" x1="{PAD}" y1="{y(POOR):.1f}" x2="{WIDTH - PAD}" '
        f'y2="{y(POOR):.1f}"/>',
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">100</text>',
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD + 4}" text-anchor="end">0</text>',
    ]
    if len(spots) > 1:
        line = " ".join(f"{x:.1f},{top:.1f}" for x, top in spots)
        parts.append(f'<polyline class="curve" points="{line}"/>')
    for (x, top), point in zip(spots, points, strict=True):
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{top:.1f}" r="4"/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 8:.1f}" text-anchor="middle">')
        parts.append(f"{point.percentage}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  the title is escaped, the rest are numbers
