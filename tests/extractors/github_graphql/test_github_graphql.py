"""`[sources.github] api = "graphql"`: pull requests (reviews, commits, labels) and check runs through
POST /graphql, served by FolderTransport from the REST folders; the staging views must read the
same rows as from REST."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from extractors.core import ExtractionError, Fault, FolderTransport
from extractors.github import extract_github, github_client
from tests.extractors.conftest import (
    FakeSleep,
    read_landed,
    read_manifest,
    staging_connection,
)
from tests.extractors.github_graphql.graphql_org_fixture import (
    OTHER,
    REPO,
    Recording,
    build,
    config,
    sha,
)

VIEWS = {
    "stg_github__pull_requests": "pr_id", "stg_github__reviews": "review_id",
    "stg_github__pr_commits": "repo, pr_number, sha", "stg_github__pull_request_labels": "pr_id, label",
    "stg_github__check_runs": "check_run_id", "stg_github__commit_pulls": "sha",
}


def _run(gh: Path, landing: Path, api: str, since=None, edit=None, **kwargs):
    cfg = config(gh, api=api, **kwargs)
    transport = Recording(gh, edit)
    manifests = extract_github(cfg, landing, "20260801T000000Z-aaaaaa", since, client=github_client(cfg, transport=transport))
    return read_manifest(manifests[0]), transport


def _views(landing: Path) -> dict[str, list[tuple]]:
    con = staging_connection(landing)
    return {v: con.execute(f"select * from {v} order by {key}").fetchall() for v, key in VIEWS.items()}


def test_graphql_pages_pull_requests_and_staging_equals_rest(tmp_path: Path) -> None:
    gh = build(tmp_path)
    rest, rest_transport = _run(gh, tmp_path / "rest", "rest")
    unit, transport = _run(gh, tmp_path / "graphql", "graphql")
    expected, got = _views(tmp_path / "rest"), _views(tmp_path / "graphql")
    assert got == expected and all(expected.values())
    assert got["stg_github__commit_pulls"] == [(REPO, sha(0x32), 3)]
    assert got["stg_github__pull_requests"][-1][6] == "renovate[bot]"     # Bot author -> REST's login
    # 3 PR pages of 1 + 1 checks + 1 association query, instead of a reviews and a commits list per
    # merged PR, a check-runs per deployed sha and a commits/{sha}/pulls per unexplained sha
    assert transport.posts() == 5
    assert len(transport.requests) < len(rest_transport.requests)
    files = {f["stream"]: (f["records"], f["requests"]) for f in unit["files"]}
    assert files["graphql_pull_requests"] == (3, 3) and files["graphql_commit_checks"] == (2, 1)
    assert files["check_runs"] == files["commit_pulls"] == (0, 0) and files["graphql_commit_pulls"] == (1, 1)
    # the review without an id is quarantined in `reviews` on both paths (EV-03 reads the same)
    assert [q["stream"] for q in unit["quarantined"]] == [q["stream"] for q in rest["quarantined"]] == ["reviews"]
    assert unit["cursors"]["graphql_pull_requests"] == "2026-07-05T00:00:00Z"
    node = read_landed(tmp_path / "graphql", "github/graphql_pull_requests/20260801T000000Z-aaaaaa/acme__api.jsonl.gz")[0]
    assert node["payload"]["databaseId"] == 903 and node["context"] == {"repo": REPO}    # as received


def test_overflowing_reviews_and_commits_are_completed_through_rest_for_that_pr_only(tmp_path: Path) -> None:
    gh = build(tmp_path)
    _, transport = _run(gh, tmp_path / "landing", "graphql")              # per_page=2: PR 1 has 3 of each
    assert {p for p in transport.gets() if "/pulls/" in p} == {f"repos/{REPO}/pulls/1/commits",
                                                                f"repos/{REPO}/pulls/1/reviews"}
    rows = staging_connection(tmp_path / "landing").execute(
        "select pr_number, count(*) from stg_github__reviews group by 1 order by 1").fetchall()
    assert rows == [(1, 3), (3, 1)]
    _, transport = _run(gh, tmp_path / "wide", "graphql", per_page=100)
    assert not [p for p in transport.gets() if "/pulls/" in p]


def test_incremental_stops_at_the_page_older_than_the_cursor(tmp_path: Path) -> None:
    gh = build(tmp_path)
    since = datetime(2026, 7, 4, tzinfo=timezone.utc)
    unit, _ = _run(gh, tmp_path / "landing", "graphql", since=since)
    variables = [json.loads(r.content)["variables"] for r in _posted(gh, since)]
    assert [v.get("after") is not None for v in variables if "inner" in v] == [False, True]   # PR 3, then PR 2: stop
    files = {f["stream"]: (f["records"], f["requests"]) for f in unit["files"]}
    assert files["graphql_pull_requests"] == (2, 2)
    assert unit["cursors"]["graphql_pull_requests"] == "2026-07-05T00:00:00Z"


def _posted(gh: Path, since) -> list[httpx.Request]:
    seen: list[httpx.Request] = []
    inner = FolderTransport(gh, "github")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            seen.append(request)
        return inner.handle_request(request)

    cfg = config(gh, api="graphql")
    extract_github(cfg, gh.parent / "again", "20260801T000000Z-bbbbbb", since,
                   client=github_client(cfg, transport=httpx.MockTransport(handler)))
    return seen


def test_an_errors_entry_for_one_pr_quarantines_it_names_it_and_rereads_it_through_rest(tmp_path: Path) -> None:
    gh = build(tmp_path)

    def break_pr_1(body: dict) -> dict:
        nodes = (body.get("data") or {}).get("repository", {}).get("pullRequests", {}).get("nodes") or []
        for index, node in enumerate(nodes):
            if node["number"] == 1:
                node["reviews"] = None
                body["errors"] = [{"message": "Something went wrong while executing your query.",
                                   "path": ["repository", "pullRequests", "nodes", index, "reviews"]}]
        return body

    unit, transport = _run(gh, tmp_path / "landing", "graphql", edit=break_pr_1, per_page=100)
    broken = [q for q in unit["quarantined"] if q["stream"] == "graphql_pull_requests"]
    assert len(broken) == 1 and broken[0]["locator"] == f"pull request {REPO}#1"
    assert "/graphql" in broken[0]["reason"] and "Something went wrong" in broken[0]["reason"]
    assert {f"repos/{REPO}/pulls/1", f"repos/{REPO}/pulls/1/reviews", f"repos/{REPO}/pulls/1/commits"} <= set(transport.gets())
    assert _views(tmp_path / "landing") == _views_rest(gh, tmp_path)        # nothing lost


def _views_rest(gh: Path, tmp_path: Path) -> dict:
    _run(gh, tmp_path / "rest", "rest")
    return _views(tmp_path / "rest")


@pytest.mark.parametrize("body", ['{"errors": [{"message": "Something went wrong"}]}', '{"data": null}', "[1, 2]", "not json"])
def test_a_response_without_data_fails_that_unit_naming_the_endpoint_and_the_repository(tmp_path: Path, body: str) -> None:
    build(tmp_path)
    gh = build(tmp_path, OTHER)
    cfg = config(gh, api="graphql", repos=[REPO, OTHER])
    transport = FolderTransport(gh, "github", faults={"graphql": [Fault(200, {}, body)]})
    with pytest.raises(ExtractionError) as raised:
        extract_github(cfg, tmp_path / "landing", "20260801T000000Z-aaaaaa", client=github_client(cfg, transport=transport))
    message = str(raised.value)
    assert message.startswith("github: POST ") and "/graphql (pull requests of acme/api) failed" in message
    if "Something" in body:
        assert "Something went wrong" in message
    landed = sorted(p.name for p in (tmp_path / "landing" / "github" / "_manifests").glob("*.json"))
    assert landed == ["20260801T000000Z-aaaaaa__acme__web.json"]          # the other repository is not lost


def test_a_rate_limited_graphql_answer_waits_and_retries(tmp_path: Path) -> None:
    gh = build(tmp_path)
    limited = Fault(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000"},
                    '{"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}')
    sleep = FakeSleep()
    cfg = config(gh, api="graphql")
    transport = FolderTransport(gh, "github", faults={"graphql": [limited, Fault(502)]})
    client = github_client(cfg, transport=transport, sleep=sleep)
    client.clock = lambda: 990.0
    extract_github(cfg, tmp_path / "landing", "20260801T000000Z-aaaaaa", client=client)
    assert sleep.calls == [11.0, 2.0]          # until the reset, then the 502's back-off


def test_check_runs_overflowing_a_page_are_asked_through_rest(tmp_path: Path) -> None:
    from extractors.core import Extraction
    from extractors.github.graphql import extract_checks_graphql

    gh = build(tmp_path)
    cfg = config(gh, api="graphql")
    transport = Recording(gh)
    with Extraction("github", REPO, tmp_path / "landing", "r1", github_client(cfg, transport=transport)) as ex:
        extract_checks_graphql(ex, REPO, [sha(0x3f), sha(0x1f), sha(0x99), "abc1234"], {"per_page": 100}, runs=1)
        ex.finish()
    # every commit has a suite of 2 runs (runs=1 overflows), 0x99 is unknown, abc1234 is abbreviated
    assert sorted(p for p in transport.gets()) == sorted(f"repos/{REPO}/commits/{s}/check-runs"
                                                         for s in (sha(0x3f), sha(0x1f), sha(0x99), "abc1234"))
    assert transport.posts() == 1


def test_a_pr_with_more_labels_than_a_page_is_reread_through_rest(tmp_path: Path) -> None:
    gh = build(tmp_path)
    pulls = json.loads((gh / f"repos/{REPO}/pulls.json").read_text())
    pulls[1]["labels"] = [{"name": f"l{i:03}"} for i in range(101)]          # PR 2: 101 labels
    (gh / f"repos/{REPO}/pulls.json").write_text(json.dumps(pulls))
    _, transport = _run(gh, tmp_path / "graphql", "graphql")
    assert f"repos/{REPO}/pulls/2" in transport.gets()                      # that PR only, through REST
    _run(gh, tmp_path / "rest", "rest")
    assert _views(tmp_path / "graphql") == _views(tmp_path / "rest")
    labels = staging_connection(tmp_path / "graphql").execute(
        "select count(*) from stg_github__pull_request_labels where pr_id = 902").fetchone()[0]
    assert labels == 101
