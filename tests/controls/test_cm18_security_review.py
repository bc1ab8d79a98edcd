"""Given/expect cases for CM-18 missing-security-review (§2 Review): changes touching auth, data
access or encryption paths need a security approval (ticket or PR, by a security role)."""
from __future__ import annotations

from datetime import timedelta

from flows.config import Config
from tests.controls.harness import Org
from tests.controls.test_evidence_quality import EVALUATED, GITHUB, SERVICENOW, _run


def policy(**knobs) -> Config:
    return Config.model_validate({"policy": knobs})


def with_security_engineer(org: Org) -> Org:
    org.rows["stg_people__people"].append(dict(
        person_id="sam", name="Sam", email="sam@acme.test", github_login="sam", servicenow_user_sys_id="sn-sam",
        pagerduty_user_id=None, roles=["security"], team="security", kind="human"))
    return org


def test_sensitive_change_needs_a_security_approval():
    org = Org()
    normal = org.change(repo="acme/a", ticket="CHG0000001")                # approved by lena + quinn
    org.touch(normal, "src/auth/session.go", "README.md")
    major = org.change(repo="acme/b", ticket="CHG0000002", risk="2")       # approved by lena + cyrus (CISO)
    org.touch(major, "src/crypto/keys.go")
    got = org.evaluate("CM-18")
    assert got[normal["change_id"]] == ("fail", "touches auth (src/auth/session.go) without a security approval by ciso/security")
    assert got[major["change_id"]] == ("pass", "security approval for encryption: cyrus (ticket CHG0000002)")


def test_security_approval_after_deployment_does_not_count():
    org = Org()
    ids = org.change(ticket="CHG0000001")
    org.touch(ids, "db/migrations/0042_add_index.sql")
    org.approve("CHG0000001", "cyrus", ids["deployed_at"] + timedelta(minutes=5))
    status, reason = org.evaluate("CM-18")[ids["change_id"]]
    assert status == "fail" and reason.startswith("touches data_access (db/migrations/0042_add_index.sql)")
    org.approve("CHG0000001", "cyrus", ids["deployed_at"] - timedelta(minutes=5))
    assert org.evaluate("CM-18")[ids["change_id"]][0] == "pass"


def test_pr_approval_by_a_security_engineer_counts_only_when_valid():
    org = with_security_engineer(Org())
    valid = org.change(repo="acme/a", ticket="CHG0000001", reviewers=("bob", "carol", "sam"))
    org.touch(valid, "services/rbac/policy.rego")
    stale = org.change(repo="acme/b", ticket="CHG0000002", reviewers=("bob", "carol"))
    org.touch(stale, "services/rbac/policy.rego")
    org.review("acme/b", stale["pr"], "sam", "APPROVED", "an-older-commit", stale["merged_at"] - timedelta(hours=2))
    author = org.change(repo="acme/c", ticket="CHG0000003", author="sam", reviewers=("bob", "carol", "sam"))
    org.touch(author, "services/rbac/policy.rego")
    got = org.evaluate("CM-18")
    assert got[valid["change_id"]] == ("pass", f"security approval for auth: sam (PR #{valid['pr']})")
    assert got[stale["change_id"]][0] == "fail"     # not on the PR's final head commit
    assert got[author["change_id"]][0] == "fail"    # the PR's author cannot review it


def test_renamed_file_counts_with_its_old_path_and_root_directories_match():
    org = Org()
    renamed = org.change(repo="acme/a", ticket="CHG0000001")
    org.touch(renamed, "src/util/helpers.go", renamed_from="src/crypto/helpers.go")
    root = org.change(repo="acme/b", ticket="CHG0000002")
    org.touch(root, "auth/oidc.py")
    got = org.evaluate("CM-18")
    assert got[renamed["change_id"]][0] == "fail" and "encryption" in got[renamed["change_id"]][1]
    assert got[root["change_id"]][0] == "fail" and "auth (auth/oidc.py)" in got[root["change_id"]][1]


def test_not_applicable_and_unknown_files():
    org = Org()
    plain = org.change(repo="acme/a", ticket="CHG0000001")
    org.touch(plain, "src/service/handler.go", "config/production.yaml")
    unknown = org.change(repo="acme/b", ticket="CHG0000002")            # compare lists no files
    no_compare = org.change(repo="acme/c", ticket="CHG0000003")
    org.drop("stg_github__compares", repo="acme/c")
    rollback = org.deploy("acme/a", org.find("stg_github__compares", repo="acme/a")["base_sha"],
                          plain["deployed_at"] + timedelta(hours=1), task="deploy:rollback")
    got = org.evaluate("CM-18")
    assert got[plain["change_id"]] == ("not_applicable", "touches no auth, data access or encryption path (2 file(s))")
    assert got[unknown["change_id"]] == ("error", "changed files unknown: the compare lists no files")
    assert got[no_compare["change_id"]] == ("error", "changed files unknown: no compare of the change set")
    assert got[f"acme/a@{rollback}"] == ("not_applicable", "rollback to a previously deployed commit (see CM-17)")
    baselines = [s for s, (_, reason) in got.items() if reason == "baseline deployment: no compared file list"]
    assert len(baselines) == 3


def test_sensitive_paths_and_security_roles_are_configured():
    org = Org()
    ids = org.change(ticket="CHG0000001")
    org.touch(ids, "billing/ledger.py")
    assert org.evaluate("CM-18")[ids["change_id"]][0] == "not_applicable"
    billing = policy(sensitive_paths={"data_access": ["billing/**"]})
    status, reason = org.evaluate("CM-18", config=billing)[ids["change_id"]]
    assert status == "fail" and reason.startswith("touches data_access (billing/ledger.py)")
    qa_counts = policy(sensitive_paths={"data_access": ["billing/**"]}, security_approver_roles=["qa"])
    assert org.evaluate("CM-18", config=qa_counts)[ids["change_id"]] == (
        "pass", "security approval for data_access: quinn (ticket CHG0000001)")


def test_stale_code_host_turns_a_pass_into_an_error():
    org = Org()
    ok = org.change(ticket="CHG0000001", risk="2")
    org.touch(ok, "src/auth/login.go")
    org.manifests += [dict(system="github", finished_at=EVALUATED - timedelta(days=4)),
                      dict(system="servicenow", finished_at=EVALUATED - timedelta(hours=1))]
    cfg = Config.model_validate({"sources": {"github": GITHUB, "servicenow": SERVICENOW}})
    status, reason = _run(org, cfg, ("CM-18", "EV-01"))[("CM-18", ok["change_id"])]
    assert status == "error" and reason.startswith("evidence stale: github last extracted")
