"""GitHub extraction end to end on a folder-served organisation, through the staging views."""
from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from extractors.core import ExtractionError, Fault, FolderTransport
from extractors.github import extract_github, github_client
from flows.config import GitHubSource
from tests.extractors.conftest import FakeSleep, read_landed, read_manifest, write_json

REPO = "acme/api"
SHA = {k: k * 40 for k in "ABCDE"}


def _dep(id_: int, env: str, sha: str, created: str, task: str = "deploy") -> dict:
    return {"id": id_, "sha": SHA[sha], "ref": "main", "task": task, "environment": env,
            "description": f"deploy {sha}", "payload": {"triggered_by": "alice"},
            "creator": {"login": "deploy-bot", "type": "Bot"}, "created_at": created,
            "url": f"https://api.github.com/repos/{REPO}/deployments/{id_}"}


def _status(id_: int, state: str, at: str) -> dict:
    return {"id": id_, "state": state, "creator": {"login": "deploy-bot"}, "created_at": at,
            "log_url": f"https://ci.example/{id_}"}


def _commit(sha: str, login: str, message: str) -> dict:
    person = {"name": login.title(), "email": f"{login}@acme.test", "date": "2026-07-01T09:00:00Z"}
    return {"sha": sha, "html_url": f"https://github.com/{REPO}/commit/{sha}", "author": {"login": login},
            "committer": {"login": "web-flow"}, "parents": [{"sha": "p"}],
            "commit": {"message": message, "author": person, "committer": person}}


def build_org(root: Path) -> Path:
    """A repository with production/staging deployments, PRs, reviews, checks and compares."""
    gh = root / "github"
    write_json(gh, "orgs/acme/repos", [{"id": 1, "full_name": REPO, "default_branch": "main",
                                        "html_url": f"https://github.com/{REPO}", "archived": False}])
    write_json(gh, f"repos/{REPO}", {"id": 1, "full_name": REPO, "default_branch": "main",
                                    "html_url": f"https://github.com/{REPO}", "archived": False})
    deployments = [  # newest first, as GitHub lists them
        _dep(106, "production", "E", "2026-07-06T00:00:00Z"),
        _dep(105, "production", "D", "2026-07-05T00:00:00Z"),
        _dep(104, "production", "C", "2026-07-04T00:00:00Z"),
        _dep(103, "production", "B", "2026-07-03T00:00:00Z"),
        _dep(102, "staging", "B", "2026-07-02T00:00:00Z"),
        _dep(101, "production", "A", "2026-07-01T00:00:00Z"),
    ]
    write_json(gh, f"repos/{REPO}/deployments", deployments)
    statuses = {101: [_status(1, "success", "2026-07-01T00:05:00Z")],
                102: [_status(2, "success", "2026-07-02T00:05:00Z")],
                103: [_status(4, "success", "2026-07-03T00:07:00Z"), _status(3, "in_progress", "2026-07-03T00:01:00Z")],
                104: [_status(5, "failure", "2026-07-04T00:05:00Z")],
                105: [_status(6, "success", "2026-07-07T00:00:00Z")],   # succeeded after 106
                106: [_status(7, "success", "2026-07-06T00:05:00Z")]}
    for dep, rows in statuses.items():
        write_json(gh, f"repos/{REPO}/deployments/{dep}/statuses", rows)
    compares = {("A", "B"): ["c1", "c2", "c3"], ("B", "E"): ["c4"], ("E", "D"): []}
    for (base, head), commits in compares.items():
        write_json(gh, f"repos/{REPO}/compare/{SHA[base]}...{SHA[head]}", {
            "status": "ahead" if commits else "behind", "ahead_by": len(commits), "behind_by": 0 if commits else 1,
            "total_commits": len(commits), "base_commit": {"sha": SHA[base]},
            "commits": [_commit(c, "bob", f"change {c} CHG0000001") for c in commits]})
    for sha in ["c1", "c2", "c3", SHA["B"], SHA["E"]]:
        write_json(gh, f"repos/{REPO}/commits/{sha}/pulls", [{"id": 900 + 1, "number": 1}])
    for key in "ABCDE":
        write_json(gh, f"repos/{REPO}/commits/{SHA[key]}/check-runs", {"total_count": 1, "check_runs": [
            {"id": 5000 + ord(key), "head_sha": SHA[key], "name": "build", "status": "completed",
             "conclusion": "success", "started_at": "2026-07-01T00:00:00Z", "completed_at": "2026-07-01T00:01:00Z",
             "app": {"slug": "github-actions"}, "html_url": "https://github.com/x"}]})
    prs = [
        {"id": 901, "number": 1, "title": "Add A", "body": "CHG0000001", "state": "closed", "user": {"login": "bob"},
         "head": {"ref": "feature/a", "sha": "c3"}, "base": {"ref": "main"}, "merge_commit_sha": SHA["B"],
         "draft": False, "created_at": "2026-06-30T00:00:00Z", "updated_at": "2026-07-02T00:00:00Z",
         "merged_at": "2026-07-02T00:00:00Z", "closed_at": "2026-07-02T00:00:00Z", "html_url": "h1"},
        {"id": 902, "number": 2, "title": "Abandoned", "body": None, "state": "closed", "user": {"login": "carol"},
         "head": {"ref": "x", "sha": "zz"}, "base": {"ref": "main"}, "merge_commit_sha": "m2", "draft": False,
         "created_at": "2026-06-30T00:00:00Z", "updated_at": "2026-07-03T00:00:00Z", "merged_at": None,
         "closed_at": "2026-07-03T00:00:00Z", "html_url": "h2"},
        {"id": 903, "number": 3, "title": "Add E", "body": "", "state": "closed", "user": {"login": "bob"},
         "head": {"ref": "feature/e", "sha": "c4"}, "base": {"ref": "main"}, "merge_commit_sha": SHA["E"],
         "draft": False, "created_at": "2026-07-04T00:00:00Z", "updated_at": "2026-07-05T00:00:00Z",
         "merged_at": "2026-07-05T00:00:00Z", "closed_at": "2026-07-05T00:00:00Z", "html_url": "h3"},
    ]
    write_json(gh, f"repos/{REPO}/pulls", prs)
    for number, head in ((1, "c3"), (3, "c4")):
        write_json(gh, f"repos/{REPO}/pulls/{number}/reviews", [
            {"id": 7000 + number, "user": {"login": "dave"}, "state": "APPROVED", "commit_id": head,
             "submitted_at": "2026-07-01T12:00:00Z", "html_url": f"r{number}"}])
        write_json(gh, f"repos/{REPO}/pulls/{number}/commits", [_commit(head, "bob", "work")])
    return gh


