"""Incremental evaluation (issues 6.2 and 7): recompute only what the day's new data can change.

Two levels, both keyed by digests of what is read (warehouse/models.InputState):

- models: `build_models(reuse=True)` rebuilds a staging table only when its raw tables received
  rows (or lost some to retention), and an intermediate table only when a model it reads changed
  its rows or a parameter it names changed. A rebuilt table whose rows are the same (re-sent
  records) leaves what reads it as it is.
- controls: a control's inputs digest covers its SQL, the output digests of the models it reads,
  the raw and parameter tables and the eval_params columns it names (`evaluated_at` included, so
  deadline and freshness controls run whenever the evaluation time moves). It is stored per run in
  `control_inputs`; a control whose digest equals the one of the period's previous run with the
  same configuration has exactly that run's rows, which are copied instead of recomputed (then,
  like every row of the run, stored only where they differ from the base run's:
  warehouse/results_store.py).

When a source was stale in the previous run nothing is copied (EV-01 rewrote its passes after the
controls ran). The run equals a full evaluation: tests/flows/test_incremental_evaluation.py proves
it on a generated organization for several kinds of day.
"""
from __future__ import annotations

import re
from datetime import datetime

import duckdb

from warehouse.models import MODELS_DIR, InputState, entity_unions, model_files, output_digests, relations

_MODEL = re.compile(r"\b((?:stg|int)_[a-z0-9_]+)\b")
_RAW = re.compile(r"\braw\.([a-z0-9_]+)\b")
TIME_DEPENDENT = re.compile(r"\bevaluated_at\b")


def _strip(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def models_named(sql: str) -> set[str]:
    """The staging and intermediate models a SQL text names (comments ignored)."""
    return set(_MODEL.findall(_strip(sql)))


def model_sql() -> dict[str, str]:
    sql = {name: text for name, (_, text) in model_files().items()}
    sql.update(entity_unions([p.stem for p in (MODELS_DIR / "staging").glob("*.sql")]))
    return sql


def dependencies(control_sql: str, models: dict[str, str] | None = None) -> tuple[set[str], bool]:
    """(raw tables the SQL reads through every model, whether anything on the way reads evaluated_at):
    a control's lineage, for explanations; the carry-forward itself compares digests."""
    models = models if models is not None else model_sql()
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


CONTROL_INPUTS = "control_inputs"


def control_digests(con: duckdb.DuckDBPyConnection, controls: list) -> dict[str, str]:
    """control_id -> digest of everything the control reads, as the models stand now."""
    outputs = output_digests(con)
    state = InputState(con, set(relations(con)) - set(outputs))
    return {c.control_id: state.digest(c.control_id, "control", c.sql, outputs) for c in controls}


def carry_forward_plan(con: duckdb.DuckDBPyConnection, controls: list, period: str, config_hash: str,
                       digests: dict[str, str] | None = None) -> tuple[str | None, set[str]]:
    """(previous run id, ids of the controls whose rows can be copied from it)."""
    con.execute(f"create table if not exists {CONTROL_INPUTS}"
                " (run_id VARCHAR, control_id VARCHAR, inputs_digest VARCHAR)")
    previous = previous_run(con, period, config_hash)
    if previous is None:
        return None, set()
    run_id = previous[0]
    stale = con.execute("select count(*) from run_results(?) where control_id = 'EV-01'"
                        " and status = 'fail'", [run_id]).fetchone()[0]
    if stale:
        return None, set()
    digests = digests if digests is not None else control_digests(con, controls)
    before = dict(con.execute(f"select control_id, inputs_digest from {CONTROL_INPUTS} where run_id = ?",
                              [run_id]).fetchall())
    return run_id, {control_id for control_id, digest in digests.items() if before.get(control_id) == digest}


def record_digests(con: duckdb.DuckDBPyConnection, run_id: str, digests: dict[str, str]) -> None:
    """Store the run's control digests (inside the run's transaction: a run is recorded with them)."""
    con.execute(f"create table if not exists {CONTROL_INPUTS}"
                " (run_id VARCHAR, control_id VARCHAR, inputs_digest VARCHAR)")
    con.executemany(f"insert into {CONTROL_INPUTS} values (?, ?, ?)",
                    [(run_id, control_id, digest) for control_id, digest in sorted(digests.items())])
