"""GitLab extraction units: the group's project list, then one unit per project.

Per project, in dependency order (mirroring the GitHub extractor, so the same intermediate
models hold for both):

1. deployments (all environments; status and the deploying job are embedded);
2. merge requests (state=all, newest update first, stopping at `since`), and for the merged
   ones their approvals, notes (approval decisions are system notes) and commits;
3. pipelines of every deployed production sha, and their jobs (the check runs);
4. compares between consecutive successful production deployments, ordered by success time
   (`updated_at` of a `success` deployment, see `success_time`) then id, as
   `int_changes_sequenced` orders them;
5. commit -> merge request associations for every compared commit and deployed production sha.

A project id in a path is the URL-encoded `path_with_namespace` (GitLab's documented form).
"""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote

import httpx

from extractors.core import (
    ApiClient, Extraction, ExtractionError, Record, as_utc, folder_root, parse_timestamp, raise_collected,
)
from extractors.core.engine import at_or_after, int_id
from extractors.gitlab.http import PrivateTokenAuth, RateLimitHeaders
from extractors.gitlab.streams import (
    COMMIT_MERGE_REQUESTS, COMPARES, DEPLOYMENTS, GROUP_PROJECTS, JOBS, MERGE_REQUESTS, MR_APPROVALS,
    MR_COMMITS, MR_NOTES, PIPELINES, PROJECT, SYSTEM,
)
from extractors.gitlab.transport import GitLabFolderTransport
from flows.config import GitLabSource

log = logging.getLogger(__name__)


