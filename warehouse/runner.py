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

from extractors.core.faults import checkpoint
from extractors.registry import ALL_STREAMS
from flows.config import REQUIRED_TICKET_FIELDS, TICKET_CATEGORY_NAMES, Config
from warehouse.exceptions import apply_exceptions, read_register, record_register
from warehouse import change_scope
from warehouse.incremental import carry_forward_plan, control_digests, dependencies, model_sql, record_digests
from warehouse.models import build_models
from warehouse.periods import Period, parse_period
from warehouse.policy_rules import write_rule_tables
from warehouse.results_store import WORKING, copy_from_run, start_run, store_run
from warehouse.sealing import check_not_sealed, next_version, sealed_run_id

CONTROLS_DIR = Path(__file__).parent / "controls"

# §5: gates an emergency change may bypass, provided CM-14..CM-16 hold.
# CM-13 (schedule, notice) and CM-18 (security review) are §2 Normal-process steps an emergency skips.
EMERGENCY_BYPASSABLE = ("CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10", "CM-13", "CM-18")
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
    deadline: str | None = None    # evidence key: after this instant the result no longer moves with time


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
            deadline=meta.get("deadline"),
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
    # The ticket key regex as a macro returning its literal: a constant, compiled once. Read as a
    # column of eval_params it is compiled once per text (1.2 s of a day at L scale). The SQL names
    # the macro like the column, so a model's digest still follows the pattern.
    pattern = "'" + policy.ticket_key_pattern.replace("'", "''") + "'"
    con.execute(f"create or replace macro ticket_key_pattern() as {pattern}")
    write_policy_parameters(con, config)
    write_pipeline_parameters(con, config)
    con.execute("create or replace table repo_teams (repo VARCHAR, team VARCHAR)")
    if config.teams:
        teams = sorted(config.teams.items())     # one statement: thousands of repositories in 10 ms, not 0.5 s
        con.execute("insert into repo_teams select unnest(?::varchar[]), unnest(?::varchar[])",
                    [[repo for repo, _ in teams], [team for _, team in teams]])
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
            ?::varchar[] as emergency_labels,
            ?::varchar[] as security_approver_roles, ?::json as sensitive_paths,
            ?::varchar as schedule_time_zone,
            ?::varchar[] as maintenance_windows, ?::varchar[] as peak_hours, ?::integer as notice_hours
        from eval_params
    """, [
        policy.approvers.normal, policy.approvers.major,
        policy.emergency_verbal_approver_roles, policy.emergency_signoff_roles,
        [label.lower() for label in policy.emergency_labels],
        policy.security_approver_roles, json.dumps(policy.sensitive_paths),
        policy.schedule.time_zone,
        policy.schedule.maintenance_windows, policy.schedule.peak_hours, policy.schedule.notice_hours,
    ])
    write_rule_tables(con, policy)  # schedule_spans (CM-13), sensitive_path_patterns (CM-18), category_path_rules (CM-19)
    con.execute("create or replace table ticket_categories"
                " (system VARCHAR, type VARCHAR, category VARCHAR, major_risks VARCHAR[])")
    rules = [(system, kind.lower(), category, rule.major_risks)
             for system, rule in policy.categories for kind, category in rule.types.items()]
    if rules:
        con.executemany("insert into ticket_categories values (?, ?, ?, ?)", rules)
    write_required_ticket_fields(con, config)
    con.execute("create or replace table source_freshness (system VARCHAR, freshness_hours DOUBLE)")
    fresh = [(name, source.freshness_hours) for name, source in config.sources if source is not None]
    if fresh:
        con.executemany("insert into source_freshness values (?, ?)", fresh)
    con.execute("create or replace table onboarded_repos (repo VARCHAR)")
    listed = sorted({*(config.sources.github.repos if config.sources.github else []),
                     *(config.sources.gitlab.projects if config.sources.gitlab else []), *config.teams})
    if listed:
        con.execute("insert into onboarded_repos select unnest(?::varchar[])", [listed])


def write_pipeline_parameters(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """§6 prohibited practices: the CI/CD pipeline's run URLs and release branches (CM-06), what a
    credential finding is and which paths are non-production (CM-22)."""
    policy = config.policy
    con.execute("""
        create or replace table eval_params as select eval_params.*,
            ?::varchar[] as pipeline_run_urls, ?::varchar[] as release_branches,
            ?::varchar as credential_rules, ?::varchar[] as nonproduction_paths
        from eval_params
    """, [policy.pipeline_run_urls, policy.release_branches, policy.credential_rules, policy.nonproduction_paths])


# how CM-11 names a missing change-request field (policy.required_ticket_fields)
TICKET_FIELD_LABELS = {
    "short_description": "short description (short_description)", "description": "description",
    "justification": "justification", "implementation_plan": "scope (implementation_plan)",
    "risk_impact_analysis": "risk assessment (risk_impact_analysis)", "test_plan": "testing plan (test_plan)",
    "backout_plan": "rollback plan (backout_plan)",
}


def write_required_ticket_fields(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """Table required_ticket_fields (category, field, label, position) for CM-11; a category the
    policy leaves out requires the default fields."""
    con.execute("create or replace table required_ticket_fields"
                " (category VARCHAR, field VARCHAR, label VARCHAR, position INTEGER)")
    chosen = config.policy.required_ticket_fields
    rows = [(category, name, TICKET_FIELD_LABELS[name], n)
            for category in TICKET_CATEGORY_NAMES
            for n, name in enumerate(chosen.get(category, REQUIRED_TICKET_FIELDS))]
    if rows:
        con.executemany("insert into required_ticket_fields values (?, ?, ?, ?)", rows)


# EV-01 narrows to the system the evidence came from: a stale code host (or deployment log) touches
# only the changes it deployed (changes of a deployment log: every code host, their code is there),
# a stale ticket system only the changes whose ticket it holds (or that have none); any other
# stale system touches every pass of the controls that read it.
CODE_HOSTS = ("github", "gitlab")
DEPLOYMENT_SYSTEMS = (*CODE_HOSTS, "deploylog")
TICKET_SYSTEMS = ("servicenow", "jira")

STALE_SQL = f"""
update {WORKING} set status = 'error', reason = 'evidence stale: ' || hit.reasons
from (
    select results.subject_id, string_agg(stale.reason, '; ' order by stale.system) as reasons
    from {WORKING} results
    cross join _stale_sources stale
    left join int_changes_in_period changes
        on results.subject_type = 'change' and changes.change_id = results.subject_id
    left join int_changes_linked_to_tickets links on links.change_id = changes.change_id
    where results.run_id = $run_id and results.control_id = $control_id and results.status = 'pass'
      and list_contains($systems, stale.system)
      and (changes.change_id is null
           or not list_contains($deployment_systems || $ticket_systems, stale.system)
           or (list_contains($deployment_systems, stale.system)
               and (changes.source_system = stale.system or not list_contains($code_hosts, changes.source_system)))
           or (list_contains($ticket_systems, stale.system)
               and (links.ticket_system is null or links.ticket_system = stale.system)))
    group by results.subject_id
) hit
where {WORKING}.run_id = $run_id and {WORKING}.control_id = $control_id
  and {WORKING}.status = 'pass' and {WORKING}.subject_id = hit.subject_id
