"""Real GitLab REST v4 payloads (Apache DevLake's recorded raw tables) through the GitLab streams,
the real client and engine, the load step and the staging views.

Each CSV row holds one API object (`data`) and, for merge-request children, the MR it was read
for (`input`: Iid). They are served as the list endpoints the extractor calls, so the column
contract is checked against GitLab's actual shapes: every deployment status, self-merged and
draft MRs, approve -> unapprove -> re-approve notes, pipelines with a null `updated_at`.
"""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from extractors.core import ApiClient, Extraction
from extractors.gitlab.extract import project_context
from extractors.gitlab.streams import DEPLOYMENTS, MERGE_REQUESTS, MR_COMMITS, MR_NOTES, PIPELINES

REPO = "gitlab-data/snowflake_spend"
csv.field_size_limit(sys.maxsize)


def _rows(realdata: Path, name: str) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    with open(realdata / "devlake" / "gitlab" / f"_raw_gitlab_api_{name}.csv", encoding="utf-8", newline="") as fh:
        return [(json.loads(r["data"]), json.loads(r["input"]) if r["input"] not in ("", "null") else None)
                for r in csv.DictReader(fh)]


def _serve(realdata: Path) -> httpx.MockTransport:
    """Answer the extractor's list requests from the recordings (one page each, X-Next-Page empty)."""
    lists: dict[str, list[Any]] = {
        "deployments": [d for d, _ in _rows(realdata, "deployments")],
        "merge_requests": [d for d, _ in _rows(realdata, "merge_requests")],
        "pipelines": [d for d, _ in _rows(realdata, "pipeline")],
    }
    for name, stream in (("merge_request_notes", "notes"), ("merge_request_commits", "commits")):
        for data, given in _rows(realdata, name):
            lists.setdefault(f"merge_requests/{given['Iid']}/{stream}", []).append(data)

    def handler(request: httpx.Request) -> httpx.Response:
        match = re.search(r"/projects/[^/]+/(.+)$", request.url.raw_path.decode().split("?")[0])
        body = lists.get(match.group(1)) if match else None
        if body is None:
            return httpx.Response(404, json={"message": "404 Not Found"})
        return httpx.Response(200, json=body, headers={"X-Next-Page": "", "X-Page": "1"})

    return httpx.MockTransport(handler)


@pytest.fixture
def landed(realdata: Path, tmp_path: Path, warehouse):
    client = ApiClient("gitlab", "https://gitlab.com/api/v4", transport=_serve(realdata))
    ctx = project_context(REPO)
    iids = sorted({given["Iid"] for name in ("merge_request_notes", "merge_request_commits")
                   for _, given in _rows(realdata, name)})
    with Extraction("gitlab", REPO, tmp_path, "r1", client, unit_context=ctx) as ex:
        ex.run(DEPLOYMENTS, [ctx], params={"per_page": 100})
        ex.run(MERGE_REQUESTS, [ctx], params={"per_page": 100})
        ex.run(MR_NOTES, [{**ctx, "iid": i} for i in iids], params={"per_page": 100})
        ex.run(MR_COMMITS, [{**ctx, "iid": i} for i in iids], params={"per_page": 100})
        ex.run(PIPELINES, [{**ctx, "sha": "any"}], params={"per_page": 100})
        manifest = json.loads(ex.finish().read_text())
    assert manifest["quarantined"] == [] or {q["stream"] for q in manifest["quarantined"]} <= {"mr_notes", "mr_commits"}
    return manifest, warehouse(tmp_path)


def test_deployments_with_every_status(landed) -> None:
    manifest, con = landed
    assert {f["stream"]: f["records"] for f in manifest["files"]}["deployments"] == 8
    rows = con.execute("select d.deployment_id, d.environment, d.task, d.creator_login, s.state, s.created_at is not null "
                       "from stg_gitlab__deployments d join stg_gitlab__deployment_statuses s using (deployment_id) "
                       "order by 1").fetchall()
    assert len(rows) == 8 and {r[1] for r in rows} == {"staging", "production"}
    states = {r[4] for r in rows}
    assert {"success", "failure", "error", "queued", "in_progress", "pending"} <= states   # GitHub's words
    assert all(r[5] for r in rows) and all(r[3] for r in rows) and all(r[2] for r in rows)
    first = con.execute("select sha, ref, task, payload->>'job_id' from stg_gitlab__deployments "
                        "where deployment_id = 13426753").fetchone()
    assert first == ("add237f6852e6108ee8e0246780a54ce909c6087", "master", "test_deploy_vdev", "176919795")


def test_merge_requests_including_self_merged_and_drafts(landed, realdata: Path) -> None:
    _, con = landed
    rows = con.execute("select number, state, author_login, head_sha, merge_commit_sha, is_draft, merged_at, closed_at "
                       "from stg_gitlab__pull_requests order by number").fetchall()
    assert len(rows) == 18
    merged = {r[0]: r for r in rows if r[6] is not None}
    assert all(r[1] == "closed" and r[7] == r[6] and r[4] for r in merged.values())
    self_merged = [d["iid"] for d, _ in _rows(realdata, "merge_requests")
                   if d.get("merged_by") and d["merged_by"]["username"] == d["author"]["username"]]
    assert self_merged and {merged[i][2] for i in self_merged} <= {"emilie", "tayloramurphy"}
    assert {r[0] for r in rows if r[1] == "open"} == {9, 11, 18, 19, 21}
    assert {r[0] for r in rows if r[5]} == {20, 21}


def test_unapproved_then_reapproved_notes_become_review_decisions(landed) -> None:
    _, con = landed
    rows = con.execute("select pr_number, reviewer_login, state, review_id from stg_gitlab__reviews "
                       "order by pr_number, submitted_at").fetchall()
    assert [r[:3] for r in rows if r[0] == 37] == [
        (37, "basicthinker", "APPROVED"), (37, "basicthinker", "DISMISSED"), (37, "basicthinker", "APPROVED")]
    assert {r[0] for r in rows} == {29, 30, 37, 46}          # only approval system notes, no comments
    assert all(r[3] > 0 for r in rows)


def test_merge_request_commits(landed) -> None:
    _, con = landed
    rows = con.execute("select pr_number, sha, author_email, authored_at, committed_at, message "
                       "from stg_gitlab__pr_commits").fetchall()
    assert len(rows) == 37 and all(r[1] and r[2] and r[3] and r[4] for r in rows)
    assert ("add more info to readme\n",) in {(r[5],) for r in rows if r[0] == 1}


def test_pipelines_with_every_status_including_null_updated_at(landed) -> None:
    _, con = landed
    rows = con.execute("select status, conclusion, completed_at from stg_gitlab__check_runs "
                       "where name = 'pipeline'").fetchall()
    assert len(rows) == 29
    assert {r[0] for r in rows} == {"completed", "in_progress", "queued"}
    assert {r[1] for r in rows} >= {"success", "failure", "cancelled", "skipped", None}
    assert all(r[2] is None for r in rows if r[0] != "completed")
