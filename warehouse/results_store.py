"""A run's control results, stored by reference to an earlier run of the same period.

A daily run of a quarter evaluates every change of the quarter, about a million rows on a large
organization, and differs from the run before it in about one row in a hundred. Every run is kept
(an auditor can read any of them, a sealed quarter pins one), so storing each in full would add a
million rows a day to `control_results` and cost the daily run its largest write.

How a run is stored:

- During the evaluation its rows are built in the temporary table `_run_results` (WORKING): the
  controls insert into it, EV-01 marks stale passes in it, the exceptions register and the
  outcomes read it. Nothing in `control_results` is touched until the run is stored, inside the
  run's transaction.
- `store_run` compares it with its base: the period's latest finished run, or that run's own base
  when it is stored by reference (so a base is always stored in full and reading a run is one
  anti-join, never a chain). Subjects are keyed by (control_id, subject_type, subject_id).
  - stored in full, `evaluation_runs.results_base` null: the period's first run, a run whose subject
    keys (or its base's) are not unique, or one differing from its base in more than
    FULL_FRACTION of its rows;
  - by reference, `results_base` = the base's run_id: `control_results` receives the rows that are
    new or differ in period, status, reason or evidence; `control_result_removals` the keys the
    base has and the run does not.
- Read a run with the table macro `run_results(run_id)` (schema.MACROS), never from
  `control_results` directly: it returns every row of the run, with its own run_id and
  evaluated_at, whichever way it was stored. evaluation_runs.count_results is the run's row count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

WORKING = "_run_results"
# a run differing from its base in more rows than this share of its own is stored in full: it
# bounds what a read of a run pays for the anti-join, and starts a new base as a quarter grows
FULL_FRACTION = 0.25

RUN_RESULTS_MACRO = """create or replace macro run_results(rid) as table
    select r.run_id, r.period, r.control_id, r.subject_type, r.subject_id, r.status, r.reason, r.evidence,
           r.evaluated_at
    from control_results r where r.run_id = rid
    union all
    select rid, b.period, b.control_id, b.subject_type, b.subject_id, b.status, b.reason, b.evidence,
           run.evaluated_at
    from evaluation_runs run
    join control_results b on b.run_id = run.results_base
    where run.run_id = rid
      and not exists (select 1 from control_results d where d.run_id = rid and d.control_id = b.control_id
                      and d.subject_type = b.subject_type and d.subject_id = b.subject_id)
      and not exists (select 1 from control_result_removals x where x.run_id = rid
                      and x.control_id = b.control_id and x.subject_type = b.subject_type
                      and x.subject_id = b.subject_id)"""


@dataclass(frozen=True)
class Stored:
    count_results: int          # rows of the run
    count_stored: int           # rows written to control_results
    count_removed: int          # keys of the base the run does not have
    base: str | None            # results_base: the run stored by reference to it, or None (in full)


def ensure_readable(con: duckdb.DuckDBPyConnection) -> None:
    """For read-only connections, which do not run the schema: a warehouse last written before
    run_results existed (upgraded code, nothing evaluated since) stores every run in full, so the
    macro there is a temporary one over control_results alone."""
    if con.execute("select count(*) from duckdb_functions() where function_name = 'run_results'").fetchone()[0]:
        return
    con.execute("create or replace temp macro run_results(rid) as table"
                " select * from control_results where run_id = rid")


def start_run(con: duckdb.DuckDBPyConnection) -> None:
    """An empty working table with control_results' columns, for the run about to be evaluated."""
    con.execute(f"create or replace temp table {WORKING} as select * from control_results limit 0")


def base_run(con: duckdb.DuckDBPyConnection, period: str) -> str | None:
    """The run stored in full that the period's latest finished run is, or refers to."""
    row = con.execute(
        "select coalesce(results_base, run_id) from evaluation_runs where period = ? and finished_at is not null"
        " order by finished_at desc limit 1", [period]).fetchone()
    return row[0] if row else None


_DIFF = f"""
create or replace temp table _run_results_diff as
select coalesce(n.control_id, o.control_id) as control_id, coalesce(n.subject_type, o.subject_type) as subject_type,
       coalesce(n.subject_id, o.subject_id) as subject_id,
       n.subject_id is not null as in_run, o.subject_id is not null as in_base
from {WORKING} n
full outer join (select period, control_id, subject_type, subject_id, status, reason, evidence
                 from control_results where run_id = $base) o
    on n.control_id = o.control_id and n.subject_type = o.subject_type and n.subject_id = o.subject_id
where n.subject_id is null or o.subject_id is null
   or n.period is distinct from o.period or n.status is distinct from o.status
   or n.reason is distinct from o.reason or n.evidence::varchar is distinct from o.evidence::varchar
"""


def store_run(con: duckdb.DuckDBPyConnection, run_id: str, period: str) -> Stored:
    """Write the working table as run `run_id` (inside the caller's transaction)."""
    total = con.execute(f"select count(*) from {WORKING}").fetchone()[0]
    base = base_run(con, period)
    if base is not None:
        con.execute(_DIFF, {"base": base})
        changed, removed = con.execute(
            "select count(*) filter (where in_run), count(*) filter (where not in_run) from _run_results_diff").fetchone()
        if changed + removed <= FULL_FRACTION * total and _unique_keys(con, base):
            con.execute(f"insert into control_results select * from {WORKING} n"
                        " semi join (select * from _run_results_diff where in_run) d using (control_id, subject_type, subject_id)")
            con.execute("insert into control_result_removals select ?, control_id, subject_type, subject_id"
                        " from _run_results_diff where not in_run", [run_id])
            con.execute("drop table _run_results_diff")
            return Stored(total, changed, removed, base)
        con.execute("drop table _run_results_diff")
    con.execute(f"insert into control_results select * from {WORKING}")
    return Stored(total, total, 0, None)


def _unique_keys(con: duckdb.DuckDBPyConnection, base: str) -> bool:
    """Each key occurs once in the run and once in its base (compared by hash: a collision only
    makes the run stored in full). With duplicates, a subject the run repeats identically would be
    read back once."""
    distinct = "count(*) = count(distinct hash(control_id, subject_type, subject_id))"
    return (con.execute(f"select {distinct} from {WORKING}").fetchone()[0]
            and con.execute(f"select {distinct} from control_results where run_id = ?", [base]).fetchone()[0])


def copy_from_run(con: duckdb.DuckDBPyConnection, control_ids: list[str], previous_run_id: str, run_id: str,
                  evaluated_at: datetime) -> None:
    """The working table receives some controls' rows of an earlier run (incremental carry-forward),
    in one read of that run."""
    con.execute(
        f"insert into {WORKING} select ?, period, control_id, subject_type, subject_id, status, reason,"
        " evidence, ? from run_results(?) where list_contains(?, control_id)",
        [run_id, evaluated_at, previous_run_id, control_ids])
