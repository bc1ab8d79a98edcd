"""FolderTransport pages a folder the way GitHub, ServiceNow and PagerDuty page their APIs."""
from __future__ import annotations

from pathlib import Path

import httpx

from extractors.core import ApiClient, Extraction, Fault, FolderTransport, HeaderLinkPaginator, OffsetMorePaginator, Stream
from tests.extractors.conftest import read_landed, read_manifest, write_json


def _client(root: Path, style: str, **kwargs) -> httpx.Client:
    return httpx.Client(base_url="http://api.test", transport=FolderTransport(root, style, **kwargs))


def _follow(client: httpx.Client, url: str, params: dict) -> list[httpx.Response]:
    pages = [client.get(url, params=params)]
    while "next" in pages[-1].links:
        pages.append(client.get(pages[-1].links["next"]["url"]))
    return pages


def test_github_pages_with_link_next_and_last(tmp_path: Path) -> None:
    write_json(tmp_path, "repos/acme/api/pulls", [{"id": i, "number": i} for i in range(1, 8)])
    pages = _follow(_client(tmp_path, "github"), "/repos/acme/api/pulls", {"per_page": 3})
    assert [[r["id"] for r in p.json()] for p in pages] == [[1, 2, 3], [4, 5, 6], [7]]
    first = pages[0].links
    assert httpx.URL(first["next"]["url"]).params["page"] == "2"
    assert httpx.URL(first["last"]["url"]).params["page"] == "3"
    assert httpx.URL(first["next"]["url"]).params["per_page"] == "3"
    assert "next" not in pages[-1].links and "prev" in pages[-1].links


def test_github_single_page_has_no_link_and_empty_collection(tmp_path: Path) -> None:
    write_json(tmp_path, "repos/acme/api/pulls", [{"id": 1}])
    write_json(tmp_path, "repos/acme/api/deployments", [])
    client = _client(tmp_path, "github")
    one = client.get("/repos/acme/api/pulls", params={"per_page": 100})
    assert one.json() == [{"id": 1}] and "Link" not in one.headers
    empty = client.get("/repos/acme/api/deployments", params={"per_page": 100})
    assert empty.status_code == 200 and empty.json() == []


def test_github_sorts_pulls_by_updated_desc(tmp_path: Path) -> None:
    write_json(tmp_path, "repos/acme/api/pulls", [
        {"id": 1, "updated_at": "2026-01-01T00:00:00Z"}, {"id": 2, "updated_at": "2026-03-01T00:00:00Z"},
        {"id": 3, "updated_at": "2026-02-01T00:00:00Z"}])
    body = _client(tmp_path, "github").get(
        "/repos/acme/api/pulls", params={"state": "all", "sort": "updated", "direction": "desc"}).json()
    assert [r["id"] for r in body] == [2, 3, 1]


def test_github_wrapped_check_runs_and_compare_commits_are_paged(tmp_path: Path) -> None:
    write_json(tmp_path, "repos/a/b/commits/abc/check-runs",
               {"total_count": 3, "check_runs": [{"id": 1}, {"id": 2}, {"id": 3}]})
    write_json(tmp_path, "repos/a/b/compare/x...y",
               {"status": "ahead", "total_commits": 3, "commits": [{"sha": "1"}, {"sha": "2"}, {"sha": "3"}]})
    client = _client(tmp_path, "github")
    pages = _follow(client, "/repos/a/b/commits/abc/check-runs", {"per_page": 2})
    assert [p.json()["total_count"] for p in pages] == [3, 3]
    assert [[c["id"] for c in p.json()["check_runs"]] for p in pages] == [[1, 2], [3]]
    pages = _follow(client, "/repos/a/b/compare/x...y", {"per_page": 2})
    assert [[c["sha"] for c in p.json()["commits"]] for p in pages] == [["1", "2"], ["3"]]
    assert all(p.json()["status"] == "ahead" for p in pages)


