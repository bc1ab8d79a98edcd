"""Staging views of labels (§5 emergency detection): GitHub PR `labels[].name`, GitLab MR `labels`
(names, or objects with `name`), Jira `fields.labels`; one row per label of each record's latest
extraction, blanks dropped."""
from __future__ import annotations

import json

import duckdb

from extractors.jira.extract import BASE_FIELDS
from warehouse.models import staging_sql



def land(con, table: str, payload: dict, at: str = "2026-08-01", repo: str | None = None) -> None:
    con.execute(f"insert into raw.{table} values (?, ?, ?)", [at, json.dumps({"repo": repo}), json.dumps(payload)])


def view(con, name: str) -> list[tuple]:
    return sorted(con.execute(staging_sql(name)).fetchall())


def raw_tables():
    con = duckdb.connect()
    con.execute("create schema raw")
    for table in ("github__pull_requests", "github__graphql_pull_requests", "gitlab__merge_requests", "jira__issues"):
        con.execute(f"create table raw.{table} (_extracted_at TIMESTAMPTZ, _context JSON, _payload JSON)")
    return con


def test_github_pull_request_labels_follow_the_latest_extraction():
    con = raw_tables()
    land(con, "github__pull_requests", {"id": 1, "number": 5, "labels": [{"name": "bug"}, {"name": "HotFix"}]},
         at="2026-07-01", repo="acme/a")
    land(con, "github__pull_requests", {"id": 1, "number": 5, "labels": [{"name": "HotFix"}, {"name": " "}]}, repo="acme/a")
    land(con, "github__pull_requests", {"id": 2, "number": 6, "labels": []}, repo="acme/a")
    land(con, "github__pull_requests", {"id": 3, "number": 7}, repo="acme/a")
    assert view(con, "stg_github__pull_request_labels") == [(1, "acme/a", 5, "HotFix")]


def test_gitlab_merge_request_labels_as_names_or_objects():
    con = raw_tables()
    land(con, "gitlab__merge_requests", {"id": 11, "iid": 2, "labels": ["hotfix", "backend"]}, repo="grp/p")
    land(con, "gitlab__merge_requests", {"id": 12, "iid": 3, "labels": [{"id": 9, "name": "emergency"}]}, repo="grp/p")
    land(con, "gitlab__merge_requests", {"id": 13, "iid": 4, "labels": []}, repo="grp/p")
    assert view(con, "stg_gitlab__pull_request_labels") == [
        (11, "grp/p", 2, "backend"), (11, "grp/p", 2, "hotfix"), (12, "grp/p", 3, "emergency")]


def test_jira_issue_labels_are_requested_and_staged():
    assert "labels" in BASE_FIELDS
    con = raw_tables()
    land(con, "jira__issues", {"id": "100", "key": "OPS-1", "fields": {"labels": ["Emergency", "db"]}}, at="2026-07-01")
    land(con, "jira__issues", {"id": "100", "key": "OPS-1", "fields": {"labels": ["Emergency"]}})
    land(con, "jira__issues", {"id": "101", "key": "OPS-2", "fields": {}})
    land(con, "jira__issues", {"key": "OPS-3", "fields": {"labels": ["hotfix"]}})     # no id: not a change request
    assert view(con, "stg_jira__ticket_labels") == [("100", "OPS-1", "Emergency")]
