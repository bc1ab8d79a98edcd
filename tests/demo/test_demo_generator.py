"""The sample organization behind `changetrail demo`: deterministic, in the documented layout
and API shapes, and with a ground truth that the files alone reproduce."""
from __future__ import annotations

import csv
import hashlib
import json
import re
import statistics
from pathlib import Path

import pytest

from demo_readback import load_sample
from flows.config import load_config
from flows.demo import generate
from flows.demo.clock import parse_period
from flows.demo.coverage import ev02_results
from flows.demo.runtime import AuditEvent
from flows.demo.truth_runtime import cm07_results
from flows.demo.truth import CHANGE_CONTROLS, Evaluator
from flows.demo.writer import PEOPLE_HEADER

SCALE = 0.05


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo"), seed=7, scale=SCALE)


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def read_audit_logs(sample: Path) -> list[AuditEvent]:
    """The written audit logs as events (cluster = folder); the generator's intent is not written."""
    return [AuditEvent(path.parent.name, json.loads(line), "", "")
            for path in sorted((sample / "k8s_audit").glob("*/*.log")) for line in path.read_text().splitlines()]


def test_same_seed_writes_identical_files(demo, tmp_path):
    again = generate(tmp_path, seed=7, scale=SCALE)
    assert tree_digest(again.sample_dir) == tree_digest(demo.sample_dir)
    assert again.config_path.read_text() == demo.config_path.read_text()


def test_regenerating_replaces_the_sample_and_seeds_differ(demo, tmp_path):
    other = generate(tmp_path, seed=8, scale=SCALE)
    other_digest = tree_digest(other.sample_dir)
    (other.sample_dir / "github" / "stale.json").write_text("[]")
    regenerated = generate(tmp_path, seed=7, scale=SCALE)
    assert tree_digest(regenerated.sample_dir) == tree_digest(demo.sample_dir) != other_digest
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_config_validates_and_assigns_every_repository_to_a_team(demo):
    config = load_config(demo.config_path)
    assert config.sources.github.org == "acme"
    assert config.sources.github.base_url == f"file://{demo.sample_dir / 'github'}"
    assert config.sources.servicenow.base_url == f"file://{demo.sample_dir / 'servicenow'}"
    assert config.sources.sarif.path == demo.sample_dir / "sarif"
    assert config.sources.people.path == demo.sample_dir / "people.csv"
    assert config.reports.organization == "Acme Cloud, Inc."
    repos = json.loads((demo.sample_dir / "github/orgs/acme/repos.json").read_text())
    assert len(repos) == 40 and set(config.teams) < {r["full_name"] for r in repos}
    # EV-02: exactly one deploying repository is left out of the onboarded list (flows/demo/coverage.py)
    left_out = {r["full_name"] for r in repos} - set(config.teams)
    assert {(f["control_id"], f["subject_id"]) for f in rows(demo.ground_truth_dir / "expected_failures.csv")
            if f["control_id"] == "EV-02"} == {("EV-02", r) for r in left_out} and len(left_out) == 1
    assert config.sources.k8s_audit.path == demo.sample_dir / "k8s_audit"
    assert config.sources.k8s_audit.production_clusters == ["production"]


