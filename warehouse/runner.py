"""Evaluate a period: build the models, run every control, decide each change's outcome.

Each evaluation is a run with its own `run_id`; results are appended, never overwritten, so an
earlier run of a period stays readable (and a sealed quarter can pin one).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import yaml

from extractors.registry import ALL_STREAMS
from flows.config import Config
from warehouse.exceptions import apply_exceptions, read_register, record_register
from warehouse.models import build_models
from warehouse.periods import Period, parse_period
from warehouse.sealing import check_not_sealed, next_version, sealed_run_id

CONTROLS_DIR = Path(__file__).parent / "controls"

# §5: gates an emergency change may bypass, provided CM-14..CM-16 hold.
EMERGENCY_BYPASSABLE = ("CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10")
EMERGENCY_CLOSE_OUT = ("CM-14", "CM-15", "CM-16")


@dataclass(frozen=True)
class Control:
    control_id: str
    slug: str
    title: str
    clause: str
    severity: str
    subject_type: str
    description: str
    sql: str
    sources: tuple[str, ...] = ()  # systems whose staleness (EV-01) turns this control's passes into errors


def load_controls(directory: Path = CONTROLS_DIR) -> list[Control]:
    """Every control: a `.sql` file and the `.yml` beside it with the same name."""
    controls = []
    for sql_path in sorted(directory.glob("*.sql")):
        meta_path = sql_path.with_suffix(".yml")
        if not meta_path.exists():
            raise FileNotFoundError(f"{sql_path} has no metadata file {meta_path.name}")
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
        controls.append(Control(
            control_id=meta["id"], slug=meta["slug"], title=meta["title"], clause=str(meta["clause"]),
            severity=meta["severity"], subject_type=meta["subject_type"],
            description=" ".join(str(meta["description"]).split()),
            sql=sql_path.read_text(encoding="utf-8"), sources=tuple(meta.get("sources") or ()),
        ))
    return controls


def write_parameters(con: duckdb.DuckDBPyConnection, config: Config, period: Period,
                     evaluated_at: datetime) -> None:
    """The evaluation's inputs as tables the SQL can read: period, policy, team map, streams."""
    policy = config.policy
    con.execute("""
        create or replace table eval_params as select
            ?::varchar as period, ?::timestamptz as period_start, ?::timestamptz as period_end,
            ?::timestamptz as evaluated_at,
            ?::varchar[] as production_environments, ?::varchar[] as staging_environments,
            ?::varchar as ticket_key_pattern, ?::varchar[] as required_checks,
            ?::integer as min_reviewers, ?::varchar[] as senior_roles,
            ?::varchar[] as blocking_severities, ?::integer as emergency_documentation_hours,
            ?::integer as emergency_review_business_days, ?::date[] as holidays,
            ?::varchar[] as rollback_incident_priorities, ?::integer as rollback_incident_window_hours,
            ?::varchar as post_incident_review_marker, ?::varchar[] as rollback_tasks,
            ?::varchar[] as pipeline_identities, ?::integer as runtime_change_window_minutes,
            ?::varchar[] as runtime_excluded_resources, ?::varchar[] as runtime_ignored_identities,
            map(?::varchar[], ?::varchar[]) as rollback_plan_parts, ?::integer as closing_deadline_days
    """, [
        period.name, period.start, period.end, evaluated_at,
        config.environments("production"), config.environments("staging"),
        policy.ticket_key_pattern, policy.required_checks, policy.min_reviewers,
        policy.senior_roles, policy.blocking_severities, policy.emergency_documentation_hours,
        policy.emergency_review_business_days, policy.holidays,
        policy.rollback_incident_priorities, policy.rollback_incident_window_hours,
        policy.post_incident_review_marker, policy.rollback_tasks,
        policy.pipeline_identities, policy.runtime_change_window_minutes,
        policy.runtime_excluded_resources, policy.runtime_ignored_identities,
        list(policy.rollback_plan_parts), list(policy.rollback_plan_parts.values()), policy.closing_deadline_days,
    ])
    write_policy_parameters(con, config)
    con.execute("create or replace table repo_teams (repo VARCHAR, team VARCHAR)")
    if config.teams:
        con.executemany("insert into repo_teams values (?, ?)", sorted(config.teams.items()))
    con.execute("create or replace table source_streams (system VARCHAR, stream VARCHAR)")
    configured = {name for name, source in config.sources if source is not None}
    streams = [s for s in ALL_STREAMS if s[0] in configured]
    if streams:
        con.executemany("insert into source_streams values (?, ?)", streams)


