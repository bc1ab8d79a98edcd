"""Incremental extraction: per-unit since, conditional requests (ETag / 304), Secret-block credentials."""
from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import httpx
import pytest

from extractors.core import ApiClient, EnvCredentialAuth, FolderTransport
from extractors.core.incremental import ConditionalPages, UnitSince, previous_manifest, unit_since
from extractors.github import extract_github
from extractors.github.extract import github_client
from extractors.servicenow import extract_servicenow_table
from flows.config import GitHubSource, ServiceNowSource
from tests.extractors.conftest import read_manifest, write_json
from tests.extractors.test_extract_github import REPO, build_org
from warehouse.models import staging_sql

LEAF_STREAMS = {"repositories", "reviews", "check_runs", "commit_pulls"}   # pr_commits' shas are read (commit_pulls)


def staging(landing: Path, *views: str) -> duckdb.DuckDBPyConnection:
    """Raw tables loaded with the real load step plus only the named staging views."""
    from warehouse.load import load_landing
    from warehouse.schema import create_schema

    con = duckdb.connect()
    create_schema(con)
    load_landing(con, landing)
    for view in views:
        con.execute(f"create view {view} as {staging_sql(view)}")
    return con


def _files(manifest: dict) -> dict[str, dict]:
    return {f["stream"]: f for f in manifest["files"]}


def test_folder_transport_sends_etags_and_answers_304(tmp_path: Path) -> None:
    write_json(tmp_path / "gh", "repos/acme/api/pulls", [{"id": n, "number": n} for n in range(1, 6)])
    transport = FolderTransport(tmp_path / "gh", "github")
    with httpx.Client(transport=transport, base_url="http://folder") as http:
        first = http.get("/repos/acme/api/pulls", params={"per_page": 2})
        second_page = http.get("/repos/acme/api/pulls", params={"per_page": 2, "page": 2})
        etag = first.headers["ETag"]
        assert etag.startswith('"') and etag != second_page.headers["ETag"]     # a hash of the page served
        again = http.get("/repos/acme/api/pulls", params={"per_page": 2}, headers={"If-None-Match": f'W/{etag}'})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
        assert 'rel="next"' in again.headers["Link"]
        other = http.get("/repos/acme/api/pulls", params={"per_page": 2}, headers={"If-None-Match": '"stale"'})
        assert other.status_code == 200 and other.json() == first.json()


def test_client_returns_304_without_using_the_rate_limit(tmp_path: Path) -> None:
    write_json(tmp_path / "gh", "repos/acme/api/pulls", [{"id": 1, "number": 1}])
    with ApiClient("github", "file://" + (tmp_path / "gh").as_posix()) as client:
        etag = client.get("/repos/acme/api/pulls").headers["ETag"]
        response = client.get("/repos/acme/api/pulls", headers={"If-None-Match": etag})
        assert response.status_code == 304
        assert (client.requests_made, client.not_modified) == (1, 1)


