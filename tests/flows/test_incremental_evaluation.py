"""Incremental evaluation (warehouse/incremental.py) equals a full one on a generated organization.

Day 0: every source extracted, loaded, evaluated in full. Day 1: the ticket and incident systems are
extracted again incrementally and loaded; the incremental evaluation must store exactly the rows a
full evaluation of the same warehouse stores, while copying the controls whose inputs did not change.
Then further days, each landing raw rows as a source would (new reviews on one PR, a new ticket
approval, a new deployment, nothing new), each checked the same way.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from flows import pipeline
from extractors.registry import raw_table_name
from warehouse.incremental import carry_forward_plan, dependencies
from warehouse.runner import load_controls
from warehouse.schema import connect
from tests.conftest import loaded_demo

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
DAY_SOURCES = ("servicenow", "pagerduty")


def _canonical(value):
    """CM-20 builds its evidence lists with list(distinct ...), whose order DuckDB does not fix:
    two full evaluations can order them differently, so lists are compared as sorted."""
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items, key=json.dumps)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _rows(con, table: str, run_id: str) -> list[tuple]:
    """A run's rows: results through run_results (a run is stored by reference to an earlier one)."""
    source = "run_results(?)" if table == "control_results" else f"{table} where run_id = ?"
    rows = con.execute(f"select * exclude (run_id) from {source} order by all", [run_id]).fetchall()
    if table != "control_results":
        return rows
    return sorted((*r[:6], json.dumps(_canonical(json.loads(r[6])) if r[6] else None, sort_keys=True), r[7])
                  for r in rows)


def _digests(con, run_id: str) -> dict[str, str]:
    return dict(con.execute("select control_id, inputs_digest from control_inputs where run_id = ?",
                            [run_id]).fetchall())


@pytest.fixture(scope="module")
def day_one(tmp_path_factory):
    config = loaded_demo(tmp_path_factory.mktemp("incremental"), seed=11)
    day_zero = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT)
    for name in DAY_SOURCES:
        pipeline.extract_source(config, name, pipeline.new_run_id())
    summary = pipeline.load(config)
    assert summary.total_records > 0, "the day must bring rows for the test to mean anything"
    incremental = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT, incremental=True)
    with connect(config.warehouse.path) as con:
        previous = con.execute("select run_id from evaluation_runs order by finished_at desc limit 1 offset 1").fetchone()[0]
        before, after = _digests(con, day_zero), _digests(con, incremental)
    carried = {control_id for control_id, digest in after.items() if before.get(control_id) == digest}
    full = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT)
    return config, day_zero, previous, carried, incremental, full


def test_incremental_run_equals_full_run(day_one):
    config, _, _, _, incremental, full = day_one
    with connect(config.warehouse.path) as con:
        for table in ("control_results", "change_outcomes"):
            got, want = _rows(con, table, incremental), _rows(con, table, full)
            assert len(got) == len(want) > 0
            assert got == want, table


def test_a_day_stores_only_the_results_that_changed(day_one):
    config, day_zero, _, _, incremental, full = day_one
    with connect(config.warehouse.path) as con:
        runs = {run_id: (base, total) for run_id, base, total in con.execute(
            "select run_id, results_base, count_results from evaluation_runs").fetchall()}
        stored = dict(con.execute("select run_id, count(*) from control_results group by run_id").fetchall())
        changed = con.execute("""select count(*) from run_results(?) n
            left join run_results(?) o using (control_id, subject_type, subject_id)
            where o.subject_id is null or n.status is distinct from o.status or n.reason is distinct from o.reason
               or n.evidence::varchar is distinct from o.evidence::varchar""", [incremental, day_zero]).fetchone()[0]
    assert runs[day_zero] == (None, stored[day_zero])            # the period's first run: in full
    assert runs[incremental][0] == runs[full][0] == day_zero      # the day's runs: by reference to it
    assert 0 < stored[incremental] == changed < runs[incremental][1] / 10
    assert stored.get(full, 0) == stored[incremental]             # the same results, the same rows stored


def test_incremental_run_copies_exactly_the_controls_whose_inputs_did_not_change(day_one):
    config, day_zero, previous, carried, incremental, _ = day_one
    assert previous == day_zero
    controls = {c.control_id for c in load_controls()}
    assert carried, "some controls read nothing the day changed"
    assert carried < controls
    assert "EV-01" not in carried  # reads raw._manifests, which every load changes
    with connect(config.warehouse.path) as con:
        for control_id in carried:
            query = "select * exclude (run_id, evaluated_at) from run_results(?) where control_id = ? order by all"
            assert (con.execute(query, [incremental, control_id]).fetchall()
                    == con.execute(query, [day_zero, control_id]).fetchall()), control_id


