"""A small GitHub organisation in REST folders for the GraphQL tests: hex shas (so the checks query
can name them), a bot author, labels, an unmerged PR, a review without id, and one PR whose reviews
and commits overflow a page of 2."""
from __future__ import annotations

from pathlib import Path

import httpx

from extractors.core import FolderTransport
from flows.config import GitHubSource
from tests.extractors.conftest import write_json

REPO = "acme/api"
OTHER = "acme/web"


def sha(n: int) -> str:
    return f"{n:040x}"


def _user(login: str) -> dict:
    return {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}


def _commit(n: int, login: str | None, email: str, when: str) -> dict:
    person = {"name": login or "someone", "email": email, "date": when}
    return {"sha": sha(n), "author": _user(login) if login else None, "committer": _user("web-flow"),
            "commit": {"message": f"commit {n}", "author": person, "committer": {**person, "name": "GitHub"}}}


def _review(id_: int | None, login: str, state: str, commit: int) -> dict:
    review = {"id": id_, "user": _user(login), "state": state, "commit_id": sha(commit),
              "submitted_at": "2026-07-01T12:00:00Z", "html_url": f"https://github.com/r/{id_}"}
    if id_ is None:
        del review["id"]
    return review


def _pr(id_: int, number: int, updated: str, merged: bool, head: int, merge: int, author: str, labels=()) -> dict:
    return {"id": id_, "number": number, "title": f"PR {number}", "body": f"CHG000000{number}",
            "state": "closed" if merged else "open", "user": _user(author),
            "head": {"ref": f"feature/{number}", "sha": sha(head)}, "base": {"ref": "main"},
            "merge_commit_sha": sha(merge), "draft": False, "created_at": "2026-06-30T00:00:00Z",
            "updated_at": updated, "merged_at": updated if merged else None, "closed_at": updated if merged else None,
            "html_url": f"https://github.com/{REPO}/pull/{number}", "labels": [{"name": l} for l in labels]}


def build(root: Path, repo: str = REPO) -> Path:
    gh = root / "github"
    base = f"repos/{repo}"
    write_json(gh, base, {"id": 1, "full_name": repo, "default_branch": "main"})
    prs = [  # newest update first
        _pr(903, 3, "2026-07-05T00:00:00Z", True, head=0x31, merge=0x3f, author="renovate[bot]", labels=["deps"]),
        _pr(902, 2, "2026-07-03T00:00:00Z", False, head=0x21, merge=0x2f, author="carol"),
        _pr(901, 1, "2026-07-02T00:00:00Z", True, head=0x13, merge=0x1f, author="bob", labels=["hotfix", "ops"]),
    ]
    write_json(gh, f"{base}/pulls", prs)
    write_json(gh, f"{base}/pulls/1/reviews", [_review(7001, "dave", "COMMENTED", 0x11),
                                               _review(7002, "erin", "CHANGES_REQUESTED", 0x12),
                                               _review(7003, "dave", "APPROVED", 0x13)])
    write_json(gh, f"{base}/pulls/1/commits", [_commit(n, "bob", "bob@acme.test", f"2026-07-01T0{n - 0x10}:00:00Z")
                                               for n in (0x11, 0x12, 0x13)])
    write_json(gh, f"{base}/pulls/2/reviews", [])
    write_json(gh, f"{base}/pulls/2/commits", [_commit(0x21, "carol", "carol@acme.test", "2026-07-02T00:00:00Z")])
    write_json(gh, f"{base}/pulls/3/reviews", [_review(None, "mallory", "APPROVED", 0x31),   # quarantined
                                               _review(7031, "dependabot[bot]", "APPROVED", 0x31)])
    write_json(gh, f"{base}/pulls/3/commits", [_commit(0x31, "renovate[bot]",
                                                       "29139614+renovate[bot]@users.noreply.github.com",
                                                       "2026-07-04T00:00:00Z")])
    deployments = [{"id": 100 + n, "sha": sha(m), "ref": "main", "environment": "production",
                    "created_at": f"2026-07-0{n}T01:00:00Z"} for n, m in ((6, 0x3f), (3, 0x1f))]
    write_json(gh, f"{base}/deployments", deployments)
    for d in deployments:
        write_json(gh, f"{base}/deployments/{d['id']}/statuses",
                   [{"id": d["id"] * 10, "state": "success", "created_at": d["created_at"]}])
        runs = [{"id": d["id"] * 100 + i, "head_sha": d["sha"], "name": name, "status": "completed",
                 "conclusion": "success" if name != "lint" else None, "started_at": "2026-07-01T00:00:00Z",
                 "completed_at": "2026-07-01T00:05:00Z", "check_suite": {"id": d["id"] * 10 + (i > 1)},
                 "app": {"slug": "github-actions" if i <= 1 else "circleci"}, "html_url": f"https://ci/{i}"}
                for i, name in enumerate(("build", "test", "lint"))]
        write_json(gh, f"{base}/commits/{d['sha']}/check-runs", {"total_count": len(runs), "check_runs": runs})
    write_json(gh, f"{base}/compare/{sha(0x1f)}...{sha(0x3f)}", {
        "status": "ahead", "ahead_by": 3, "total_commits": 3, "base_commit": {"sha": sha(0x1f)},
        "commits": [{"sha": sha(0x31)}, {"sha": sha(0x32)}, {"sha": sha(0x3f)}]})
    # 0x32: a rebased commit no PR lists - only the commit -> PR association maps it
    write_json(gh, f"{base}/commits/{sha(0x32)}/pulls", [{"id": 903, "number": 3}])
    return gh


def config(gh: Path, **kwargs) -> GitHubSource:
    return GitHubSource(base_url="file://" + gh.as_posix(), org="acme", workers=1,
                        **{"repos": [REPO], "per_page": 2, "graphql_page_size": 1, **kwargs})


class Recording(httpx.BaseTransport):
    """A FolderTransport that records each request (method, path, GraphQL variables) and can
    rewrite GraphQL answers (`edit(body) -> body`)."""

    def __init__(self, gh: Path, edit=None) -> None:
        self.inner = FolderTransport(gh, "github")
        self.edit = edit
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/github/", 1)[-1]
        self.requests.append((request.method, path))
        response = self.inner.handle_request(request)
        if request.method == "POST" and self.edit is not None and response.status_code == 200:
            import json
            body = self.edit(json.loads(response.read()))
            return httpx.Response(200, json=body, request=request)
        return response

    def gets(self) -> list[str]:
        return [p for m, p in self.requests if m == "GET"]

    def posts(self) -> int:
        return sum(m == "POST" for m, _ in self.requests)
