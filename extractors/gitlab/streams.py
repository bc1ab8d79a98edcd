"""GitLab REST v4 streams, declared as data (names are the raw table suffixes).

Contexts carry `repo` (the project's path with namespace, the warehouse's `repo`) and `project`
(the same path URL-encoded, GitLab's documented form of a project id in a path). Child resources
are `missing_ok`: a merge request, pipeline or sha gone between the list and the child call is
quarantined (EV-03 counts it) instead of losing the project.
"""
from __future__ import annotations

from extractors.core import Stream
from extractors.gitlab.http import GitLabPaginator

SYSTEM = "gitlab"
_PAGES = GitLabPaginator()

GROUP_PROJECTS = Stream(
    system=SYSTEM, name="projects", path="/groups/{group}/projects",
    # keyset pagination (GitLab supports it for project lists ordered by id): no deep-offset cost
    params={"include_subgroups": "true", "archived": "false", "order_by": "id", "sort": "asc",
            "pagination": "keyset"},
    primary_key=("id", "path_with_namespace"), paginator=_PAGES,
)
PROJECT = Stream(
    system=SYSTEM, name="projects", path="/projects/{project}",
    primary_key=("id", "path_with_namespace"), single_object=True, partition_keys=("repo",),
)
DEPLOYMENTS = Stream(
    system=SYSTEM, name="deployments", path="/projects/{project}/deployments",
    params={"order_by": "id", "sort": "desc"}, primary_key=("id", "sha"), paginator=_PAGES,
    partition_keys=("repo",),
)
MERGE_REQUESTS = Stream(
    system=SYSTEM, name="merge_requests", path="/projects/{project}/merge_requests",
    params={"state": "all", "order_by": "updated_at", "sort": "desc"},
    primary_key=("id", "iid"), cursor_field="updated_at", stop_when_older_than_cursor=True,
    partition_keys=("repo",), paginator=_PAGES,
)
MR_APPROVALS = Stream(
    system=SYSTEM, name="mr_approvals", path="/projects/{project}/merge_requests/{iid}/approvals",
    primary_key=("iid",), single_object=True, parent=MERGE_REQUESTS, child_context={"iid": "iid"},
    missing_ok=True,
)
MR_NOTES = Stream(
    system=SYSTEM, name="mr_notes", path="/projects/{project}/merge_requests/{iid}/notes",
    # approval decisions are system notes ("approved this merge request" / "unapproved ...")
    params={"sort": "asc", "order_by": "created_at"},
    primary_key=("id",), paginator=_PAGES, parent=MERGE_REQUESTS, child_context={"iid": "iid"},
    missing_ok=True,
)
MR_COMMITS = Stream(
    system=SYSTEM, name="mr_commits", path="/projects/{project}/merge_requests/{iid}/commits",
    primary_key=("id",), paginator=_PAGES, parent=MERGE_REQUESTS, child_context={"iid": "iid"},
    missing_ok=True,
)
COMMIT_MERGE_REQUESTS = Stream(
    system=SYSTEM, name="commit_merge_requests",
    path="/projects/{project}/repository/commits/{sha}/merge_requests",
    primary_key=("id", "iid"), paginator=_PAGES, missing_ok=True,
)
COMPARES = Stream(
    system=SYSTEM, name="compares", path="/projects/{project}/repository/compare?from={base}&to={head}",
    # from...to over the merge base (straight=false, the default): the commits `to` adds
    primary_key=("commits",), single_object=True, missing_ok=True,
)
PIPELINES = Stream(
    system=SYSTEM, name="pipelines", path="/projects/{project}/pipelines?sha={sha}",
    primary_key=("id", "sha"), paginator=_PAGES, missing_ok=True,
)
JOBS = Stream(
    system=SYSTEM, name="jobs", path="/projects/{project}/pipelines/{pipeline_id}/jobs",
    # include_retried: every attempt, not only the latest (CM-05 needs runs finished before a deploy)
    params={"include_retried": "true"}, primary_key=("id",), paginator=_PAGES,
    parent=PIPELINES, child_context={"pipeline_id": "id"}, missing_ok=True,
)

STREAMS: tuple[Stream, ...] = (
    PROJECT, DEPLOYMENTS, MERGE_REQUESTS, MR_APPROVALS, MR_NOTES, MR_COMMITS, COMMIT_MERGE_REQUESTS,
    COMPARES, PIPELINES, JOBS,
)
