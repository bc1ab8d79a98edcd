"""The whole flow on the generated organization served as GitLab REST v4 (code_host="gitlab"):
findings must equal the same ground truth as with GitHub, exactly.

The sample's model is unchanged; only the code host's responses differ (flows/demo/gitlab.py):
merge requests, approval notes, pipelines/jobs and GitLab deployments, read by the GitLab
extractor and the stg_gitlab__* views into the same entities the controls read.
"""
from __future__ import annotations

import tomllib

import pytest

from tests.scenario.ground_truth import assert_findings_match, assert_outcomes_match, read_csv as _csv, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory, prefect_harness):
    out = tmp_path_factory.mktemp("demo_gitlab")
    org, result, con = run_demo(out, seed=11, scale=0.1, code_host="gitlab")
    yield out, org, result, con
    con.close()


def test_the_sample_is_gitlab_only(demo):
    out, _, _, con = demo
    config = tomllib.loads((out / "changetrail.toml").read_text(encoding="utf-8"))
    assert "gitlab" in config["sources"] and "github" not in config["sources"]
    assert (out / "sample/gitlab").is_dir() and not (out / "sample/github").exists()
    assert _csv(out / "sample/people.csv")[0].keys() >= {"github_login", "gitlab_username"}
    systems = {row[0] for row in con.execute("select distinct source_system from int_deployments_unioned").fetchall()}
    assert systems == {"gitlab"}
    assert con.execute("select count(*) from int_reviews_unioned where state = 'DISMISSED'").fetchone()[0] > 0


def test_findings_equal_ground_truth_control_by_control(demo):
    out, _, result, con = demo
    expected = assert_findings_match(out, con, result.evaluation_run_id)
    assert {c for c, _ in expected} >= {"CM-01", "CM-02", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09",
                                        "CM-10", "CM-14", "CM-15", "CM-16", "CM-17", "CM-20", "EV-03"}
    assert ("EV-03", "gitlab/mr_notes") in expected      # the malformed review, as a malformed note


def test_every_change_gets_its_expected_outcome(demo):
    out, _, result, con = demo
    outcomes = assert_outcomes_match(out, con, result.evaluation_run_id)
    assert {"compliant", "exception", "violation"} <= set(outcomes.values())


def test_every_control_returns_the_whole_population(demo):
    _, _, result, con = demo
    rows = con.execute("""
        select control_id, count(*), count(distinct subject_id) from run_results(?)
        where subject_type = 'change' group by control_id""", [result.evaluation_run_id]).fetchall()
    population = con.execute("select count(*) from change_outcomes where run_id = ?", [result.evaluation_run_id]).fetchone()[0]
    assert population > 0
    for control_id, count, distinct in rows:
        assert count == distinct == population, control_id