def test_servicenow_offset_limit_link_and_total(tmp_path: Path) -> None:
    rows = [{"sys_id": f"s{i}", "sys_updated_on": f"2026-01-0{9 - i} 00:00:00"} for i in range(5)]
    write_json(tmp_path, "api/now/table/change_request", {"result": rows})
    pages = _follow(_client(tmp_path, "servicenow"), "/api/now/table/change_request",
                    {"sysparm_limit": 2, "sysparm_offset": 0, "sysparm_query": "ORDERBYsys_updated_on"})
    assert [[r["sys_id"] for r in p.json()["result"]] for p in pages] == [["s4", "s3"], ["s2", "s1"], ["s0"]]
    assert {p.headers["X-Total-Count"] for p in pages} == {"5"}
    assert set(pages[0].links) == {"first", "next", "last"}
    filtered = _client(tmp_path, "servicenow").get("/api/now/table/change_request", params={
        "sysparm_query": "sys_updated_on>=2026-01-07 00:00:00^ORDERBYDESCsys_updated_on"})
    assert [r["sys_id"] for r in filtered.json()["result"]] == ["s0", "s1", "s2"]


def test_pagerduty_offset_more_total(tmp_path: Path) -> None:
    write_json(tmp_path, "incidents", {"incidents": [{"id": f"P{i}"} for i in range(5)]})
    client = _client(tmp_path, "pagerduty")
    first = client.get("/incidents", params={"limit": 2, "offset": 0, "total": "true"}).json()
    assert first["more"] is True and first["total"] == 5 and first["limit"] == 2 and first["offset"] == 0
    last = client.get("/incidents", params={"limit": 2, "offset": 4}).json()
    assert last["more"] is False and last["total"] is None and [i["id"] for i in last["incidents"]] == ["P4"]


def test_missing_file_is_404_and_faults_are_served_in_order(tmp_path: Path) -> None:
    write_json(tmp_path, "repos/a/b/pulls", [{"id": 1}])
    client = _client(tmp_path, "github", faults={"/repos/a/b/pulls": [Fault(502), Fault(429, {"Retry-After": "3"})]})
    assert client.get("/repos/a/b/nothing").status_code == 404
    assert [client.get("/repos/a/b/pulls").status_code for _ in range(3)] == [502, 429, 200]


def _count_engine_pages(tmp_path: Path, style: str, stream: Stream, params: dict, context: dict) -> tuple[int, int]:
    client = ApiClient(style, "file://" + tmp_path.as_posix(),
                       transport=FolderTransport(tmp_path, style, trailing_empty_page=True))
    with Extraction(style, "unit", tmp_path / "landing", "r1", client) as ex:
        ex.run(stream, [context], params=params)
        manifest = read_manifest(ex.finish())
    entry = manifest["files"][0]
    assert read_landed(tmp_path / "landing", entry["path"]).__len__() == entry["records"]
    return entry["records"], entry["requests"]


def test_engine_stops_on_an_empty_last_page_in_every_style(tmp_path: Path) -> None:
    """APIs that advertise one more page and then return nothing end the loop cleanly."""
    write_json(tmp_path, "repos/a/b/pulls", [{"id": i} for i in range(4)])
    write_json(tmp_path, "api/now/table/sys_user", {"result": [{"sys_id": str(i)} for i in range(4)]})
    write_json(tmp_path, "incidents", {"incidents": [{"id": str(i)} for i in range(4)]})
    github = Stream(system="github", name="pull_requests", path="/repos/{repo}/pulls", paginator=HeaderLinkPaginator())
    assert _count_engine_pages(tmp_path, "github", github, {"per_page": 2}, {"repo": "a/b"}) == (4, 3)
    snow = Stream(system="servicenow", name="users", path="/api/now/table/sys_user", primary_key=("sys_id",),
                  records_key="result", paginator=HeaderLinkPaginator())
    assert _count_engine_pages(tmp_path, "servicenow", snow, {"sysparm_limit": 2, "sysparm_offset": 0}, {}) == (4, 3)
    pd = Stream(system="pagerduty", name="incidents", path="/incidents", records_key="incidents",
                paginator=OffsetMorePaginator())
    assert _count_engine_pages(tmp_path, "pagerduty", pd, {"limit": 2, "offset": 0}, {}) == (4, 3)


def test_file_base_url_mounts_the_folder_and_next_links_stay_absolute(tmp_path: Path) -> None:
    write_json(tmp_path, "repos/a/b/pulls", [{"id": i} for i in range(3)])
    client = ApiClient("github", "file://" + tmp_path.as_posix())
    first = client.get("/repos/a/b/pulls", params={"per_page": 2})
    assert str(first.url).startswith("file://localhost/")
    second = client.get(first.links["next"]["url"])
    assert [r["id"] for r in second.json()] == [2]
