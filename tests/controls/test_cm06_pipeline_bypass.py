"""CM-06 pipeline-bypass: given/expect cases for both halves (pipeline, release branch)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from flows.config import Config, ConfigError, load_config
from tests.controls.harness import Org
from warehouse.results_store import WORKING, start_run
from warehouse.runner import load_controls, mark_stale_evidence, store_control
from warehouse.schema import DDL

EVALUATED = datetime(2026, 11, 27, tzinfo=timezone.utc)


def run_with_ev01(org: Org, config: Config, control_ids: tuple[str, ...]) -> dict:
    """(control, subject) -> (status, reason), stored like the runner does, then EV-01 applied."""
    con = org.connect(config=config, evaluated_at=EVALUATED)
    con.execute(next(d for d in DDL if "control_results (" in d))
    start_run(con)
    controls = [c for c in load_controls() if c.control_id in control_ids]
    for control in controls:
        store_control(con, control, "run-1", "2026Q3", EVALUATED)
    mark_stale_evidence(con, controls, "run-1")
    rows = con.execute(f"select control_id, subject_id, status, reason from {WORKING}").fetchall()
    return {(c, s): (st, r) for c, s, st, r in rows}


def _laptop(org: Org, ids: dict) -> None:
    """The deployment's statuses link no CI run: made by hand."""
    org.find("stg_github__deployment_statuses", deployment_id=ids["deployment_id"])["log_url"] = None


def _off_release_branch(org: Org, ids: dict, branch: str = "feature/x") -> None:
    org.find("stg_github__deployments", deployment_id=ids["deployment_id"])["ref"] = branch
    org.find("stg_github__pull_requests", number=ids["pr"])["base_ref"] = branch


def test_cm06_pipeline_run_on_main_passes():
    org = Org()
    ok = org.change()
    status, reason = org.evaluate("CM-06")[ok["change_id"]]
    assert status == "pass"
    assert "actions/runs" in reason and "deployed from ref main" in reason


def test_cm06_human_from_a_laptop_fails_naming_the_pipeline_half():
    org = Org()
    laptop = org.change()
    _laptop(org, laptop)
    status, reason = org.evaluate("CM-06")[laptop["change_id"]]
    assert status == "fail"
    assert reason == "not performed by the pipeline: alice is not a pipeline identity and no CI run performed the deployment"


def test_cm06_bot_via_pipeline_identity_passes_without_a_ci_log():
    org = Org()
    bot = org.change(deployer="github-actions[bot]")
    _laptop(org, bot)
    assert org.evaluate("CM-06")[bot["change_id"]] == ("pass", "pipeline identity github-actions[bot]; deployed from ref main")
    # the identity is the policy's: without it the same deployment is a bypass
    config = Config()
    config.policy.pipeline_identities = ["system:serviceaccount:argocd:*"]
    assert org.evaluate("CM-06", config=config)[bot["change_id"]][0] == "fail"


def test_cm06_workflow_run_running_at_creation_counts_as_pipeline():
    org = Org()
    ids = org.change()
    _laptop(org, ids)
    created = ids["deployed_at"] - timedelta(minutes=5)
    org.add("stg_github__workflow_runs", run_id=77, repo=ids["repo"], workflow_name="deploy", event="workflow_dispatch",
            status="completed", conclusion="success", head_sha=ids["sha"], head_branch="main", actor_login="alice",
            triggering_actor_login="alice", created_at=created - timedelta(minutes=2),
            run_started_at=created - timedelta(minutes=1), updated_at=ids["deployed_at"],
            html_url="https://github.com/acme/payments/actions/runs/77")
    status, reason = org.evaluate("CM-06")[ids["change_id"]]
    assert status == "pass" and "actions/runs/77" in reason


def test_cm06_feature_branch_sha_fails_naming_the_branch_half():
    org = Org()
    feature = org.change()
    _off_release_branch(org, feature)
    status, reason = org.evaluate("CM-06")[feature["change_id"]]
    assert status == "fail"
    assert reason.startswith("not on a release branch: m000") and "(ref feature/x) is on none of main, master" in reason


def test_cm06_both_halves_fail_together():
    org = Org()
    ids = org.change()
    _laptop(org, ids)
    _off_release_branch(org, ids)
    status, reason = org.evaluate("CM-06")[ids["change_id"]]
    assert status == "fail" and "not performed by the pipeline" in reason and "not on a release branch" in reason


def test_cm06_tag_ref_passes_through_the_merged_pr_and_repository_default_branch():
    org = Org()
    ids = org.change()
    org.find("stg_github__deployments", deployment_id=ids["deployment_id"])["ref"] = "v2026.08.04.1"
    org.add("stg_github__repositories", repo=ids["repo"], repo_id=1, default_branch="trunk", html_url=None, archived=False)
    org.find("stg_github__pull_requests", number=ids["pr"])["base_ref"] = "trunk"
    status, reason = org.evaluate("CM-06")[ids["change_id"]]
    assert status == "pass" and f"in PR #{ids['pr']} merged into trunk" in reason
    # configured release branches replace the default branch
    config = Config()
    config.policy.release_branches = ["release/*"]
    status, reason = org.evaluate("CM-06", config=config)[ids["change_id"]]
    assert status == "fail" and "is on none of release/*" in reason
    org.find("stg_github__pull_requests", number=ids["pr"])["base_ref"] = "release/2026.08"
    assert org.evaluate("CM-06", config=config)[ids["change_id"]][0] == "pass"


def test_cm06_rollback_to_a_deployed_sha_passes_the_branch_half():
    org = Org()
    first = org.change()
    rollback_at = first["deployed_at"] + timedelta(days=1)
    dep_id = org.deploy(first["repo"], f"b{first['pr']:039d}", rollback_at, task="deploy:rollback")
    org.find("stg_github__deployments", deployment_id=dep_id)["ref"] = f"b{first['pr']:039d}"
    status, reason = org.evaluate("CM-06")[f"{first['repo']}@{dep_id}"]
    assert status == "pass" and "rollback to the sha of production deployment" in reason


def test_cm06_stale_code_host_turns_pass_into_error_and_keeps_failures():
    org = Org()
    ok = org.change()
    laptop = org.change(repo="acme/b")
    _laptop(org, laptop)
    org.manifests.append(dict(system="github", finished_at=EVALUATED - timedelta(days=3)))
    got = run_with_ev01(org, Config.model_validate({"sources": {"github": {"org": "acme"}}}), ("CM-06", "EV-01"))
    assert got[("CM-06", ok["change_id"])][0] == "error"
    assert got[("CM-06", ok["change_id"])][1].startswith("evidence stale: github last extracted")
    assert got[("CM-06", laptop["change_id"])][0] == "fail"


def test_cm06_policy_keys_are_validated_by_name(tmp_path):
    path = tmp_path / "changetrail.toml"
    path.write_text('[policy]\nrelease_branches = "main"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="policy.release_branches"):
        load_config(path)
    path.write_text('[policy]\npipeline_run_urls = ["*/actions/runs/*"]\nrelease_branches = ["release/*"]\n',
                    encoding="utf-8")
    assert load_config(path).policy.release_branches == ["release/*"]
