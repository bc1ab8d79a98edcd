"""reports/xlsx.py: a workbook openpyxl reads back cell for cell, text never a formula."""
from __future__ import annotations

from datetime import UTC, datetime

import openpyxl
import pytest

from reports.xlsx import write_xlsx


def test_round_trip_types_and_text_is_never_a_formula(tmp_path):
    rows = [["c1", '=HYPERLINK("https://evil.example","x")', 3, 2.5, True, None],
            ["c2", " +1 fix ", 0, -1.0, False, "a\x00b\x1fc\td"],
            ["c3", "<b>&amp;</b>", 10**12, 0.1, None, datetime(2026, 7, 1, 9, 30, tzinfo=UTC)]]
    path = write_xlsx(tmp_path / "p.xlsx", {
        "Population": (["id", "title", "n", "x", "flag", "other"], iter(rows)),
        "A sheet title far longer than thirty-one characters": (["x"], [[1]]),
        "Empty": (["only", "a header"], []),
    })
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Population", "A sheet title far longer than t", "Empty"]
    sheet = book["Population"]
    got = [[c.value for c in r] for r in sheet.iter_rows()]
    assert got[0] == ["id", "title", "n", "x", "flag", "other"]
    assert got[1] == ["c1", '=HYPERLINK("https://evil.example","x")', 3, 2.5, True, None]
    assert got[2] == ["c2", " +1 fix ", 0, -1.0, False, "abc\td"]      # XML-illegal characters dropped
    assert got[3] == ["c3", "<b>&amp;</b>", 10**12, 0.1, None, "2026-07-01T09:30:00Z"]
    assert sheet["B2"].data_type == "s" and sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert [[c.value for c in r] for r in book["Empty"].iter_rows()] == [["only", "a header"]]


def test_titles_that_collide_after_cutting_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not unique"):
        write_xlsx(tmp_path / "x.xlsx", {"x" * 40: (["a"], []), "x" * 35: (["a"], [])})


def test_many_columns_get_excel_column_letters(tmp_path):
    path = write_xlsx(tmp_path / "w.xlsx", {"Wide": ([f"c{i}" for i in range(30)], [list(range(30))])})
    sheet = openpyxl.load_workbook(path)["Wide"]
    assert sheet["Z2"].value == 25 and sheet["AD2"].value == 29 and sheet["AD1"].value == "c29"