def _config(gh: Path, **kwargs) -> GitHubSource:
    return GitHubSource(base_url="file://" + gh.as_posix(), org="acme", **{"api": "rest", **kwargs})  # the REST path


def test_full_extraction_lands_every_stream_and_staging_reads_it(tmp_path: Path, warehouse) -> None:
    gh = build_org(tmp_path)
    landing = tmp_path / "landing"
    manifests = extract_github(_config(gh, per_page=2), landing, "run1")
    assert [m.name for m in manifests] == ["run1__acme.json", "run1__acme__api.json"]
    unit = read_manifest(manifests[1])
    counts = {f["stream"]: (f["records"], f["requests"]) for f in unit["files"]}
    assert counts == {
        "deployments": (6, 3), "deployment_statuses": (7, 6), "pull_requests": (3, 2),
        "reviews": (2, 2), "pr_commits": (2, 2), "check_runs": (5, 5),
        # A...B has 3 commits at per_page=2: two pages, each one landed record
        # commit_pulls only for shas no merged PR maps (merge commits B/E, heads and commits c3/c4): c1, c2, A, C, D
        "compares": (4, 4), "commit_pulls": (2, 5),
    }
    # commit_pulls for the deployed shas A, C, D are absent in the folder: 404 -> quarantined
    assert sorted(q["reason"] for q in unit["quarantined"]) == ["HTTP 404: resource not available"] * 3
    assert {q["stream"] for q in unit["quarantined"]} == {"commit_pulls"}
    assert unit["cursors"] == {"pull_requests": "2026-07-05T00:00:00Z"}

    con = warehouse(landing)
    pairs = con.execute("select base_sha[1], head_sha[1], status, total_commits, count_commits_listed "
                    "from stg_github__compares order by 1").fetchall()
    assert pairs == [("A", "B", "ahead", 3, 3), ("B", "E", "ahead", 1, 1), ("E", "D", "behind", 0, 0)]
    commits = con.execute("select sha, author_login, count_parents from stg_github__compare_commits order by sha").fetchall()
    assert commits == [("c1", "bob", 1), ("c2", "bob", 1), ("c3", "bob", 1), ("c4", "bob", 1)]
    dep = con.execute("select deployment_id, repo, environment, creator_login, creator_type, created_at, "
                  "payload->>'triggered_by' from stg_github__deployments where deployment_id = 105").fetchone()
    assert dep[:5] == (105, REPO, "production", "deploy-bot", "Bot")
    assert dep[5] == datetime(2026, 7, 5, tzinfo=timezone.utc) and dep[6] == "alice"
    assert con.execute("select count(*) from stg_github__deployment_statuses where deployment_id = 103").fetchone()[0] == 2
    assert con.execute("select repo, repo_id from stg_github__repositories").fetchall() == [(REPO, 1)]
    pr = con.execute("select number, author_login, head_sha, merge_commit_sha, merged_at is not null "
                 "from stg_github__pull_requests order by number").fetchall()
    assert pr[0] == (1, "bob", "c3", SHA["B"], True) and pr[1][4] is False
    assert con.execute("select repo, pr_number, reviewer_login, state from stg_github__reviews order by 2").fetchall() == [
        (REPO, 1, "dave", "APPROVED"), (REPO, 3, "dave", "APPROVED")]
    assert con.execute("select count(*), count(distinct head_sha) from stg_github__check_runs").fetchone() == (5, 5)
    assert con.execute("select count(*) from stg_github__commit_pulls where pr_number = 1").fetchone()[0] == 2   # c1, c2


