"""GitHub extraction units: the organisation's repository list, then one unit per repository.

Per repository, in dependency order:

1. deployments (all environments) and their statuses;
2. pull requests (state=all, newest update first, stopping at `since`), with reviews and
   commits of the merged ones - through GraphQL (graphql.py, `api = "graphql"`) or REST;
3. check runs of every deployed production sha (GraphQL: 50 commits per request);
4. compares between consecutive *successful* production deployments, ordered by the time of
   their first `success` status (the same order `int_changes_sequenced` uses), over the whole
   fetched history - with `since`, the last successful production deployment before it is
   looked up too, so the first new change still has its predecessor;
5. commit -> pull request associations for every commit any compare lists and every deployed
   production sha that no merged PR of the run already maps (merge commit, head, commit list).

Repository units are independent, so a scheduler can fan them out (`extract_github_repo`).
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import httpx

from extractors.core import (
    ApiClient, EnvCredentialAuth, Extraction, ExtractionError, Record, as_utc, folder_root, parse_timestamp,
    raise_collected,
)
from extractors.core.engine import at_or_after, int_id
from extractors.core.incremental import unit_since
from extractors.github.graphql import (
    extract_checks_graphql, extract_commit_pulls_graphql, extract_pull_requests_graphql,
)
from extractors.github.more import extract_github_people, extract_repo_more
from extractors.github.streams import (
    CHECK_RUNS, COMMIT_PULLS, COMPARES, DEPLOYMENT_STATUSES, DEPLOYMENTS, ORG_REPOSITORIES,
    PR_COMMITS, PULL_REQUESTS, REPOSITORY, REVIEWS, SYSTEM,
)
from flows.config import GitHubSource

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def github_client(
    config: GitHubSource, *, sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """An ApiClient for the configured GitHub (github.com, GHES, or a file:// folder)."""
    local = folder_root(config.base_url) is not None
    auth = EnvCredentialAuth(SYSTEM, "bearer", (config.token_env,), required=not local,
                             secret_block=config.token_secret_block)
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
    if transport is not None:
        kwargs["transport"] = transport
    return ApiClient(SYSTEM, config.base_url, auth, max_retries=config.max_retries,
                     headers=API_HEADERS, **kwargs)


def extract_github(
    config: GitHubSource, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None,
) -> list[Path]:
    """Extract every configured repository (or every repository of the org); manifest paths."""
    own = client is None
    client = client or github_client(config)
    try:
        manifests: list[Path] = []
        if config.repos:
            repos, fetch_repository = list(config.repos), True
        else:
            org_manifest, repos = extract_github_org(config, landing, run_id, client=client)
            manifests.append(org_manifest)
            fetch_repository = False
        failures: list[ExtractionError] = []
        if config.people_from_teams:
            try:
                manifests.append(extract_github_people(config, landing, run_id, client=client))
            except ExtractionError as exc:
                log.error("%s", exc)
                failures.append(exc)
        workers = _worker_count(config, len(repos)) if own else 1
        if workers > 1:
            # Repository units are independent: on a multi-core machine each runs in its own
            # process (JSON parsing is CPU-bound) with its own client.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(_extract_repo_unit, config, repo, landing, run_id, since, fetch_repository)
                           for repo in repos]
                for future in futures:
                    try:
                        manifests.append(future.result())
                    except ExtractionError as exc:
                        log.error("%s", exc)
                        failures.append(exc)
        else:
            for repo in repos:
                try:
                    manifests.append(extract_github_repo(
                        config, repo, landing, run_id, since, client=client, fetch_repository=fetch_repository,
                    ))
                except ExtractionError as exc:      # one repository down must not cost the other units
                    log.error("%s", exc)
                    failures.append(exc)
        raise_collected(failures, len(repos))
        return manifests
    finally:
        if own:
            client.close()


def _worker_count(config: GitHubSource, units: int) -> int:
    wanted = config.workers or len(os.sched_getaffinity(0))
    return max(1, min(wanted, units))


def _extract_repo_unit(config: GitHubSource, repo: str, landing: Path, run_id: str,
                       since: datetime | None, fetch_repository: bool) -> Path:
    """One repository unit in a worker process, with a client of its own."""
    return extract_github_repo(config, repo, landing, run_id, since, fetch_repository=fetch_repository)


