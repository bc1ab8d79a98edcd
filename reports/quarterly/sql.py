"""Read-only queries of the quarterly report. Every one is scoped to one evaluation run.

Tables and columns read (the warehouse contract, warehouse/README.md):
  evaluation_runs   run_id, period, started_at, finished_at, config_hash, count_changes, count_results
  control_catalog   control_id, title, clause, subject_type
  run_results(run)  run_id, period, control_id, subject_type, subject_id, status, reason
                    (+ evidence, evaluated_at for the findings CSV)
  change_outcomes   run_id, period, change_id, repo, service, team, deployed_at, category,
                    ticket_number, is_emergency, is_rollback, outcome, failed_controls, reasons
                    (+ every column for the population CSV)
  raw._manifests    system, unit, run_id, started_at, finished_at, files (JSON list of
                    {stream, path, sha256, records}), loaded_at
  raw.quarantine    _run_id, system, stream, reason
  int_deployments_unioned          deployment_id, environment       (tie-out)
  int_deployment_statuses_unioned  deployment_id, state, created_at (tie-out)
  int_incidents_unioned         priority, status, created_at, resolved_at
Timestamps are converted to naive UTC in SQL so Python never depends on the session time zone.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from reports.document import Period, ReportError

Row = dict[str, Any]

_FILES_TYPE = '[{"stream": "VARCHAR", "path": "VARCHAR", "sha256": "VARCHAR", "records": "BIGINT"}]'


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[Row]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def _bounds(period: Period) -> list[datetime]:
    return [period.start, period.end]


# --- the evaluation run ----------------------------------------------------------------------

_RUN_SQL = """
    select run_id, period, timezone('UTC', started_at) as started_at,
           timezone('UTC', finished_at) as finished_at, config_hash, count_changes, count_results
    from evaluation_runs
"""


def evaluation_run(con, period: Period, run_id: str | None) -> Row:
    """The given run, else the period's sealed run (warehouse/sealing.py), else its latest finished run."""
    if run_id is None:
        has_seals = rows(con, "select 1 from duckdb_tables() where table_name = 'sealed_periods'")
        sealed = rows(con, "select run_id from sealed_periods where period = ? order by sealed_at limit 1",
                      [period.key]) if has_seals else []
        found = rows(con, _RUN_SQL + " where run_id = ?", [sealed[0]["run_id"]]) if sealed else []
        found = found or rows(con, _RUN_SQL + " where period = ? and finished_at is not null"
                              " order by finished_at desc, run_id desc limit 1", [period.key])
        if not found:
            raise ReportError(f"no finished evaluation run for {period.key}: run `reconcile` first")
        return found[0]
    found = rows(con, _RUN_SQL + " where run_id = ?", [run_id])
    if not found:
        raise ReportError(f"evaluation run {run_id!r} does not exist")
    if found[0]["period"] != period.key:
        raise ReportError(f"evaluation run {run_id!r} evaluated {found[0]['period']}, not {period.key}")
    return found[0]


# --- changes and outcomes --------------------------------------------------------------------

def outcome_counts(con, run_id: str, period: Period) -> list[Row]:
    return rows(con, """
        select coalesce(category, 'unknown') as category, outcome,
               coalesce(is_emergency, false) as is_emergency, count(*) as n
        from change_outcomes where run_id = ? and period = ?
        group by all""", [run_id, period.key])


def scope_counts(con, run_id: str, period: Period) -> Row:
    return rows(con, """
        select count(distinct repo) as repos, count(distinct service) as services,
               count(distinct team) as teams
        from change_outcomes where run_id = ? and period = ?""", [run_id, period.key])[0]


_CHANGE_COLUMNS = """
    change_id, coalesce(service, repo, '') as service, coalesce(team, '') as team,
    timezone('UTC', deployed_at) as deployed_at, coalesce(category, 'unknown') as category,
    ticket_number, outcome, coalesce(failed_controls, []) as failed_controls,
    coalesce(reasons, []) as reasons
"""


def changes_where(con, run_id: str, period: Period, where: str, order: str,
                  limit: int | None = None) -> list[Row]:
    sql = (f"select {_CHANGE_COLUMNS} from change_outcomes where run_id = ? and period = ?"
           f" and ({where}) order by {order}")
    if limit is not None:
        sql += f" limit {int(limit)}"
    return rows(con, sql, [run_id, period.key])


