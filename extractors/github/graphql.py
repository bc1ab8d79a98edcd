"""GitHub GraphQL (`[sources.github] api = "graphql"`): pull requests with their reviews, commits and
labels, and the check runs of deployed commits, in a few POSTs instead of several GETs per PR.

Per repository unit (called from extract.py, inside the unit's `Extraction`):

* `extract_pull_requests_graphql`: pages `PULL_REQUESTS` (graphql_queries.py), newest update first,
  and stops after the page holding a PR updated before `since` (as the REST stream does). Each PR
  node is landed as received in `graphql_pull_requests`; the staging views read its nested reviews,
  commits and labels. A PR whose reviews, commits or labels overflow one page is completed with
  the REST calls for that PR only (landed in `reviews`, `pr_commits`, `pull_requests`).
* `extract_checks_graphql`: `commit_checks_query` for up to 50 deployed shas per POST; each commit
  node is landed in `graphql_commit_checks`. A commit whose suites or runs overflow, or that GraphQL
  could not resolve, is asked through REST `commits/{sha}/check-runs` (same semantics as before).
* `extract_commit_pulls_graphql`: the same for `associatedPullRequests` (`graphql_commit_pulls`;
  REST `commits/{sha}/pulls` for the commits it cannot complete).

Malformed answers: a response without `data.repository...` raises an ExtractionError naming the
endpoint and the repository (the unit fails, other units go on). An `errors` entry whose `path`
points into one PR (or commit) quarantines that node - naming the endpoint and the PR - and
re-reads that PR through REST, so nothing else of the page is lost. Records lacking their keys
(a review without databaseId, a commit without oid) are quarantined in the stream REST would have
quarantined them in (`reviews`, `pr_commits`), so EV-03 reads the same either way.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx

from extractors.core import (
    ApiClient,
    Extraction,
    ExtractionError,
    Record,
    Stream,
    parse_timestamp,
)
from extractors.core.client import (
    SECONDARY_LIMIT_WAIT,
)
from extractors.core.landing import utc_now_iso
from extractors.github.graphql_queries import (
    CHECK_BATCH,
    PULL_REQUESTS,
    commit_checks_query,
    commit_pulls_query,
    graphql_endpoint,
    is_full_sha,
)
from extractors.github.streams import (
    CHECK_RUNS,
    COMMIT_PULLS,
    GRAPHQL_COMMIT_CHECKS,
    GRAPHQL_COMMIT_PULLS,
    GRAPHQL_PULL_REQUESTS,
    PR_COMMITS,
    REVIEWS,
    SYSTEM,
)

log = logging.getLogger(__name__)
_EXAMPLE_SHA = "0" * 40

# One pull request through REST (a PR GraphQL could not answer for, or with more than 100 labels).
PULL_REQUEST = Stream(
    system=SYSTEM, name="pull_requests", path="/repos/{repo}/pulls/{number}",
    primary_key=("id", "number"), single_object=True, missing_ok=True,
)


def post_graphql(client: ApiClient, query: str, variables: Mapping[str, Any], what: str) -> tuple[dict, str]:
    """POST one GraphQL document; (body, endpoint). Retried by `ApiClient.post` like any request
    (5xx, transport errors, rate limits); GraphQL's primary limit answers 200 with a RATE_LIMITED
    error, which waits for the window's reset and asks again."""
    endpoint = graphql_endpoint(client.base_url)
    answer: dict[str, Any] = {}

    def settle(response: httpx.Response) -> float | None:
        try:
            body = response.json()
        except ValueError:
            raise _error(endpoint, what, response.status_code, "the response is not JSON") from None
        if not isinstance(body, dict):
            raise _error(endpoint, what, response.status_code, f"expected a JSON object, got {type(body).__name__}")
        if _rate_limited(body):
            return client._reset_wait(response) or SECONDARY_LIMIT_WAIT
        answer["body"] = body
        return None

    client.post(endpoint, {"query": query, "variables": dict(variables)}, settle=settle,
                fail=lambda _url, status, detail, kind: _error(endpoint, what, status, detail, kind))
    return answer["body"], endpoint


