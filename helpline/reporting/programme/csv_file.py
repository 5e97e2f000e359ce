"""The report as one CSV file: a row per cell, with its section and table.

The first rows (section `report`) are the cover: period, scope, threshold, suppression.
"""

from __future__ import annotations

import csv
import io

from helpline.reporting.programme.cells import cover, number, status, unit
from helpline.reporting.programme.model import Report

HEADER = (
    "section",
    "table",
    "dimension",
    "row_key",
    "row",
    "column_key",
    "column",
    "value",
    "unit",
    "status",
)


def write_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for name, text in cover(report):
        writer.writerow(("report", "cover", "", "", name, "", "", text, "", ""))
    for section in report.sections:
        for table in section.tables:
            for row in table.rows:
                for column, cell in zip(table.columns, row.cells, strict=True):
                    value = number(cell)
                    writer.writerow(
                        (
                            section.key,
                            table.key,
                            table.dimension,
                            "total" if row.is_total else row.key,
                            row.label,
                            column.key,
                            column.label,
                            "" if value is None else value,
                            unit(cell),
                            status(cell),
                        )
                    )
    return out.getvalue()