def test_people_directory(demo):
    text = (demo.sample_dir / "people.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(PEOPLE_HEADER)
    people = rows(demo.sample_dir / "people.csv")
    humans = [p for p in people if p["kind"] == "human"]
    assert 140 <= len(humans) <= 160
    roles = [r for p in humans for r in p["roles"].split(";")]
    assert roles.count("ciso") == 1 and 8 <= roles.count("eng_lead") <= 10 and roles.count("qa") == 6
    by_login = {p["github_login"]: p for p in people}
    assert by_login["github-actions[bot]"]["kind"] == "service" and by_login["ops-shared"]["kind"] == "shared"
    unknown = [p for p in people if p["roles"] and not set(p["roles"].split(";")) <= {
        "engineer", "senior_engineer", "eng_lead", "qa", "ciso", "security"}]
    assert [p["roles"] for p in unknown] == ["chief_vibes_officer"]       # the EV-03 row
    users = json.loads((demo.sample_dir / "servicenow/api/now/table/sys_user.json").read_text())["result"]
    assert {u["sys_id"] for u in users} == {p["servicenow_user_sys_id"] for p in humans if p not in unknown}


def test_sarif_files_are_sarif_2_1_0_except_the_corrupt_one(demo):
    deployed = {d["sha"] for path in (demo.sample_dir / "github/repos/acme").glob("*/deployments.json")
                for d in json.loads(path.read_text())}
    corrupt = []
    for path in (demo.sample_dir / "sarif").glob("*/*.sarif"):
        try:
            log = json.loads(path.read_text())
        except json.JSONDecodeError:
            corrupt.append(path)
            continue
        assert log["version"] == "2.1.0"
        for run in log["runs"]:
            vcp = run["versionControlProvenance"][0]
            assert vcp["repositoryUri"] == f"https://github.com/acme/{path.parent.name}"
            assert vcp["revisionId"] == path.stem and run["invocations"][0]["endTimeUtc"].endswith("Z")
            for rule in run["tool"]["driver"]["rules"]:
                assert "level" in rule.get("defaultConfiguration", {"level": None})
    assert len(corrupt) == 1 and corrupt[0].stem not in deployed


def test_pull_request_payloads_are_realistic(demo):
    sizes, shas = [], re.compile(r"^[0-9a-f]{40}$")
    for path in (demo.sample_dir / "github/repos/acme").glob("*/pulls.json"):
        for pr in json.loads(path.read_text()):
            sizes.append(len(json.dumps(pr, separators=(",", ":"))))   # as GitHub sends it
            assert {"head", "base", "user", "merge_commit_sha", "merged_at", "_links"} <= pr.keys()
            assert shas.match(pr["head"]["sha"]) and pr["head"]["repo"]["full_name"] == pr["base"]["repo"]["full_name"]
    assert 8_000 <= statistics.mean(sizes) <= 16_000


def test_every_change_has_its_files(demo):
    gh = demo.sample_dir / "github/repos"
    changes = rows(demo.ground_truth_dir / "changes.csv")
    assert len(changes) == demo.count_changes
    previous = {}
    for path in gh.glob("acme/*/deployments.json"):
        successes = []
        for d in json.loads(path.read_text()):
            statuses = json.loads((path.parent / f"deployments/{d['id']}/statuses.json").read_text())
            first = min((s["created_at"] for s in statuses if s["state"] == "success"), default=None)
            if d["environment"] == "production" and first:
                successes.append((first, d["id"], d["sha"]))
        successes.sort()
        previous |= {dep: (sha, prev[2] if prev else None)
                     for prev, (_, dep, sha) in zip([None] + successes, successes)}
    for change in changes:
        repo, dep_id = change["change_id"].split("@")
        sha, before = previous[int(dep_id)]
        base = gh / repo
        assert (base / f"commits/{sha}/check-runs.json").exists()
        assert (base / f"commits/{sha}/pulls.json").exists()
        assert (before is None) == (change["is_baseline"] == "true")
        if before:
            compare = json.loads((base / f"compare/{before}...{sha}.json").read_text())
            for c in compare["commits"]:
                assert (base / f"commits/{c['sha']}/pulls.json").exists()
    for path in gh.glob("acme/*/pulls.json"):
        for pr in json.loads(path.read_text()):
            assert (path.parent / f"pulls/{pr['number']}/reviews.json").exists()
            assert (path.parent / f"pulls/{pr['number']}/commits.json").exists()


def test_servicenow_records_use_table_api_value_shapes(demo):
    table = demo.sample_dir / "servicenow/api/now/table"
    date = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)?$")
    for name in ("change_request", "sysapproval_approver", "sys_user"):
        for record in json.loads((table / f"{name}.json").read_text())["result"]:
            assert re.fullmatch(r"[0-9a-f]{32}", record["sys_id"])
            for key, value in record.items():
                assert isinstance(value, str) or set(value) == {"link", "value"}, (name, key)
                if key.endswith(("_on", "_at", "_date")):
                    assert date.match(value), (key, value)
    numbers = [r["number"] for r in json.loads((table / "change_request.json").read_text())["result"]]
    assert all(re.fullmatch(r"CHG\d{7}", n) for n in numbers) and len(set(numbers)) == len(numbers)


