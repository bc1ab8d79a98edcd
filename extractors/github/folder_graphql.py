"""`POST /graphql` for a FolderTransport serving GitHub REST folders: the answer is assembled from
the same REST files, so a generated organization needs nothing new on disk.

Query shapes supported (the two documents of graphql_queries.py; anything else is answered with
a GraphQL `errors` entry, as GitHub answers a query it cannot run):

* a document with `pullRequests(`: variables owner, name, first (1-100), after (an endCursor of
  this transport), inner (1-100). PRs come from `repos/{owner}/{name}/pulls.json` ordered by
  `updated_at` descending (the REST `sort=updated` order), their reviews and commits from
  `pulls/{n}/reviews.json` and `pulls/{n}/commits.json`, first `inner` of each with `pageInfo`.
* a document with `fragment CommitChecks`: variables owner, name, suites, runs; every
  `cN: object(oid: "<sha>")` alias is answered from `commits/<sha>/check-runs.json` (runs
  grouped into suites by `check_suite.id`), `null` when there is no such file.
* a document with `fragment CommitPulls`: variables owner, name, first; every alias is answered
  from `commits/<sha>/pulls.json` (`associatedPullRequests { number }`), `null` without the file.

REST -> GraphQL mapping: id -> databaseId, html_url -> url, merged PR -> state MERGED and
merge_commit_sha -> mergeCommit (else potentialMergeCommit, GitHub's test merge), a user of
type Bot -> {__typename: Bot, login without "[bot]"}; a commit author/committer user is only
given for non-bot accounts (GraphQL's GitActor.user is a User); enums upper-case.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import httpx

_ALIAS = re.compile(r'\b(c\d+)\s*:\s*object\(\s*oid:\s*"([0-9a-f]{40})"\s*\)')
_CURSOR = "cursor:v2:"

Loader = Callable[[str], Any]   # relative path without .json -> parsed JSON, None when absent


def answer(request: httpx.Request, load: Loader, sort_updated: Callable[[str], list | None]) -> tuple[int, Any]:
    """(HTTP status, body) for one POST /graphql."""
    try:
        document = json.loads(request.content)
    except ValueError:
        return 400, {"message": "Problems parsing JSON"}
    query = document.get("query") if isinstance(document, dict) else None
    variables = document.get("variables") or {} if isinstance(document, dict) else {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        return 200, _errors("A query attribute must be specified and must be a string.")
    owner, name = variables.get("owner"), variables.get("name")
    if not isinstance(owner, str) or not isinstance(name, str):
        return 200, _errors("Variables owner and name are required.")
    base = f"repos/{owner}/{name}"
    if "pullRequests(" in query:
        pulls = sort_updated(f"{base}/pulls")
        if pulls is None:
            return 200, _not_found(owner, name)
        connection = _pull_requests(load, base, pulls, variables)
        if connection is None:
            return 200, {"data": None, "errors": [{"message": f"`{variables.get('after')}` does not appear to be a valid cursor.",
                                                   "path": ["repository", "pullRequests"]}]}
        return 200, {"data": {"repository": {"pullRequests": connection}, "rateLimit": _RATE}}
    per_commit = "fragment CommitChecks" in query or "fragment CommitPulls" in query
    if per_commit and load(f"{base}/pulls") is None and load(f"{base}/deployments") is None:
        return 200, _not_found(owner, name)
    if "fragment CommitPulls" in query:
        first = _size(variables.get("first"), 100)
        objects = {alias: _commit_pulls(load(f"{base}/commits/{sha}/pulls"), sha, first)
                   for alias, sha in _ALIAS.findall(query)}
        return 200, {"data": {"repository": objects, "rateLimit": _RATE}}
    if "fragment CommitChecks" in query:
        suites, runs = _size(variables.get("suites"), 20), _size(variables.get("runs"), 100)
        objects = {alias: _commit_checks(load(f"{base}/commits/{sha}/check-runs"), sha, suites, runs)
                   for alias, sha in _ALIAS.findall(query)}
        return 200, {"data": {"repository": objects, "rateLimit": _RATE}}
    return 200, _errors("FolderTransport answers the PullRequests and CommitChecks queries only.")


# -- pull requests -----------------------------------------------------------------------------------

def _pull_requests(load: Loader, base: str, pulls: list, variables: dict) -> dict | None:
    first, inner = _size(variables.get("first"), 30), _size(variables.get("inner"), 100)
    start = _offset(variables.get("after"))
    if start is None:
        return None
    chunk = pulls[start:start + first]
    end = start + len(chunk)
    return {
        "pageInfo": {"hasNextPage": end < len(pulls), "endCursor": _cursor(end) if chunk else None},
        "nodes": [_pull_request(load, base, p, inner) for p in chunk if isinstance(p, dict)],
    }


def _pull_request(load: Loader, base: str, p: dict, inner: int) -> dict:
    number = p.get("number")
    head, base_ref = p.get("head") or {}, p.get("base") or {}
    merged = bool(p.get("merged_at"))
    labels = [{"name": label.get("name")} for label in p.get("labels") or () if isinstance(label, dict)]
    reviews = [_review(r) for r in _list(load(f"{base}/pulls/{number}/reviews"))]
    commits = [_commit(c) for c in _list(load(f"{base}/pulls/{number}/commits"))]
    return {
        "databaseId": p.get("id"), "number": number, "title": p.get("title"), "body": p.get("body"),
        "state": "MERGED" if merged else ("OPEN" if p.get("state") == "open" else "CLOSED"),
        "isDraft": bool(p.get("draft")), "url": p.get("html_url"), "createdAt": p.get("created_at"),
        "updatedAt": p.get("updated_at"), "mergedAt": p.get("merged_at"), "closedAt": p.get("closed_at"),
        "author": _actor(p.get("user")), "headRefName": head.get("ref"), "headRefOid": head.get("sha"),
        "baseRefName": base_ref.get("ref"),
        "mergeCommit": {"oid": p["merge_commit_sha"]} if merged and p.get("merge_commit_sha") else None,
        "potentialMergeCommit": {"oid": p["merge_commit_sha"]} if not merged and p.get("merge_commit_sha") else None,
        "labels": {"totalCount": len(labels), "nodes": labels[:100]},
        "reviews": _connection(reviews, inner),
        "commits": _connection(commits, inner),
    }


def _review(r: dict) -> dict:
    return {"databaseId": r.get("id"), "state": r.get("state"), "submittedAt": r.get("submitted_at"),
            "url": r.get("html_url"), "author": _actor(r.get("user")),
            "commit": {"oid": r["commit_id"]} if r.get("commit_id") else None}


def _commit(c: dict) -> dict:
    git = c.get("commit") or {}
    return {"commit": {"oid": c.get("sha"), "message": git.get("message"),
                       "author": _git_actor(git.get("author"), c.get("author")),
                       "committer": _git_actor(git.get("committer"), c.get("committer"))}}


def _git_actor(git: Any, user: Any) -> dict | None:
    if not isinstance(git, dict):
        return None
    account = {"login": user.get("login")} if isinstance(user, dict) and user.get("type") != "Bot" else None
    return {"name": git.get("name"), "email": git.get("email"), "date": git.get("date"), "user": account}


def _actor(user: Any) -> dict | None:
    if not isinstance(user, dict) or not user.get("login"):
        return None
    if user.get("type") == "Bot":
        return {"__typename": "Bot", "login": user["login"].removesuffix("[bot]")}
    return {"__typename": "User", "login": user["login"]}


# -- check runs --------------------------------------------------------------------------------------

def _commit_checks(data: Any, sha: str, suites: int, runs: int) -> dict | None:
    if not isinstance(data, dict) or not isinstance(data.get("check_runs"), list):
        return None
    grouped: dict[Any, list[dict]] = {}
    for run in data["check_runs"]:
        if isinstance(run, dict):
            grouped.setdefault((run.get("check_suite") or {}).get("id"), []).append(run)
    nodes = [{"app": {"slug": (group[0].get("app") or {}).get("slug")},
              "checkRuns": _connection([_check_run(r) for r in group], runs)} for group in grouped.values()]
    return {"oid": sha, "checkSuites": _connection(nodes, suites)}


def _commit_pulls(data: Any, sha: str, first: int) -> dict | None:
    if not isinstance(data, list):
        return None
    return {"oid": sha, "associatedPullRequests": _connection([{"number": p.get("number")} for p in _list(data)], first)}


def _check_run(r: dict) -> dict:
    return {"databaseId": r.get("id"), "name": r.get("name"), "status": _upper(r.get("status")),
            "conclusion": _upper(r.get("conclusion")), "startedAt": r.get("started_at"),
            "completedAt": r.get("completed_at"), "url": r.get("html_url")}


# -- helpers -----------------------------------------------------------------------------------------

_RATE = {"cost": 1, "remaining": 4999, "resetAt": None}


def _connection(items: list, first: int) -> dict:
    return {"totalCount": len(items), "nodes": items[:first],
            "pageInfo": {"hasNextPage": len(items) > first, "endCursor": _cursor(min(first, len(items))) if items else None}}


def _cursor(offset: int) -> str:
    return base64.b64encode(f"{_CURSOR}{offset}".encode()).decode()


def _offset(after: Any) -> int | None:
    """The offset an `after` cursor names; None when it is not a cursor of this transport."""
    if not after:
        return 0
    try:
        text = base64.b64decode(str(after), validate=True).decode()
        return max(0, int(text.removeprefix(_CURSOR))) if text.startswith(_CURSOR) else None
    except ValueError:
        return None


def _size(value: Any, default: int) -> int:
    return max(1, min(100, value)) if isinstance(value, int) and not isinstance(value, bool) else default


def _list(data: Any) -> list[dict]:
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _errors(message: str) -> dict:
    return {"errors": [{"message": message}]}


def _not_found(owner: str, name: str) -> dict:
    return {"data": {"repository": None}, "errors": [{
        "type": "NOT_FOUND", "path": ["repository"],
        "message": f"Could not resolve to a Repository with the name '{owner}/{name}'."}]}
