"""Jira Cloud / Data Center issue search and the Jira staging views (change requests,
approvals from the changelog, embedded users)."""
from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from extractors.core import Fault
from extractors.jira import extract_jira, jira_client, search_jql
from extractors.jira.transport import CLOUD_SEARCH, DC_SEARCH, JiraFolderTransport
from flows.config import JiraSource
from tests.extractors.conftest import read_landed, read_manifest, write_json

SITE = "https://acme.atlassian.net"
APPROVED, REOPENED, DONE, LEAD_OK = "10100", "10001", "10068", "10101"
MAPPING = {"risk": "customfield_10050", "test_plan": "customfield_10051", "backout_plan": "customfield_10052",
           "approval": "customfield_10053", "verbal_approver": "customfield_10054",
           "verbal_approved_at": "customfield_10055", "review_date": "customfield_10056"}
CATEGORIES = {"10010": "standard", "10011": "normal", "10012": "emergency"}


def _user(account: str, email: str | None = None, name: str | None = None) -> dict:
    user = {"accountId": account, "displayName": name or account.title(), "active": True, "accountType": "atlassian"}
    if email:
        user["emailAddress"] = email
    return user


def _status_item(to: str, to_name: str, frm: str = "1", frm_name: str = "待办") -> dict:
    return {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": frm, "fromString": frm_name,
            "to": to, "toString": to_name}


def _history(hid: str, author: str, created: str, *items: dict) -> dict:
    return {"id": hid, "author": _user(author), "created": created, "items": list(items)}


def _issue(n: int, type_id: str = "10011", risk: str | None = "Medium", histories: list | None = None, **fields) -> dict:
    body = {
        "summary": f"change {n}", "issuetype": {"id": type_id, "name": {"10010": "标准变更", "10011": "Normal Change",
                                                                          "10012": "Emergency"}[type_id]},
        "status": {"id": DONE, "name": "已完成", "statusCategory": {"id": 3, "key": "new"}},
        "created": "2026-07-01T17:00:00.000+0800", "updated": "2026-07-03T09:00:00.000+0800",
        "resolutiondate": None, "reporter": _user("acc-alice", "alice@acme.test", "Alice"),
        "creator": _user("acc-alice", "alice@acme.test", "Alice"), "assignee": None,
        "description": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "Rotate the"}, {"type": "text", "text": "keys"}]}]},
        "customfield_10050": {"self": f"{SITE}/rest/api/3/customFieldOption/1", "value": risk, "id": "1"} if risk else None,
        "customfield_10051": "unit + smoke tests", "customfield_10052": None,
        "customfield_10053": {"value": "Approved", "id": "7"}, "customfield_10054": None, "customfield_10055": None,
        "customfield_10056": None,
    }
    body.update(fields)
    return {"id": str(10000 + n), "key": f"CHG-{n}", "self": f"{SITE}/rest/api/3/issue/{10000 + n}",
            "fields": body, "changelog": {"startAt": 0, "maxResults": 100, "total": len(histories or []),
                                          "histories": histories or []}}


def _issues() -> list[dict]:
    reopened = [   # newest first, as Jira sends them: approved, reopened, approved again
        _history("3003", "acc-lead", "2026-07-02T10:00:00.000+0800", _status_item(APPROVED, "已批准", REOPENED, "重新打开")),
        _history("3002", "acc-bob", "2026-07-02T09:00:00.000+0800", _status_item(REOPENED, "重新打开", APPROVED, "已批准"),
                 {"field": "resolution", "fieldtype": "jira", "from": "10000", "to": None}),
        _history("3001", "acc-qa", "2026-07-01T18:00:00.000+0800",
                 {"field": "Sprint", "fieldtype": "custom", "from": "", "to": APPROVED},     # not a status change
                 _status_item(APPROVED, "已批准")),
    ]
    return [
        _issue(1, histories=reopened, customfield_10054=_user("acc-ciso", "ciso@acme.test", "Cee"),
               customfield_10055="2026-07-01T08:30:00.000+0000", customfield_10056="2026-07-06"),
        _issue(2, "10010", risk=None, customfield_10053={"value": "Requested"}),
        _issue(3, "10011", risk="High", histories=[
            _history("3101", "acc-lead", "2026-07-02T01:00:00.000+0000", _status_item(LEAD_OK, "Approved")),
            _history("3102", "acc-qa", "2026-07-02T02:00:00.000+0000", _status_item("3", "Approved"))]),  # same name, other id
        _issue(4, "10012"),
        _issue(5, "10011", risk="Critical"),
    ]