def test_injected_tickets_are_served_incomplete_or_open(demo):
    """The CM-11/12/21 injections reach the ServiceNow and Jira payloads (empty field, plan
    without a part, no closed date / resolution)."""
    changes = rows(demo.ground_truth_dir / "changes.csv")
    table = demo.sample_dir / "servicenow/api/now/table"
    records = {r["number"]: r for r in json.loads((table / "change_request.json").read_text())["result"]}
    injected = {k: [records[c["ticket_number"]] for c in changes if k in c["injected"].split(";")]
                for k in ("ticket_missing_test_plan", "rollback_plan_missing_owner", "ticket_never_closed")}
    assert all(r["test_plan"] == "" for r in injected["ticket_missing_test_plan"])
    assert all("Owner" not in r["backout_plan"] and "Steps" in r["backout_plan"]
               for r in injected["rollback_plan_missing_owner"])
    assert all(r["closed_at"] == "" and r["close_code"] == "" and r["state"] == "-1"
               for r in injected["ticket_never_closed"])
    assert all(injected.values())
    complete = [records[c["ticket_number"]] for c in changes if c["ticket_number"] and not c["injected"]]
    assert complete and all(r["description"] and r["test_plan"] and r["close_code"] == "successful" for r in complete)


def test_jira_variant_serves_open_tickets_without_resolution(tmp_path):
    from flows.demo.jira import FIELDS
    org = generate(tmp_path, seed=7, scale=SCALE, tickets="jira")
    changes = rows(org.ground_truth_dir / "changes.csv")
    issues = {i["key"]: i["fields"] for i in json.loads((org.sample_dir / "jira/rest/api/3/search/jql.json").read_text())["issues"]}
    never = [issues[c["ticket_number"]] for c in changes if "ticket_never_closed" in c["injected"].split(";")]
    missing = [issues[c["ticket_number"]] for c in changes if "ticket_missing_test_plan" in c["injected"].split(";")]
    assert never and all(f["resolutiondate"] is None and f[FIELDS["close_code"]] is None for f in never)
    assert missing and all(f[FIELDS["test_plan"]] is None for f in missing)


def test_ground_truth_files(demo):
    truth = demo.ground_truth_dir
    failures = rows(truth / "expected_failures.csv")
    assert list(failures[0]) == ["control_id", "subject_id", "reason"]
    changes = rows(truth / "changes.csv")
    assert {c["expected_outcome"] for c in changes} == {"compliant", "exception", "violation"}
    assert sum(c["is_baseline"] == "true" for c in changes) == 3
    summary = json.loads((truth / "summary.json").read_text())
    assert summary["counts"]["changes"] == len(changes)
    assert summary["counts"]["expected_failures"] == len(failures)
    assert {f["subject_id"] for f in failures if f["control_id"] == "EV-03"} == {
        "github/reviews", "sarif/runs", "people/people"}
    by_change = {}
    for f in failures:
        by_change.setdefault(f["subject_id"], set()).add(f["control_id"])
    for c in changes:
        assert by_change.get(c["change_id"], set()) == set(filter(None, c["failed_controls"].split(";")))
        assert (c["expected_outcome"] == "compliant") == (c["change_id"] not in by_change)


def test_the_files_alone_reproduce_the_ground_truth(demo):
    """Read every file back, quarantine what the extractors quarantine, evaluate: same results."""
    org = load_sample(demo.sample_dir)
    evaluator = Evaluator(org, parse_period(demo.period))
    got = {(r.control_id, r.subject_id): r.status for c in evaluator.evaluate() for r in c.results.values()}
    got |= {(r.control_id, r.subject_id): r.status for r in evaluator.quarantine_results()}
    period, teams = parse_period(demo.period), set(load_config(demo.config_path).teams)
    got |= {(r.control_id, r.subject_id): r.status for r in cm07_results(read_audit_logs(demo.sample_dir), org, period)}
    got |= {(r.control_id, r.subject_id): r.status for r in ev02_results(org, period, teams)}
    expected = {(r["control_id"], r["subject_id"]): r["status"]
                for r in rows(demo.ground_truth_dir / "control_results.csv")
                if r["control_id"] != "EV-03" or r["status"] == "fail"}
    assert got == expected


def test_malformed_records_change_no_other_outcome(demo):
    """Even an extractor that failed to quarantine them would evaluate every change the same."""
    period = parse_period(demo.period)
    strict = {c.change_id: c.failed for c in Evaluator(load_sample(demo.sample_dir), period).evaluate()}
    lenient = {c.change_id: c.failed for c in Evaluator(load_sample(demo.sample_dir, lenient=True), period).evaluate()}
    assert strict == lenient


def test_generate_reports_counts(demo):
    assert demo.count_changes == 150 and demo.count_repositories == 40
    assert set(demo.failures_by_control) == set(CHANGE_CONTROLS) | {"CM-07", "EV-02", "EV-03"}
    assert all(n >= 1 for n in demo.failures_by_control.values())
    assert demo.count_files == sum(1 for p in demo.out_dir.rglob("*") if p.is_file())
