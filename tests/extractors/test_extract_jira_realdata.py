"""Conformance on recorded Jira Cloud data (apache/incubator-devlake e2e raw tables): 33 issues
with Chinese status and issue-type names, +0800 offsets, newest-first histories, 15 reopened;
and GET /rest/api/2/status with status names that repeat under different ids."""
from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from extractors.jira import extract_jira
from extractors.jira.transport import CLOUD_SEARCH
from flows.config import JiraSource
from tests.extractors.conftest import read_manifest, write_json

RESOLVED = "5"


def _rows(realdata: Path, name: str) -> list[dict]:
    csv.field_size_limit(1 << 30)
    with (realdata / "devlake" / "jira" / name).open(newline="", encoding="utf-8") as fh:
        return [json.loads(row["data"]) for row in csv.DictReader(fh)]


def _status_items(issue: dict) -> list[tuple[dict, dict]]:
    return [(h, i) for h in issue["changelog"]["histories"] for i in h["items"] if i["field"] == "status"]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _land(realdata: Path, tmp_path: Path, approved: list[str]):
    issues = _rows(realdata, "_raw_jira_api_issues.csv")
    root = tmp_path / "jira"
    write_json(root, CLOUD_SEARCH, {"issues": issues})
    config = JiraSource(base_url="file://" + root.as_posix(), approved_status_ids=approved, page_size=10,
                        categories={"10001": "normal", "10031": "standard", "10004": "emergency"})
    manifest = read_manifest(extract_jira(config, tmp_path / "landing", "r1")[0])
    return issues, manifest


def test_recorded_issues_land_and_stage(realdata: Path, tmp_path: Path, warehouse) -> None:
    issues, manifest = _land(realdata, tmp_path, [RESOLVED])
    assert (manifest["files"][0]["records"], manifest["files"][0]["requests"], manifest["quarantined"]) == (33, 4, [])
    assert sum(len(i["changelog"]["histories"]) > 1 and i["changelog"]["histories"][0]["created"]
               > i["changelog"]["histories"][-1]["created"] for i in issues) >= 30          # newest first
    con = warehouse(tmp_path / "landing")
    tickets = {r[0]: r[1:] for r in con.execute(
        "select number, sys_id, type, category, state, created_at, short_description from stg_jira__change_requests"
    ).fetchall()}
    assert len(tickets) == 33
    for issue in issues:
        number, fields = issue["key"], issue["fields"]
        assert tickets[number][0] == issue["id"] and tickets[number][3] == fields["status"]["id"]
        assert tickets[number][4] == _utc(fields["created"]) and tickets[number][5] == fields["summary"]
    # issue type ids, not their localised names (故事 and Story are both 10001)
    by_type = Counter((r[1], r[2]) for r in tickets.values() if r[1])
    assert by_type[("normal", "故事")] == 8 and by_type[("normal", "Story")] == 2 and by_type[("standard", "任务")] == 8

    approvals = con.execute("select sys_id, change_sys_id, approver_sys_id, updated_at from stg_jira__approvals").fetchall()
    expected = sorted((h["id"], issue["id"], h["author"]["accountId"], _utc(h["created"]))
                      for issue in issues for h, item in _status_items(issue) if item["to"] == RESOLVED)
    assert len(expected) == 37
    assert sorted((s.split("-")[0], c, a, t) for s, c, a, t in approvals) == expected
    reopened = [i for i in issues if any(item["fromString"] in ("Resolved", "Closed") and item["to"] in ("1", "10000")
                                         for _, item in _status_items(i))]
    assert len(reopened) == 15
    twice = Counter(c for _, c, _, _ in approvals)
    assert any(twice[i["id"]] > 1 for i in reopened)         # a re-approval after a reopen is its own row
    users = dict(con.execute("select sys_id, name from stg_jira__users").fetchall())
    assert users["5e9711ba34f7b90c0fbc37d3"] == "Rankin Zheng"


def test_status_names_repeat_so_ids_decide(realdata: Path, tmp_path: Path, warehouse) -> None:
    statuses = _rows(realdata, "_raw_jira_api_status.csv")
    ids_by_name = Counter(s["name"] for s in statuses)
    assert ids_by_name["To Do"] > 1 and ids_by_name["Done"] > 1
    to_do = {s["id"] for s in statuses if s["name"] == "To Do"}
    assert "10033" in to_do and len(to_do) > 1
    _land(realdata, tmp_path, ["10033"])             # one of the 'To Do' statuses, by id
    con = warehouse(tmp_path / "landing")
    assert con.execute("select count(*) from stg_jira__approvals").fetchone() == (1,)   # not the 20 into 10000
