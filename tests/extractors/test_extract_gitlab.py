"""GitLab extraction end to end on a folder-served group, through the staging views."""
from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from extractors.core import ExtractionError, Fault
from extractors.gitlab import extract_gitlab, gitlab_client
from extractors.gitlab.http import GitLabPaginator
from extractors.gitlab.transport import GitLabFolderTransport
from flows.config import GitLabSource
from tests.extractors.conftest import FakeSleep, read_manifest, write_json

REPO = "acme/platform/api"
SHA = {k: k * 40 for k in "ABCD"}
P = f"projects/{REPO}"


def _user(name: str) -> dict:
    return {"id": 100 + len(name), "username": name, "name": name.title(), "state": "active"}


def _dep(id_: int, env: str, sha: str, status: str, updated: str, job: str = "deploy", user: str = "alice",
         pipeline_user: str | None = None) -> dict:
    pipeline = {"id": 9000 + id_, "sha": SHA[sha], "status": "success", "name": f"Deploy {sha} CHG000000{id_ % 10}"}
    if pipeline_user:
        pipeline["user"] = _user(pipeline_user)
    return {"id": id_, "iid": id_ - 100, "ref": "main", "sha": SHA[sha], "status": status,
            "created_at": "2026-07-01T00:00:00Z", "updated_at": updated, "user": _user(user),
            "environment": {"id": 1 if env == "production" else 2, "name": env},
            "deployable": {"id": 7000 + id_, "name": job, "status": status, "user": _user(user),
                           "web_url": f"https://gitlab.example/{REPO}/-/jobs/{7000 + id_}", "pipeline": pipeline}}


def _commit(sha: str, email: str, at: str, message: str = "work") -> dict:
    return {"id": sha, "short_id": sha[:8], "title": message, "message": message, "parent_ids": ["p"],
            "author_name": "Bob", "author_email": email, "authored_date": at,
            "committer_name": "Bob", "committer_email": email, "committed_date": at,
            "web_url": f"https://gitlab.example/{REPO}/-/commit/{sha}"}


def _note(id_: int, user: str, body: str, at: str, system: bool = True) -> dict:
    return {"id": id_, "body": body, "system": system, "author": _user(user), "created_at": at,
            "noteable_type": "MergeRequest"}


