"""The whole flow on the generated organization served as GitLab REST v4 (code_host="gitlab"):
findings must equal the same ground truth as with GitHub, exactly.

The sample's model is unchanged; only the code host's responses differ (flows/demo/gitlab.py):
merge requests, approval notes, pipelines/jobs and GitLab deployments, read by the GitLab
extractor and the stg_gitlab__* views into the same entities the controls read.
"""
from __future__ import annotations

import csv
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from flows.demo import generate
from flows.evidence_run import evidence_run

PERIOD = "2026Q3"
EVALUATED_AT = datetime(2026, 11, 27, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, prefect_harness):
    out = tmp_path_factory.mktemp("demo_gitlab")
    org = generate(out, seed=11, period=PERIOD, scale=0.1, code_host="gitlab")
    result = evidence_run(period=PERIOD, config_path=out / "changetrail.toml", evaluated_at=EVALUATED_AT)
    con = duckdb.connect(str(out / "changetrail.duckdb"), read_only=True)
    yield out, org, result, con
    con.close()


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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
    expected = {(r["control_id"], r["subject_id"]) for r in _csv(out / "sample/ground_truth/expected_failures.csv")}
    actual = set(con.execute(
        "select control_id, subject_id from control_results where run_id = ? and status in ('fail', 'error')",
        [result.evaluation_run_id]).fetchall())
    report = []
    for control in sorted({c for c, _ in expected | actual}):
        missed = sorted(s for c, s in expected - actual if c == control)
        extra = sorted(s for c, s in actual - expected if c == control)
        if missed or extra:
            report.append(f"{control}: missed {missed[:5]} ({len(missed)}), false positives {extra[:5]} ({len(extra)})")
    assert not report, "\n".join(report)
    assert {c for c, _ in expected} >= {"CM-01", "CM-02", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09",
                                        "CM-10", "CM-14", "CM-15", "CM-16", "CM-17", "CM-20", "EV-03"}
    assert ("EV-03", "gitlab/mr_notes") in expected      # the malformed review, as a malformed note


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