def violating_changes(con, run_id: str, period: Period, limit: int) -> list[Row]:
    """Violations ordered like the tables above them: teams, then services, by most violations."""
    return rows(con, f"""
        with v as (
            select {_CHANGE_COLUMNS},
                   count(*) over (partition by coalesce(team, '')) as team_violations,
                   count(*) over (partition by coalesce(team, ''), coalesce(service, repo, ''))
                       as service_violations
            from change_outcomes
            where run_id = ? and period = ? and outcome = 'violation'
        )
        select * from v
        order by team_violations desc, team, service_violations desc, service, deployed_at, change_id
        limit {int(limit)}""", [run_id, period.key])


def register_exceptions(con, run_id: str, change_ids: list[str]) -> list[Row]:
    """Exceptions-register entries the run applied to these changes' failures (warehouse/exceptions.py);
    none when the warehouse predates the register."""
    if not change_ids or not rows(con, "select 1 from duckdb_tables() where table_name = 'result_exceptions'"):
        return []
    return rows(con, """
        select subject_id, control_id, exception_id, justification, approver,
               timezone('UTC', expires_at) as expires_at
        from result_exceptions where run_id = ? and list_contains(?, subject_id)
        order by subject_id, control_id, exception_id""", [run_id, change_ids])


def results_for(con, run_id: str, control_ids: list[str], subjects_where: str) -> list[Row]:
    """Results of some controls for the changes selected by `subjects_where`."""
    return rows(con, f"""
        select subject_id, control_id, status, reason from run_results(?)
        where list_contains(?, control_id)
          and subject_id in (select change_id from change_outcomes
                             where run_id = ? and ({subjects_where}))""",
                [run_id, control_ids, run_id])


# --- controls --------------------------------------------------------------------------------

def control_stats(con, run_id: str, period: Period) -> list[Row]:
    """One row per control of the catalog (plus any control with results but no catalog row)."""
    return rows(con, """
        with results as (
            select control_id,
                   count(*) as subjects,
                   count(*) filter (where status = 'pass') as passes,
                   count(*) filter (where status = 'fail') as fails,
                   count(*) filter (where status = 'error') as errors,
                   count(*) filter (where status = 'not_applicable') as not_applicable,
                   count(distinct subject_id) as distinct_subjects,
                   any_value(subject_type) as result_subject_type
            from run_results(?) where period = ?
            group by control_id
        )
        select coalesce(c.control_id, r.control_id) as control_id,
               coalesce(c.title, '(not in the control catalog)') as title,
               coalesce(c.clause, '') as clause,
               coalesce(c.subject_type, r.result_subject_type, '') as subject_type,
               coalesce(r.subjects, 0) as subjects, coalesce(r.passes, 0) as passes,
               coalesce(r.fails, 0) as fails, coalesce(r.errors, 0) as errors,
               coalesce(r.not_applicable, 0) as not_applicable,
               coalesce(r.distinct_subjects, 0) as distinct_subjects
        from control_catalog c full outer join results r on r.control_id = c.control_id""",
                [run_id, period.key])


def change_subjects_per_control(con, run_id: str, period: Period) -> list[Row]:
    """How many of the population's changes each change control returned a result for."""
    return rows(con, """
        select c.control_id, count(distinct r.subject_id) as covered
        from control_catalog c
        left join run_results(?) r
          on r.control_id = c.control_id and r.period = ?
         and r.subject_id in (select change_id from change_outcomes where run_id = ? and period = ?)
        where c.subject_type = 'change'
        group by c.control_id order by c.control_id""", [run_id, period.key, run_id, period.key])


# --- violations by team and service ----------------------------------------------------------

def team_counts(con, run_id: str, period: Period) -> list[Row]:
    return rows(con, """
        select coalesce(team, '(no team)') as team, count(*) as changes,
               count(*) filter (where outcome = 'violation') as violations,
               count(distinct service) filter (where outcome = 'violation') as services
        from change_outcomes where run_id = ? and period = ?
        group by all order by violations desc, changes desc, team""", [run_id, period.key])