def extract_pull_requests_graphql(
    ex: Extraction, repo: str, since: datetime | None, *, page_size: int, inner: int, paged: Mapping[str, Any],
) -> tuple[list[Record], list[Record]]:
    """Land the repository's PRs (newest update first, down to `since`); returns (PR field records
    like the REST path keeps, sha records of merged PRs' commits)."""
    assert ex.client is not None
    owner, name = repo.split("/", 1)
    writer, stream = ex.writer, GRAPHQL_PULL_REQUESTS.name
    ctx = {"repo": repo}
    writer.stream(stream, f"POST /graphql PullRequests(owner={owner}, name={name}, first={page_size}, inner={inner})")
    prs: list[Record] = []
    shas: list[Record] = []
    redo: dict[str, list[int]] = {"reviews": [], "commits": [], "pull": []}
    newest: tuple[datetime, str] | None = None
    after: str | None = None
    while True:
        writer.count_request(stream)
        what = f"pull requests of {repo}" + (f" after cursor {after}" if after else "")
        body, endpoint = post_graphql(ex.client, PULL_REQUESTS, {
            "owner": owner, "name": name, "first": page_size, "after": after, "inner": inner}, what)
        connection = _dig(body, "data", "repository", "pullRequests")
        nodes = connection.get("nodes") if isinstance(connection, dict) else None
        if not isinstance(nodes, list):
            raise _error(endpoint, what, 200, "no data.repository.pullRequests.nodes: " + _errors_text(body))
        broken = _broken(body, ("repository", "pullRequests", "nodes"))
        prefix = writer.envelope_prefix(utc_now_iso(), endpoint, ctx)
        reached_older = False
        for index, node in enumerate(nodes):
            number = node.get("number") if isinstance(node, dict) else None
            label = f"pull request {repo}#{number}" if number is not None else f"pull request node {index + 1}"
            problem = broken.get(index) or _missing(node, ("databaseId", "number"))
            if problem:
                writer.quarantine(stream, endpoint, label, f"POST {endpoint}: {label}: {problem}", node)
                log.warning("github: POST %s: %s: %s%s", endpoint, label, problem,
                            "; re-read through REST" if number is not None else "")
                if number is not None:
                    redo["pull"].append(number)
                    if isinstance(node, dict) and node.get("mergedAt"):
                        redo["reviews"].append(number)
                        redo["commits"].append(number)
                continue
            writer.write(stream, node, prefix)
            updated = parse_timestamp(node.get("updatedAt"))
            if updated is not None:
                if newest is None or updated > newest[0]:
                    newest = (updated, node["updatedAt"])
                reached_older = reached_older or (since is not None and updated < since)
            prs.append(Record(ctx, _pr_fields(node)))
            merged = bool(node.get("mergedAt")) and (since is None or updated is None or updated >= since)
            _check_children(writer, endpoint, repo, node, merged, shas, redo)
        if reached_older or not _dig(connection, "pageInfo", "hasNextPage"):
            break
        after = _dig(connection, "pageInfo", "endCursor")
        if not after:
            raise _error(endpoint, what, 200, "pageInfo.hasNextPage without an endCursor")
    writer.set_cursor(stream, newest[1] if newest else None)
    _complete_through_rest(ex, repo, redo, prs, shas, paged)
    return prs, shas


def extract_checks_graphql(ex: Extraction, repo: str, shas: Iterable[str | None], paged: Mapping[str, Any],
                           *, suites: int = 20, runs: int = 100) -> None:
    """Land the check suites/runs of `shas`, 50 commits per POST; REST for the ones GraphQL cannot complete."""
    _per_commit(ex, repo, shas, paged, GRAPHQL_COMMIT_CHECKS, CHECK_RUNS, commit_checks_query,
                {"suites": suites, "runs": runs}, _checks_overflow, "check runs")


