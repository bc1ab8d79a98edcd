"""The whole flow with Jira as the ticketing source: generate(..., tickets="jira") serves the same
organization's change tickets as Jira Cloud issues (keys CHG-<n>, approvals in the changelog,
users resolved by e-mail); the findings must equal the ground truth exactly."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.config import load_config
from flows.demo import generate
from tests.scenario.ground_truth import (PERIOD, assert_findings_match, assert_outcomes_match,
                                         read_csv as _csv, run_demo)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, prefect_harness):
    out = tmp_path_factory.mktemp("demo_jira")
    org, result, con = run_demo(out, seed=5, scale=0.12, tickets="jira")
    yield out, org, result, con
    con.close()


def test_sample_and_config_use_jira(demo):
    out, _, _, con = demo
    config = load_config(out / "changetrail.toml")
    assert config.sources.servicenow is None and config.sources.jira is not None
    assert config.policy.ticket_key_pattern == "CHG-[0-9]+"
    assert not (out / "sample" / "servicenow").exists()
    issues = json.loads((out / "sample/jira/rest/api/3/search/jql.json").read_text(encoding="utf-8"))["issues"]
    assert issues and all(i["key"].startswith("CHG-") for i in issues)
    systems = {r[0] for r in con.execute("select distinct source_system from int_change_requests_unioned").fetchall()}
    assert systems == {"jira"}
    numbers = {r["ticket_number"] for r in _csv(out / "sample/ground_truth/changes.csv") if r["ticket_number"]}
    assert numbers and all(n.startswith("CHG-") for n in numbers)


def test_findings_equal_ground_truth_control_by_control(demo):
    out, _, result, con = demo
    expected = assert_findings_match(out, con, result.evaluation_run_id)
    assert {c for c, _ in expected} >= {"CM-01", "CM-10", "CM-14", "CM-16", "CM-20"}


def test_every_change_gets_its_expected_outcome(demo):
    out, _, result, con = demo
    assert_outcomes_match(out, con, result.evaluation_run_id)
    urls = {r[0] for r in con.execute("select ticket_url from change_outcomes where run_id = ? and ticket_url is not null",
                                      [result.evaluation_run_id]).fetchall()}
    assert urls and all("/browse/CHG-" in u for u in urls)


def test_same_organization_as_the_servicenow_demo(tmp_path: Path, demo):
    """Apart from the key format, the ground truth is the ServiceNow demo's."""
    out, *_ = demo
    sn = generate(tmp_path / "sn", seed=5, period=PERIOD, scale=0.12)
    jira_rows = _csv(out / "sample/ground_truth/expected_failures.csv")
    sn_rows = _csv(sn.ground_truth_dir / "expected_failures.csv")
    assert {(r["control_id"], r["subject_id"]) for r in jira_rows} == {(r["control_id"], r["subject_id"]) for r in sn_rows}