def test_since_stops_pull_requests_and_finds_the_predecessor_deployment(tmp_path: Path, warehouse) -> None:
    gh = build_org(tmp_path)
    since = datetime(2026, 7, 4, 12, tzinfo=timezone.utc)
    manifests = extract_github(_config(gh, per_page=1, repos=[REPO]), tmp_path / "landing", "run2", since)
    unit = read_manifest(manifests[0])
    counts = {f["stream"]: (f["records"], f["requests"]) for f in unit["files"]}
    # newest-first PRs: #3 (07-05) then #2 (07-03, older than since: stop after that page, and do
    # not land #2 again: the run that set the cursor landed it)
    assert counts["pull_requests"] == (1, 2)
    assert next(f for f in unit["files"] if f["stream"] == "pull_requests")["already_landed"] == 1
    assert counts["reviews"] == (1, 1) and counts["pr_commits"] == (1, 1)
    # statuses of 106 and 105 (recent), then 104 (failed) and 103 (succeeded: the predecessor;
    # two statuses at per_page=1 = two pages); 102 and 101 are not requested
    assert counts["deployment_statuses"] == (5, 5)
    assert counts["repositories"] == (1, 1)
    # every deployment is listed (six pages: the compares need the predecessor), but only 106 and
    # 105 (created after since) land; the four older ones were landed by the run that set the cursor
    deployments = next(f for f in unit["files"] if f["stream"] == "deployments")
    assert (deployments["records"], deployments["requests"], deployments["already_landed"]) == (2, 6, 4)
    assert [r["payload"]["id"] for r in read_landed(tmp_path / "landing", deployments["path"])] == [106, 105]
    compares = [f for f in unit["files"] if f["stream"] == "compares"][0]
    landed = read_landed(tmp_path / "landing", compares["path"])
    assert [(r["context"]["base"][0], r["context"]["head"][0]) for r in landed] == [("B", "E"), ("E", "D")]


def test_retries_and_rate_limits_inside_a_real_unit(tmp_path: Path, fake_sleep: FakeSleep) -> None:
    gh = build_org(tmp_path)
    config = _config(gh, repos=[REPO])
    transport = FolderTransport(gh, "github", faults={
        f"repos/{REPO}/pulls": [Fault(429, {"Retry-After": "30"})],
        f"repos/{REPO}/deployments": [Fault(502), Fault(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"},
                                                         '{"message": "API rate limit exceeded"}')],
    })
    client = github_client(config, sleep=fake_sleep, transport=transport)
    extract_github(config, tmp_path / "landing", "run3", client=client)
    assert fake_sleep.calls[:3] == [1.0, 1.0, 30.0]


def test_secrets_never_reach_landing_files_or_manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "ghp_SUPERSECRET_do_not_write_0123456789"
    monkeypatch.setenv("ACME_GH_TOKEN", secret)
    gh = build_org(tmp_path)
    landing = tmp_path / "landing"
    extract_github(_config(gh, token_env="ACME_GH_TOKEN"), landing, "run4")
    written = [p for p in landing.rglob("*") if p.is_file()]
    assert written
    for path in written:
        data = path.read_bytes()
        assert secret.encode() not in data
        if path.suffix == ".gz":
            assert secret.encode() not in gzip.decompress(data)


def test_manifest_hashes_match_the_files_and_landing_is_reproducible(tmp_path: Path) -> None:
    gh = build_org(tmp_path)
    manifest = read_manifest(extract_github(_config(gh, repos=[REPO]), tmp_path / "l", "r")[0])
    assert manifest["system"] == "github" and manifest["unit"] == REPO and manifest["run_id"] == "r"
    assert manifest["base_url"].startswith("file://")
    for entry in manifest["files"]:
        path = tmp_path / "l" / entry["path"]
        assert entry["path"] == f"github/{entry['stream']}/r/acme__api.jsonl.gz"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert len(read_landed(tmp_path / "l", entry["path"])) == entry["records"]
    queries = {f["stream"]: f["query"] for f in manifest["files"]}
    assert queries["pull_requests"] == ("GET /repos/acme/api/pulls?state=all&sort=updated&direction=desc"
                                        "&per_page=100")
    assert queries["reviews"] == "GET /repos/acme/api/pulls/{number}/reviews?per_page=100"
    first = read_landed(tmp_path / "l", manifest["files"][0]["path"])[0]
    assert list(first) == ["extracted_at", "source_url", "context", "payload", "line"]
    assert first["line"] == 1 and all(f.get("numbered") for f in manifest["files"] if f["records"])
    assert first["context"] == {"repo": REPO}


def test_one_failing_repository_does_not_cost_the_others(tmp_path: Path) -> None:
    gh = build_org(tmp_path)
    config = _config(gh, repos=["acme/gone", REPO])
    landing = tmp_path / "landing"
    with pytest.raises(ExtractionError) as info:
        extract_github(config, landing, "r5")
    assert "acme/gone" in str(info.value) and info.value.status == 404
    assert any("1 of 2 extraction units failed" in note for note in info.value.__notes__)
    assert [p.name for p in (landing / "github" / "_manifests").iterdir()] == ["r5__acme__api.json"]