def _config(root: Path, **kw) -> JiraSource:
    base = dict(base_url="file://" + root.as_posix(), fields=MAPPING, approved_status_ids=[APPROVED, LEAD_OK],
                categories=CATEGORIES, page_size=2)
    return JiraSource(**{**base, **kw})


def _site(root: Path, issues: list[dict], path: str = CLOUD_SEARCH) -> Path:
    write_json(root, path, {"issues": issues})
    return root


def test_cloud_pages_by_next_page_token_and_stages_change_requests(tmp_path: Path, warehouse) -> None:
    root = _site(tmp_path / "jira", _issues())
    manifests = extract_jira(_config(root), tmp_path / "landing", "r1")
    manifest = read_manifest(manifests[0])
    entry = manifest["files"][0]
    assert (entry["stream"], entry["records"], entry["requests"]) == ("issues", 5, 3)
    assert "expand=changelog" in entry["query"] and "customfield_10050" in entry["query"]
    landed = read_landed(tmp_path / "landing", entry["path"])
    assert "nextPageToken=" in landed[-1]["source_url"] and landed[0]["context"]["reading"]["categories"] == CATEGORIES

    con = warehouse(tmp_path / "landing")
    rows = {r[1]: r for r in con.execute(
        "select sys_id, number, type, category, risk, state, description, test_plan, requested_by_sys_id, approval, "
        "verbal_approver_sys_id, verbal_approved_at, review_date, created_at, ticket_url "
        "from stg_jira__change_requests").fetchall()}
    first = rows["CHG-1"]
    assert first[:6] == ("10001", "CHG-1", "normal", "Normal Change", "3", DONE)
    assert first[6] == "Rotate the keys" and first[7] == "unit + smoke tests" and first[8] == "acc-alice"
    assert first[9:11] == ("approved", "acc-ciso")
    assert first[11] == datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc)
    assert first[12] == datetime(2026, 7, 6, tzinfo=timezone.utc)
    assert first[13] == datetime(2026, 7, 1, 9, tzinfo=timezone.utc)              # +0800 -> UTC
    assert first[14].endswith("/browse/CHG-1")
    assert (rows["CHG-2"][2], rows["CHG-2"][4], rows["CHG-2"][9]) == ("standard", None, "requested")
    assert [rows[k][2:5:2] for k in ("CHG-3", "CHG-4", "CHG-5")] == [("normal", "2"), ("emergency", "3"), ("normal", "1")]
    categorized = dict(con.execute(
        "select number, case when type = 'normal' and risk in ('1', '2') then 'Major' else type end "
        "from stg_jira__change_requests").fetchall())
    assert categorized == {"CHG-1": "normal", "CHG-2": "standard", "CHG-3": "Major", "CHG-4": "emergency", "CHG-5": "Major"}


def test_changelog_newest_first_reopen_and_status_ids(tmp_path: Path, warehouse) -> None:
    root = _site(tmp_path / "jira", _issues())
    extract_jira(_config(root), tmp_path / "landing", "r1")
    con = warehouse(tmp_path / "landing")
    rows = con.execute("select sys_id, change_sys_id, approver_sys_id, state, updated_at from stg_jira__approvals "
                       "order by updated_at").fetchall()
    assert [r[:4] for r in rows] == [
        ("3001-1", "10001", "acc-qa", "approved"),       # item 0 is a Sprint change whose `to` looks like the id
        ("3101-0", "10003", "acc-lead", "approved"),
        ("3003-0", "10001", "acc-lead", "approved"),     # re-approval after the reopen
    ]                                                     # 3102: status *named* Approved, id 3 is not approved
    assert rows[0][4] == datetime(2026, 7, 1, 10, tzinfo=timezone.utc)
    users = con.execute("select sys_id, email, name, is_active from stg_jira__users order by 1").fetchall()
    assert ("acc-alice", "alice@acme.test", "Alice", True) in users and ("acc-ciso", "ciso@acme.test", "Cee", True) in users
    assert {"acc-lead", "acc-qa", "acc-bob"} <= {u[0] for u in users}


