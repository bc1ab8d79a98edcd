"""Runs the opt-in GitHub streams (see more_streams.py) inside a repository unit, and the
organisation's people (members, teams, team members) as a unit of its own.

Flags: `workflow_runs`, `code_scanning_alerts`, `dependabot_alerts`, `commit_statuses`,
`people_from_teams` (+ `team_roles`: team slug -> role, landed in each team member's context so
the staging view can give the person that role).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Mapping

from extractors.core import ApiClient, Extraction, HttpStatusError, Stream
from extractors.github.more_streams import (
    CODE_SCANNING_ALERTS, COMMIT_STATUSES, DEPENDABOT_ALERTS, ORG_MEMBERS, ORG_TEAMS, SYSTEM, TEAM_MEMBERS,
    WORKFLOW_RUNS,
)
from flows.config import GitHubSource

log = logging.getLogger(__name__)
NOT_AVAILABLE = frozenset({403, 404, 410})


def run_if_available(
    ex: Extraction, stream: Stream, contexts: Iterable[Mapping[str, Any]], params: Mapping[str, Any], **kw: Any,
) -> list:
    """`ex.run`, except that an endpoint the source does not offer lands as an empty stream."""
    try:
        return ex.run(stream, contexts, params=params, **kw)
    except HttpStatusError as exc:
        if exc.status not in NOT_AVAILABLE:
            raise
        log.warning("%s/%s not available (HTTP %s at %s): skipped", SYSTEM, stream.name, exc.status, exc.url)
        ex.writer.stream(stream.name)
        return []


def extract_repo_more(
    ex: Extraction, config: GitHubSource, repo: str, deployed_shas: Iterable[str], paged: Mapping[str, Any],
) -> None:
    """The opt-in per-repository streams, for the unit `ex` of `repo`."""
    shas = [s for s in dict.fromkeys(deployed_shas) if s]
    ctx = {"repo": repo}
    if config.workflow_runs:
        _per_sha(ex, WORKFLOW_RUNS, repo, shas, lambda sha: {**paged, "head_sha": sha},
                 f"GET /repos/{repo}/actions/runs?head_sha={{sha}}")
    if config.code_scanning_alerts:
        run_if_available(ex, CODE_SCANNING_ALERTS, [ctx], paged)
    if config.dependabot_alerts:
        run_if_available(ex, DEPENDABOT_ALERTS, [ctx], paged)
    if config.commit_statuses:
        _per_sha(ex, COMMIT_STATUSES, repo, shas, lambda sha: paged, COMMIT_STATUSES.query_text(ctx, paged))


def _per_sha(ex: Extraction, stream: Stream, repo: str, shas: list[str], params, query: str) -> None:
    """`stream` for each deployed sha; a sha the source does not answer for is skipped (logged)."""
    ex.writer.stream(stream.name, query)
    for sha in shas:
        try:
            ex.run(stream, [{"repo": repo, "sha": sha}], params=params(sha))
        except HttpStatusError as exc:
            if exc.status not in NOT_AVAILABLE:
                raise
            log.warning("%s/%s not available for %s@%s (HTTP %s): skipped", SYSTEM, stream.name, repo, sha, exc.status)


def extract_github_people(
    config: GitHubSource, landing: Path, run_id: str, *, client: ApiClient,
) -> Path:
    """Organisation members, teams and team members as one unit `<org>/people`; its manifest."""
    org = {"org": config.org}
    paged = {"per_page": config.per_page}
    with Extraction(SYSTEM, f"{config.org}/people", landing, run_id, client, unit_context=org) as ex:
        run_if_available(ex, ORG_MEMBERS, [org], paged)
        teams = run_if_available(ex, ORG_TEAMS, [org], paged, keep=lambda p: {"slug": p.get("slug")})
        contexts = TEAM_MEMBERS.contexts_from_parent((t.context, t.payload) for t in teams)
        for context in contexts:
            context["role"] = config.team_roles.get(context["team_slug"])
        run_if_available(ex, TEAM_MEMBERS, contexts, paged)
        return ex.finish()
