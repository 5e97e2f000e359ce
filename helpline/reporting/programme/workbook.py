"""The report as an Excel workbook (openpyxl): a cover sheet, then a sheet per section
holding its tables one under another."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from helpline.reporting.programme.cells import SUPPRESSED_MARK, cover, number
from helpline.reporting.programme.model import Cell, Measure, Report, Section, Suppressed, Unit

BOLD = Font(bold=True)
FORMATS = {Unit.SHARE: "0.0%", Unit.DAYS: "0.0", Unit.HOURS: "0.0", Unit.MINUTES: "0.0"}


def write_xlsx(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet  # noqa: S101
    sheet.title = "Cover"
    for name, text in cover(report):
        sheet.append([name, text])
        sheet.cell(sheet.max_row, 1).font = BOLD
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 100
    for section in report.sections:
        _section(book.create_sheet(section.title[:31]), section)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _section(sheet: Worksheet, section: Section) -> None:
    for table in section.tables:
        sheet.append([table.title])
        sheet.cell(sheet.max_row, 1).font = BOLD
        if table.note:
            sheet.append([table.note])
        sheet.append([table.dimension, *[c.label for c in table.columns]])
        for column in range(1, len(table.columns) + 2):
            sheet.cell(sheet.max_row, column).font = BOLD
        for row in table.rows:
            sheet.append([row.label, *[_value(cell) for cell in row.cells]])
            line = sheet.max_row
            for index, cell in enumerate(row.cells, start=2):
                if isinstance(cell, Measure) and cell.unit in FORMATS:
                    sheet.cell(line, index).number_format = FORMATS[cell.unit]
            if row.is_total:
                sheet.cell(line, 1).font = BOLD
        sheet.append([])
    sheet.column_dimensions["A"].width = 48


def _value(cell: Cell) -> int | float | str | None:
    if isinstance(cell, Suppressed):
        return SUPPRESSED_MARK
    return number(cell)
