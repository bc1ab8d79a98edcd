"""Real recorded GitHub responses (PyGithub ReplayData) through the stream code and staging views.

Each recording is served by `ReplayTransport` to the real client and engine, landed, loaded with
the real load step and read back through the staging view, so the column contract is checked
against GitHub's actual payloads (including 2012-era pull requests without `merge_commit_sha`).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from extractors.core import ApiClient, Extraction, HeaderLinkPaginator, Stream
from extractors.github.streams import (
    CHECK_RUNS, COMMIT_PULLS, DEPLOYMENT_STATUSES, DEPLOYMENTS, PR_COMMITS, PULL_REQUESTS, REVIEWS,
)
from tests.extractors.replay import ReplayTransport, parse_replay


def _land(realdata: Path, landing: Path, replay: str, stream: Stream, context: dict[str, Any],
          run_id: str = "r1", rewrite: dict[str, str] | None = None) -> None:
    transport = ReplayTransport(parse_replay(realdata / "pygithub" / replay), rewrite)
    client = ApiClient("github", "https://api.github.com", transport=transport)
    with Extraction("github", context.get("repo", "x"), landing, run_id, client, unit_context=context) as ex:
        ex.run(stream, [context], params={"per_page": 100})
        manifest = ex.finish()
    assert '"quarantined": []' in manifest.read_text()


def test_reviews_from_pull_request_review_attributes(realdata: Path, tmp_path: Path, warehouse) -> None:
    _land(realdata, tmp_path, "PullRequestReview.testAttributes.txt", REVIEWS,
          {"repo": "PyGithub/PyGithub", "number": 538})
    rows = warehouse(tmp_path).execute(
        "select review_id, repo, pr_number, reviewer_login, state, commit_id, submitted_at "
        "from stg_github__reviews order by review_id").fetchall()
    assert len(rows) == 5
    assert rows[0] == (28482091, "PyGithub/PyGithub", 538, "jzelinskie", "APPROVED",
                       "7a0fcb27b7cd6c346fc3f76216ccb6e0f4ca3bcc", datetime(2017, 3, 22, 19, 6, 59, tzinfo=timezone.utc))
    assert [r[4] for r in rows[1:]] == ["COMMENTED"] * 4


def test_a_later_dismissal_replaces_the_approval(realdata: Path, tmp_path: Path, warehouse) -> None:
    """The dismissal recording (PUT .../dismissals) holds the same review, now DISMISSED; landed
    in a later run it wins the de-duplication, so the approval no longer counts."""
    _land(realdata, tmp_path, "PullRequestReview.testAttributes.txt", REVIEWS,
          {"repo": "PyGithub/PyGithub", "number": 538}, run_id="r1")
    dismissal = parse_replay(realdata / "pygithub" / "PullRequestReview.testDismiss.txt")[0]
    as_list = httpx.MockTransport(lambda req: httpx.Response(200, content=b"[" + dismissal.body + b"]"))
    client = ApiClient("github", "https://api.github.com", transport=as_list)
    with Extraction("github", "PyGithub/PyGithub", tmp_path, "r2", client) as ex:
        ex.run(REVIEWS, [{"repo": "PyGithub/PyGithub", "number": 538}])
        ex.finish()
    con = warehouse(tmp_path)
    assert con.execute("select state from stg_github__reviews where review_id = 28482091").fetchall() == [("DISMISSED",)]
    assert con.execute("select count(*) from stg_github__reviews").fetchone()[0] == 5


def test_check_runs_for_ref(realdata: Path, tmp_path: Path, warehouse) -> None:
    sha = "10a7135a04f71e6101f8b013aded8a662d08fd1f"
    _land(realdata, tmp_path, "CheckRun.testGetCheckRunsForRef.txt", CHECK_RUNS,
          {"repo": "PyGithub/PyGithub", "sha": sha})
    rows = warehouse(tmp_path).execute(
        "select name, status, conclusion, app_slug, head_sha, completed_at >= started_at "
        "from stg_github__check_runs order by name").fetchall()
    assert [(r[0], r[2]) for r in rows] == [("test (Python 3.5)", "success"), ("test (Python 3.6)", "failure"),
                                            ("test (Python 3.7)", "success"), ("test (Python 3.8)", "success")]
    assert {(r[1], r[3], r[4], r[5]) for r in rows} == {("completed", "github-actions", sha, True)}


def test_real_link_header_is_followed(realdata: Path) -> None:
    """GitHub's own Link header (per_page=1 recording) names the next page absolutely."""
    page = parse_replay(realdata / "pygithub" / "CheckRun.testGetCheckRunsForRef.txt")[0]
    request = httpx.Request("GET", "https://api.github.com" + page.path + "?" + page.query)
    response = httpx.Response(200, headers=page.headers, content=page.body, request=request)
    url = HeaderLinkPaginator().next_url(response, response.json(), 1)
    assert url is not None and url.params["page"] == "2" and url.host == "api.github.com"


