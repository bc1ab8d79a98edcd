"""Deploy log (JSON Lines and CSV) through a column mapping -> deployments and statuses entities."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.deploylog import extract_deploylog
from flows.config import DeployLogSource
from tests.extractors.conftest import read_manifest, staging_connection

CSV = """\
Deploy ID,Service,Commit,Env,Result,Start,End,Who,Requested By,Notes
d-1,payments,aaa111,staging,Succeeded,2026-08-03T09:00:00Z,2026-08-03T09:05:00Z,argo-bot,alice,CHG0000001 rollout
d-2,payments,aaa111,production,Succeeded,2026-08-04T09:00:00Z,2026-08-04T09:07:00Z,argo-bot,alice,CHG0000001 rollout
d-3,payments,bbb222,production,Failed,2026-08-05T09:00:00Z,2026-08-05T09:02:00Z,bob,,
,payments,ccc333,production,Succeeded,2026-08-06T09:00:00Z,,bob,,no id
d-4,payments,ddd444,production,Succeeded,2026-08-06T09:00:00Z,,bob,,too,many
"""
CSV_MAPPING = {"deployment_id": "Deploy ID", "repo": "Service", "sha": "Commit", "environment": "Env",
               "status": "Result", "started_at": "Start", "finished_at": "End", "deployer": "Who",
               "triggered_by": "Requested By", "description": "Notes"}

JSONL_LINES = [
    {"id": 77, "app": "acme/web", "git": {"sha": "eee555"}, "env": "production", "phase": "Running",
     "at": "2026-08-07T10:00:00+02:00", "by": "flux", "change": "CHG0000002"},
    {"id": 77, "app": "acme/web", "git": {"sha": "eee555"}, "env": "production", "phase": "Deployed",
     "at": "2026-08-07T10:00:00+02:00", "done": 1786090000, "by": "flux", "change": "CHG0000002"},
]
JSONL_MAPPING = {"deployment_id": "id", "repo": "app", "sha": "git.sha", "environment": "env", "status": "phase",
                 "started_at": "at", "finished_at": "done", "deployer": "by", "ticket": "change"}


def test_csv_with_mapping(tmp_path: Path) -> None:
    log = tmp_path / "deploys.csv"
    log.write_text(CSV, encoding="utf-8")
    config = DeployLogSource(path=log, columns=CSV_MAPPING, repo_prefix="acme/")
    [manifest] = extract_deploylog(config, tmp_path / "landing", "r1")
    m = read_manifest(manifest)
    assert [(f["stream"], f["records"], f["requests"]) for f in m["files"]] == [("deployments", 3, 1)]
    assert [(q["locator"], q["reason"]) for q in m["quarantined"]] == [
        ("deploys.csv, line 5", "no deployment_id (column 'Deploy ID')"),
        ("deploys.csv, line 6", "row has more cells than the header")]
    con = staging_connection(tmp_path / "landing")
    deps = con.execute("select deployment_id, repo, sha, task, environment, description, creator_login, "
                       "payload->>'$.triggered_by', created_at::varchar from stg_deploylog__deployments order by 1").fetchall()
    assert deps == [
        ("d-1", "acme/payments", "aaa111", "deploy", "staging", "CHG0000001 rollout", "argo-bot", "alice", "2026-08-03 09:00:00+00"),
        ("d-2", "acme/payments", "aaa111", "deploy", "production", "CHG0000001 rollout", "argo-bot", "alice", "2026-08-04 09:00:00+00"),
        ("d-3", "acme/payments", "bbb222", "deploy", "production", None, "bob", None, "2026-08-05 09:00:00+00"),
    ]
    statuses = con.execute("select deployment_id, state, created_at::varchar from stg_deploylog__deployment_statuses "
                           "order by 1").fetchall()
    assert statuses == [("d-1", "success", "2026-08-03 09:05:00+00"), ("d-2", "success", "2026-08-04 09:07:00+00"),
                        ("d-3", "failure", "2026-08-05 09:02:00+00")]


def test_jsonl_nested_keys_epoch_times_and_custom_status(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "flux.jsonl").write_text("\n".join(json.dumps(x) for x in JSONL_LINES) + "\n{oops\n\n[1]\n", encoding="utf-8")
    config = DeployLogSource(path=folder, columns=JSONL_MAPPING, statuses={"Deployed": "success"})
    [manifest] = extract_deploylog(config, tmp_path / "landing", "r1")
    m = read_manifest(manifest)
    assert [q["locator"] for q in m["quarantined"]] == ["flux.jsonl, line 3", "flux.jsonl, line 5"]
    con = staging_connection(tmp_path / "landing")
    assert con.execute("select deployment_id, repo, sha, description, payload->>'$.ticket', created_at::varchar "
                       "from stg_deploylog__deployments").fetchall() == [
        ("77", "acme/web", "eee555", "CHG0000002", "CHG0000002", "2026-08-07 08:00:00+00")]
    assert con.execute("select state, created_at::varchar from stg_deploylog__deployment_statuses order by 2").fetchall() == [
        ("in_progress", "2026-08-07 08:00:00+00"), ("success", "2026-08-07 08:06:40+00")]


def test_unknown_mapping_field_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "d.jsonl"
    log.write_text("{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field"):
        extract_deploylog(DeployLogSource(path=log, columns={"commit": "sha"}), tmp_path / "landing", "r1")


def test_views_match_the_deployment_entities(tmp_path: Path) -> None:
    log = tmp_path / "d.csv"
    log.write_text("deployment_id,repo\n", encoding="utf-8")
    extract_deploylog(DeployLogSource(path=log), tmp_path / "landing", "r1")
    con = staging_connection(tmp_path / "landing")
    for entity in ("deployments", "deployment_statuses"):
        github = [r[0] for r in con.execute(f"describe stg_github__{entity}").fetchall()]
        mine = [r[0] for r in con.execute(f"describe stg_deploylog__{entity}").fetchall()]
        assert mine == github