def test_without_a_previous_run_of_the_same_config_nothing_is_copied(day_one):
    config, *_ = day_one
    with connect(config.warehouse.path) as con:
        assert carry_forward_plan(con, load_controls(), PERIOD, "another-config") == (None, set())
        assert carry_forward_plan(con, load_controls(), "2026Q2", config.digest()) == (None, set())


def test_dependencies_follow_models_down_to_raw_tables():
    raw, timed = dependencies("select * from int_changes_linked_to_tickets")
    assert "servicenow__change_requests" in raw
    assert not timed
    assert dependencies("select evaluated_at from eval_params")[1]
    assert dependencies("select * from int_business_days_numbered")[1]


# --- further days: raw rows landed as a source would, then incremental vs full -------------------

def _land(con, system: str, stream: str, rows: list[tuple[dict | None, dict]]) -> None:
    """Append (context, payload) rows to the stream's raw table with a manifest, as a load does."""
    run_id = pipeline.new_run_id()
    now = datetime.now(timezone.utc)
    for n, (context, payload) in enumerate(rows):
        con.execute(f"insert into {raw_table_name(system, stream)} values (?, ?, ?, ?, ?, null, ?, ?)",
                    [f"test-{run_id}-{n}", run_id, f"test/{run_id}", n, now,
                     None if context is None else json.dumps(context), json.dumps(payload)])
    con.execute("insert into raw._manifests (manifest_path, manifest_sha256, system, unit, run_id, started_at,"
                " finished_at, files, count_records, count_quarantined, loaded_at)"
                " values (?, ?, ?, 'test', ?, ?, ?, ?, ?, 0, ?)",
                [f"{system}/_manifests/{run_id}.json", run_id, system, run_id, now, now,
                 json.dumps([{"stream": stream, "records": len(rows)}]), len(rows), now])


def _new_reviews_on_one_pr(con) -> None:
    repo, number, head_sha, merged_at = con.execute(
        "select repo, number, head_sha, merged_at from int_changes_linked_to_prs order by change_id, number limit 1").fetchone()
    logins = [r[0] for r in con.execute(
        "select identifier from int_people_identities where system = 'github' order by identifier limit 2").fetchall()]
    top = con.execute("select coalesce(max(review_id), 0) from int_reviews_unioned").fetchone()[0]
    submitted = (merged_at - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _land(con, "github", "reviews", [
        ({"repo": repo, "number": number},
         {"id": top + n + 1, "user": {"login": login}, "state": "APPROVED", "commit_id": head_sha,
          "submitted_at": submitted, "html_url": f"https://github.com/{repo}/pull/{number}#review"})
        for n, login in enumerate(logins)])


def _new_ticket_approval(con) -> None:
    context, payload = con.execute(
        "select _context, _payload from raw.servicenow__approvals order by _record_id limit 1").fetchone()
    payload = json.loads(payload)
    change_sys_id = con.execute("select ticket_sys_id from int_changes_linked_to_tickets"
                                " where ticket_sys_id is not null order by change_id limit 1").fetchone()[0]
    payload.update(sys_id="test-approval-1", state="approved", sysapproval={"value": change_sys_id},
                   document_id={"value": change_sys_id}, sys_updated_on="2026-07-01 08:00:00")
    _land(con, "servicenow", "approvals", [(json.loads(context) if context else None, payload)])


def _new_deployment(con) -> None:
    context, payload = con.execute(
        "select d._context, d._payload from raw.github__deployments d"
        " where d._payload->>'environment' = 'production' order by d._record_id limit 1").fetchone()
    status_context, status = con.execute(
        "select _context, _payload from raw.github__deployment_statuses where _payload->>'state' = 'success'"
        " order by _record_id limit 1").fetchone()
    payload, status, context = json.loads(payload), json.loads(status), json.loads(context)
    new_id = con.execute("select max((_payload->>'id')::bigint) + 1 from raw.github__deployments").fetchone()[0]
    payload.update(id=new_id, created_at="2026-09-20T10:00:00Z", description="Deploy again (test day)")
    status.update(id=new_id * 10, state="success", created_at="2026-09-20T10:05:00Z")
    _land(con, "github", "deployments", [(context, payload)])
    _land(con, "github", "deployment_statuses", [({"repo": context["repo"], "deployment_id": new_id}, status)])


DAYS = {"new reviews on one PR": _new_reviews_on_one_pr, "a new ticket approval": _new_ticket_approval,
        "a new deployment": _new_deployment, "nothing new": None}


@pytest.mark.parametrize("day", list(DAYS))
def test_a_later_day_evaluated_incrementally_equals_a_full_evaluation(day_one, day):
    config = day_one[0]
    with connect(config.warehouse.path) as con:
        previous = con.execute("select run_id from evaluation_runs order by finished_at desc limit 1").fetchone()[0]
        if DAYS[day]:
            DAYS[day](con)
        built_before = dict(con.execute("select name, built_at from model_builds").fetchall())
    incremental = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT, incremental=True)
    with connect(config.warehouse.path) as con:
        rebuilt = {name for name, at in con.execute("select name, built_at from model_builds").fetchall()
                   if at != built_before.get(name)}
        recomputed = {c for c, d in _digests(con, incremental).items() if _digests(con, previous)[c] != d}
        scopes = {c: (n, total) for c, n, total in con.execute(
            "select control_id, count_recomputed, count_population from control_scopes"
            " where run_id = ? and count_recomputed is not null", [incremental]).fetchall()}
    full = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT)
    with connect(config.warehouse.path) as con:
        for table in ("control_results", "change_outcomes"):
            assert _rows(con, table, incremental) == _rows(con, table, full), (day, table)
        changed = _rows(con, "control_results", incremental) != _rows(con, "control_results", previous)
    if DAYS[day] is None:
        assert rebuilt == set() and recomputed == set() and not changed
    else:
        assert rebuilt and recomputed and changed, (rebuilt, recomputed)
        assert not any(name.startswith("stg_") and name.split("__")[1] not in _STREAM_ENTITIES[day]
                       for name in rebuilt), rebuilt
        # per change (warehouse/change_scope.py): the controls the day touched ran on its changes only
        assert _SCOPED[day] <= set(scopes), scopes
        assert all(0 < n <= 2 and total >= 150 for n, total in scopes.values()), scopes