def test_second_github_run_asks_conditionally_and_does_not_reland_unchanged_pages(tmp_path: Path) -> None:
    gh, landing = build_org(tmp_path), tmp_path / "landing"
    config = GitHubSource(base_url="file://" + gh.as_posix(), org="acme", repos=[REPO], api="rest")
    first = read_manifest(extract_github(config, landing, "20260801T000000Z-aaaaaa", client=github_client(config))[0])
    assert first["etags"] and not first["unchanged"]
    assert {e["stream"] for e in first["etags"].values()} == LEAF_STREAMS      # callers needing records never 304

    transport = FolderTransport(gh, "github")
    client = github_client(config, transport=transport)
    second = read_manifest(extract_github(config, landing, "20260802T000000Z-bbbbbb", client=client)[0])
    files = _files(second)
    for stream in LEAF_STREAMS:
        assert files[stream]["records"] == 0, stream                    # nothing re-landed
        assert files[stream]["requests"] == _files(first)[stream]["requests"]   # ...but every page asked
    assert {u["stream"] for u in second["unchanged"]} == LEAF_STREAMS
    assert all(u["etag"] == first["etags"][u["url"]]["etag"] for u in second["unchanged"])
    assert all(second["etags"][url] == e for url, e in first["etags"].items())   # carried forward for the next run
    assert {e["stream"] for e in second["etags"].values()} == LEAF_STREAMS | {"pr_commits"}   # conditional from now on
    assert client.not_modified == len(second["unchanged"])
    assert client.requests_made + client.not_modified == transport.request_count
    assert files["pull_requests"]["records"] == 3 and files["deployments"]["records"] == 6

    # A page that changed is landed again; the unchanged ones still answer 304.
    write_json(gh, f"repos/{REPO}/pulls/1/reviews", [
        {"id": 7001, "user": {"login": "dave"}, "state": "APPROVED", "commit_id": "c3",
         "submitted_at": "2026-07-01T12:00:00Z", "html_url": "r1"},
        {"id": 7100, "user": {"login": "erin"}, "state": "APPROVED", "commit_id": "c3",
         "submitted_at": "2026-07-01T13:00:00Z", "html_url": "r1b"}])
    third = read_manifest(extract_github(config, landing, "20260803T000000Z-cccccc",
                                         client=github_client(config, transport=FolderTransport(gh, "github")))[0])
    assert _files(third)["reviews"]["records"] == 2
    assert [u["url"] for u in third["unchanged"] if u["stream"] == "reviews"] == [
        u["url"] for u in second["unchanged"] if u["stream"] == "reviews" and "/pulls/3/" in u["url"]]

    con = staging(landing, "stg_github__reviews", "stg_github__pr_commits", "stg_github__check_runs")
    assert con.execute("select count(*), count(distinct review_id) from stg_github__reviews").fetchone() == (3, 3)
    assert con.execute("select count(*) from stg_github__check_runs").fetchone()[0] == 5


def test_previous_manifest_is_the_newest_earlier_one_of_the_same_unit(tmp_path: Path) -> None:
    folder = tmp_path / "github" / "_manifests"
    folder.mkdir(parents=True)
    for run_id, unit in (("r1", "acme/api"), ("r2", "acme/api"), ("r3", "acme/web"), ("r4", "acme/api")):
        (folder / f"{run_id}__{unit.replace('/', '__')}.json").write_text(
            json.dumps({"run_id": run_id, "system": "github", "unit": unit, "etags": {}}))
    assert previous_manifest(tmp_path, "github", "acme/api", "r4")["run_id"] == "r2"
    assert previous_manifest(tmp_path, "github", "acme/web", "r3") is None
    assert ConditionalPages.for_unit(tmp_path, "nothing", "x", "r9").previous == {}


def test_unit_since_is_per_unit_and_survives_worker_processes() -> None:
    a, b = datetime(2026, 7, 1, tzinfo=timezone.utc), datetime(2026, 7, 5, tzinfo=timezone.utc)
    since = UnitSince({"acme/api": b, "acme/web": a})
    assert since == a and isinstance(since, datetime)           # the earliest, for single-unit sources
    assert unit_since(since, "acme/api") == b
    assert unit_since(since, "acme/new") is None                # a new repository: its whole history
    assert unit_since(a, "anything") == a and unit_since(None, "x") is None
    copy = pickle.loads(pickle.dumps(since))
    assert copy.per_unit == since.per_unit and copy == a


def test_github_honours_each_repository_cursor(tmp_path: Path) -> None:
    gh, landing = build_org(tmp_path), tmp_path / "landing"
    config = GitHubSource(base_url="file://" + gh.as_posix(), org="acme", repos=[REPO], api="rest")
    since = UnitSince({REPO: datetime(2026, 7, 4, 12, tzinfo=timezone.utc),
                       "acme/other": datetime(2026, 1, 1, tzinfo=timezone.utc)})
    manifest = read_manifest(extract_github(config, landing, "r1", since, client=github_client(config))[0])
    files = _files(manifest)
    # PRs stop at the first page older than the repository's own since; only PR 3 is newer.
    assert files["reviews"]["records"] == 1 and files["pr_commits"]["records"] == 1
    # the deployment list is always read whole, but lands only what is newer than since
    assert (files["deployments"]["records"], files["deployments"]["already_landed"]) == (2, 4)


