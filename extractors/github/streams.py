"""GitHub REST v3 streams, declared as data (names are the raw table suffixes).

Every request here is a documented public endpoint; page sizes come from config at run time.
Child resources are `missing_ok`: a deployment deleted or a sha garbage-collected between the
list call and the child call is quarantined (and counted by EV-03) instead of losing the repo.
"""
from __future__ import annotations

from extractors.core import HeaderLinkPaginator, Stream

SYSTEM = "github"
_LINK = HeaderLinkPaginator()

ORG_REPOSITORIES = Stream(
    system=SYSTEM, name="repositories", path="/orgs/{org}/repos",
    params={"type": "all", "sort": "full_name"}, primary_key=("id", "full_name"), paginator=_LINK,
)
REPOSITORY = Stream(
    system=SYSTEM, name="repositories", path="/repos/{repo}",
    primary_key=("id", "full_name"), single_object=True, partition_keys=("repo",),
)
DEPLOYMENTS = Stream(
    system=SYSTEM, name="deployments", path="/repos/{repo}/deployments",
    primary_key=("id", "sha"), paginator=_LINK, partition_keys=("repo",),
)
DEPLOYMENT_STATUSES = Stream(
    system=SYSTEM, name="deployment_statuses", path="/repos/{repo}/deployments/{deployment_id}/statuses",
    primary_key=("id",), paginator=_LINK, parent=DEPLOYMENTS, child_context={"deployment_id": "id"},
    missing_ok=True,
)
PULL_REQUESTS = Stream(
    system=SYSTEM, name="pull_requests", path="/repos/{repo}/pulls",
    params={"state": "all", "sort": "updated", "direction": "desc"},
    primary_key=("id", "number"), cursor_field="updated_at", stop_when_older_than_cursor=True,
    partition_keys=("repo",), paginator=_LINK,
)
REVIEWS = Stream(
    system=SYSTEM, name="reviews", path="/repos/{repo}/pulls/{number}/reviews",
    primary_key=("id",), paginator=_LINK, parent=PULL_REQUESTS, child_context={"number": "number"},
    missing_ok=True,
)
PR_COMMITS = Stream(
    system=SYSTEM, name="pr_commits", path="/repos/{repo}/pulls/{number}/commits",
    primary_key=("sha",), paginator=_LINK, parent=PULL_REQUESTS, child_context={"number": "number"},
    missing_ok=True,
)
CHECK_RUNS = Stream(
    system=SYSTEM, name="check_runs", path="/repos/{repo}/commits/{sha}/check-runs",
    # filter=all: every run, not only the latest per name - CM-05 needs the runs completed
    # before the deployment, which may not be the latest ones.
    params={"filter": "all"}, primary_key=("id",), records_key="check_runs", paginator=_LINK,
    parent=DEPLOYMENTS, child_context={"sha": "sha"}, missing_ok=True,
)
COMPARES = Stream(
    system=SYSTEM, name="compares", path="/repos/{repo}/compare/{base}...{head}",
    # Paged with per_page so a change set longer than GitHub's unpaged 250-commit cap is complete;
    # each page is landed as one record (the compare object with that page's commits).
    primary_key=("status", "commits"), single_object=True, paginator=_LINK, missing_ok=True,
)
COMMIT_PULLS = Stream(
    system=SYSTEM, name="commit_pulls", path="/repos/{repo}/commits/{sha}/pulls",
    primary_key=("id", "number"), paginator=_LINK, missing_ok=True,
)

# GraphQL (api = "graphql"): each PR node / commit node as received (extractors/github/graphql.py);
# the staging views read them next to the REST streams.
GRAPHQL_PULL_REQUESTS = Stream(
    system=SYSTEM, name="graphql_pull_requests", path="/graphql", primary_key=("databaseId", "number"),
    cursor_field="updatedAt", partition_keys=("repo",),
)
GRAPHQL_COMMIT_CHECKS = Stream(
    system=SYSTEM, name="graphql_commit_checks", path="/graphql", primary_key=("oid",), partition_keys=("repo",),
)
GRAPHQL_COMMIT_PULLS = Stream(
    system=SYSTEM, name="graphql_commit_pulls", path="/graphql", primary_key=("oid",), partition_keys=("repo",),
)

from extractors.github.more_streams import MORE_STREAMS  # noqa: E402  (opt-in streams, declared there)

STREAMS: tuple[Stream, ...] = (
    REPOSITORY, DEPLOYMENTS, DEPLOYMENT_STATUSES, PULL_REQUESTS, REVIEWS, PR_COMMITS,
    COMMIT_PULLS, COMPARES, CHECK_RUNS, GRAPHQL_PULL_REQUESTS, GRAPHQL_COMMIT_CHECKS,
    GRAPHQL_COMMIT_PULLS, *MORE_STREAMS,
)
