"""Per-change evaluation (warehouse/change_scope.py) on a generated organization.

The day-by-day equality with full runs is in tests/flows/test_incremental_evaluation.py; here the
rule it rests on: a control run per change judges each change by that change's evidence alone, so
running it on any subset of the population gives exactly the full run's rows for that subset.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from flows import pipeline
from warehouse import change_scope
from warehouse.incremental import dependencies, model_sql
from warehouse.runner import load_controls
from warehouse.schema import connect
from tests.conftest import loaded_demo

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def _canonical(text):
    """Evidence with its lists sorted (CM-20's list(distinct ...) has no fixed order)."""
    def walk(value):
        if isinstance(value, list):
            return sorted((walk(v) for v in value), key=json.dumps)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value
    return None if text is None else json.dumps(walk(json.loads(text)), sort_keys=True)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    config = loaded_demo(tmp_path_factory.mktemp("scope"), seed=5)
    run_id = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT)
    return config, run_id


def _per_change_controls():
    models = model_sql()
    return [c for c in load_controls() if change_scope.eligible(c, dependencies(c.sql, models)[1])]


def test_the_change_controls_are_evaluated_per_change_and_the_cross_change_ones_are_not():
    ids = {c.control_id for c in _per_change_controls()}
    assert {"CM-01", "CM-03", "CM-10", "CM-15", "CM-18", "CM-20", "CM-21"} <= ids
    # runtime events, redeployment search, scanner and check-run views, evidence checks: never
    assert not ids & {"CM-05", "CM-06", "CM-07", "CM-08", "CM-22", "EV-01", "EV-02", "EV-03"}


@pytest.mark.parametrize("remainder", [0, 1])
def test_a_control_on_part_of_the_population_gives_the_full_runs_rows_for_that_part(evaluated, remainder):
    config, run_id = evaluated
    with connect(config.warehouse.path) as con:
        con.execute("create or replace temp table _scope_dirty (control_id VARCHAR, change_id VARCHAR)")
        con.execute("create or replace temp table _got (control_id VARCHAR, subject_id VARCHAR, status VARCHAR,"
                    " reason VARCHAR, evidence VARCHAR)")
        population = con.execute("select count(*) from int_changes_in_period").fetchone()[0]
        for control in _per_change_controls():
            con.execute("insert into _scope_dirty select ?, change_id from int_changes_in_period"
                        " where hash(change_id) % 3 = ?", [control.control_id, remainder])
            change_scope.store_scoped(con, control, f"insert into _got select ?, subject_id, status, reason,"
                                                    f" evidence::varchar from ({control.sql})", [control.control_id])
        # the shadowing view is gone: the population is whole again
        assert con.execute("select count(*) from int_changes_in_period").fetchone()[0] == population
        got = con.execute("select * from _got order by all").fetchall()
        want = con.execute(
            "select r.control_id, r.subject_id, r.status, r.reason, r.evidence::varchar from run_results(?) r"
            " semi join _scope_dirty d on d.control_id = r.control_id and d.change_id = r.subject_id"
            " order by all", [run_id]).fetchall()
    assert 30 < len(got) < population * len(_per_change_controls()) / 2
    assert ([(*r[:4], _canonical(r[4])) for r in got] == [(*r[:4], _canonical(r[4])) for r in want])


def test_without_stored_evidence_sums_the_run_evaluates_every_change(evaluated):
    """The first run after an upgrade (or after the sums were lost) has no basis: it runs the controls
    on the whole population, stores the sums, and the run after it is per change again."""
    config, _ = evaluated
    with connect(config.warehouse.path) as con:
        con.execute("delete from change_evidence_state")
    later = datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)
    first = pipeline.reconcile(config, PERIOD, evaluated_at=later, incremental=True)
    second = pipeline.reconcile(config, PERIOD, evaluated_at=datetime(2026, 11, 4, tzinfo=timezone.utc),
                                incremental=True)
    with connect(config.warehouse.path) as con:
        scoped = dict(con.execute("select run_id, count(count_recomputed) from control_scopes"
                                  " where run_id in (?, ?) group by run_id", [first, second]).fetchall())
        described = con.execute("select distinct run_id from change_evidence_state where period = ?",
                                [PERIOD]).fetchall()
    assert scoped.get(first, 0) == 0
    assert scoped[second] >= 3          # the timed controls: time moved, nothing else did
    assert described == [(second,)]
