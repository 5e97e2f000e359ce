"""How a cell reads in a file: its value, its unit and whether it was suppressed."""

from __future__ import annotations

from helpline.reporting.programme.model import Cell, Count, Empty, Measure, Report, Suppressed

SUPPRESSED_MARK = "[c]"


def number(cell: Cell) -> int | float | None:
    """The cell's number (a share from 0 to 1, rounded to 3 places; other measures to 1)."""
    if isinstance(cell, Count):
        return cell.value
    if isinstance(cell, Measure):
        return round(cell.value, 3 if cell.unit == "share" else 1)
    return None


def status(cell: Cell) -> str:
    if isinstance(cell, Suppressed):
        return f"suppressed ({cell.why})"
    if isinstance(cell, Empty):
        return "none"
    return "shown"


def unit(cell: Cell) -> str:
    if isinstance(cell, Measure):
        return cell.unit.value
    return "count" if isinstance(cell, Count) else ""


def cover(report: Report) -> list[tuple[str, str]]:
    """What the cover states: period, scope, threshold, that suppression applied."""
    period = report.period
    applied = "yes" if report.is_suppressed else "no cell needed it"
    return [
        ("Report", "Programme report"),
        ("Period", f"{period.first_day.isoformat()} to {period.last_day.isoformat()}"),
        ("Time zone", period.zone),
        ("Scope", report.scope.label),
        ("Generated at (UTC)", report.generated_at.strftime("%Y-%m-%d %H:%M")),
        (
            "Suppression",
            f"applied: counts from 1 to {report.threshold - 1} of people and their contacts "
            f"are suppressed ({SUPPRESSED_MARK}), and further cells where a total would give "
            "one away; measures on fewer items are suppressed too",
        ),
        ("Cells suppressed", applied),
        ("Threshold", str(report.threshold)),
        ("Personal data", "none: counts only, no free text and no identifiers"),
    ]