def write_policy_parameters(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """The tunable policy beyond the numbers above: approver roles, category recognition per ticket
    system, emergency roles, schedule (CM-13), sensitive paths (CM-18); source freshness (EV-01) and
    the onboarded repositories (EV-02)."""
    policy = config.policy
    con.execute("""
        create or replace table eval_params as select eval_params.*,
            ?::varchar[] as normal_approver_roles, ?::varchar[] as major_approver_roles,
            ?::varchar[] as emergency_verbal_approver_roles, ?::varchar[] as emergency_signoff_roles,
            ?::varchar[] as security_approver_roles, ?::json as sensitive_paths,
            ?::varchar as schedule_time_zone,
            ?::varchar[] as maintenance_windows, ?::varchar[] as peak_hours, ?::integer as notice_hours
        from eval_params
    """, [
        policy.approvers.normal, policy.approvers.major,
        policy.emergency_verbal_approver_roles, policy.emergency_signoff_roles,
        policy.security_approver_roles, json.dumps(policy.sensitive_paths),
        policy.schedule.time_zone,
        policy.schedule.maintenance_windows, policy.schedule.peak_hours, policy.schedule.notice_hours,
    ])
    con.execute("create or replace table ticket_categories"
                " (system VARCHAR, type VARCHAR, category VARCHAR, major_risks VARCHAR[])")
    rules = [(system, kind.lower(), category, rule.major_risks)
             for system, rule in policy.categories for kind, category in rule.types.items()]
    if rules:
        con.executemany("insert into ticket_categories values (?, ?, ?, ?)", rules)
    con.execute("create or replace table source_freshness (system VARCHAR, freshness_hours DOUBLE)")
    fresh = [(name, source.freshness_hours) for name, source in config.sources if source is not None]
    if fresh:
        con.executemany("insert into source_freshness values (?, ?)", fresh)
    con.execute("create or replace table onboarded_repos (repo VARCHAR)")
    listed = sorted({*(config.sources.github.repos if config.sources.github else []),
                     *(config.sources.gitlab.projects if config.sources.gitlab else []), *config.teams})
    if listed:
        con.executemany("insert into onboarded_repos values (?)", [(r,) for r in listed])


STALE_SQL = """
update control_results set status = 'error', reason = $reason
where run_id = $run_id and control_id = $control_id and status = 'pass'
"""


def mark_stale_evidence(con: duckdb.DuckDBPyConnection, controls: list[Control], run_id: str) -> None:
    """EV-01: a control that read a stale source cannot pass; its passes become errors."""
    stale = con.execute(
        "select subject_id, reason from control_results where run_id = ? and control_id = 'EV-01'"
        " and status = 'fail' order by subject_id", [run_id]).fetchall()
    if not stale:
        return
    for control in controls:
        hits = [reason for system, reason in stale if system in control.sources]
        if hits:
            con.execute(STALE_SQL, {"run_id": run_id, "control_id": control.control_id,
                                    "reason": "evidence stale: " + "; ".join(hits)})


def write_catalog(con: duckdb.DuckDBPyConnection, controls: list[Control]) -> None:
    con.execute("delete from control_catalog")
    con.executemany(
        "insert into control_catalog values (?, ?, ?, ?, ?, ?, ?)",
        [(c.control_id, c.slug, c.title, c.clause, c.severity, c.subject_type, c.description)
         for c in controls],
    )


def control_rows(con: duckdb.DuckDBPyConnection, control: Control) -> list[tuple]:
    """The control's rows (subject_id, status, reason, evidence) without storing them."""
    try:
        return con.execute(f"select subject_id, status, reason, evidence from ({control.sql})").fetchall()
    except duckdb.Error as exc:
        raise RuntimeError(f"control {control.control_id} ({control.slug}) failed: {exc}") from exc


def store_control(con: duckdb.DuckDBPyConnection, control: Control, run_id: str, period: str,
                  evaluated_at: datetime) -> None:
    """Append the control's whole population to control_results; a SQL error names the control."""
    try:
        con.execute(
            f"""insert into control_results
                select ?, ?, ?, ?, subject_id, status, reason, evidence, ?
                from ({control.sql})""",
            [run_id, period, control.control_id, control.subject_type, evaluated_at],
        )
    except duckdb.Error as exc:
        raise RuntimeError(f"control {control.control_id} ({control.slug}) failed: {exc}") from exc


OUTCOMES_SQL = """
insert into change_outcomes
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
results as (select * from control_results where run_id = $run_id and subject_type = 'change'),
-- failures covered by the exceptions register (warehouse/exceptions.py) keep their status
excepted as (select control_id, subject_id, exception_id from result_exceptions where run_id = $run_id),
failures as (
    select results.subject_id as change_id,
           list(results.control_id order by results.control_id) as failed_controls,
           list(results.control_id || ': ' || coalesce(results.reason, results.status)
                || coalesce(' [exception ' || excepted.exception_id || ']', '') order by results.control_id) as reasons,
           bool_and(excepted.exception_id is not null) as all_excepted,
           bool_and(excepted.exception_id is not null or list_contains($bypassable, results.control_id)) as all_bypassable,
           list_sort(list_distinct(list(excepted.exception_id))) as exception_ids
    from results
    left join excepted using (control_id, subject_id)
    where results.status in ('fail', 'error') group by results.subject_id
),
close_out as (
    select subject_id as change_id, count(*) filter (where status = 'pass') = len($close_out) as is_closed_out
    from results where list_contains($close_out, control_id) group by subject_id
)
select
    $run_id, $period, changes.change_id, changes.repo, changes.service, changes.team,
    changes.deployment_id, changes.deployment_url, changes.sha, changes.deployed_at,
    changes.deployer_login, changes.accountable_person_id, tickets.category, tickets.ticket_number,
    tickets.ticket_url, coalesce(tickets.is_emergency, false), changes.is_rollback, changes.is_baseline,
    case
        when failures.change_id is null then 'compliant'
        when failures.all_excepted then 'exception'
        when coalesce(tickets.is_emergency, false) and coalesce(close_out.is_closed_out, false)
             and failures.all_bypassable then 'exception'
        else 'violation'
    end,
    coalesce(failures.failed_controls, []), coalesce(failures.reasons, []),
    coalesce(failures.exception_ids, [])::varchar[]
from changes
left join tickets using (change_id)
left join failures using (change_id)
left join close_out using (change_id)
"""


def evaluate(con: duckdb.DuckDBPyConnection, config: Config, period: str,
             evaluated_at: datetime | None = None, on_control=None, reevaluate: bool = False) -> str:
    """Run every control for `period`; returns the new run_id.

    A sealed period (warehouse/sealing.py) is refused unless `reevaluate`: the re-evaluation is a
    new run, versioned and naming the sealed run it supersedes; the sealed run stays the period's."""
    parsed = parse_period(period)
    started = datetime.now(timezone.utc)
    evaluated_at = evaluated_at or started
    supersedes = check_not_sealed(con, parsed.name, reevaluate)
    version = next_version(con, parsed.name)
    run_id = f"eval-{parsed.name}-{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    if supersedes:
        run_id += f"-v{version}"
    controls = load_controls()
    # the exceptions register is validated before anything is written (ExceptionsError names the entry)
    register = read_register(config.exceptions.path, [c.control_id for c in controls])
    con.execute("set TimeZone = 'UTC'")  # business-day deadlines compare UTC dates
    write_parameters(con, config, parsed, evaluated_at)
    build_models(con)
    con.execute("begin transaction")
    try:
        write_catalog(con, controls)
        for control in controls:
            store_control(con, control, run_id, parsed.name, evaluated_at)
            if on_control:
                on_control(control)
        mark_stale_evidence(con, controls, run_id)
        if register is not None:
            record_register(con, register, started)
        apply_exceptions(con, run_id, config.exceptions.approver_roles, config.exceptions.allow_retroactive)
        con.execute(OUTCOMES_SQL, {
            "run_id": run_id, "period": parsed.name,
            "bypassable": list(EMERGENCY_BYPASSABLE), "close_out": list(EMERGENCY_CLOSE_OUT),
        })
        counts = con.execute(
            "select (select count(*) from change_outcomes where run_id = $1),"
            " (select count(*) from control_results where run_id = $1)", [run_id]).fetchone()
        con.execute("insert into evaluation_runs (run_id, period, started_at, finished_at, config_hash,"
                    " count_changes, count_results, version, supersedes) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, parsed.name, started, datetime.now(timezone.utc), config.digest(),
                     counts[0], counts[1], version, supersedes])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return run_id


def latest_run_id(con: duckdb.DuckDBPyConnection, period: str | None = None) -> str | None:
    """The period's sealed run if it is sealed, else its latest run (no period: the latest period's)."""
    row = con.execute(
        "select run_id, period from evaluation_runs where $period is null or period = $period"
        " order by finished_at desc limit 1", {"period": period}).fetchone()
    if row is None:
        return None
    return sealed_run_id(con, row[1]) or row[0]