def build_group(root: Path) -> Path:
    gl = root / "gitlab"
    project = {"id": 42, "path_with_namespace": REPO, "default_branch": "main",
               "web_url": f"https://gitlab.example/{REPO}", "archived": False}
    write_json(gl, "groups/acme/projects", [project, {**project, "id": 43, "path_with_namespace": "acme/empty"}])
    write_json(gl, P, project)
    write_json(gl, P + "/deployments", [
        _dep(101, "production", "A", "success", "2026-07-01T00:05:00Z"),
        _dep(102, "staging", "B", "success", "2026-07-02T00:05:00Z"),
        _dep(103, "production", "B", "success", "2026-07-03T00:05:00Z", user="deploy-bot", pipeline_user="carol"),
        _dep(104, "production", "C", "failed", "2026-07-04T00:05:00Z"),
        _dep(105, "production", "A", "success", "2026-07-05T00:05:00Z", job="deploy:rollback"),
    ])
    write_json(gl, P + "/repository/compare/" + f"{SHA['A']}...{SHA['B']}",
               {"commit": None, "commits": [_commit("c1", "bob@acme.test", "2026-07-01T09:00:00Z"),
                                            _commit("c2", "7-bob@users.noreply.gitlab.com", "2026-07-01T10:00:00Z")],
                "diffs": [], "compare_timeout": False, "compare_same_ref": False})
    write_json(gl, P + "/repository/compare/" + f"{SHA['B']}...{SHA['A']}",
               {"commit": None, "commits": [], "diffs": [], "compare_timeout": False, "compare_same_ref": False})
    for sha in ("c1", "c2", SHA["B"]):
        write_json(gl, P + f"/repository/commits/{sha}/merge_requests", [{"id": 501, "iid": 1}])
    write_json(gl, P + "/pipelines", [
        {"id": 9101, "sha": SHA["A"], "status": "success", "created_at": "2026-06-30T23:00:00Z",
         "updated_at": "2026-06-30T23:30:00Z", "web_url": "p1"},
        {"id": 9103, "sha": SHA["B"], "status": "running", "created_at": "2026-07-02T23:00:00Z",
         "updated_at": None, "web_url": "p3"}])
    write_json(gl, P + "/pipelines/9101/jobs", [
        {"id": 1, "name": "build", "status": "success", "started_at": "2026-06-30T23:01:00Z",
         "finished_at": "2026-06-30T23:05:00Z", "web_url": "j1", "commit": {"id": SHA["A"]}},
        {"id": 2, "name": "test", "status": "failed", "started_at": "2026-06-30T23:06:00Z",
         "finished_at": "2026-06-30T23:09:00Z", "web_url": "j2", "commit": {"id": SHA["A"]}},
        {"id": 3, "name": "test", "status": "success", "started_at": "2026-06-30T23:10:00Z",
         "finished_at": "2026-06-30T23:15:00Z", "web_url": "j3", "commit": {"id": SHA["A"]}}])
    write_json(gl, P + "/pipelines/9103/jobs", [
        {"id": 4, "name": "build", "status": "running", "started_at": "2026-07-02T23:01:00Z",
         "finished_at": None, "web_url": "j4", "pipeline": {"sha": SHA["B"]}}])
    mrs = [
        {"id": 501, "iid": 1, "title": "Add B", "description": "CHG0000001", "state": "merged",
         "author": _user("bob"), "source_branch": "feature/b", "sha": "c2", "target_branch": "main",
         "merge_commit_sha": SHA["B"], "squash_commit_sha": None, "draft": False, "work_in_progress": False,
         "created_at": "2026-06-30T00:00:00Z", "updated_at": "2026-07-02T00:00:00Z",
         "merged_at": "2026-07-02T00:00:00Z", "closed_at": None, "web_url": f"https://gitlab.example/{REPO}/-/merge_requests/1"},
        {"id": 502, "iid": 2, "title": "Abandoned", "description": None, "state": "closed", "author": _user("carol"),
         "source_branch": "x", "sha": "zz", "target_branch": "main", "merge_commit_sha": None, "draft": True,
         "created_at": "2026-06-30T00:00:00Z", "updated_at": "2026-07-03T00:00:00Z", "merged_at": None,
         "closed_at": "2026-07-03T00:00:00Z", "web_url": "m2"},
        {"id": 503, "iid": 3, "title": "Squashed", "description": "", "state": "merged", "author": _user("bob"),
         "source_branch": "s", "sha": "c9", "target_branch": "main", "merge_commit_sha": None,
         "squash_commit_sha": "sq", "created_at": "2026-07-04T00:00:00Z", "updated_at": "2026-07-05T00:00:00Z",
         "merged_at": "2026-07-05T00:00:00Z", "closed_at": None, "web_url": "m3"},
    ]
    write_json(gl, P + "/merge_requests", mrs)
    write_json(gl, P + "/merge_requests/1/commits", [
        _commit("c2", "7-bob@users.noreply.gitlab.com", "2026-07-01T10:00:00Z"),
        _commit("c1", "bob@acme.test", "2026-07-01T09:00:00Z")])
    write_json(gl, P + "/merge_requests/1/notes", [
        _note(11, "dave", "approved this merge request", "2026-07-01T09:30:00Z"),   # before c2: stale
        _note(12, "erin", "approved this merge request", "2026-07-01T11:00:00Z"),
        _note(13, "erin", "unapproved this merge request", "2026-07-01T11:05:00Z"),
        _note(14, "erin", "approved this merge request", "2026-07-01T11:10:00Z"),
        _note(15, "dave", "approved this merge request", "2026-07-01T12:00:00Z", system=False),  # a comment
        _note(16, "bob", "added 1 commit\n\n<ul><li>c2 - work</li></ul>", "2026-07-01T10:01:00Z")])
    write_json(gl, P + "/merge_requests/1/approvals", {"id": 501, "iid": 1, "approved": True,
                                                      "approved_by": [{"user": _user("dave")}, {"user": _user("erin")},
                                                                      {"user": _user("frank")}]})
    write_json(gl, P + "/merge_requests/3/commits", [_commit("c9", "bob@acme.test", "2026-07-04T01:00:00Z")])
    write_json(gl, P + "/merge_requests/3/notes", [])
    write_json(gl, P + "/merge_requests/3/approvals", {"id": 503, "iid": 3, "approved_by": []})
    for path in ("deployments", "merge_requests"):
        write_json(gl, f"projects/acme/empty/{path}", [])
    return gl


def _config(gl: Path, **kwargs) -> GitLabSource:
    return GitLabSource(base_url="file://" + gl.as_posix(), **{"group": "acme", **kwargs})