def service_counts(con, run_id: str, period: Period) -> list[Row]:
    return rows(con, """
        with changes as (
            select coalesce(team, '(no team)') as team, coalesce(service, repo, '') as service, *
                   exclude (team, service)
            from change_outcomes where run_id = ? and period = ?
        ),
        per_service as (
            select team, service, count(*) as changes,
                   count(*) filter (where outcome = 'violation') as violations
            from changes group by team, service
        ),
        failed as (
            select team, service, unnest(failed_controls) as control_id
            from changes where outcome = 'violation'
        ),
        per_control as (
            select team, service, control_id, count(*) as n from failed
            group by team, service, control_id
        ),
        ranked as (
            select *, row_number() over (partition by team, service
                                         order by n desc, control_id) as rank
            from per_control
        )
        select p.*, r.control_id as top_control, r.n as top_control_count
        from per_service p
        left join ranked r on r.team = p.team and r.service = p.service and r.rank = 1
        where p.violations > 0
        order by p.violations desc, p.team, p.service""", [run_id, period.key])


# --- incidents -------------------------------------------------------------------------------

def incidents_by_priority(con, period: Period) -> list[Row]:
    return rows(con, """
        select coalesce(priority, '') as priority, count(*) as incidents,
               count(*) filter (where resolved_at is not null or status = 'resolved') as resolved
        from int_incidents_unioned
        where created_at >= ?::timestamptz and created_at < ?::timestamptz
        group by all order by priority""", _bounds(period))


# --- how the population was obtained ---------------------------------------------------------

def _manifest_cutoff(run: Row) -> tuple[str, list]:
    """Manifests loaded before the evaluation started are the ones it evaluated."""
    cutoff: datetime | None = run.get("started_at") or run.get("finished_at")
    if cutoff is None:
        return "true", []
    return "loaded_at <= ?::timestamptz", [f"{cutoff.isoformat(sep=' ')}+00"]


def manifest_files(con, run: Row) -> list[Row]:
    where, params = _manifest_cutoff(run)
    return rows(con, f"""
        with m as (
            select system, run_id, timezone('UTC', started_at) as started_at,
                   timezone('UTC', finished_at) as finished_at,
                   unnest(from_json(coalesce(files, '[]'), '{_FILES_TYPE}')) as f
            from raw._manifests where {where}
        )
        select system, f.stream as stream, run_id, started_at, finished_at,
               f.sha256 as sha256, coalesce(f.records, 0) as records, f.path as path
        from m order by system, stream, finished_at, path""", params)


def manifest_scope(con, run: Row) -> Row:
    where, params = _manifest_cutoff(run)
    return rows(con, f"""
        select list(distinct system order by system) as systems,
               count(distinct unit) filter (where system = 'github') as github_units
        from raw._manifests where {where}""", params)[0]


def quarantine_counts(con, run: Row) -> list[Row]:
    where, params = _manifest_cutoff(run)
    return rows(con, f"""
        select system, stream, reason, count(*) as n from raw.quarantine
        where _run_id in (select run_id from raw._manifests where {where})
        group by all order by system, stream, n desc, reason""", params)


def ev03_results(con, run_id: str) -> list[Row]:
    return rows(con, """select subject_id, status, reason from run_results(?)
                        where control_id = 'EV-03'""", [run_id])


def production_deployments_in_period(con, period: Period,
                                     environments: list[str]) -> tuple[int | None, str]:
    """Source-side count for the tie-out; (None, why) when the staging views are not there."""
    try:
        found = rows(con, """
            with first_success as (
                select source_system, deployment_id, min(created_at) as succeeded_at
                from int_deployment_statuses_unioned where state = 'success'
                group by all
            )
            select count(*) as n
            from int_deployments_unioned d
            join first_success f on f.source_system = d.source_system and f.deployment_id = d.deployment_id
            where list_contains(?, d.environment)
              and f.succeeded_at >= ?::timestamptz and f.succeeded_at < ?::timestamptz""",
                     [environments, *_bounds(period)])
    except duckdb.CatalogException as exc:
        return None, f"deployment views not available ({str(exc).splitlines()[0]})"
    return int(found[0]["n"]), ""
