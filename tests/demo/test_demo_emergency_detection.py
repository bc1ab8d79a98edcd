"""The §5 detection injection of the sample organization: an emergency deployed with no ticket key
anywhere, documented afterwards by an Emergency ticket that names the deployed commit."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from flows.demo import generate


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo"), seed=7, scale=0.05)


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_documented_later_emergency_is_linked_only_by_the_later_ticket(demo):
    changes = [c for c in rows(demo.ground_truth_dir / "changes.csv")
               if "emergency_documented_later" in c["injected"].split(";")]
    assert changes
    table = demo.sample_dir / "servicenow/api/now/table"
    records = {r["number"]: r for r in json.loads((table / "change_request.json").read_text())["result"]}
    code_host = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                          for p in (demo.sample_dir / "github").rglob("*") if p.is_file())
    for c in changes:
        key = c["ticket_number"]
        assert key and c["category"] == "Emergency" and c["is_emergency"] == "true"
        assert c["expected_outcome"] == "exception" and c["failed_controls"] == "CM-04"
        assert key not in code_host                          # nothing at deploy time names the ticket
        ticket = records[key]
        repo, deployment_id = c["change_id"].split("@")
        deployments = json.loads((demo.sample_dir / "github/repos" / repo / "deployments.json").read_text())
        sha = next(d["sha"] for d in deployments if str(d["id"]) == deployment_id)
        assert ticket["type"] == "emergency"
        assert f"Documents the deployment of {sha[:12]} made before this record." in ticket["justification"]


def test_hotfix_labelled_change_with_a_normal_ticket_is_an_emergency(demo):
    """`emergency_hotfix_label`: the ticket says normal (risk 3), the PR carries the label hotfix
    (policy.emergency_labels), so the change is an emergency: staging, approvals, schedule n/a."""
    labelled = [c for c in rows(demo.ground_truth_dir / "changes.csv")
                if "emergency_hotfix_label" in c["injected"].split(";")]
    assert labelled
    results = {(r["control_id"], r["subject_id"]): r["status"] for r in rows(demo.ground_truth_dir / "control_results.csv")}
    table = demo.sample_dir / "servicenow/api/now/table"
    records = {r["number"]: r for r in json.loads((table / "change_request.json").read_text())["result"]}
    for c in labelled:
        assert c["category"] == "Emergency" and c["is_emergency"] == "true"
        assert (records[c["ticket_number"]]["type"], records[c["ticket_number"]]["risk"]) == ("normal", "3")
        repo = c["change_id"].split("@")[0]
        pulls = json.loads((demo.sample_dir / "github/repos" / repo / "pulls.json").read_text())
        assert any("hotfix" in [label["name"] for label in p["labels"]] and c["ticket_number"] in p["title"] + p["body"]
                   for p in pulls)
        assert {results[(control, c["change_id"])] for control in ("CM-09", "CM-10", "CM-13")} == {"not_applicable"}
        assert results[("CM-14", c["change_id"])] == "pass"


def test_reference_cm01_waits_for_the_documentation_deadline():
    """The ground truth's CM-01 reads the evaluation time like the SQL: a ticketless deployment is
    n/a for 24 h (policy emergency_documentation_hours), then fails."""
    from flows.demo.clock import HOUR, parse_period
    from flows.demo.scenario import Scenario
    from flows.demo.truth import Evaluator

    period = parse_period("2026Q3")
    org, _ = Scenario(7, period, 0.05).run()
    later = Evaluator(org, period).changes()
    ticketless = [c for c in later if c.ticket is None]
    assert ticketless
    c = ticketless[0]
    assert Evaluator(org, period, evaluated_at=c.deployed_at + 23 * HOUR).cm01(c)[0] == "not_applicable"
    assert Evaluator(org, period, evaluated_at=c.deployed_at + 24 * HOUR).cm01(c)[0] == "fail"
