"""Per-change evaluation (issue 6.2): a daily run recomputes a change control only for the changes
whose evidence changed, and for those whose deadline fell between the two evaluations.

warehouse/incremental.py copies a control whose inputs did not change at all. On a day with data
every change control's inputs change (a new deployment changes the population), so this module
goes one level down, to the change:

- **Evidence digests.** Every intermediate table a change control reads is mapped to the changes
  its rows are evidence for (`EVIDENCE`): by its own `change_id`, or through the link a control
  joins it by (an approval through the change's ticket, a review through the change's PR). Each
  run keeps, per period, relation and change, the sum of those rows' hashes (`change_evidence`,
  written in the run's transaction). A relation whose output digest did not move since is not
  read again; one that moved is summed again and compared: the changes whose sums differ, appear
  or disappear are *dirty* for every control that reads the relation.
- **Deadlines.** A control that compares with the evaluation time names, in its YAML, the evidence
  key holding the instant after which its result no longer moves with time (`deadline:`). The
  changes whose previous result has that deadline between the two evaluation times (with a day's
  margin either side) are dirty too: the open emergency deadlines.
- **Everything else must be unchanged.** A control is evaluated per change only if it reads the
  population (`int_changes_in_period`), every model it reads is in `EVIDENCE` or `GLOBAL`, the
  digest of everything but the mapped relations (its SQL, parameters other than the evaluation
  time, the global relations) equals the previous run's, the previous run is the one the stored
  evidence digests describe, and a timed control names its deadline.

Such a control is run with the population restricted to its dirty changes (a temporary view named
`int_changes_in_period` shadows the table for the statement), and its other rows are copied from the
previous run, all scoped controls in one read of it. A control's result for a change must depend
only on that change's evidence: controls that compare changes with each other (CM-06's redeployment
search, CM-07's runtime events) read relations outside `EVIDENCE` and are never scoped.
tests/flows/test_incremental_evaluation.py proves scoped runs equal full ones on several kinds of day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from warehouse.incremental import models_named
from warehouse.models import InputState, output_digests, relations

POPULATION = "int_changes_in_period"

# relation -> SQL yielding (change_id, h): the change each row is evidence for and the row's hash,
# joined the way the controls join it (over-approximating is safe: a change is recomputed for nothing)
_BY_CHANGE = "select r.change_id, hash(r) as h from {name} as r"
EVIDENCE: dict[str, str] = {
    POPULATION: _BY_CHANGE,
    "int_changes_linked_to_tickets": _BY_CHANGE,
    "int_changes_linked_to_prs": _BY_CHANGE,
    "int_change_commits_linked_to_prs": _BY_CHANGE,
    "int_change_commits_reviewed_in_trailers": _BY_CHANGE,
    "int_change_files": _BY_CHANGE,
    "int_change_files_matched": _BY_CHANGE,
    "int_rollbacks_matched_to_incidents": _BY_CHANGE,
    # CM-10/16/18/20 join approvals by the change's ticket sys_id
    "int_ticket_approvals_resolved":
        "select l.change_id, hash(r) as h from int_ticket_approvals_resolved as r"
        " join int_changes_linked_to_tickets as l on l.ticket_sys_id = r.change_sys_id",
    # CM-11/12/21 join the ticket itself by its sys_id
    "int_tickets_categorized":
        "select l.change_id, hash(r) as h from int_tickets_categorized as r"
        " join int_changes_linked_to_tickets as l on l.ticket_sys_id = r.sys_id",
    # CM-03/04/18 join reviews by the change's PRs (repository and number)
    "int_reviews_evaluated":
        "select p.change_id, hash(r) as h from int_reviews_evaluated as r"
        " join int_changes_linked_to_prs as p on p.repo = r.repo and p.number = r.pr_number",
    # CM-09 looks for a staging deployment of the deployed sha
    "int_deployments_succeeded":
        "select c.change_id, hash(r) as h from int_deployments_succeeded as r"
        f" join {POPULATION} as c on c.repo = r.repo and c.sha = r.sha",
}
# read whole by the controls (a person's identities, the business-day calendar): their output digests
# are part of the scope digest, so when one changes every control reading it is evaluated in full
GLOBAL = frozenset({"int_people_identities", "int_business_days_numbered"})

EVIDENCE_TABLE = "change_evidence"
STATE_TABLE = "change_evidence_state"
SCOPES_TABLE = "control_scopes"
DEADLINE_MARGIN_DAYS = 1
# above this share of dirty changes a control is recomputed whole: the restriction saves nothing
FULL_SHARE = 0.5

def eligible(control, timed: bool) -> bool:
    """Whether the control can be evaluated per change at all (the run may still decide it cannot)."""
    read = models_named(control.sql)
    return (control.subject_type == "change" and POPULATION in read and read <= set(EVIDENCE) | GLOBAL
            and (not timed or bool(control.deadline)))


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {EVIDENCE_TABLE}"
                " (period VARCHAR, relation VARCHAR, change_id VARCHAR, h HUGEINT)")
    con.execute(f"create table if not exists {STATE_TABLE}"
                " (period VARCHAR, relation VARCHAR, output_digest VARCHAR, run_id VARCHAR)")
    con.execute(f"create table if not exists {SCOPES_TABLE} (run_id VARCHAR, control_id VARCHAR,"
                " scope_digest VARCHAR, count_recomputed BIGINT, count_population BIGINT)")


@dataclass
class Plan:
    """What the run does per change: the controls evaluated on their dirty changes (`scoped`), the
    digests to record, and the evidence sums to store (`_evidence_new`)."""
    period: str
    previous: str | None
    scope_digests: dict[str, str] = field(default_factory=dict)
    scoped: list[str] = field(default_factory=list)
    refreshed: set[str] = field(default_factory=set)          # relations summed again
    outputs: dict[str, str] = field(default_factory=dict)     # relation -> output digest the sums describe
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)


def scope_digests(con: duckdb.DuckDBPyConnection, controls: list, outputs: dict[str, str]) -> dict[str, str]:
    """control_id -> digest of what an eligible control reads besides its mapped relations and the
    evaluation time (`outputs`: the models' output digests)."""
    state = InputState(con, set(relations(con)) - set(outputs))
    fixed = {name: digest for name, digest in outputs.items() if name not in EVIDENCE}
    return {c.control_id: state.digest(c.control_id, "scope", c.sql, fixed, ignore_params={"evaluated_at"})
            for c in controls}


def plan(con: duckdb.DuckDBPyConnection, controls: list, timed: dict[str, bool], period: str,
         previous: str | None, carried: set[str], evaluated_at: datetime, incremental: bool) -> Plan:
    """Sum the evidence of every relation that moved since the stored sums, and decide which
    controls run per change (only when `incremental` and there is a previous run to copy from)."""
    ensure_tables(con)
    candidates = [c for c in controls if eligible(c, timed[c.control_id])]
    result = Plan(period, previous)
    outputs = output_digests(con)
    result.scope_digests = scope_digests(con, candidates, outputs)
    needed = set().union(*(models_named(c.sql) & set(EVIDENCE) for c in candidates)) if candidates else set()
    state = {rel: (digest, run_id) for rel, digest, run_id in con.execute(
        f"select relation, output_digest, run_id from {STATE_TABLE} where period = ?", [period]).fetchall()}
    described = {run_id for _, run_id in state.values()}
    con.execute("create or replace temp table _evidence_new (relation VARCHAR, change_id VARCHAR, h HUGEINT)")
    con.execute("create or replace temp table _evidence_dirty (relation VARCHAR, change_id VARCHAR)")
    for relation in sorted(needed):
        result.outputs[relation] = outputs.get(relation)
        if relation in state and state[relation][0] == outputs.get(relation):
            continue
        result.refreshed.add(relation)
        con.execute(f"insert into _evidence_new select ?, change_id, sum(h) from ({EVIDENCE[relation].format(name=relation)})"
                    " where change_id is not null group by change_id", [relation])
        con.execute(
            "insert into _evidence_dirty select ?, coalesce(n.change_id, o.change_id)"
            f" from (select change_id, h from _evidence_new where relation = ?) as n"
            f" full join (select change_id, h from {EVIDENCE_TABLE} where period = ? and relation = ?) as o"
            " using (change_id) where n.h is distinct from o.h", [relation, relation, period, relation])
    if not (incremental and previous) or described != {previous} or not needed <= set(state):
        return result   # no basis: the stored sums do not describe the run the rows would be copied from
    before = dict(con.execute(f"select control_id, scope_digest from {SCOPES_TABLE} where run_id = ?",
                              [previous]).fetchall())
    population = con.execute(f"select count(*) from {POPULATION}").fetchone()[0]
    previous_at = con.execute("select evaluated_at from evaluation_runs where run_id = ?", [previous]).fetchone()[0]
    ready = [c for c in candidates
             if c.control_id not in carried and before.get(c.control_id) == result.scope_digests[c.control_id]
             and not (c.deadline and previous_at is None)]   # (a global relation moved: the digest moved)
    con.execute("create or replace temp table _scope_dirty (control_id VARCHAR, change_id VARCHAR)")
    if not ready:
        return result
    reads = [(c.control_id, relation) for c in ready for relation in sorted(models_named(c.sql) & set(EVIDENCE))]
    con.execute("insert into _scope_dirty select distinct r.control_id, d.change_id from _evidence_dirty as d"
                " join (select unnest(?::varchar[]) as control_id, unnest(?::varchar[]) as relation) as r"
                " using (relation)", [[c for c, _ in reads], [r for _, r in reads]])
    timed_ready = [c for c in ready if c.deadline]
    if timed_ready:   # the open deadlines: one read of the previous run for every timed control
        low, high = sorted([previous_at, evaluated_at])
        con.execute(
            "insert into _scope_dirty select r.control_id, r.subject_id from run_results(?) as r"
            " join (select unnest(?::varchar[]) as control_id, unnest(?::varchar[]) as deadline_key) as k"
            " using (control_id)"
            " where json_extract_string(r.evidence, k.deadline_key) is not null"
            " and (try_cast(json_extract_string(r.evidence, k.deadline_key) as timestamptz) is null"
            "      or try_cast(json_extract_string(r.evidence, k.deadline_key) as timestamptz)"
            "         between ?::timestamptz - to_days(?) and ?::timestamptz + to_days(?))",
            [previous, [c.control_id for c in timed_ready], [c.deadline for c in timed_ready],
             low, DEADLINE_MARGIN_DAYS, high, DEADLINE_MARGIN_DAYS])
    dirty = dict(con.execute("select control_id, count(distinct change_id) from _scope_dirty group by control_id").fetchall())
    too_many = [c.control_id for c in ready if dirty.get(c.control_id, 0) > FULL_SHARE * population]
    if too_many:   # the restriction would save nothing: the whole population
        con.execute("delete from _scope_dirty where list_contains(?, control_id)", [too_many])
    for control in ready:
        if control.control_id not in too_many:
            result.scoped.append(control.control_id)
            result.counts[control.control_id] = (dirty.get(control.control_id, 0), population)
    return result


def store_scoped(con: duckdb.DuckDBPyConnection, control, insert_sql: str, params: list) -> None:
    """Run the control's insert with the population restricted to its dirty changes."""
    # a view takes no parameters: the names are quoted (the database's is the warehouse file's stem)
    database = con.execute("select current_database()").fetchone()[0].replace('"', '""')
    control_id = control.control_id.replace("'", "''")
    con.execute(f'create or replace temp view {POPULATION} as select * from "{database}".main.{POPULATION}'
                f" where change_id in (select change_id from _scope_dirty where control_id = '{control_id}')")
    try:
        con.execute(insert_sql, params)
    finally:
        con.execute(f"drop view if exists temp.main.{POPULATION}")


def copy_unchanged(con: duckdb.DuckDBPyConnection, working: str, plan_: Plan, run_id: str,
                   evaluated_at: datetime) -> None:
    """Every scoped control's rows of the previous run for the population's clean changes, in one read."""
    if not plan_.scoped:
        return
    con.execute(
        f"insert into {working} select ?, r.period, r.control_id, r.subject_type, r.subject_id, r.status,"
        " r.reason, r.evidence, ? from run_results(?) as r"
        f" semi join {POPULATION} as c on c.change_id = r.subject_id"
        " anti join _scope_dirty as d on d.control_id = r.control_id and d.change_id = r.subject_id"
        " where list_contains(?, r.control_id)",
        [run_id, evaluated_at, plan_.previous, plan_.scoped])


def record(con: duckdb.DuckDBPyConnection, plan_: Plan, run_id: str) -> None:
    """Inside the run's transaction: the new evidence sums, which run they describe, the controls'
    scope digests and how many changes each recomputed."""
    if plan_.refreshed:   # _evidence_dirty holds the refreshed relations' changed sums only
        con.execute(f"delete from {EVIDENCE_TABLE} as e using _evidence_dirty as d where e.period = ?"
                    " and d.relation = e.relation and d.change_id = e.change_id", [plan_.period])
        con.execute(f"insert into {EVIDENCE_TABLE} select ?, n.relation, n.change_id, n.h from _evidence_new as n"
                    " semi join _evidence_dirty as d on d.relation = n.relation and d.change_id = n.change_id",
                    [plan_.period])
    con.execute(f"delete from {STATE_TABLE} where period = ?", [plan_.period])
    con.executemany(f"insert into {STATE_TABLE} values (?, ?, ?, ?)",
                    [(plan_.period, rel, digest, run_id) for rel, digest in sorted(plan_.outputs.items())])
    con.executemany(f"insert into {SCOPES_TABLE} values (?, ?, ?, ?, ?)",
                    [(run_id, cid, digest, *plan_.counts.get(cid, (None, None)))
                     for cid, digest in sorted(plan_.scope_digests.items())])
