"""XLSX companions of the reports: the same rows as the CSVs, one sheet per table, for analysts
who filter in a spreadsheet. Written in openpyxl's streaming mode, so a 50,000-row population
costs memory per row, not per workbook.

    write_xlsx(out / "population.xlsx", {"Population": (columns, rows)})

Cell text from source systems is written as a string cell, never as a formula: a PR title
that starts with "=" must not execute in the auditor's spreadsheet.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

MAX_SHEET_TITLE = 31


def _cell(sheet, value):
    value = _value(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise store text starting with "=" as a formula
    return cell


def _value(value):
    if isinstance(value, datetime):
        # Excel has no time zones: write UTC wall time, the column header says UTC
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, (list, tuple, set, dict)):
        return str(value)
    return value


def write_xlsx(path: Path, sheets: Mapping[str, tuple[Sequence[str], Iterable[Sequence]]]) -> Path:
    """One sheet per entry `title: (columns, rows)`; header row bold and frozen."""
    workbook = Workbook(write_only=True)
    for title, (columns, rows) in sheets.items():
        sheet = workbook.create_sheet(title=title[:MAX_SHEET_TITLE])
        sheet.freeze_panes = "A2"
        header = []
        for name in columns:
            cell = WriteOnlyCell(sheet, value=str(name))
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(sheet, v) for v in row])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