def test_group_extraction_lands_every_stream_and_staging_reads_it(tmp_path: Path, warehouse) -> None:
    gl = build_group(tmp_path)
    landing = tmp_path / "landing"
    manifests = extract_gitlab(_config(gl, per_page=2), landing, "run1")
    assert [m.name for m in manifests] == ["run1__acme.json", "run1__acme__platform__api.json", "run1__acme__empty.json"]
    counts = {f["stream"]: (f["records"], f["requests"]) for f in read_manifest(manifests[1])["files"]}
    assert counts == {
        "deployments": (5, 3), "merge_requests": (3, 2), "mr_approvals": (2, 2), "mr_notes": (6, 4),
        "mr_commits": (3, 2), "pipelines": (2, 3), "jobs": (4, 3), "compares": (2, 2),
        "commit_merge_requests": (3, 5),   # A and C have no association: 404, quarantined
    }
    empty = read_manifest(manifests[2])
    assert {f["stream"]: f["records"] for f in empty["files"]}["deployments"] == 0 and empty["quarantined"] == []

    con = warehouse(landing)
    assert con.execute("select repo, repo_id from stg_gitlab__repositories order by 2").fetchall() == [
        (REPO, 42), ("acme/empty", 43)]
    assert con.execute("select base_sha[1], head_sha[1], status, total_commits from stg_gitlab__compares "
                       "order by 1").fetchall() == [("A", "B", "ahead", 2), ("B", "A", "behind", 0)]
    assert con.execute("select sha, author_login, author_email from stg_gitlab__compare_commits order by 1").fetchall() == [
        ("c1", None, "bob@acme.test"), ("c2", "bob", "7-bob@users.noreply.gitlab.com")]
    dep = con.execute("select task, environment, description, creator_login, payload->>'triggered_by', deployment_url "
                      "from stg_gitlab__deployments where deployment_id = 103").fetchone()
    assert dep[:5] == ("deploy", "production", "Deploy B CHG0000003", "deploy-bot", "carol")
    assert dep[5].endswith("/projects/acme%2Fplatform%2Fapi/deployments/103")
    assert con.execute("select task from stg_gitlab__deployments where deployment_id = 105").fetchone() == ("deploy:rollback",)
    assert con.execute("select deployment_id, state, created_at from stg_gitlab__deployment_statuses "
                       "where deployment_id in (101, 104) order by 1").fetchall() == [
        (101, "success", datetime(2026, 7, 1, 0, 5, tzinfo=timezone.utc)),
        (104, "failure", datetime(2026, 7, 4, 0, 5, tzinfo=timezone.utc))]
    prs = con.execute("select number, state, author_login, head_sha, merge_commit_sha, is_draft, closed_at = merged_at "
                      "from stg_gitlab__pull_requests order by 1").fetchall()
    assert prs == [(1, "closed", "bob", "c2", SHA["B"], False, True), (2, "closed", "carol", "zz", None, True, None),
                   (3, "closed", "bob", "c9", "sq", False, True)]
    runs = con.execute("select check_run_id, name, status, conclusion, completed_at is not null, app_slug "
                       "from stg_gitlab__check_runs order by name, check_run_id").fetchall()
    assert runs == [(1, "build", "completed", "success", True, "gitlab-ci"), (4, "build", "in_progress", None, False, "gitlab-ci"),
                    (9101, "pipeline", "completed", "success", True, "gitlab-ci"),
                    (9103, "pipeline", "in_progress", None, False, "gitlab-ci"),
                    (2, "test", "completed", "failure", True, "gitlab-ci"), (3, "test", "completed", "success", True, "gitlab-ci")]
    assert con.execute("select distinct pr_number from stg_gitlab__commit_pulls").fetchall() == [(1,)]


def test_approval_notes_approved_unapproved_approved(tmp_path: Path, warehouse) -> None:
    """Each decision is a review row; the head commit at the time makes dave's approval stale."""
    gl = build_group(tmp_path)
    extract_gitlab(_config(gl, projects=[REPO]), tmp_path / "landing", "run2")
    rows = warehouse(tmp_path / "landing").execute(
        "select review_id, reviewer_login, state, commit_id, submitted_at is null, html_url "
        "from stg_gitlab__reviews where pr_number = 1 order by submitted_at nulls last, review_id").fetchall()
    assert [r[:5] for r in rows] == [
        (11, "dave", "APPROVED", "c1", False),       # approved before c2 was committed
        (12, "erin", "APPROVED", "c2", False),
        (13, "erin", "DISMISSED", "c2", False),
        (14, "erin", "APPROVED", "c2", False),
        (rows[4][0], "frank", "APPROVED", None, True),   # listed by /approvals, no note: time unknown
    ]
    assert rows[4][0] < 0 and rows[0][5].endswith("/merge_requests/1#note_11") and rows[4][5].endswith("/1")


