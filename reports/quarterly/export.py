"""The quarterly report's XLSX workbook: the same data as its CSVs, plus the tables an analyst
filters — one sheet each for the population, the findings, the per-control statistics and the
four-quarter trend.

The Population and Findings sheets are read back from the CSV companions just written, so the
workbook and the CSVs cannot disagree: the same rows, in the same order, with the same text.
The only difference is the CSV's formula guard — a leading apostrophe before text that starts
with = + - @ — which the workbook does not need: reports/xlsx.py stores text as inline
string cells, never formulas (and writes 50,000 rows in about a second).
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from reports.quarterly.model import QuarterlyContext
from reports.xlsx import write_xlsx

CONTROL_COLUMNS = ("control_id", "title", "policy_clause", "subject_type", "population",
                   "passes", "fails", "errors", "not_applicable", "failure_rate")
TREND_COLUMNS = ("period", "run_id", "basis", "population", "compliant", "exception",
                 "violation", "violation_rate", "emergency_changes",
                 "emergency_changes_not_closed_out")
_GUARDED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def csv_rows(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """Header and rows of a CSV companion, with the spreadsheet formula guard taken off."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))

    def rows() -> Iterator[list[str]]:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for row in reader:
                yield [v[1:] if v.startswith(_GUARDED) else v for v in row]
    return header, rows()


def write_quarterly_xlsx(con, context: QuarterlyContext, path: Path) -> Path:
    """`<stem>-quarterly.xlsx` next to the CSV companions (which must be written first)."""
    out_dir = Path(path).parent
    controls = [(c.control_id, c.title, c.clause, c.subject_type, c.population, c.passes,
                 c.fails, c.errors, c.not_applicable, c.failure_rate) for c in context.controls]
    trends = [(r.period_key, r.run_id, r.basis, r.population, r.compliant, r.exception,
               r.violation, r.violation_rate, r.emergencies, r.emergency_violations)
              for r in context.trends.rows]
    return write_xlsx(path, {
        "Population": csv_rows(out_dir / context.attachments.population_csv),
        "Findings": csv_rows(out_dir / context.attachments.findings_csv),
        "Controls": (CONTROL_COLUMNS, controls),
        "Trends": (TREND_COLUMNS, trends),
    })