def test_approvers_field_instead_of_changelog(tmp_path: Path, warehouse) -> None:
    issue = _issue(7, customfield_10060=[_user("acc-lead", "lead@acme.test"), _user("acc-qa")],
                   customfield_10061="2026-07-02T12:00:00.000+0000")
    root = _site(tmp_path / "jira", [issue])
    extract_jira(_config(root, approvers_field="customfield_10060", approved_at_field="customfield_10061"),
                 tmp_path / "landing", "r1")
    con = warehouse(tmp_path / "landing")
    rows = con.execute("select change_sys_id, approver_sys_id, updated_at from stg_jira__approvals order by 2").fetchall()
    at = datetime(2026, 7, 2, 12, tzinfo=timezone.utc)
    assert rows == [("10007", "acc-lead", at), ("10007", "acc-qa", at)]
    assert ("acc-lead", "lead@acme.test") in con.execute("select sys_id, email from stg_jira__users").fetchall()


def test_data_center_start_at_paging_with_bearer_token(monkeypatch, tmp_path: Path, warehouse) -> None:
    monkeypatch.setenv("JIRA_PAT", "dc-Secret-pat-never-landed")
    issues = _issues()
    for issue in issues:     # Data Center users carry name/key instead of accountId
        for field in ("reporter", "creator"):
            issue["fields"][field] = {"name": "alice", "key": "JIRAUSER1", "emailAddress": "alice@acme.test",
                                      "displayName": "Alice", "active": True}
    folder = JiraFolderTransport(_site(tmp_path / "jira", issues, DC_SEARCH))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return folder.handle_request(request)

    config = JiraSource(base_url="https://jira.acme.test", deployment="datacenter", token_env="JIRA_PAT",
                        fields=MAPPING, approved_status_ids=[APPROVED], categories=CATEGORIES, page_size=2)
    client = jira_client(config, transport=httpx.MockTransport(handler))
    manifest = read_manifest(extract_jira(config, tmp_path / "landing", "r1", client=client)[0])
    assert (manifest["files"][0]["records"], len(seen)) == (5, 3)
    assert [r.url.params["startAt"] for r in seen] == ["0", "2", "4"] and seen[0].url.path == "/rest/api/2/search"
    assert all(r.headers["Authorization"] == "Bearer dc-Secret-pat-never-landed" for r in seen)
    for path in (tmp_path / "landing").rglob("*.gz"):
        assert b"dc-Secret" not in gzip.decompress(path.read_bytes())
    con = warehouse(tmp_path / "landing")
    assert con.execute("select requested_by_sys_id, ticket_url from stg_jira__change_requests where number = 'CHG-2'"
                       ).fetchone() == ("alice", "https://jira.acme.test/browse/CHG-2")
    assert ("alice", "alice", "alice@acme.test") in con.execute("select sys_id, user_name, email from stg_jira__users").fetchall()