def extract_github_org(
    config: GitHubSource, landing: Path, run_id: str, *, client: ApiClient | None = None,
) -> tuple[Path, list[str]]:
    """Land GET /orgs/{org}/repos as one unit; returns its manifest and the repositories' full names."""
    own = client is None
    client = client or github_client(config)
    try:
        with Extraction(SYSTEM, config.org, landing, run_id, client, unit_context={"org": config.org}) as ex:
            records = ex.run(ORG_REPOSITORIES, [{"org": config.org}], params={"per_page": config.per_page},
                             keep=lambda p: {"full_name": p.get("full_name")})
            manifest = ex.finish()
        return manifest, [r.payload["full_name"] for r in records]
    finally:
        if own:
            client.close()


def extract_github_repo(
    config: GitHubSource, repo: str, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None, fetch_repository: bool = True,
) -> Path:
    """One repository as one extraction unit; returns its manifest path."""
    own = client is None
    client = client or github_client(config)
    since = as_utc(unit_since(since, repo))      # the repository's own cursor (None: a new repository)
    paged = {"per_page": config.per_page}
    production = set(config.production_environments)
    ctx = {"repo": repo}
    try:
        with Extraction(SYSTEM, repo, landing, run_id, client, unit_context=ctx) as ex:
            if fetch_repository:
                ex.run(REPOSITORY, [ctx])

            # 1. deployments and statuses
            # GitHub lists every deployment of the repository (no `since` filter); those created and
            # updated before `since` were landed by the run that set the cursor, so only the rest land
            deployments = ex.run(DEPLOYMENTS, [ctx], params=paged, keep=_deployment_fields,
                                 land=None if since is None
                                 else lambda p: at_or_after(p.get("updated_at") or p.get("created_at"), since))
            recent = [d for d in deployments if at_or_after(d.payload.get("created_at"), since)]
            statuses = ex.run(DEPLOYMENT_STATUSES, DEPLOYMENT_STATUSES.contexts_from_parent(
                (d.context, d.payload) for d in recent), params=paged, keep=_status_fields)
            first_success = _first_success(statuses)
            if since is not None:
                first_success.update(_predecessor(ex, deployments, recent, production, paged))

            # 2. pull requests, and reviews + commits of the merged ones
            if config.api == "graphql":
                prs, pr_commits = extract_pull_requests_graphql(
                    ex, repo, since, page_size=config.graphql_page_size, inner=min(config.per_page, 100), paged=paged)
            else:
                prs = ex.run(PULL_REQUESTS, [ctx], params=paged, since=since, keep=_pr_fields)
                merged = [(p.context, p.payload) for p in prs
                          if p.payload.get("merged_at") and at_or_after(p.payload.get("updated_at"), since)]
                ex.run(REVIEWS, REVIEWS.contexts_from_parent(merged), params=paged)
                # With ETags of an earlier run the commit lists are asked conditionally (a 304 is
                # free) and their shas are not seen: then only merge commits and heads explain shas.
                conditional = ex.conditional is not None and bool(ex.conditional.previous)
                pr_commits = ex.run(PR_COMMITS, PR_COMMITS.contexts_from_parent(merged), params=paged,
                                    keep=False if conditional else _sha_field)
            explained = explained_shas(prs, pr_commits)

            # 3. check runs of deployed production shas
            recent_production = [(d.context, d.payload) for d in recent
                                 if d.payload.get("environment") in production]
            if config.api == "graphql":
                extract_checks_graphql(ex, repo, [p.get("sha") for _, p in recent_production], paged)
            else:
                ex.run(CHECK_RUNS, CHECK_RUNS.contexts_from_parent(recent_production), params=paged)

            # 4. compares between consecutive successful production deployments
            pairs = compare_pairs(repo, deployments, first_success, production)
            compares = ex.run(COMPARES, pairs, params=paged, keep=_compare_shas)

            # 5. commit -> PR association, for the shas no PR of this run explains
            shas = [c for r in compares for c in r.payload["shas"]]
            shas += [p.get("sha") for _, p in recent_production]
            unexplained = [s for s in dict.fromkeys(shas) if s and s not in explained]
            if config.api == "graphql":
                extract_commit_pulls_graphql(ex, repo, unexplained, paged)
            else:
                ex.run(COMMIT_PULLS, [{"repo": repo, "sha": s} for s in unexplained], params=paged)

            # 6. opt-in streams: workflow runs and commit statuses of deployed shas, security alerts
            extract_repo_more(ex, config, repo, [p.get("sha") for _, p in recent_production], paged)
            manifest = ex.finish()
        log.info("github %s: %d requests, %d quarantined", repo, ex.writer.requests, len(ex.writer.quarantined))
        return manifest
    finally:
        if own:
            client.close()


