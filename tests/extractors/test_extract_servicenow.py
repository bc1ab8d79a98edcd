"""ServiceNow Table API extraction and the ServiceNow staging views."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import httpx

from extractors.core import ApiClient, FolderTransport
from extractors.servicenow import extract_servicenow, extract_servicenow_table, servicenow_client
from extractors.servicenow.extract import encoded_query
from flows.config import ServiceNowSource
from tests.extractors.conftest import read_landed, read_manifest, write_json

INSTANCE = "https://acme.service-now.com"


def _ref(sys_id: str, table: str = "sys_user") -> dict | str:
    """A reference field as the Table API returns it with sysparm_exclude_reference_link=false."""
    return {"link": f"{INSTANCE}/api/now/table/{table}/{sys_id}", "value": sys_id} if sys_id else ""


def _change(n: int, updated: str, **fields) -> dict:
    row = {"sys_id": f"c{n}", "number": f"CHG000000{n}", "type": "normal", "category": "Software", "risk": "2",
           "state": "3", "short_description": f"change {n}", "description": "", "justification": "why",
           "implementation_plan": "steps", "backout_plan": "revert", "test_plan": "tests",
           "risk_impact_analysis": "low", "requested_by": _ref("u1"), "opened_by": _ref("u1"),
           "assigned_to": _ref(""), "approval": "approved", "start_date": "2026-07-01 10:00:00",
           "end_date": "", "close_code": "successful", "close_notes": "", "closed_at": "",
           "review_date": "", "review_status": "", "u_verbal_approver": _ref(""), "u_verbal_approved_at": "",
           "sys_created_on": "2026-07-01 09:00:00", "sys_updated_on": updated}
    row.update(fields)
    return row


def _instance(root: Path) -> Path:
    sn = root / "servicenow"
    write_json(sn, "api/now/table/change_request", {"result": [
        _change(1, "2026-07-03 00:00:00"), _change(2, "2026-07-01 00:00:00", type="emergency",
                                                   u_verbal_approver=_ref("u2"),
                                                   u_verbal_approved_at="2026-07-01 08:30:00"),
        _change(3, "2026-07-02 00:00:00"), {"number": "CHG0000009", "sys_updated_on": "2026-07-04 00:00:00"}]})
    write_json(sn, "api/now/table/sysapproval_approver", {"result": [
        {"sys_id": "a1", "sysapproval": _ref("c1", "change_request"), "document_id": _ref("c1", "change_request"),
         "approver": _ref("u2"), "state": "approved", "comments": "",
         "sys_created_on": "2026-07-01 09:30:00", "sys_updated_on": "2026-07-01 09:45:00"},
        {"sys_id": "a2", "sysapproval": "", "document_id": _ref("c3", "change_request"), "approver": _ref("u3"),
         "state": "requested", "comments": "", "sys_created_on": "2026-07-02 09:30:00",
         "sys_updated_on": "2026-07-02 09:30:00"}]})
    write_json(sn, "api/now/table/sys_user", {"result": [
        {"sys_id": "u1", "user_name": "alice", "email": "alice@acme.test", "name": "Alice", "active": "true",
         "sys_updated_on": "2026-01-01 00:00:00"},
        {"sys_id": "u2", "user_name": "ciso", "email": "", "name": "Cee", "active": "false",
         "sys_updated_on": "2026-01-01 00:00:00"}]})
    return sn


def test_three_tables_paged_and_staged(tmp_path: Path, warehouse) -> None:
    sn = _instance(tmp_path)
    config = ServiceNowSource(base_url="file://" + sn.as_posix(), page_size=2)
    manifests = extract_servicenow(config, tmp_path / "landing", "r1")
    assert [m.name for m in manifests] == ["r1__change_request.json", "r1__sysapproval_approver.json", "r1__sys_user.json"]
    changes = read_manifest(manifests[0])
    entry = changes["files"][0]
    assert (entry["stream"], entry["records"], entry["requests"]) == ("change_requests", 3, 2)
    assert "sysparm_display_value=false" in entry["query"] and "sysparm_exclude_reference_link=false" in entry["query"]
    assert changes["quarantined"][0]["reason"] == "missing required key 'sys_id'"
    assert changes["cursors"] == {"change_requests": "2026-07-03 00:00:00"}
    landed = read_landed(tmp_path / "landing", entry["path"])
    assert [r["payload"]["sys_id"] for r in landed] == ["c2", "c3", "c1"]      # ORDERBYsys_updated_on
    assert landed[0]["context"] == {"table": "change_request"}

    con = warehouse(tmp_path / "landing")
    row = con.execute(
        "select number, type, risk, requested_by_sys_id, assigned_to_sys_id, verbal_approver_sys_id, "
        "verbal_approved_at, start_date, end_date, created_at, ticket_url "
        "from stg_servicenow__change_requests where sys_id = 'c2'").fetchone()
    assert row[:6] == ("CHG0000002", "emergency", "2", "u1", None, "u2")
    assert row[6] == datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc)
    assert row[7] == datetime(2026, 7, 1, 10, tzinfo=timezone.utc) and row[8] is None
    assert row[9] == datetime(2026, 7, 1, 9, tzinfo=timezone.utc)
    assert row[10].endswith("/servicenow/change_request.do?sys_id=c2")
    approvals = con.execute("select sys_id, change_sys_id, approver_sys_id, state, updated_at "
                            "from stg_servicenow__approvals order by sys_id").fetchall()
    assert [a[:4] for a in approvals] == [("a1", "c1", "u2", "approved"), ("a2", "c3", "u3", "requested")]
    users = con.execute("select sys_id, user_name, email, is_active from stg_servicenow__users order by 1").fetchall()
    assert users == [("u1", "alice", "alice@acme.test", True), ("u2", "ciso", None, False)]


def test_since_becomes_an_encoded_query_and_filters(tmp_path: Path) -> None:
    assert encoded_query(None) == "ORDERBYsys_updated_on"
    since = datetime(2026, 7, 2, tzinfo=timezone.utc)
    assert encoded_query(since) == "sys_updated_on>=2026-07-02 00:00:00^ORDERBYsys_updated_on"
    sn = _instance(tmp_path)
    config = ServiceNowSource(base_url="file://" + sn.as_posix())
    manifest = read_manifest(extract_servicenow_table(config, "change_request", tmp_path / "l", "r", since))
    assert manifest["files"][0]["records"] == 2          # c3 (07-02) and c1 (07-03); CHG0000009 quarantined


def test_basic_auth_and_live_style_paging(monkeypatch, tmp_path: Path) -> None:
    """Against an http base URL the Link header of a real instance drives paging."""
    monkeypatch.setenv("SN_USER", "svc")
    monkeypatch.setenv("SN_PASS", "sn-Pa55word-never-landed")
    sn = _instance(tmp_path)
    seen: list[httpx.Request] = []
    folder = FolderTransport(sn, "servicenow")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return folder.handle_request(request)

    config = ServiceNowSource(base_url=INSTANCE, user_env="SN_USER", password_env="SN_PASS", page_size=1)
    client = servicenow_client(config, transport=httpx.MockTransport(handler))
    extract_servicenow_table(config, "sys_user", tmp_path / "l", "r", client=client)
    assert len(seen) == 2 and all(r.headers["Authorization"].startswith("Basic ") for r in seen)
    assert seen[1].url.params["sysparm_offset"] == "1" and seen[1].url.host == "acme.service-now.com"
    for path in (tmp_path / "l").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            data = gzip.decompress(data) if path.suffix == ".gz" else data
            assert b"sn-Pa55word" not in data and b"c3ZjOnNuLVBhNTV3b3Jk" not in data   # nor its base64


def test_realdata_display_value_all_record_reads_as_values(realdata: Path, tmp_path: Path, warehouse) -> None:
    """The one public recording is a display_value=all response (every field {display_value, value}).
    We request display_value=false; the staging view still reads such records by `value`."""
    body = (realdata / "servicenow" / "create_co_from_template_result.json").read_bytes()
    record = json.loads(body)["result"]
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b'{"result":[' + json.dumps(record).encode() + b"]}"))
    config = ServiceNowSource(base_url=INSTANCE)
    client = ApiClient("servicenow", INSTANCE, transport=transport)
    extract_servicenow_table(config, "change_request", tmp_path, "r1", client=client)
    row = warehouse(tmp_path).execute(
        "select sys_id, number, type, state, risk, approval, requested_by_sys_id, assigned_to_sys_id, "
        "category, created_at, review_date, ticket_url from stg_servicenow__change_requests").fetchall()
    assert row == [("11ab5ccfdb784d505da401a3ca96190a", "CHG0031889", "standard", "-5", "3", "approved",
                    "46428af1db202c1026fca015ca961994", None, "Other",
                    datetime(2022, 1, 6, 12, 12, 43, tzinfo=timezone.utc), None,
                    INSTANCE + "/change_request.do?sys_id=11ab5ccfdb784d505da401a3ca96190a")]
