"""Incremental evaluation (warehouse/incremental.py) equals a full one on a generated organization.

Day 0: every source extracted, loaded, evaluated in full. Day 1: the ticket and incident systems are
extracted again incrementally and loaded; the incremental evaluation must store exactly the rows a
full evaluation of the same warehouse stores, while copying the controls the day could not touch.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from flows import pipeline
from flows.config import load_config
from flows.demo import generate
from warehouse.incremental import carry_forward_plan, dependencies
from warehouse.runner import load_controls
from warehouse.schema import connect

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
    rows = con.execute(f"select * exclude (run_id) from {table} where run_id = ? order by all", [run_id]).fetchall()
    if table != "control_results":
        return rows
    return sorted((*r[:6], json.dumps(_canonical(json.loads(r[6])) if r[6] else None, sort_keys=True), r[7])
                  for r in rows)


@pytest.fixture(scope="module")
def day_one(tmp_path_factory):
    out = tmp_path_factory.mktemp("incremental")
    generate(out, seed=11, scale=0.05)
    config = load_config(out / "changetrail.toml")
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, pipeline.new_run_id(), full_refresh=True)
    pipeline.load(config)
    day_zero = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT)
    for name in DAY_SOURCES:
        pipeline.extract_source(config, name, pipeline.new_run_id())
    summary = pipeline.load(config)
    assert summary.total_records > 0, "the day must bring rows for the test to mean anything"
    with connect(config.warehouse.path) as con:
        previous, carried = carry_forward_plan(con, load_controls(), PERIOD, config.digest())
    incremental = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT, incremental=True)
    full = pipeline.reconcile(config, PERIOD, evaluated_at=EVALUATED_AT)
    return config, day_zero, previous, carried, incremental, full


def test_incremental_run_equals_full_run(day_one):
    config, _, _, _, incremental, full = day_one
    with connect(config.warehouse.path) as con:
        for table in ("control_results", "change_outcomes"):
            got, want = _rows(con, table, incremental), _rows(con, table, full)
            assert len(got) == len(want) > 0
            assert got == want, table


def test_incremental_run_copies_only_controls_the_day_cannot_change(day_one):
    _, day_zero, previous, carried, *_ = day_one
    assert previous == day_zero
    controls = {c.control_id: c for c in load_controls()}
    assert carried, "some controls read nothing the day loaded"
    assert carried < set(controls)
    for control_id in carried:
        raw, timed = dependencies(controls[control_id].sql)
        assert not timed
        assert not any(t.startswith(DAY_SOURCES) for t in raw), control_id
    # the ticket controls read ServiceNow, so the day recomputes them; deadline controls always run
    assert {"CM-10", "CM-11", "CM-15", "CM-21", "EV-01"}.isdisjoint(carried)


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
