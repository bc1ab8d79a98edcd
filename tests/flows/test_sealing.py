"""Sealed quarters (warehouse/sealing.py): seal after the grace period, keep reports and findings on
the sealed run, re-evaluate only as a new versioned run, diff it, and verify the seal's hashes."""
from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows import pipeline
from flows.cli import app
from flows.config import load_config
from flows.demo import generate
from reports.document import parse_period as report_period
from reports.quarterly.sql import evaluation_run
from warehouse import sealing
from warehouse.explain import explain
from warehouse.runner import latest_run_id
from warehouse.schema import connect, create_schema

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)
AFTER_GRACE = datetime(2026, 10, 17, tzinfo=timezone.utc)      # quarter ends 2026-10-01, +15 days


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A tiny demo organization extracted, loaded and evaluated once (no Prefect)."""
    out = tmp_path_factory.mktemp("sealing") / "org"
    generate(out, seed=3, scale=0.05)
    config = load_config(out / "changetrail.toml")
    run_id = pipeline.new_run_id()
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, run_id)
    pipeline.load(config)
    pipeline.reconcile(config, PERIOD, EVALUATED_AT)
    return out


@pytest.fixture
def org(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built organization: each test may seal, mutate and re-evaluate."""
    out = tmp_path / "org"
    shutil.copytree(built, out)
    return out


def _config(out: Path, **policy):
    config = load_config(out / "changetrail.toml")
    for key, value in policy.items():
        setattr(config.policy, key, value)
    return config


def _seal(out: Path, **kwargs) -> sealing.Seal:
    with connect(_config(out).warehouse.path) as con:
        return sealing.seal(con, PERIOD, now=kwargs.pop("now", AFTER_GRACE), **kwargs)


def test_seal_refuses_inside_the_grace_period_and_seals_after(org: Path) -> None:
    config = _config(org)
    with connect(config.warehouse.path) as con:
        with pytest.raises(sealing.SealError, match=r"2026Q3 can be sealed from 2026-10-16 .*--force"):
            sealing.seal(con, PERIOD, grace_days=config.sealing.grace_days,
                         now=datetime(2026, 10, 10, tzinfo=timezone.utc))
        with pytest.raises(sealing.SealError, match="from 2026-10-31"):
            sealing.seal(con, PERIOD, grace_days=30, now=AFTER_GRACE)
        assert con.execute("select count(*) from sealed_periods").fetchone()[0] == 0
        sealed = sealing.seal(con, PERIOD, grace_days=config.sealing.grace_days, now=AFTER_GRACE, by="auditor.kim")
        run = latest_run_id(con, PERIOD)
        assert sealed.run_id == run and sealed.sealed_by == "auditor.kim" and not sealed.forced
        row = sealing.sealed_row(con, PERIOD)
        assert row["results_sha256"] == sealing.result_hashes(con, run)["all"]
        assert row["config_hash"] == con.execute("select config_hash from evaluation_runs").fetchone()[0]
        assert row["count_outcomes"] == 150 and row["count_results"] > 150
        evidence = json.loads(row["evidence"])
        manifests = con.execute("select manifest_path, manifest_sha256 from raw._manifests").fetchall()
        assert {(e["path"], e["sha256"]) for e in evidence if e["kind"] == "manifest"} == set(manifests)
        assert sealed.count_evidence_files > len(manifests)
        assert row["evidence_sha256"] == sealing.combined_hash(evidence)
        with pytest.raises(sealing.SealError, match="already sealed"):
            sealing.seal(con, PERIOD, now=AFTER_GRACE)


def test_force_inside_the_grace_period_is_recorded(org: Path, monkeypatch) -> None:
    monkeypatch.setenv("USER", "compliance.bot")
    sealed = _seal(org, now=datetime(2026, 10, 2, tzinfo=timezone.utc), force=True)
    assert sealed.forced and sealed.sealed_by == "compliance.bot"
    with duckdb.connect(str(_config(org).warehouse.path), read_only=True) as con:
        assert con.execute("select forced, sealed_by from sealed_periods").fetchall() == [(True, "compliance.bot")]


def _reject_approvals(out: Path, run_id: str) -> str:
    """A compliant Normal change whose ticket approvals are all rejected later in the sample;
    returns its change id."""
    with duckdb.connect(str(out / "changetrail.duckdb"), read_only=True) as con:
        change_id, number = con.execute(
            """select o.change_id, o.ticket_number from change_outcomes o join run_results(?) r
               on r.subject_id = o.change_id and r.control_id = 'CM-10'
               where o.run_id = ? and o.outcome = 'compliant' and o.category = 'Normal' and r.status = 'pass'
               order by o.change_id limit 1""", [run_id, run_id]).fetchone()
    table = out / "sample/servicenow/api/now/table"
    tickets = json.loads((table / "change_request.json").read_text())["result"]
    sys_id = next(t["sys_id"] for t in tickets if t["number"] == number)
    path = table / "sysapproval_approver.json"
    body = json.loads(path.read_text())
    hits = [a for a in body["result"] if a["sysapproval"]["value"] == sys_id and a["state"] == "approved"]
    assert hits
    for approval in hits:
        approval.update(state="rejected", sys_updated_on="2026-11-26 09:00:00")
    path.write_text(json.dumps(body))
    return change_id


