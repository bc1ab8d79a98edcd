"""FolderTransport answers POST /graphql from the REST folders: first/after paging, nested
connections with pageInfo, aliased commit checks, and GraphQL errors for what it cannot answer."""
from __future__ import annotations

import httpx

from extractors.core import FolderTransport
from extractors.github.graphql_queries import (
    PULL_REQUESTS,
    commit_checks_query,
    graphql_endpoint,
)
from tests.extractors.github_graphql.graphql_org_fixture import REPO, build, sha


def _post(transport: FolderTransport, root, query: str, **variables) -> dict:
    url = "file://localhost" + (root / "graphql").as_posix()
    response = transport.handle_request(httpx.Request("POST", url, json={"query": query, "variables": variables}))
    assert response.status_code == 200
    return response.json()


def test_pull_requests_page_with_first_and_after_newest_update_first(tmp_path) -> None:
    gh = build(tmp_path)
    transport = FolderTransport(gh, "github")
    seen, after = [], None
    while True:
        body = _post(transport, gh, PULL_REQUESTS, owner="acme", name="api", first=2, after=after, inner=2)
        connection = body["data"]["repository"]["pullRequests"]
        seen += [n["number"] for n in connection["nodes"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [3, 2, 1]
    pr1 = _post(transport, gh, PULL_REQUESTS, owner="acme", name="api", first=1, after=after, inner=2)
    node = pr1["data"]["repository"]["pullRequests"]["nodes"][0]
    assert node["state"] == "MERGED" and node["mergeCommit"] == {"oid": sha(0x1f)} and node["potentialMergeCommit"] is None
    assert node["reviews"]["totalCount"] == 3 and len(node["reviews"]["nodes"]) == 2
    assert node["reviews"]["pageInfo"]["hasNextPage"] is True
    assert node["commits"]["nodes"][0]["commit"]["author"]["user"] == {"login": "bob"}
    assert node["labels"] == {"totalCount": 2, "nodes": [{"name": "hotfix"}, {"name": "ops"}]}
    first = _post(transport, gh, PULL_REQUESTS, owner="acme", name="api", first=1, after=None, inner=100)
    bot = first["data"]["repository"]["pullRequests"]["nodes"][0]
    assert bot["author"] == {"__typename": "Bot", "login": "renovate"}
    assert bot["commits"]["nodes"][0]["commit"]["author"]["user"] is None      # GitActor.user is never a bot


def test_errors_for_a_bad_cursor_an_unknown_repository_or_query(tmp_path) -> None:
    gh = build(tmp_path)
    transport = FolderTransport(gh, "github")
    bad = _post(transport, gh, PULL_REQUESTS, owner="acme", name="api", first=1, after="nope", inner=1)
    assert bad["data"] is None and "valid cursor" in bad["errors"][0]["message"]
    missing = _post(transport, gh, PULL_REQUESTS, owner="acme", name="gone", first=1, inner=1)
    assert missing["data"] == {"repository": None} and missing["errors"][0]["type"] == "NOT_FOUND"
    other = _post(transport, gh, "query { viewer { login } }", owner="acme", name="api")
    assert "errors" in other and "data" not in other
    get = transport.handle_request(httpx.Request("GET", "file://localhost" + (gh / "graphql").as_posix()))
    assert get.status_code == 404


def test_commit_checks_by_alias_grouped_into_suites(tmp_path) -> None:
    gh = build(tmp_path)
    transport = FolderTransport(gh, "github")
    body = _post(transport, gh, commit_checks_query([sha(0x3f), sha(0x99)]), owner="acme", name="api", suites=10, runs=100)
    found = body["data"]["repository"]
    assert found["c1"] is None                                              # no such commit
    suites = found["c0"]["checkSuites"]["nodes"]
    assert [(s["app"]["slug"], [r["name"] for r in s["checkRuns"]["nodes"]]) for s in suites] == [
        ("github-actions", ["build", "test"]), ("circleci", ["lint"])]
    assert suites[0]["checkRuns"]["nodes"][0]["status"] == "COMPLETED"
    assert suites[1]["checkRuns"]["nodes"][0]["conclusion"] is None


def test_graphql_endpoint_for_github_ghes_and_folders() -> None:
    assert graphql_endpoint("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_endpoint("https://ghe.acme.test/api/v3/") == "https://ghe.acme.test/api/graphql"
    assert graphql_endpoint("file://localhost/tmp/org/github") == "file://localhost/tmp/org/github/graphql"
    assert REPO == "acme/api"
