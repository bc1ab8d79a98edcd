"""Opt-in GitHub streams: workflow runs, code-scanning and Dependabot alerts, combined commit
status (as check runs), and people from org teams - on real recordings and a served folder."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

from extractors.core import ApiClient, Extraction
from extractors.github import extract_github_repo, github_client
from extractors.github.more import extract_github_people, extract_repo_more
from extractors.github.more_streams import WORKFLOW_RUNS
from flows.config import GitHubSource
from tests.extractors.conftest import read_manifest, write_json
from tests.extractors.replay import ReplayTransport, parse_replay

ALL_ON = dict(workflow_runs=True, code_scanning_alerts=True, dependabot_alerts=True, commit_statuses=True)
UTC = timezone.utc


def _replay_unit(realdata: Path, landing: Path, replay: str, repo: str, shas: list[str], **flags) -> dict:
    client = ApiClient("github", "https://api.github.com",
                       transport=ReplayTransport(parse_replay(realdata / "pygithub" / replay)))
    config = GitHubSource(org=repo.split("/")[0], **flags)
    with Extraction("github", repo, landing, "r1", client, unit_context={"repo": repo}) as ex:
        extract_repo_more(ex, config, repo, shas, {"per_page": 100})
        return read_manifest(ex.finish())


def test_workflow_runs(realdata: Path, tmp_path: Path, warehouse) -> None:
    m = _replay_unit(realdata, tmp_path, "Repository.testGetWorkflowRuns.txt", "PyGithub/PyGithub",
                     ["7abf600"], workflow_runs=True)
    assert [(f["stream"], f["records"]) for f in m["files"]] == [("workflow_runs", 5)] and m["quarantined"] == []
    # the single-run recording carries triggering_actor (a fork's pull_request run)
    single = dataclasses.replace(WORKFLOW_RUNS, path="/repos/{repo}/actions/runs/3881497935", single_object=True)
    client = ApiClient("github", "https://api.github.com",
                       transport=ReplayTransport(parse_replay(realdata / "pygithub" / "WorkflowRun.setUp.txt")))
    with Extraction("github", "PyGithub/PyGithub", tmp_path, "r2", client, unit_context={"repo": "PyGithub/PyGithub"}) as ex:
        ex.run(single, [{"repo": "PyGithub/PyGithub"}])
        ex.finish()
    con = warehouse(tmp_path)
    rows = con.execute("select run_id, event, status, conclusion, triggering_actor_login from stg_github__workflow_runs "
                       "order by run_id").fetchall()
    assert len(rows) == 6
    assert rows[0][:4] == (110278769, "pull_request", "completed", "success")
    run = [r for r in rows if r[0] == 3881497935][0]
    assert run[1:4] == ("pull_request", "completed", "success") and run[4] is not None


def test_code_scanning_alerts(realdata: Path, tmp_path: Path, warehouse) -> None:
    m = _replay_unit(realdata, tmp_path, "CodeScanAlert.testMultipleAlerts.txt", "matt-davis27/PyGithub", [],
                     code_scanning_alerts=True)
    assert [(f["stream"], f["records"]) for f in m["files"]] == [("code_scanning_alerts", 14)]
    con = warehouse(tmp_path)
    got = con.execute("select state, severity, rule_id, count(*), count(fixed_at), count(closed_at) "
                      "from stg_github__security_alerts group by all order by 1").fetchall()
    fixed = [r for r in got if r[0] == "fixed"][0]
    opened = [r for r in got if r[0] == "open"][0]
    assert fixed[1:3] == ("medium", "actions/missing-workflow-permissions") and fixed[3] == fixed[4] == fixed[5]
    assert opened[4:] == (0, 0) and fixed[3] + opened[3] == 14


def test_dependabot_alerts(realdata: Path, tmp_path: Path, warehouse) -> None:
    m = _replay_unit(realdata, tmp_path, "DependabotAlert.testMultipleAlerts.txt", "coopernetes/PyGithub", [],
                     dependabot_alerts=True)
    assert [(f["stream"], f["records"]) for f in m["files"]] == [("dependabot_alerts", 1)]
    row = warehouse(tmp_path).execute(
        "select alert_id, kind, state, severity, dismissed_reason, closed_at from stg_github__security_alerts").fetchone()
    assert row == ("dependabot:coopernetes/PyGithub#1", "dependabot", "dismissed", "medium", "tolerable_risk",
                   datetime(2024, 1, 20, 22, 4, tzinfo=UTC))


def test_combined_commit_status_is_a_check_run(realdata: Path, tmp_path: Path, warehouse) -> None:
    sha = "74e70119a23fa3ffb3db19d4590eccfebd72b659"
    m = _replay_unit(realdata, tmp_path, "CommitCombinedStatus.setUp.txt", "edx/edx-platform", [sha],
                     commit_statuses=True)
    assert [(f["stream"], f["records"]) for f in m["files"]] == [("commit_statuses", 6)]
    con = warehouse(tmp_path)
    rows = con.execute("select repo, head_sha, name, status, conclusion, completed_at is not null "
                       "from stg_github_status__check_runs order by name").fetchall()
    assert rows[0] == ("edx/edx-platform", sha, "jenkins/a11y", "completed", "success", True)
    assert {r[4] for r in rows} == {"success"} and len(rows) == 6
    mine = [r[:2] for r in con.execute("describe stg_github_status__check_runs").fetchall()]
    assert mine == [r[:2] for r in con.execute("describe stg_github__check_runs").fetchall()]


def _folder(tmp_path: Path) -> Path:
    gh = tmp_path / "api" / "github"
    dep = {"id": 5, "sha": "abc", "ref": "main", "task": "deploy", "environment": "production",
           "creator": {"login": "deploy-bot", "type": "Bot"}, "created_at": "2026-08-04T10:00:00Z"}
    write_json(gh, "repos/acme/api", {"id": 1, "full_name": "acme/api", "default_branch": "main"})
    write_json(gh, "repos/acme/api/deployments", [dep])
    write_json(gh, "repos/acme/api/deployments/5/statuses",
               [{"id": 9, "state": "success", "created_at": "2026-08-04T10:05:00Z"}])
    write_json(gh, "repos/acme/api/pulls", [])
    write_json(gh, "repos/acme/api/commits/abc/check-runs", {"total_count": 0, "check_runs": []})
    write_json(gh, "repos/acme/api/commits/abc/pulls", [])
    return gh


def test_not_served_is_not_available_not_a_failure(tmp_path: Path) -> None:
    gh = _folder(tmp_path)
    config = GitHubSource(base_url="file://" + gh.as_posix(), org="acme", repos=["acme/api"], **ALL_ON)
    manifest = read_manifest(extract_github_repo(config, "acme/api", tmp_path / "landing", "r1"))
    files = {f["stream"]: f["records"] for f in manifest["files"]}
    for stream in ("workflow_runs", "code_scanning_alerts", "dependabot_alerts", "commit_statuses"):
        assert files[stream] == 0
    assert manifest["quarantined"] == []
    # and when served, the deployed sha's runs are asked for by head_sha
    write_json(gh, "repos/acme/api/actions/runs", {"total_count": 1, "workflow_runs": [
        {"id": 77, "head_sha": "abc", "event": "workflow_dispatch", "status": "completed", "conclusion": "success",
         "actor": {"login": "deploy-bot"}, "triggering_actor": {"login": "alice"}, "created_at": "2026-08-04T09:50:00Z"}]})
    manifest = read_manifest(extract_github_repo(config, "acme/api", tmp_path / "landing", "r2"))
    runs = [f for f in manifest["files"] if f["stream"] == "workflow_runs"][0]
    assert (runs["records"], runs["query"]) == (1, "GET /repos/acme/api/actions/runs?head_sha={sha}")


def test_people_from_github_teams(tmp_path: Path, warehouse) -> None:
    gh = tmp_path / "api" / "github"
    write_json(gh, "orgs/acme/members", [{"login": "Alice", "id": 1, "type": "User"},
                                         {"login": "bob", "id": 2, "type": "User"},
                                         {"login": "deploy-bot", "id": 3, "type": "Bot"}])
    write_json(gh, "orgs/acme/teams", [{"slug": "payments", "id": 10}, {"slug": "senior-engineers", "id": 11},
                                       {"slug": "leads", "id": 12}, {"slug": "ghost", "id": 13}])
    write_json(gh, "orgs/acme/teams/payments/members", [{"login": "Alice"}, {"login": "bob"}])
    write_json(gh, "orgs/acme/teams/senior-engineers/members", [{"login": "Alice"}])
    write_json(gh, "orgs/acme/teams/leads/members", [{"login": "alice"}])
    config = GitHubSource(base_url="file://" + gh.as_posix(), org="acme", people_from_teams=True,
                          team_roles={"senior-engineers": "senior_engineer", "leads": "eng_lead"})
    client = github_client(config)
    manifest = read_manifest(extract_github_people(config, tmp_path / "landing", "r1", client=client))
    assert manifest["unit"] == "acme/people"
    assert [q["locator"] for q in manifest["quarantined"]] == ["page 1"]       # team 'ghost' is not served
    people = warehouse(tmp_path / "landing").execute(
        "select person_id, github_login, roles, team, kind from stg_github__people order by 1").fetchall()
    assert people == [("github:alice", "Alice", ["eng_lead", "senior_engineer"], "payments", "human"),
                      ("github:bob", "bob", [], "payments", "human"),
                      ("github:deploy-bot", "deploy-bot", [], None, "service")]


def test_cm02_falls_back_to_the_workflow_runs_triggering_actor() -> None:
    """A bot deployment whose payload names no human passes CM-02 when the deployed sha's CI run
    (the latest created before the deployment) was triggered by a person; the payload still wins."""
    import json
    from datetime import timedelta

    from tests.controls.harness import Org

    org = Org()
    via_run = org.change(repo="acme/a", deployer="deploy-bot")
    late_run = org.change(repo="acme/b", deployer="deploy-bot")
    bot_run = org.change(repo="acme/c", deployer="deploy-bot")
    payload_wins = org.change(repo="acme/d", deployer="deploy-bot")
    org.find("stg_github__deployments", deployment_id=payload_wins["deployment_id"])["payload"] = json.dumps(
        {"triggered_by": "ops-shared"})

    def run(change: dict, actor: str, minutes_before: int) -> None:
        org.add("stg_github__workflow_runs", run_id=org.next_id(), repo=change["repo"], workflow_name="deploy",
                event="workflow_dispatch", status="completed", conclusion="success", head_sha=change["sha"],
                head_branch="main", actor_login="deploy-bot", triggering_actor_login=actor,
                created_at=change["deployed_at"] - timedelta(minutes=minutes_before), run_started_at=None,
                updated_at=None, html_url=None)

    run(via_run, "mallory", 60)
    run(via_run, "bob", 20)                 # the latest run before the deployment counts
    run(late_run, "bob", -10)               # started after the deployment: not its trigger
    run(bot_run, "deploy-bot", 20)
    run(payload_wins, "bob", 20)
    got = org.evaluate("CM-02")
    assert got[via_run["change_id"]] == ("pass", "service account deploy-bot triggered by bob")
    assert got[late_run["change_id"]] == ("fail", "service account deploy-bot with no human trigger")
    assert got[bot_run["change_id"]][0] == "fail"
    assert got[payload_wins["change_id"]][0] == "fail" and "ops-shared" in got[payload_wins["change_id"]][1]