def compare_pairs(
    repo: str, deployments: list[Record], first_success: Mapping[Any, datetime], production: set[str],
) -> list[dict[str, Any]]:
    """Contexts {repo, base, head} for consecutive successful production deployments.

    Ordered by first success time, ties by deployment id - exactly like the intermediate model
    that pairs each change with its predecessor, so every pair it looks up was fetched.
    """
    successful = sorted(
        (first_success[d.payload["id"]], int_id(d.payload["id"]), d.payload.get("sha"))
        for d in deployments
        if d.payload.get("environment") in production and d.payload.get("id") in first_success
    )
    pairs: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for (_, _, base), (_, _, head) in zip(successful, successful[1:]):
        if base and head and (base, head) not in seen:
            seen.add((base, head))
            pairs.append({"repo": repo, "base": base, "head": head})
    return pairs


def _predecessor(
    ex: Extraction, deployments: list[Record], recent: list[Record], production: set[str],
    paged: Mapping[str, Any],
) -> dict[Any, datetime]:
    """With `since`: statuses of older production deployments, newest first, until one succeeded."""
    recent_ids = {d.payload.get("id") for d in recent}
    older = [d for d in deployments
             if d.payload.get("id") not in recent_ids and d.payload.get("environment") in production]
    older.sort(key=lambda d: (parse_timestamp(d.payload.get("created_at")) or _EPOCH, int_id(d.payload.get("id"))),
               reverse=True)
    for d in older:
        statuses = ex.run(DEPLOYMENT_STATUSES, DEPLOYMENT_STATUSES.contexts_from_parent([(d.context, d.payload)]),
                          params=paged, keep=_status_fields)
        found = _first_success(statuses)
        if found:
            return found
    return {}


def _first_success(statuses: list[Record]) -> dict[Any, datetime]:
    """deployment id -> time of its first `success` status."""
    first: dict[Any, datetime] = {}
    for s in statuses:
        if s.payload.get("state") != "success":
            continue
        at = parse_timestamp(s.payload.get("created_at"))
        dep = s.context.get("deployment_id")
        if at is not None and (dep not in first or at < first[dep]):
            first[dep] = at
    return first


def _deployment_fields(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p.get(k) for k in ("id", "sha", "environment", "created_at")}


def _status_fields(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p.get(k) for k in ("id", "state", "created_at")}


def _pr_fields(p: Mapping[str, Any]) -> dict[str, Any]:
    head = p.get("head")
    return {**{k: p.get(k) for k in ("number", "merged_at", "updated_at", "merge_commit_sha")},
            "head_sha": head.get("sha") if isinstance(head, dict) else None}


def _sha_field(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"sha": p.get("sha")}


def explained_shas(prs: list[Record], pr_commits: list[Record]) -> set[str]:
    """Shas that merged PRs of this run already map to a PR (merge commit, head, commit list).

    `commits/{sha}/pulls` is asked only for the other shas: the models link a change-set commit to
    its PR through merge_commit_sha and the PR commit lists as well as through the association,
    so the association adds nothing for these (rebased or squashed commits are not among them).
    """
    shas = {c.payload.get("sha") for c in pr_commits}
    for p in prs:
        if p.payload.get("merged_at"):
            shas.update((p.payload.get("merge_commit_sha"), p.payload.get("head_sha")))
    shas.discard(None)
    return shas


def _compare_shas(p: Mapping[str, Any]) -> dict[str, Any]:
    commits = p.get("commits") or []
    return {"shas": [c.get("sha") for c in commits if isinstance(c, dict) and c.get("sha")]}