def test_deployments_and_statuses(realdata: Path, tmp_path: Path, warehouse) -> None:
    _land(realdata, tmp_path, "Repository.testGetDeployments.txt", DEPLOYMENTS, {"repo": "PyGithub/PyGithub"})
    # recorded on the jacquev6 fork; the deployment id is the same one
    _land(realdata, tmp_path, "DeploymentStatus.testGetStatuses.txt", DEPLOYMENT_STATUSES,
          {"repo": "PyGithub/PyGithub", "deployment_id": 263877258}, run_id="r2",
          rewrite={"/repos/PyGithub/PyGithub/deployments/263877258/statuses":
                   "/repos/jacquev6/PyGithub/deployments/263877258/statuses"})
    con = warehouse(tmp_path)
    deployments = con.execute(
        "select deployment_id, environment, task, creator_login, creator_type, payload::varchar, created_at "
        "from stg_github__deployments order by deployment_id").fetchall()
    assert [(d[0], d[1], d[2], d[3], d[4], d[5]) for d in deployments] == [
        (262350588, "production", "deploy", "jacquev6", "User", "{}"),
        (263877258, "test", "deploy", "jacquev6", "User", '{"test":true}')]
    statuses = con.execute("select deployment_id, state, log_url is not null from stg_github__deployment_statuses").fetchall()
    assert statuses == [(263877258, "queued", True)] * 3


def test_pull_requests_without_modern_fields(realdata: Path, tmp_path: Path, warehouse) -> None:
    _land(realdata, tmp_path, "Repository.testGetPullsWithArguments.txt", PULL_REQUESTS, {"repo": "PyGithub/PyGithub"})
    rows = warehouse(tmp_path).execute(
        "select number, state, author_login, merge_commit_sha, is_draft, merged_at is not null, base_ref "
        "from stg_github__pull_requests order by number").fetchall()
    assert [r[0] for r in rows] == [31, 32, 39]
    assert {r[1:] for r in rows} == {("closed", "jacquev6", None, False, True, "topic/RewriteWithGeneratedCode")}


def test_pr_commits_and_commit_pulls(realdata: Path, tmp_path: Path, warehouse) -> None:
    _land(realdata, tmp_path, "PullRequest.testGetCommits.txt", PR_COMMITS, {"repo": "PyGithub/PyGithub", "number": 31})
    sha = "e44d11d565c022496544dd6ed1f19a8d718c2b0c"
    _land(realdata, tmp_path, "Commit.testGetPulls.txt", COMMIT_PULLS, {"repo": "mawkee/PyGithub", "sha": sha}, "r2")
    con = warehouse(tmp_path)
    commits = con.execute("select pr_number, author_login, author_email, committer_login, authored_at is not null "
                          "from stg_github__pr_commits").fetchall()
    assert len(commits) == 3
    assert set(commits) == {(31, "jacquev6", "vincent@vincent-jacques.net", "jacquev6", True)}
    association = con.execute("select repo, sha, pr_number from stg_github__commit_pulls").fetchall()
    assert len(association) == 1 and association[0][:2] == ("mawkee/PyGithub", sha)


@pytest.mark.parametrize("replay", ["PullRequestReview.testAttributes.txt", "CheckRun.testGetCheckRunsForRef.txt"])
def test_replay_files_parse(realdata: Path, replay: str) -> None:
    assert all(e.status == 200 for e in parse_replay(realdata / "pygithub" / replay))
