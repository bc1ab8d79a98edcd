"""CSV companions of a report: the full population and the findings of one evaluation run.

The PDF holds summaries and capped lists; these files hold every row. Lists are joined with
" | ", timestamps are ISO 8601 UTC, and text cells that a spreadsheet would run as a formula
(starting with = + - @, tab or carriage return) are prefixed with an apostrophe: source-system
text is data, never code, in the PDF and in Excel alike.
"""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from reports.atomic import atomic_open

POPULATION_COLUMNS = (
    "run_id", "period", "change_id", "repo", "service", "team", "deployment_id", "deployment_url",
    "sha", "deployed_at", "deployer_login", "deployer_person_id", "category", "ticket_number",
    "ticket_url", "is_emergency", "is_rollback", "is_baseline", "outcome", "failed_controls",
    "reasons", "exception_ids",
)
FINDING_COLUMNS = ("run_id", "period", "control_id", "subject_type", "subject_id", "status",
                   "reason", "evidence", "evaluated_at", "exception")
_ISO = "'%Y-%m-%dT%H:%M:%SZ'"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = " | ".join("" if v is None else str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write(cursor: duckdb.DuckDBPyConnection, columns: tuple[str, ...], out_path: Path) -> Path:
    out_path = Path(out_path)
    with atomic_open(out_path, "w", encoding="utf-8", newline="") as fh:    # never half a file
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        while batch := cursor.fetchmany(5000):
            writer.writerows([_cell(v) for v in row] for row in batch)
    return out_path


def write_population_csv(con: duckdb.DuckDBPyConnection, run_id: str, period: str,
                         out_path: Path) -> Path:
    """Every change of the run's population, one row each, in deployment order."""
    select = ", ".join(
        f"strftime(timezone('UTC', {c}), {_ISO}) as {c}" if c == "deployed_at" else c
        for c in POPULATION_COLUMNS)
    cursor = con.execute(
        f"select {select} from change_outcomes where run_id = ? and period = ?"
        " order by deployed_at, change_id", [run_id, period])
    return _write(cursor, POPULATION_COLUMNS, out_path)


def write_findings_csv(con: duckdb.DuckDBPyConnection, run_id: str, period: str,
                       out_path: Path) -> Path:
    """Every control result with status fail or error, with its evidence as JSON text and the
    exceptions-register entry covering it (`<id>: <justification>`, warehouse/exceptions.py)."""
    cursor = con.execute(
        f"""select r.run_id, r.period, r.control_id, r.subject_type, r.subject_id, r.status, r.reason,
                   r.evidence::varchar, strftime(timezone('UTC', r.evaluated_at), {_ISO}),
                   x.exception_id || ': ' || x.justification
            from run_results(?) r
            left join result_exceptions x
                on x.run_id = r.run_id and x.control_id = r.control_id and x.subject_id = r.subject_id
            where r.period = ? and r.status in ('fail', 'error')
            order by r.control_id, r.subject_id""", [run_id, period])
    return _write(cursor, FINDING_COLUMNS, out_path)