def test_sealed_period_keeps_its_run_and_a_reevaluation_is_a_versioned_run(org: Path) -> None:
    config = _config(org)
    sealed = _seal(org)
    changed = _reject_approvals(org, sealed.run_id)
    pipeline.extract_source(config, "servicenow", pipeline.new_run_id())
    assert pipeline.load(config).manifests > 0
    with pytest.raises(sealing.PeriodSealed, match="2026Q3 is sealed .*--reevaluate"):
        pipeline.reconcile(config, PERIOD, EVALUATED_AT)
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        assert con.execute("select count(*) from evaluation_runs").fetchone()[0] == 1

    rerun = pipeline.reconcile(config, PERIOD, EVALUATED_AT, reevaluate=True)
    assert rerun.endswith("-v2")
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        assert con.execute("select version, supersedes from evaluation_runs where run_id = ?",
                           [rerun]).fetchone() == (2, sealed.run_id)
        assert latest_run_id(con, PERIOD) == sealed.run_id
        assert latest_run_id(con) == sealed.run_id
        assert evaluation_run(con, report_period(PERIOD), None)["run_id"] == sealed.run_id
        assert explain(con, changed).change["outcome"] == "compliant"          # the sealed run's view
        assert explain(con, changed, run_id=rerun).change["outcome"] == "violation"
        base, other, diffs = sealing.diff_runs(con, PERIOD)
        assert (base, other) == (sealed.run_id, rerun)
        assert {d["subject_id"] for d in diffs} == {changed}
        assert {(d["kind"], d["control_id"], d["change"], d["sealed"], d["other"]) for d in diffs} >= {
            ("control", "CM-10", "status_changed", "pass", "fail"),
            ("outcome", None, "outcome_changed", "compliant", "violation")}
        assert sealing.verify(con, PERIOD, config.warehouse.landing).ok      # later data leaves the seal intact


def test_diff_after_a_policy_change_lists_exactly_the_changed_subjects(org: Path) -> None:
    sealed = _seal(org)
    config = _config(org, min_reviewers=3)
    rerun = pipeline.reconcile(config, PERIOD, EVALUATED_AT, reevaluate=True)
    with duckdb.connect(str(config.warehouse.path), read_only=True) as con:
        _, _, diffs = sealing.diff_runs(con, PERIOD, rerun)
        newly_failing = {s for (s,) in con.execute(
            """select n.subject_id from run_results(?) n join run_results(?) o
               on o.subject_id = n.subject_id and o.control_id = n.control_id
               where n.control_id = 'CM-04' and o.status = 'pass' and n.status = 'fail'""",
            [rerun, sealed.run_id]).fetchall()}
        became_violations = {s for (s,) in con.execute(
            """select n.change_id from change_outcomes n join change_outcomes o using (change_id)
               where n.run_id = ? and o.run_id = ? and o.outcome <> n.outcome""",
            [rerun, sealed.run_id]).fetchall()}
    assert newly_failing
    controls = [d for d in diffs if d["kind"] == "control"]
    assert {(d["control_id"], d["change"], d["sealed"], d["other"]) for d in controls} == {
        ("CM-04", "status_changed", "pass", "fail")}
    assert {d["subject_id"] for d in controls} == newly_failing
    outcomes = [d for d in diffs if d["kind"] == "outcome"]
    assert {d["subject_id"] for d in outcomes} == became_violations and became_violations <= newly_failing


def test_verify_names_a_tampered_landing_file_and_result_row(org: Path) -> None:
    sealed = _seal(org)
    config = _config(org)
    landing = config.warehouse.landing
    victim = sorted((landing / "servicenow").glob("approvals/**/*.gz"))[0]
    with gzip.open(victim, "ab") as fh:
        fh.write(b'{"payload": {"sys_id": "forged"}}\n')
    with connect(config.warehouse.path) as con:
        con.execute("alter table change_outcomes add column later_column VARCHAR")   # a schema upgrade is no tampering
        con.execute("update control_results set status = 'pass' where run_id = ? and control_id = 'CM-01'"
                    " and status = 'fail'", [sealed.run_id])
        result = sealing.verify(con, PERIOD, landing)
    assert not result.ok
    rel = str(victim.relative_to(landing))
    assert any(rel in p and "altered" in p for p in result.problems)
    assert any("control_results of CM-01" in p for p in result.problems)
    assert not any("CM-02" in p or "change_outcomes" in p for p in result.problems)


def test_cli_seal_diff_verify_and_reconcile_refusal(org: Path) -> None:
    runner = CliRunner()
    cfg = ["--config", str(org / "changetrail.toml")]
    sealed = runner.invoke(app, ["seal", "--period", PERIOD, "--force", "--by", "auditor.kim", *cfg])
    assert sealed.exit_code == 0, sealed.output
    assert "sealed 2026Q3" in sealed.output and "by auditor.kim" in sealed.output
    refused = runner.invoke(app, ["reconcile", "--period", PERIOD, *cfg])
    assert refused.exit_code == 1 and "--reevaluate" in refused.output
    assert runner.invoke(app, ["reconcile", "--period", PERIOD, "--reevaluate", *cfg]).exit_code == 0
    out = runner.invoke(app, ["diff", "--period", PERIOD, "--format", "json", *cfg])
    assert out.exit_code == 0, out.output
    assert isinstance(json.loads(out.output), list)
    ok = runner.invoke(app, ["verify-seal", "--period", PERIOD, *cfg])
    assert ok.exit_code == 0 and "verified" in ok.output
    assert runner.invoke(app, ["seal", "--period", PERIOD, "--verify", *cfg]).exit_code == 0


def test_existing_warehouse_gains_the_run_version_columns() -> None:
    con = duckdb.connect()
    con.execute("create table evaluation_runs (run_id VARCHAR PRIMARY KEY, period VARCHAR NOT NULL,"
                " started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, config_hash VARCHAR, count_changes BIGINT,"
                " count_results BIGINT)")
    con.execute("insert into evaluation_runs values ('r1', '2026Q3', now(), now(), 'x', 0, 0)")
    create_schema(con)
    assert con.execute("select run_id, version, supersedes from evaluation_runs").fetchall() == [("r1", None, None)]
    assert sealing.sealed_run_id(con, PERIOD) is None