def extract_commit_pulls_graphql(ex: Extraction, repo: str, shas: Iterable[str | None], paged: Mapping[str, Any],
                                 *, first: int = 100) -> None:
    """Land the commit -> PR association of `shas`, 50 commits per POST; REST for the rest."""
    _per_commit(ex, repo, shas, paged, GRAPHQL_COMMIT_PULLS, COMMIT_PULLS, commit_pulls_query, {"first": first},
                lambda node: bool(_dig(node, "associatedPullRequests", "pageInfo", "hasNextPage")), "pull requests")


def _per_commit(ex: Extraction, repo: str, shas: Iterable[str | None], paged: Mapping[str, Any], stream: Stream,
                rest_stream: Stream, build_query, sizes: Mapping[str, int], overflows, what_of: str) -> None:
    """One aliased `object(oid:)` query per 50 commits, each commit node landed in `stream`; a commit
    GraphQL could not resolve or complete (or an abbreviated sha) is asked through `rest_stream`."""
    assert ex.client is not None
    owner, name = repo.split("/", 1)
    writer = ex.writer
    writer.stream(stream.name, f"POST /graphql {build_query([_EXAMPLE_SHA]).split('(', 1)[0].removeprefix('query ')}"
                               f"(owner={owner}, name={name}, <= {CHECK_BATCH} shas, "
                               + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")")
    wanted = [s for s in dict.fromkeys(shas) if s]
    full = [s for s in wanted if is_full_sha(s)]
    rest = [s for s in wanted if not is_full_sha(s)]     # e.g. an abbreviated sha: only REST resolves it
    for start in range(0, len(full), CHECK_BATCH):
        batch = full[start:start + CHECK_BATCH]
        writer.count_request(stream.name)
        what = f"{what_of} of {len(batch)} commits of {repo}"
        body, endpoint = post_graphql(ex.client, build_query(batch), {"owner": owner, "name": name, **sizes}, what)
        found = _dig(body, "data", "repository")
        if not isinstance(found, dict):
            raise _error(endpoint, what, 200, "no data.repository: " + _errors_text(body))
        broken = _broken(body, ("repository",))
        extracted_at = utc_now_iso()
        for index, sha in enumerate(batch):
            node = found.get(f"c{index}")
            problem = broken.get(f"c{index}") or (None if isinstance(node, dict) and node.get("oid") == sha
                                                  else "commit not resolved")
            if problem:
                log.warning("github: POST %s: commit %s@%s: %s; asked through REST", endpoint, repo, sha, problem)
                rest.append(sha)
                continue
            writer.write(stream.name, node, writer.envelope_prefix(extracted_at, endpoint, {"repo": repo, "sha": sha}))
            if overflows(node):
                rest.append(sha)
    ex.run(rest_stream, [{"repo": repo, "sha": s} for s in rest], params=paged)


# -- helpers -------------------------------------------------------------------------------------

def _check_children(writer, endpoint: str, repo: str, node: Mapping[str, Any], merged: bool,
                    shas: list[Record], redo: dict[str, list[int]]) -> None:
    """Quarantine nested records lacking their key (as REST would); note overflowing connections."""
    number = node["number"]
    ctx = {"repo": repo, "number": number}
    reviews = node.get("reviews") if isinstance(node.get("reviews"), dict) else {}
    commits = node.get("commits") if isinstance(node.get("commits"), dict) else {}
    labels = node.get("labels") if isinstance(node.get("labels"), dict) else {}
    if merged:
        for i, review in enumerate(reviews.get("nodes") or ()):
            if _missing(review, ("databaseId",)):
                writer.quarantine(REVIEWS.name, endpoint, f"pull request {repo}#{number}, review {i + 1}",
                                  "missing required key 'databaseId'", review)
        for i, item in enumerate(commits.get("nodes") or ()):
            oid = _dig(item, "commit", "oid")
            if not oid:
                writer.quarantine(PR_COMMITS.name, endpoint, f"pull request {repo}#{number}, commit {i + 1}",
                                  "missing required key 'commit.oid'", item)
            else:
                shas.append(Record(ctx, {"sha": oid}))
        if _dig(reviews, "pageInfo", "hasNextPage"):
            redo["reviews"].append(number)
        if _dig(commits, "pageInfo", "hasNextPage"):
            redo["commits"].append(number)
    if isinstance(labels.get("totalCount"), int) and labels["totalCount"] > len(labels.get("nodes") or ()):
        redo["pull"].append(number)