def test_offset_pages_follow_x_next_page_and_keyset_pages_follow_link(tmp_path: Path) -> None:
    gl = build_group(tmp_path)
    transport = GitLabFolderTransport(gl)
    client = httpx.Client(transport=transport)
    first = client.get(f"http://x/{P}/deployments?per_page=2&order_by=id&sort=desc")
    assert first.headers["X-Next-Page"] == "2" and first.headers["X-Total"] == "5"
    assert [d["id"] for d in first.json()] == [105, 104]
    paginator = GitLabPaginator()
    url = paginator.next_url(first, first.json(), 2)
    last = client.get(url.copy_set_param("page", "3"))
    assert last.headers["X-Next-Page"] == "" and paginator.next_url(last, last.json(), 1) is None
    keyset = client.get("http://x/groups/acme/projects?per_page=1&pagination=keyset&order_by=id&sort=asc")
    assert "X-Next-Page" not in keyset.headers
    nxt = paginator.next_url(keyset, keyset.json(), 1)
    assert nxt is not None and nxt.params["id_after"] == "42"
    assert [p["id"] for p in client.get(nxt).json()] == [43]


def test_an_empty_page_ends_paging_even_when_a_next_page_is_advertised(tmp_path: Path, warehouse) -> None:
    gl = build_group(tmp_path)
    config = _config(gl, projects=[REPO], per_page=5)
    client = gitlab_client(config, transport=GitLabFolderTransport(gl, trailing_empty_page=True))
    manifest = read_manifest(extract_gitlab(config, tmp_path / "landing", "r", client=client)[0])
    counts = {f["stream"]: (f["records"], f["requests"]) for f in manifest["files"]}
    assert counts["deployments"] == (5, 2) and counts["merge_requests"] == (3, 2)


def test_429_with_retry_after_or_ratelimit_reset_and_5xx_are_retried(tmp_path: Path, fake_sleep: FakeSleep) -> None:
    gl = build_group(tmp_path)
    config = _config(gl, projects=[REPO])
    transport = GitLabFolderTransport(gl, faults={
        P + "/merge_requests": [Fault(429, {"Retry-After": "30"})],
        P + "/deployments": [Fault(502), Fault(503)],
        P + "/pipelines": [Fault(429, {"RateLimit-Remaining": "0", "RateLimit-Reset": "0"})],
    })
    client = gitlab_client(config, sleep=fake_sleep, transport=transport)
    manifest = read_manifest(extract_gitlab(config, tmp_path / "landing", "r3", client=client)[0])
    assert fake_sleep.calls[:4] == [1.0, 2.0, 30.0, 1.0]   # 502, 503 back-off; Retry-After; reset passed (+1 s)
    assert {f["stream"]: f["records"] for f in manifest["files"]}["deployments"] == 5


def test_malformed_merge_request_is_quarantined_and_the_rest_loads(tmp_path: Path, warehouse) -> None:
    gl = build_group(tmp_path)
    mrs = (gl / (P + "/merge_requests.json")).read_text()
    (gl / (P + "/merge_requests.json")).write_text(mrs.replace('"iid": 2, ', ""))
    manifest = read_manifest(extract_gitlab(_config(gl, projects=[REPO]), tmp_path / "landing", "r4")[0])
    quarantined = [(q["stream"], q["locator"], q["reason"]) for q in manifest["quarantined"]
                   if q["stream"] == "merge_requests"]
    assert quarantined == [("merge_requests", "page 1, item 2", "missing required key 'iid'")]
    con = warehouse(tmp_path / "landing")
    assert con.execute("select count(*) from stg_gitlab__pull_requests").fetchone()[0] == 2
    assert con.execute("select count(*) from raw.quarantine where system = 'gitlab' "
                       "and stream = 'merge_requests'").fetchone()[0] == 1


