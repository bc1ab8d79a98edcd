"""Given/expect cases for the change controls: for each, a pass, a fail and a not-applicable."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.controls.harness import Org


def status(org: Org, control: str, change_id: str, **kw) -> str:
    return org.evaluate(control, **kw)[change_id][0]


# CM-01 undocumented-change -------------------------------------------------------------------
def test_cm01_ticket_in_branch_only_links():
    org = Org()
    ok = org.change(ticket="CHG0000007")
    pr = org.find("stg_github__pull_requests", number=ok["pr"])
    pr["title"], pr["head_ref"] = "retry logic", "feature/CHG0000007-retry"
    assert org.evaluate("CM-01")[ok["change_id"]] == ("pass", "linked to CHG0000007 (found in PR #%d branch)" % ok["pr"])


def test_cm01_unknown_key_fails_and_names_it():
    org = Org()
    bad = org.change(ticket=None)
    org.find("stg_github__pull_requests", number=bad["pr"])["title"] = "CHG9999999 typo"
    result = org.evaluate("CM-01")[bad["change_id"]]
    assert result[0] == "fail" and "CHG9999999" in result[1]


# CM-02 unattributable-change -------------------------------------------------------------------
def test_cm02_identities():
    org = Org()
    human = org.change(deployer="alice")
    bot_ok = org.change(repo="acme/a", deployer="deploy-bot")
    org.find("stg_github__deployments", deployment_id=bot_ok["deployment_id"])["payload"] = json.dumps({"triggered_by": "bob"})
    bot_bad = org.change(repo="acme/b", deployer="deploy-bot")
    shared = org.change(repo="acme/c", deployer="ops-shared")
    unknown = org.change(repo="acme/d", deployer="mallory")
    got = org.evaluate("CM-02")
    assert got[human["change_id"]][0] == "pass"
    assert got[bot_ok["change_id"]][0] == "pass"
    assert got[bot_bad["change_id"]] == ("fail", "service account deploy-bot with no human trigger")
    assert got[shared["change_id"]] == ("fail", "shared account ops-shared")
    assert got[unknown["change_id"]][0] == "fail" and "mallory" in got[unknown["change_id"]][1]


# CM-03 no-code-review --------------------------------------------------------------------------
def test_cm03_direct_push_fails_rollback_not_applicable_squash_passes():
    org = Org()
    squash = org.change()  # merge_commit_sha is the deployed commit, not among PR commits
    pushed = org.change(repo="acme/b")
    org.drop("stg_github__commit_pulls", sha=pushed["sha"])
    org.find("stg_github__pull_requests", number=pushed["pr"])["merge_commit_sha"] = "other"
    rollback = org.change(repo="acme/c")
    org.find("stg_github__deployments", deployment_id=rollback["deployment_id"])["task"] = "deploy:rollback"
    got = org.evaluate("CM-03")
    assert got[squash["change_id"]][0] == "pass"
    assert got[pushed["change_id"]][0] == "fail" and "not from a merged PR" in got[pushed["change_id"]][1]
    assert got[rollback["change_id"]][0] == "not_applicable"


def test_cm03_only_self_approval_fails_and_missing_compare_is_error():
    org = Org()
    selfish = org.change(reviewers=("alice",))
    nocompare = org.change(repo="acme/b")
    org.drop("stg_github__compares", head_sha=nocompare["sha"])
    got = org.evaluate("CM-03")
    assert got[selfish["change_id"]][0] == "fail"
    assert got[nocompare["change_id"]][0] == "error"


def test_cm03_first_deployment_of_a_repository_is_a_baseline():
    org = Org()
    first = org.change(repo="acme/new")
    org.drop("stg_github__deployments", sha=org.find("stg_github__compares", head_sha=first["sha"])["base_sha"])
    org.drop("stg_github__compares", head_sha=first["sha"])
    assert status(org, "CM-03", first["change_id"]) == "pass"


# CM-04 insufficient-review ---------------------------------------------------------------------
def test_cm04_cases():
    org = Org()
    good = org.change()
    one = org.change(repo="acme/one", reviewers=("bob",))
    stale = org.change(repo="acme/stale")
    org.find("stg_github__reviews", pr_number=stale["pr"], reviewer_login="carol")["commit_id"] = "oldhead"
    late = org.change(repo="acme/late")
    org.find("stg_github__reviews", pr_number=late["pr"], reviewer_login="carol")["submitted_at"] = late["merged_at"] + timedelta(hours=1)
    junior = org.change(repo="acme/junior", reviewers=("carol", "dave"))
    redeemed = org.change(repo="acme/redeemed")  # requested changes, then approved the head: counts
    org.review("acme/redeemed", redeemed["pr"], "carol", "CHANGES_REQUESTED", "oldhead", redeemed["merged_at"] - timedelta(days=1))
    coauthor = org.change(repo="acme/coauthor")
    org.find("stg_github__pr_commits", pr_number=coauthor["pr"])["message"] = "feature\n\nCo-authored-by: Carol <carol@acme.test>"
    reverted = org.change(repo="acme/reverted")  # approved, then requested changes: does not count
    org.review("acme/reverted", reverted["pr"], "carol", "CHANGES_REQUESTED", reverted["head"], reverted["merged_at"] - timedelta(minutes=10))
    nopr = org.change(repo="acme/nopr")
    org.drop("stg_github__commit_pulls", sha=nopr["sha"])
    org.find("stg_github__pull_requests", number=nopr["pr"])["merge_commit_sha"] = "other"
    got = org.evaluate("CM-04")
    assert got[good["change_id"]][0] == "pass"
    assert got[redeemed["change_id"]][0] == "pass"
    for case in (one, stale, late, coauthor, reverted):
        assert got[case["change_id"]][0] == "fail", case
    assert got[junior["change_id"]] == ("fail", f"no senior approver on #{junior['pr']}")
    assert got[nopr["change_id"]][0] == "not_applicable"


# CM-05 ci-not-passed ---------------------------------------------------------------------------
def test_cm05_missing_failing_pending():
    org = Org()
    good = org.change()
    missing = org.change(repo="acme/m")
    org.drop("stg_github__check_runs", head_sha=missing["sha"], name="test")
    failing = org.change(repo="acme/f")
    org.find("stg_github__check_runs", head_sha=failing["sha"], name="build")["conclusion"] = "failure"
    pending = org.change(repo="acme/p")
    org.find("stg_github__check_runs", head_sha=pending["sha"], name="test")["completed_at"] = pending["deployed_at"] + timedelta(minutes=1)
    rollback = org.change(repo="acme/r")
    org.find("stg_github__deployments", deployment_id=rollback["deployment_id"])["task"] = "deploy:rollback"
    got = org.evaluate("CM-05")
    assert got[good["change_id"]][0] == "pass"
    assert got[missing["change_id"]] == ("fail", "test: missing")
    assert got[failing["change_id"]] == ("fail", "build: failure")
    assert got[pending["change_id"]] == ("fail", "test: pending at deploy time")
    assert got[rollback["change_id"]][0] == "not_applicable"


# CM-08 security-scan-gate ----------------------------------------------------------------------
def _finding(org, ids, severity, suppressed=False):
    org.add("stg_sarif__scan_findings", scan_file=f"{ids['sha']}.sarif", tool_name="CodeQL", run_index=0, result_index=0,
            repo=ids["repo"], commit_sha=ids["sha"], scanned_at=ids["deployed_at"] - timedelta(hours=4),
            rule_id="py/sql-injection", level="error", security_severity=8.8, severity=severity,
            is_suppressed=suppressed, message="x", location_uri="a.py", fingerprint="f")


def test_cm08_cases():
    org = Org()
    clean = org.change()
    noscan = org.change(repo="acme/n")
    org.drop("stg_sarif__scans", commit_sha=noscan["sha"])
    high = org.change(repo="acme/h")
    _finding(org, high, "high")
    suppressed = org.change(repo="acme/s")
    _finding(org, suppressed, "critical", suppressed=True)
    medium = org.change(repo="acme/md")
    _finding(org, medium, "medium")
    late_scan = org.change(repo="acme/l")
    org.find("stg_sarif__scans", commit_sha=late_scan["sha"])["scanned_at"] = late_scan["deployed_at"] + timedelta(hours=1)
    rollback = org.change(repo="acme/r")
    org.find("stg_github__deployments", deployment_id=rollback["deployment_id"])["task"] = "deploy:rollback"
    got = org.evaluate("CM-08")
    assert got[clean["change_id"]][0] == "pass"
    assert got[suppressed["change_id"]][0] == "pass"
    assert got[medium["change_id"]][0] == "pass"
    assert got[noscan["change_id"]][0] == "fail"
    assert got[late_scan["change_id"]][0] == "fail"
    assert got[high["change_id"]] == ("fail", "1 open critical/high finding(s): high py/sql-injection")
    assert got[rollback["change_id"]][0] == "not_applicable"


# CM-09 no-staging-validation -------------------------------------------------------------------
def test_cm09_cases():
    org = Org()
    staged = org.change()
    unstaged = org.change(repo="acme/u", ticket="CHG0000002")
    org.drop("stg_github__deployments", sha=unstaged["sha"], environment="staging")
    standard = org.change(repo="acme/s", ticket="CHG0000003", ticket_type="standard")
    org.drop("stg_github__deployments", sha=standard["sha"], environment="staging")
    got = org.evaluate("CM-09")
    assert got[staged["change_id"]][0] == "pass"
    assert got[unstaged["change_id"]][0] == "fail"
    assert got[standard["change_id"]][0] == "not_applicable"


# CM-10 missing-approval ------------------------------------------------------------------------
def test_cm10_cases():
    org = Org()
    normal = org.change(ticket="CHG0000001")
    only_lead = org.change(repo="acme/l", ticket="CHG0000002")
    org.drop("stg_servicenow__approvals", change_sys_id="cr-CHG0000002", approver_sys_id="sn-quinn")
    late = org.change(repo="acme/late", ticket="CHG0000003")
    org.find("stg_servicenow__approvals", change_sys_id="cr-CHG0000003", approver_sys_id="sn-quinn")["updated_at"] = late["deployed_at"] + timedelta(hours=2)
    major = org.change(repo="acme/major", ticket="CHG0000004", risk="2")
    major_no_ciso = org.change(repo="acme/major2", ticket="CHG0000005", risk="2")
    org.drop("stg_servicenow__approvals", change_sys_id="cr-CHG0000005", approver_sys_id="sn-cyrus")
    standard = org.change(repo="acme/std", ticket="CHG0000006", ticket_type="standard")
    emergency = org.change(repo="acme/em", ticket="CHG0000008", ticket_type="emergency")
    untracked = org.change(repo="acme/none", ticket=None)
    got = org.evaluate("CM-10")
    assert got[normal["change_id"]][0] == "pass"
    assert got[major["change_id"]][0] == "pass"
    assert got[standard["change_id"]][0] == "pass"
    assert got[only_lead["change_id"]][0] == "fail"
    assert got[late["change_id"]][0] == "fail" and "1 approval(s) after deployment" in got[late["change_id"]][1]
    assert got[major_no_ciso["change_id"]][0] == "fail"
    assert got[emergency["change_id"]][0] == "not_applicable"
    assert got[untracked["change_id"]][0] == "not_applicable"


def test_cm08_alerts_open_at_deploy_time_block():
    org = Org()
    open_alert = org.change(repo="acme/alerts")
    fixed_before = org.change(repo="acme/fixed")
    for ids, closed in ((open_alert, None), (fixed_before, fixed_before["deployed_at"] - timedelta(days=1))):
        org.add("stg_github__security_alerts", alert_id=f"dependabot:{ids['repo']}#1", repo=ids["repo"], kind="dependabot",
                tool_name="Dependabot", rule_id="GHSA-xxxx", severity="critical", state="open" if closed is None else "fixed",
                created_at=ids["deployed_at"] - timedelta(days=10), fixed_at=closed, dismissed_at=None,
                dismissed_reason=None, closed_at=closed, commit_sha=None, location_uri=None, html_url=None)
    got = org.evaluate("CM-08")
    assert got[open_alert["change_id"]] == ("fail", "1 open critical/high finding(s): critical GHSA-xxxx")
    assert got[fixed_before["change_id"]][0] == "pass"