def _complete_through_rest(ex: Extraction, repo: str, redo: dict[str, list[int]], prs: list[Record],
                           shas: list[Record], paged: Mapping[str, Any]) -> None:
    """REST for the PRs GraphQL could not give whole: their reviews, commits, or the PR itself."""
    pulls = ex.run(PULL_REQUEST, [{"repo": repo, "number": n} for n in dict.fromkeys(redo["pull"])],
                   keep=_rest_pr_fields)
    known = {p.payload.get("number") for p in prs}
    for p in pulls:
        if p.payload.get("merged_at"):
            if p.payload.get("number") not in known:
                redo["reviews"].append(p.payload["number"])
                redo["commits"].append(p.payload["number"])
            prs.append(Record({"repo": repo}, p.payload))
    ex.run(REVIEWS, [{"repo": repo, "number": n} for n in dict.fromkeys(redo["reviews"])], params=paged)
    shas += ex.run(PR_COMMITS, [{"repo": repo, "number": n} for n in dict.fromkeys(redo["commits"])],
                   params=paged, keep=lambda p: {"sha": p.get("sha")})


def _pr_fields(node: Mapping[str, Any]) -> dict[str, Any]:
    """The fields extract.py keeps of a PR, named as REST names them."""
    return {"number": node.get("number"), "merged_at": node.get("mergedAt"), "updated_at": node.get("updatedAt"),
            "merge_commit_sha": _dig(node, "mergeCommit", "oid"), "head_sha": node.get("headRefOid")}


def _rest_pr_fields(p: Mapping[str, Any]) -> dict[str, Any]:
    head = p.get("head") if isinstance(p.get("head"), dict) else {}
    return {"number": p.get("number"), "merged_at": p.get("merged_at"), "updated_at": p.get("updated_at"),
            "merge_commit_sha": p.get("merge_commit_sha"), "head_sha": head.get("sha")}


def _checks_overflow(node: Mapping[str, Any]) -> bool:
    suites = node.get("checkSuites") if isinstance(node.get("checkSuites"), dict) else {}
    if _dig(suites, "pageInfo", "hasNextPage"):
        return True
    return any(_dig(s, "checkRuns", "pageInfo", "hasNextPage") for s in suites.get("nodes") or () if isinstance(s, dict))


def _broken(body: Mapping[str, Any], prefix: tuple[str, ...]) -> dict[Any, str]:
    """`errors` entries whose path runs through `prefix` + <key>: key -> message(s)."""
    found: dict[Any, str] = {}
    for error in body.get("errors") or ():
        path = error.get("path") if isinstance(error, dict) else None
        if isinstance(path, list) and len(path) > len(prefix) and tuple(path[:len(prefix)]) == prefix:
            key = path[len(prefix)]
            message = str(error.get("message") or error.get("type") or "error")
            found[key] = f"{found[key]}; {message}" if key in found else message
    return found


def _rate_limited(body: Mapping[str, Any]) -> bool:
    errors = body.get("errors")
    return body.get("data") is None and isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors)


def _errors_text(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return "the response has no data and no errors"
    return "; ".join(str(e.get("message") if isinstance(e, dict) else e)[:200] for e in errors[:3])


def _missing(record: Any, keys: tuple[str, ...]) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in keys:
        if record.get(key) is None:
            return f"missing required key '{key}'"
    return None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _error(endpoint: str, what: str, status: int | None, detail: str,
           kind: type[ExtractionError] = ExtractionError) -> ExtractionError:
    status_text = f"HTTP {status}" if status is not None else "no HTTP response"
    return kind(SYSTEM, endpoint, status, message=f"{SYSTEM}: POST {endpoint} ({what}) failed: {status_text}: {detail}")
