"""The whole flow on a generated organization: findings must equal the ground truth exactly.

The generator writes API responses in the public formats plus the expected (control, subject)
failures computed by its own reference reading of the policy; the flow extracts them through
the live extractor code, loads, reconciles and reports. Any false positive or miss fails here.
"""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.demo import generate
from flows.evidence_run import evidence_run

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, prefect_harness):
    out = tmp_path_factory.mktemp("demo")
    org = generate(out, seed=11, period=PERIOD, scale=0.25)
    result = evidence_run(period=PERIOD, config_path=out / "changetrail.toml", evaluated_at=EVALUATED_AT)
    con = duckdb.connect(str(out / "changetrail.duckdb"), read_only=True)
    yield out, org, result, con
    con.close()


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_findings_equal_ground_truth_control_by_control(demo):
    out, _, result, con = demo
    expected = {(r["control_id"], r["subject_id"]) for r in _csv(out / "sample/ground_truth/expected_failures.csv")}
    actual = set(con.execute(
        "select control_id, subject_id from control_results where run_id = ? and status in ('fail', 'error')",
        [result.evaluation_run_id]).fetchall())
    controls = sorted({c for c, _ in expected | actual})
    report = []
    for control in controls:
        missed = sorted(s for c, s in expected - actual if c == control)
        extra = sorted(s for c, s in actual - expected if c == control)
        if missed or extra:
            report.append(f"{control}: missed {missed[:5]} ({len(missed)}), false positives {extra[:5]} ({len(extra)})")
    assert not report, "\n".join(report)
    # every control of the issue is exercised by the sample
    assert {c for c, _ in expected} >= {"CM-01", "CM-02", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09",
                                        "CM-10", "CM-14", "CM-15", "CM-16", "CM-17", "CM-20", "EV-03"}


def test_every_change_gets_its_expected_outcome(demo):
    out, _, result, con = demo
    expected = {r["change_id"]: r["expected_outcome"] for r in _csv(out / "sample/ground_truth/changes.csv")}
    actual = dict(con.execute("select change_id, outcome from change_outcomes where run_id = ?",
                              [result.evaluation_run_id]).fetchall())
    assert set(actual) == set(expected), "population differs from the production changes generated"
    wrong = {k: (actual[k], v) for k, v in expected.items() if actual[k] != v}
    assert not wrong, list(wrong.items())[:10]
    assert {"compliant", "exception", "violation"} <= set(actual.values())


def test_every_control_returns_the_whole_population(demo):
    _, _, result, con = demo
    rows = con.execute("""
        select control_id, count(*), count(distinct subject_id) from control_results
        where run_id = ? and subject_type = 'change' group by control_id""", [result.evaluation_run_id]).fetchall()
    population = con.execute("select count(*) from change_outcomes where run_id = ?", [result.evaluation_run_id]).fetchone()[0]
    assert population > 0
    for control_id, count, distinct in rows:
        assert count == distinct == population, control_id


def test_reports_written(demo):
    _, _, result, _ = demo
    pdf = next(p for p in result.reports if p.suffix == ".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert any(p.name.endswith("population.csv") for p in result.reports)


def test_cli_findings_and_explain_read_the_warehouse(demo):
    out, _, result, con = demo
    runner = CliRunner()
    config = str(out / "changetrail.toml")
    found = runner.invoke(app, ["findings", "--config", config, "--format", "csv"])
    assert found.exit_code == 0, found.output
    assert found.output.splitlines()[0] == "control_id,title,subject_id,status,reason,period"
    change_id = con.execute("select change_id from change_outcomes where run_id = ? and outcome = 'violation' limit 1",
                            [result.evaluation_run_id]).fetchone()[0]
    explained = runner.invoke(app, ["explain", change_id, "--config", config])
    assert explained.exit_code == 0, explained.output
    assert "violation" in explained.output and "Controls" in explained.output
    missing = runner.invoke(app, ["explain", "acme/nothing@1", "--config", config])
    assert missing.exit_code == 1 and "no change matches" in missing.output