_SCOPED = {"new reviews on one PR": {"CM-03", "CM-04", "CM-18"},
           "a new ticket approval": {"CM-10", "CM-16", "CM-18", "CM-20"},
           "a new deployment": {"CM-01", "CM-02", "CM-03", "CM-10", "CM-13", "CM-17", "CM-21"}}
_STREAM_ENTITIES = {"new reviews on one PR": {"reviews"}, "a new ticket approval": {"approvals"},
                    "a new deployment": {"deployments", "deployment_statuses"}}


def test_time_passing_reevaluates_the_open_deadlines_only(day_one):
    """Nothing new, only the evaluation time moves past the deadlines of the quarter's last changes:
    the timed controls (CM-01 documentation, CM-21 closing) recompute just the changes whose deadline
    fell in between, and the run equals a full one at the later time."""
    config = day_one[0]
    with connect(config.warehouse.path) as con:
        last = con.execute("select max(deployed_at) from int_changes_in_period").fetchone()[0]
    before = pipeline.reconcile(config, PERIOD, evaluated_at=last + timedelta(hours=2))
    later_at = last + timedelta(days=6)
    later = pipeline.reconcile(config, PERIOD, evaluated_at=later_at, incremental=True)
    full = pipeline.reconcile(config, PERIOD, evaluated_at=later_at)
    with connect(config.warehouse.path) as con:
        for table in ("control_results", "change_outcomes"):
            assert _rows(con, table, later) == _rows(con, table, full), table
        scopes = {c: (n, total) for c, n, total in con.execute(
            "select control_id, count_recomputed, count_population from control_scopes"
            " where run_id = ? and count_recomputed is not null", [later]).fetchall()}
        moved = {c for (c,) in con.execute(
            "select distinct n.control_id from run_results(?) n join run_results(?) o"
            " using (control_id, subject_type, subject_id) where n.status <> o.status", [later, before]).fetchall()}
    assert {"CM-01", "CM-21"} <= set(scopes), scopes
    assert all(0 < n < total / 2 for c, (n, total) in scopes.items() if c in ("CM-01", "CM-15", "CM-21")), scopes
    assert moved & {"CM-01", "CM-21"}, "the deadlines must have moved a result for the test to mean anything"
