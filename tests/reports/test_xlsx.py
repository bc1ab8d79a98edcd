from datetime import datetime, timezone

import openpyxl

from reports.xlsx import write_xlsx


def test_rows_round_trip_and_text_is_never_a_formula(tmp_path):
    when = datetime(2026, 7, 1, 9, 30, tzinfo=timezone.utc)
    path = write_xlsx(tmp_path / "p.xlsx", {
        "Population": (["id", "title", "deployed_at (UTC)", "count"],
                       [["c1", '=HYPERLINK("https://evil.example","x")', when, 3],
                        ["c2", "+1 fix", None, 0]]),
        "A sheet title far longer than thirty-one characters": (["x"], [[1]]),
    })
    book = openpyxl.load_workbook(path)
    rows = [[c.value for c in r] for r in book["Population"].iter_rows()]
    assert rows[0] == ["id", "title", "deployed_at (UTC)", "count"]
    assert rows[1] == ["c1", '=HYPERLINK("https://evil.example","x")', datetime(2026, 7, 1, 9, 30), 3]
    assert book["Population"]["B2"].data_type == "s"
    assert rows[2] == ["c2", "+1 fix", None, 0]
    assert len(book.sheetnames[1]) == 31