def gitlab_client(
    config: GitLabSource, *, sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """An ApiClient for gitlab.com, a self-managed instance, or a file:// folder."""
    root = folder_root(config.base_url)
    auth = PrivateTokenAuth(SYSTEM, config.token_env, required=root is None)
    if transport is None:
        transport = GitLabFolderTransport(root) if root is not None else httpx.HTTPTransport()
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
    return ApiClient(SYSTEM, config.base_url, auth, max_retries=config.max_retries,
                     headers={"Accept": "application/json"}, transport=RateLimitHeaders(transport), **kwargs)


def project_context(repo: str) -> dict[str, str]:
    return {"repo": repo, "project": quote(repo, safe="")}


def extract_gitlab(
    config: GitLabSource, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None,
) -> list[Path]:
    """Extract every configured project (or every project of the group); manifest paths."""
    own = client is None
    client = client or gitlab_client(config)
    try:
        manifests: list[Path] = []
        if config.projects:
            projects, fetch_project = list(config.projects), True
        elif config.group:
            group_manifest, projects = extract_gitlab_group(config, landing, run_id, client=client)
            manifests.append(group_manifest)
            fetch_project = False
        else:
            raise ValueError("gitlab source: set `group` or `projects`")
        failures: list[ExtractionError] = []
        for repo in projects:
            try:
                manifests.append(extract_gitlab_project(
                    config, repo, landing, run_id, since, client=client, fetch_project=fetch_project))
            except ExtractionError as exc:      # one project down must not cost the other units
                log.error("%s", exc)
                failures.append(exc)
        raise_collected(failures, len(projects))
        return manifests
    finally:
        if own:
            client.close()


def extract_gitlab_group(
    config: GitLabSource, landing: Path, run_id: str, *, client: ApiClient,
) -> tuple[Path, list[str]]:
    """Land GET /groups/{group}/projects?include_subgroups=true as one unit; the projects' paths."""
    group = quote(str(config.group), safe="")
    with Extraction(SYSTEM, str(config.group), landing, run_id, client, unit_context={"group": group}) as ex:
        records = ex.run(GROUP_PROJECTS, [{"group": group}], params={"per_page": config.per_page},
                         keep=lambda p: {"path": p.get("path_with_namespace")})
        manifest = ex.finish()
    return manifest, [r.payload["path"] for r in records]


def extract_gitlab_project(
    config: GitLabSource, repo: str, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None, fetch_project: bool = True,
) -> Path:
    """One project as one extraction unit; returns its manifest path."""
    own = client is None
    client = client or gitlab_client(config)
    since = as_utc(since)
    paged = {"per_page": config.per_page}
    production = set(config.production_environments)
    ctx = project_context(repo)
    try:
        with Extraction(SYSTEM, repo, landing, run_id, client, unit_context=ctx) as ex:
            if fetch_project:
                ex.run(PROJECT, [ctx])

            # 1. deployments (status embedded). Listed whole (the predecessor must be known); those
            # created and updated before `since` were landed by the run that set the cursor
            deployments = ex.run(DEPLOYMENTS, [ctx], params=paged, keep=_deployment_fields,
                                 land=None if since is None
                                 else lambda p: at_or_after(p.get("updated_at") or p.get("created_at"), since))

            # 2. merge requests; approvals, notes and commits of the merged ones
            mrs = ex.run(MERGE_REQUESTS, [ctx], params=paged, since=since, keep=_mr_fields)
            merged = [(m.context, m.payload) for m in mrs
                      if m.payload.get("merged_at") and at_or_after(m.payload.get("updated_at"), since)]
            ex.run(MR_APPROVALS, MR_APPROVALS.contexts_from_parent(merged))
            ex.run(MR_NOTES, MR_NOTES.contexts_from_parent(merged), params=paged)
            ex.run(MR_COMMITS, MR_COMMITS.contexts_from_parent(merged), params=paged)

            # 3. pipelines and jobs of deployed production shas
            recent_production = [d for d in deployments if d.payload["environment"] in production
                                 and at_or_after(d.payload.get("created_at"), since)]
            shas = list(dict.fromkeys(d.payload["sha"] for d in recent_production if d.payload.get("sha")))
            pipelines = ex.run(PIPELINES, [{**ctx, "sha": s} for s in shas], params=paged,
                               keep=lambda p: {"id": p.get("id")})
            ex.run(JOBS, JOBS.contexts_from_parent((p.context, p.payload) for p in pipelines), params=paged)

            # 4. compares between consecutive successful production deployments (the deployment
            #    list is always whole, so the predecessor of the first new change is known)
            compares = ex.run(COMPARES, compare_pairs(repo, deployments, production, since), keep=_compare_shas)

            # 5. commit -> merge request associations
            listed = [c for r in compares for c in r.payload["shas"]] + shas
            ex.run(COMMIT_MERGE_REQUESTS, [{**ctx, "sha": s} for s in dict.fromkeys(listed) if s], params=paged)
            manifest = ex.finish()
        log.info("gitlab %s: %d requests, %d quarantined", repo, ex.writer.requests, len(ex.writer.quarantined))
        return manifest
    finally:
        if own:
            client.close()


def success_time(deployment: Mapping[str, Any]) -> datetime | None:
    """When a `success` deployment succeeded: `finished_at` where GitLab gives it, else `updated_at`
    (a deployment's status is final once it succeeded). None for any other status."""
    if deployment.get("status") != "success":
        return None
    return parse_timestamp(deployment.get("finished_at")) or parse_timestamp(deployment.get("updated_at"))


def compare_pairs(
    repo: str, deployments: list[Record], production: set[str], since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Contexts {repo, project, base, head} for consecutive successful production deployments
    (with `since`: only pairs whose later deployment succeeded at or after it)."""
    successful = sorted(
        (d.payload["succeeded_at"], int_id(d.payload.get("id")), d.payload.get("sha"))
        for d in deployments
        if d.payload.get("environment") in production and d.payload.get("succeeded_at") is not None
    )
    pairs: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for (_, _, base), (succeeded_at, _, head) in zip(successful, successful[1:]):
        if since is not None and succeeded_at < since:
            continue
        if base and head and (base, head) not in seen:
            seen.add((base, head))
            pairs.append({**project_context(repo), "base": base, "head": head})
    return pairs


def _deployment_fields(p: Mapping[str, Any]) -> dict[str, Any]:
    environment = p.get("environment")
    return {"id": p.get("id"), "sha": p.get("sha"), "created_at": p.get("created_at"),
            "environment": environment.get("name") if isinstance(environment, dict) else environment,
            "succeeded_at": success_time(p)}


def _mr_fields(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p.get(k) for k in ("iid", "merged_at", "updated_at")}


def _compare_shas(p: Mapping[str, Any]) -> dict[str, Any]:
    commits = p.get("commits") or []
    return {"shas": [c.get("id") for c in commits if isinstance(c, dict) and c.get("id")]}
