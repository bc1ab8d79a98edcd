"""The whole flow on a generated organization: findings must equal the ground truth exactly.

The generator writes API responses in the public formats plus the expected (control, subject)
failures computed by its own reference reading of the policy; the flow extracts them through
the live extractor code, loads, reconciles and reports. Any false positive or miss fails here.
"""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.scenario.ground_truth import assert_findings_match, assert_outcomes_match, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory, prefect_harness):
    out = tmp_path_factory.mktemp("demo")
    org, result, con = run_demo(out, seed=11, scale=0.25)
    yield out, org, result, con
    con.close()


def test_findings_equal_ground_truth_control_by_control(demo):
    out, _, result, con = demo
    expected = assert_findings_match(out, con, result.evaluation_run_id)
    # every control of the issue is exercised by the sample
    assert {c for c, _ in expected} >= {"CM-01", "CM-02", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09",
                                        "CM-10", "CM-14", "CM-15", "CM-16", "CM-17", "CM-20", "EV-03"}


def test_every_change_gets_its_expected_outcome(demo):
    out, _, result, con = demo
    outcomes = assert_outcomes_match(out, con, result.evaluation_run_id)
    assert {"compliant", "exception", "violation"} <= set(outcomes.values())


def test_jira_and_gitlab_together_match_the_ground_truth(tmp_path, prefect_harness):
    """The same organization with both alternative sources at once."""
    org, result, con = run_demo(tmp_path / "both", seed=5, scale=0.08, tickets="jira", code_host="gitlab")
    with con:
        assert {r[0] for r in con.execute("select distinct source_system from int_deployments_unioned").fetchall()} == {"gitlab"}
        assert {r[0] for r in con.execute("select distinct source_system from int_change_requests_unioned").fetchall()} == {"jira"}
        assert_findings_match(org.out_dir, con, result.evaluation_run_id)
        assert_outcomes_match(org.out_dir, con, result.evaluation_run_id)


def test_every_control_returns_the_whole_population(demo):
    _, _, result, con = demo
    rows = con.execute("""
        select control_id, count(*), count(distinct subject_id) from run_results(?)
        where subject_type = 'change' group by control_id""", [result.evaluation_run_id]).fetchall()
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
    assert found.output.splitlines()[0].startswith("control_id,title,subject_id,status,reason,period,exception,"
                                                   "clause,rule,evidence,deployment_url,ticket_url,record_sha256")
    change_id = con.execute("select change_id from change_outcomes where run_id = ? and outcome = 'violation' limit 1",
                            [result.evaluation_run_id]).fetchone()[0]
    explained = runner.invoke(app, ["explain", change_id, "--config", config])
    assert explained.exit_code == 0, explained.output
    assert "violation" in explained.output and "Controls" in explained.output
    missing = runner.invoke(app, ["explain", "acme/nothing@1", "--config", config])
    assert missing.exit_code == 1 and "no change matches" in missing.output
