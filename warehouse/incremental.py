"""Incremental evaluation (issue 6.2): carry forward what the day's new data cannot have changed.

A control's results are a function of the relations it reads (raw tables, through the staging and
intermediate models) and of the evaluation parameters. So when a period was evaluated before with
the same configuration, a control none of whose raw tables received rows since that evaluation
started, and that does not read the evaluation time, has exactly the rows it had then: they are
copied into the new run instead of being recomputed. Every other control runs in full, so the run
equals a full evaluation (tests/flows/test_incremental_evaluation.py proves it on a generated org).

Not carried forward (always recomputed): controls reading `evaluated_at` (deadlines, freshness:
CM-15, CM-21, EV-01 and anything built on int_business_days_numbered) and, when any source is
stale in either run, everything (EV-01 rewrites passes after the controls ran).
"""
from __future__ import annotations

import json
import re
from datetime import datetime

import duckdb

from warehouse.models import MODELS_DIR, entity_unions, model_files

_MODEL = re.compile(r"\b((?:stg|int)_[a-z0-9_]+)\b")
_RAW = re.compile(r"\braw\.([a-z0-9_]+)\b")
TIME_DEPENDENT = re.compile(r"\bevaluated_at\b")


def _strip(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _model_sql() -> dict[str, str]:
    sql = {name: text for name, (_, text) in model_files().items()}
    sql.update(entity_unions([p.stem for p in (MODELS_DIR / "staging").glob("*.sql")]))
    return sql


def dependencies(control_sql: str, models: dict[str, str] | None = None) -> tuple[set[str], bool]:
    """(raw tables the SQL reads through every model, whether anything on the way reads evaluated_at)."""
    models = models if models is not None else _model_sql()
    raw: set[str] = set()
    timed = bool(TIME_DEPENDENT.search(_strip(control_sql)))
    seen: set[str] = set()
    pending = [_strip(control_sql)]
    while pending:
        text = pending.pop()
        raw |= set(_RAW.findall(text))
        for name in set(_MODEL.findall(text)) - seen:
            seen.add(name)
            if name in models:
                body = _strip(models[name])
                timed = timed or bool(TIME_DEPENDENT.search(body))
                pending.append(body)
    return raw, timed


def previous_run(con: duckdb.DuckDBPyConnection, period: str, config_hash: str) -> tuple[str, datetime] | None:
    """The period's latest run evaluated with the same configuration, and when it started."""
    return con.execute(
        "select run_id, started_at from evaluation_runs where period = ? and config_hash = ?"
        " order by finished_at desc limit 1", [period, config_hash]).fetchone()


def tables_loaded_since(con: duckdb.DuckDBPyConnection, since: datetime) -> set[str]:
    """Raw tables that received rows in loads after `since` (raw._manifests; quarantine included)."""
    from extractors.registry import raw_table_name

    changed: set[str] = set()
    for system, files, quarantined in con.execute(
            "select system, files, count_quarantined from raw._manifests where loaded_at >= ?", [since]).fetchall():
        for entry in json.loads(files or "[]"):
            if entry.get("records"):
                changed.add(raw_table_name(system, entry["stream"]).removeprefix("raw."))
        if quarantined:
            changed.add("quarantine")
    return changed


def carry_forward_plan(con: duckdb.DuckDBPyConnection, controls: list, period: str,
                       config_hash: str) -> tuple[str | None, set[str]]:
    """(previous run id, ids of the controls whose rows can be copied from it)."""
    previous = previous_run(con, period, config_hash)
    if previous is None:
        return None, set()
    run_id, started_at = previous
    stale = con.execute("select count(*) from control_results where run_id = ? and control_id = 'EV-01'"
                        " and status = 'fail'", [run_id]).fetchone()[0]
    if stale:
        return None, set()
    changed = tables_loaded_since(con, started_at)
    models = _model_sql()
    keep = set()
    for control in controls:
        raw, timed = dependencies(control.sql, models)
        if not timed and not (raw & changed):
            keep.add(control.control_id)
    return run_id, keep


def copy_results(con: duckdb.DuckDBPyConnection, control_id: str, previous_run_id: str, run_id: str,
                 evaluated_at: datetime) -> None:
    con.execute(
        "insert into control_results select ?, period, control_id, subject_type, subject_id, status, reason,"
        " evidence, ? from control_results where run_id = ? and control_id = ?",
        [run_id, evaluated_at, previous_run_id, control_id])