def _sn_folder(root: Path, changes: list[dict]) -> Path:
    write_json(root / "servicenow", "api/now/table/change_request", {"result": changes})
    return root / "servicenow"


def _chg(n: int, updated: str) -> dict:
    return {"sys_id": f"c{n}", "number": f"CHG{n:07d}", "type": "normal", "sys_updated_on": updated}


def test_servicenow_since_filter_is_served_by_the_folder(tmp_path: Path) -> None:
    sn = _sn_folder(tmp_path, [_chg(1, "2026-07-01 00:00:00"), _chg(2, "2026-07-03 10:00:00"),
                               _chg(3, "2026-07-03 12:00:00")])
    config = ServiceNowSource(base_url="file://" + sn.as_posix(), page_size=1)
    transport = FolderTransport(sn, "servicenow")
    from extractors.servicenow import servicenow_client

    since = UnitSince({"change_request": datetime(2026, 7, 3, 10, tzinfo=timezone.utc)})
    path = extract_servicenow_table(config, "change_request", tmp_path / "landing", "r1", since,
                                    client=servicenow_client(config, transport=transport))
    manifest = read_manifest(path)
    assert manifest["files"][0]["records"] == 2 and manifest["cursors"] == {"change_requests": "2026-07-03 12:00:00"}
    assert transport.request_count == 2                        # page_size 1: two matching records, two pages
    assert "sys_updated_on%3E%3D2026-07-03+10%3A00%3A00" in manifest["files"][0]["query"].replace(" ", "+") \
        or "sys_updated_on>=2026-07-03 10:00:00" in manifest["files"][0]["query"]


class _FakeSecret:
    loads: list[str] = []

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def load(cls, name: str) -> "_FakeSecret":
        cls.loads.append(name)
        return cls(f"token-from-{name}")

    def get(self) -> str:
        return self._value


def test_credential_from_a_prefect_secret_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect.blocks.system

    _FakeSecret.loads = []
    monkeypatch.setattr(prefect.blocks.system, "Secret", _FakeSecret)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return httpx.Response(200, json=[])

    config = GitHubSource(org="acme", token_secret_block="github-token")
    client = github_client(config, transport=httpx.MockTransport(handler))
    assert _FakeSecret.loads == []                               # not read until a request is made
    client.get("/orgs/acme/repos")
    client.get("/orgs/acme/repos")
    assert seen == ["Bearer token-from-github-token"] * 2 and _FakeSecret.loads == ["github-token"]
    assert "token-from" not in repr(client._http.auth)

    auth = EnvCredentialAuth("servicenow", "basic", ("SN_USER", "SN_PASSWORD"), secret_block="sn-password")
    monkeypatch.setenv("SN_USER", "integration")
    monkeypatch.delenv("SN_PASSWORD", raising=False)
    import base64

    assert auth.header_value() == "Basic " + base64.b64encode(b"integration:token-from-sn-password").decode()


def test_a_secret_block_that_cannot_be_read_names_the_block_not_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect.blocks.system

    class Broken:
        @classmethod
        def load(cls, name: str):
            raise ValueError("no such block: secret-value-xyz")

    monkeypatch.setattr(prefect.blocks.system, "Secret", Broken)
    from extractors.core import ExtractionError

    auth = EnvCredentialAuth("pagerduty", "pagerduty", ("PAGERDUTY_TOKEN",), secret_block="pd-token")
    with pytest.raises(ExtractionError, match="'pd-token' could not be read") as info:
        auth.header_value()
    assert "secret-value-xyz" not in str(info.value)