"""


def mark_stale_evidence(con: duckdb.DuckDBPyConnection, controls: list[Control], run_id: str) -> None:
    """EV-01: a control that read a stale source cannot pass; its passes whose evidence came from
    that source become errors (see the narrowing above). Works on the run being evaluated."""
    stale = con.execute(
        f"select subject_id, reason from {WORKING} where run_id = ? and control_id = 'EV-01'"
        " and status = 'fail' order by subject_id", [run_id]).fetchall()
    if not stale:
        return
    con.execute("create or replace temp table _stale_sources (system VARCHAR, reason VARCHAR)")
    con.executemany("insert into _stale_sources values (?, ?)", stale)
    for control in controls:
        systems = [system for system, _ in stale if system in control.sources]
        if systems:
            con.execute(STALE_SQL, {"run_id": run_id, "control_id": control.control_id, "systems": systems,
                                    "code_hosts": list(CODE_HOSTS), "deployment_systems": list(DEPLOYMENT_SYSTEMS),
                                    "ticket_systems": list(TICKET_SYSTEMS)})


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
                  evaluated_at: datetime, scoped: bool = False) -> None:
    """Append the control's whole population to the run being evaluated (results_store.WORKING,
    see start_run), or with `scoped` only its dirty changes (warehouse/change_scope.py); a SQL
    error names the control."""
    sql = f"""insert into {WORKING}
              select ?, ?, ?, ?, subject_id, status, reason, evidence, ?
              from ({control.sql})"""
    params = [run_id, period, control.control_id, control.subject_type, evaluated_at]
    try:
        if scoped:
            change_scope.store_scoped(con, control, sql, params)
        else:
            con.execute(sql, params)
    except duckdb.Error as exc:
        raise RuntimeError(f"control {control.control_id} ({control.slug}) failed: {exc}") from exc


OUTCOMES_SQL = f"""
insert into change_outcomes
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
results as (select * from {WORKING} where run_id = $run_id and subject_type = 'change'),
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
             evaluated_at: datetime | None = None, on_control=None, reevaluate: bool = False,
             incremental: bool = False) -> str:
    """Run every control for `period`; returns the new run_id.

    `incremental`: rebuild only the models whose inputs changed and copy from the period's previous
    run (same config) the rows of every control whose inputs digest is unchanged, recomputing the
    rest; the run equals a full one (warehouse/incremental.py). Without it every model is rebuilt.
    Either way the run is stored by reference to the period's base run where its rows match
    (warehouse/results_store.py); read it with run_results(run_id).

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
    if incremental:  # keep every model whose inputs did not change since its last build
        build_models(con, reuse=True)
    else:
        build_models(con)
    digests = control_digests(con, controls)
    previous, carried = (carry_forward_plan(con, controls, parsed.name, config.digest(), digests) if incremental
                         else (None, set()))
    models = model_sql()
    timed = {c.control_id: dependencies(c.sql, models)[1] for c in controls}
    scopes = change_scope.plan(con, controls, timed, parsed.name, previous, carried, evaluated_at, incremental)
    checkpoint("reconcile.before_transaction")
    con.execute("begin transaction")
    try:
        write_catalog(con, controls)
        start_run(con)
        if carried:  # one read of the previous run for every carried control
            copy_from_run(con, sorted(carried), previous, run_id, evaluated_at)
        change_scope.copy_unchanged(con, WORKING, scopes, run_id, evaluated_at)  # one read for the scoped ones
        for control in controls:
            if control.control_id not in carried:
                store_control(con, control, run_id, parsed.name, evaluated_at,
                              scoped=control.control_id in scopes.scoped)
            checkpoint("reconcile.mid_controls")
            if on_control:
                on_control(control)
        record_digests(con, run_id, digests)
        change_scope.record(con, scopes, run_id)
        mark_stale_evidence(con, controls, run_id)
        if register is not None:
            record_register(con, register, started)
        apply_exceptions(con, run_id, config.exceptions.approver_roles, config.exceptions.allow_retroactive)
        checkpoint("reconcile.before_outcomes")
        con.execute(OUTCOMES_SQL, {
            "run_id": run_id, "period": parsed.name,
            "bypassable": list(EMERGENCY_BYPASSABLE), "close_out": list(EMERGENCY_CLOSE_OUT),
        })
        stored = store_run(con, run_id, parsed.name)
        count_changes = con.execute("select count(*) from change_outcomes where run_id = ?", [run_id]).fetchone()[0]
        con.execute("insert into evaluation_runs (run_id, period, started_at, finished_at, config_hash,"
                    " count_changes, count_results, version, supersedes, evaluated_at, results_base)"
                    " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, parsed.name, started, datetime.now(timezone.utc), config.digest(),
                     count_changes, stored.count_results, version, supersedes, evaluated_at, stored.base])
        checkpoint("reconcile.before_commit")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    con.execute(f"drop table if exists {WORKING}")
    checkpoint("reconcile.after_commit")
    return run_id


def latest_run_id(con: duckdb.DuckDBPyConnection, period: str | None = None) -> str | None:
    """The period's sealed run if it is sealed, else its latest run (no period: the latest period's)."""
    row = con.execute(
        "select run_id, period from evaluation_runs where $period is null or period = $period"
        " order by finished_at desc limit 1", {"period": period}).fetchone()
    if row is None:
        return None
    return sealed_run_id(con, row[1]) or row[0]
