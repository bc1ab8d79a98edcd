"""CM-22 prod-credentials-outside-prod: credential findings in non-production code or config."""
from __future__ import annotations

from datetime import timedelta

from flows.config import Config
from tests.controls.harness import Org
from tests.controls.test_cm06_pipeline_bypass import EVALUATED, run_with_ev01

SECRET_RULE = "generic.secrets.gitleaks.generic-api-key"


def finding(org: Org, ids: dict, rule_id: str, path: str, suppressed: bool = False, severity: str = "medium",
            tool: str = "CodeQL") -> None:
    """One result in the scan of the deployed commit the harness made."""
    org.add("stg_sarif__scan_findings", scan_file=f"{ids['sha']}.sarif", tool_name=tool, run_index=0,
            result_index=org.next_id(), repo=ids["repo"], commit_sha=ids["sha"],
            scanned_at=ids["deployed_at"] - timedelta(hours=4), rule_id=rule_id, level="warning",
            security_severity=None, severity=severity, is_suppressed=suppressed, message="finding",
            location_uri=path, fingerprint=None)


def test_cm22_secret_in_tests_fails_secret_in_src_passes():
    org = Org()
    in_tests = org.change()
    finding(org, in_tests, SECRET_RULE, "services/api/tests/fixtures/settings.py", severity="low")
    in_src = org.change(repo="acme/b")
    finding(org, in_src, SECRET_RULE, "src/config.py", severity="high")
    got = org.evaluate("CM-22")
    assert got[in_tests["change_id"]] == (
        "fail", f"1 credential finding(s) in non-production code or config: {SECRET_RULE} at services/api/tests/fixtures/settings.py")
    assert got[in_src["change_id"]] == ("pass", "1 scan(s), no credential finding in non-production paths")


def test_cm22_suppressed_finding_and_non_credential_rule_pass():
    org = Org()
    dummy = org.change()
    finding(org, dummy, SECRET_RULE, "tests/test_client.py", suppressed=True)
    sast = org.change(repo="acme/b")
    finding(org, sast, "python.lang.security.audit.insecure-hash", "tests/test_hash.py", severity="high")
    got = org.evaluate("CM-22")
    assert got[dummy["change_id"]] == ("pass", "1 scan(s), no credential finding in non-production paths (1 suppressed)")
    assert got[sast["change_id"]][0] == "pass"


def test_cm22_config_paths_and_secret_scanner_tools():
    org = Org()
    compose = org.change()
    finding(org, compose, "aws-access-token", "file:///src/deploy/docker-compose.override.yml")
    dotenv = org.change(repo="acme/b")
    finding(org, dotenv, "generic-rule-17", "config/.env.dev", tool="gitleaks")
    staging = org.change(repo="acme/c")
    finding(org, staging, "private-key", "k8s/overlays/eu-staging/secret.yaml")
    got = org.evaluate("CM-22")
    assert got[compose["change_id"]][0] == "fail" and "docker-compose.override.yml" in got[compose["change_id"]][1]
    assert got[dotenv["change_id"]][0] == "fail"      # every finding of a secret scanner is a credential
    assert got[staging["change_id"]][0] == "fail"


def test_cm22_policy_paths_are_configuration():
    org = Org()
    ids = org.change()
    finding(org, ids, SECRET_RULE, "qa/seed.py")
    assert org.evaluate("CM-22")[ids["change_id"]][0] == "pass"
    config = Config()
    config.policy.nonproduction_paths = ["qa/*"]
    assert org.evaluate("CM-22", config=config)[ids["change_id"]][0] == "fail"


def test_cm22_not_applicable_without_scan_or_for_rollback():
    org = Org()
    unscanned = org.change()
    org.drop("stg_sarif__scans", commit_sha=unscanned["sha"])
    late = org.change(repo="acme/b")
    org.find("stg_sarif__scans", commit_sha=late["sha"])["scanned_at"] = late["deployed_at"] + timedelta(minutes=5)
    rollback = org.change(repo="acme/c")
    org.find("stg_github__deployments", deployment_id=rollback["deployment_id"])["task"] = "deploy:rollback"
    got = org.evaluate("CM-22")
    assert got[unscanned["change_id"]][0] == "not_applicable" and "CM-08" in got[unscanned["change_id"]][1]
    assert got[late["change_id"]][0] == "not_applicable"
    assert got[rollback["change_id"]][0] == "not_applicable"


def test_cm22_stale_scanner_source_turns_pass_into_error():
    org = Org()
    ok = org.change()
    leak = org.change(repo="acme/b")
    finding(org, leak, SECRET_RULE, "tests/conftest.py")
    org.manifests.append(dict(system="sarif", finished_at=EVALUATED - timedelta(days=30)))
    got = run_with_ev01(org, Config.model_validate({"sources": {"sarif": {"path": "sarif"}}}), ("CM-22", "EV-01"))
    assert got[("CM-22", ok["change_id"])][0] == "error"
    assert got[("CM-22", leak["change_id"])][0] == "fail"