def test_cloud_basic_auth_and_missing_credentials(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JIRA_USER", raising=False)
    config = JiraSource(base_url=SITE)
    with pytest.raises(Exception, match="JIRA_USER"):
        jira_client(config).get("/rest/api/3/myself")
    monkeypatch.setenv("JIRA_USER", "bot@acme.test")
    monkeypatch.setenv("JIRA_TOKEN", "tok")
    seen = []
    client = jira_client(config, transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json={})))
    client.get("/rest/api/3/myself")
    assert seen[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize("deployment,path", [("cloud", CLOUD_SEARCH), ("datacenter", DC_SEARCH)])
def test_empty_result_still_lands_a_stream(tmp_path: Path, deployment: str, path: str) -> None:
    root = _site(tmp_path / "jira", [], path)
    manifest = read_manifest(extract_jira(_config(root, deployment=deployment), tmp_path / "l", "r")[0])
    assert (manifest["files"][0]["records"], manifest["files"][0]["requests"]) == (0, 1)


def test_rate_limit_and_server_errors_are_retried(tmp_path: Path, fake_sleep) -> None:
    root = _site(tmp_path / "jira", _issues())
    transport = JiraFolderTransport(root, faults={CLOUD_SEARCH: [Fault(429, {"Retry-After": "7"}), Fault(503), Fault(502)]})
    config = _config(root)
    client = jira_client(config, sleep=fake_sleep, transport=transport)
    manifest = read_manifest(extract_jira(config, tmp_path / "l", "r", client=client)[0])
    assert manifest["files"][0]["records"] == 5 and fake_sleep.calls[0] == 7.0 and len(fake_sleep.calls) == 3


def test_trailing_empty_page_ends_paging(tmp_path: Path) -> None:
    root = _site(tmp_path / "jira", _issues()[:2])
    config = _config(root)
    client = jira_client(config, transport=JiraFolderTransport(root, trailing_empty_page=True))
    manifest = read_manifest(extract_jira(config, tmp_path / "l", "r", client=client)[0])
    assert (manifest["files"][0]["records"], manifest["files"][0]["requests"]) == (2, 2)


def test_malformed_issue_is_quarantined_and_the_rest_loaded(tmp_path: Path, warehouse) -> None:
    issues = _issues()
    issues.insert(2, {"key": "CHG-99", "fields": {"summary": "no id"}})
    issues.insert(4, "not an object")
    root = _site(tmp_path / "jira", issues)
    manifest = read_manifest(extract_jira(_config(root), tmp_path / "landing", "r")[0])
    assert manifest["files"][0]["records"] == 5
    assert sorted(q["reason"] for q in manifest["quarantined"]) == [
        "missing required key '<record is not a JSON object>'", "missing required key 'id'"]
    con = warehouse(tmp_path / "landing")
    assert con.execute("select count(*) from stg_jira__change_requests").fetchone() == (5,)
    assert con.execute("select count(*) from raw.quarantine where system = 'jira'").fetchone() == (2,)


def test_since_narrows_the_jql() -> None:
    assert search_jql("project = CHG", None) == "project = CHG ORDER BY updated ASC"
    since = datetime(2026, 7, 2, 6, 30, tzinfo=timezone.utc)
    assert search_jql("project = CHG ORDER BY key", since) == '(project = CHG) AND updated >= "2026/07/02 06:30" ORDER BY key'


def test_second_run_asks_only_for_issues_updated_since_the_cursor(tmp_path: Path) -> None:
    """The newest `fields.updated` landed is the unit's cursor; the next run narrows its JQL to it
    minus the overlap, through the same path the pipeline uses."""
    from flows.config import Config, Sources, Warehouse
    from flows.pipeline import extract_source, load

    root = _site(tmp_path, _issues())
    config = Config(warehouse=Warehouse(path=tmp_path / "w.duckdb", landing=tmp_path / "landing"),
                    sources=Sources(jira=_config(root)))
    first = extract_source(config, "jira", "r1")
    manifest = read_manifest(first[0])
    assert manifest["cursors"] == {"issues": "2026-07-03T09:00:00.000+0800"}
    load(config)
    second = read_manifest(extract_source(config, "jira", "r2")[0])
    query = second["files"][0]["query"]
    # cursor 2026-07-03 01:00 UTC minus the 24 h overlap
    assert 'updated >= "2026/07/02 01:00"' in query, query


def test_changelog_cut_short_in_the_search_is_paged_from_the_issue(tmp_path: Path, warehouse) -> None:
    """Cloud embeds at most 100 histories; the approval in history 101+ must still count."""
    early = [_history(str(100 + i), "acc-bob", "2026-07-01T10:00:00.000+0000",
                      {"field": "Sprint", "fieldId": "customfield_10020", "from": None, "to": "5"}) for i in range(3)]
    approval = _history("900", "acc-lena", "2026-07-02T12:00:00.000+0000", _status_item(APPROVED, "Approved"))
    issue = _issue(7, histories=early)
    issue["changelog"]["total"] = 4                       # one more history than embedded
    root = _site(tmp_path / "site", [issue])
    write_json(root, f"rest/api/3/issue/{issue['id']}/changelog",
               {"startAt": 0, "maxResults": 100, "total": 4, "isLast": True, "values": [*early, approval]})
    manifest = read_manifest(extract_jira(_config(root), tmp_path / "landing", "r1")[0])
    assert {f["stream"]: f["records"] for f in manifest["files"]} == {"issues": 1, "changelogs": 4}
    con = warehouse(tmp_path / "landing")
    rows = con.execute("select sys_id, approver_sys_id from stg_jira__approvals").fetchall()
    assert rows == [("900-0", "acc-lena")]