def test_private_token_is_sent_and_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "glpat-SUPERSECRET-0123456789"
    monkeypatch.setenv("ACME_GL_TOKEN", secret)
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("PRIVATE-TOKEN"))
        return httpx.Response(200, json=[], headers={"X-Next-Page": ""})

    config = GitLabSource(base_url="https://gitlab.example/api/v4", token_env="ACME_GL_TOKEN", projects=[REPO])
    client = gitlab_client(config, transport=httpx.MockTransport(handler))
    landing = tmp_path / "landing"
    extract_gitlab(config, landing, "r5", client=client)
    assert seen and set(seen) == {secret}
    for path in (p for p in landing.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert secret.encode() not in (gzip.decompress(data) if path.suffix == ".gz" else data)
    monkeypatch.delenv("ACME_GL_TOKEN")
    with pytest.raises(ExtractionError, match="ACME_GL_TOKEN is not set"):
        extract_gitlab(config, landing, "r6", client=gitlab_client(config, transport=httpx.MockTransport(handler)))


def test_one_failing_project_does_not_cost_the_others(tmp_path: Path) -> None:
    gl = build_group(tmp_path)
    landing = tmp_path / "landing"
    with pytest.raises(ExtractionError) as info:
        extract_gitlab(_config(gl, projects=["acme/gone", REPO]), landing, "r7")
    assert "acme%2Fgone" in str(info.value) and info.value.status == 404
    assert [p.name for p in (landing / "gitlab" / "_manifests").iterdir()] == ["r7__acme__platform__api.json"]


def test_people_directory_gitlab_usernames_resolve_per_system(tmp_path: Path, warehouse) -> None:
    """The optional gitlab_username column: a header without it still loads; with it, the
    username resolves as ('gitlab', username) in int_people_identities."""
    from extractors.people import extract_people
    from flows.config import PeopleSource
    from warehouse.models import MODELS_DIR, entity_unions, model_files

    header = "person_id,name,email,github_login,servicenow_user_sys_id,pagerduty_user_id,roles,team,kind"
    (tmp_path / "old.csv").write_text(f"{header}\nP1,Ann,ann@acme.test,ann-gh,,,engineer,core,human\n")
    (tmp_path / "people.csv").write_text(
        f"{header},gitlab_username\nP2,Bob,bob@acme.test,bob-gh,,,eng_lead,core,human,Bob.GL\n"
        "P3,Bot,bot@acme.test,,,,,core,service,deploy-bot\n")
    for name in ("old.csv", "people.csv"):
        manifest = read_manifest(extract_people(PeopleSource(path=tmp_path / name), tmp_path / "landing", "r")[0])
        assert manifest["quarantined"] == []
    con = warehouse(tmp_path / "landing")
    assert con.execute("select person_id, gitlab_username from stg_people__people order by 1").fetchall() == [
        ("P1", None), ("P2", "Bob.GL"), ("P3", "deploy-bot")]
    for name, sql in entity_unions(list(model_files(("staging",)))).items():
        if name in ("int_people_unioned", "int_users_unioned"):
            con.execute(f"create view {name} as {sql}")
    identities = (MODELS_DIR / "intermediate" / "int_people_identities.sql").read_text()
    rows = con.execute(f"select system, identifier, person_id, kind from ({identities}) where system = 'gitlab' "
                       "order by 2").fetchall()
    assert rows == [("gitlab", "bob.gl", "P2", "human"), ("gitlab", "deploy-bot", "P3", "service")]


def test_since_stops_merge_requests_and_compares_only_new_changes(tmp_path: Path) -> None:
    gl = build_group(tmp_path)
    since = datetime(2026, 7, 4, 12, tzinfo=timezone.utc)
    manifest = read_manifest(extract_gitlab(_config(gl, projects=[REPO], per_page=1), tmp_path / "landing", "r8", since)[0])
    counts = {f["stream"]: (f["records"], f["requests"]) for f in manifest["files"]}
    # newest-first MRs: !3 (07-05) then !2 (07-03, older than since: stop after that page, and do
    # not land !2 again: the run that set the cursor landed it)
    assert counts["merge_requests"] == (1, 2)
    assert counts["mr_notes"] == (0, 1) and counts["mr_commits"] == (1, 1)
    # listed whole (the predecessor is known), landed only when updated since: 105 (07-05)
    assert counts["deployments"] == (1, 5)
    assert next(f for f in manifest["files"] if f["stream"] == "deployments")["already_landed"] == 4
    assert counts["compares"] == (1, 1)               # only B -> A (succeeded 07-05)
    assert manifest["cursors"] == {"merge_requests": "2026-07-05T00:00:00Z"}
