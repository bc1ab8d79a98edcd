"""Opt-in GitHub streams (config flags on [sources.github]): workflow runs, code-scanning and
Dependabot alerts, legacy commit statuses, and organisation members with team memberships.

They are declared here, next to the core streams, and run by `extractors.github.more`. An
endpoint a repository or plan does not offer (404/403/410: code scanning not enabled, Actions
disabled, a folder API that does not serve it) is "not available": its stream still gets an
empty landing file and manifest entry, nothing is quarantined and the unit goes on.
"""
from __future__ import annotations

from extractors.core import HeaderLinkPaginator, Stream

SYSTEM = "github"
_LINK = HeaderLinkPaginator()

WORKFLOW_RUNS = Stream(
    # requested per deployed sha (?head_sha=): the run's triggering_actor is the human behind a bot
    system=SYSTEM, name="workflow_runs", path="/repos/{repo}/actions/runs",
    primary_key=("id",), records_key="workflow_runs", paginator=_LINK, partition_keys=("repo",),
)
CODE_SCANNING_ALERTS = Stream(
    system=SYSTEM, name="code_scanning_alerts", path="/repos/{repo}/code-scanning/alerts",
    primary_key=("number",), paginator=_LINK, partition_keys=("repo",),
)
DEPENDABOT_ALERTS = Stream(
    system=SYSTEM, name="dependabot_alerts", path="/repos/{repo}/dependabot/alerts",
    params={"state": "auto_dismissed,dismissed,fixed,open"},
    primary_key=("number",), paginator=_LINK, partition_keys=("repo",),
)
COMMIT_STATUSES = Stream(
    # the combined status: the latest status per context (legacy CI integrations)
    system=SYSTEM, name="commit_statuses", path="/repos/{repo}/commits/{sha}/status",
    primary_key=("id",), records_key="statuses", paginator=_LINK,
)
ORG_MEMBERS = Stream(
    system=SYSTEM, name="org_members", path="/orgs/{org}/members",
    primary_key=("login",), paginator=_LINK,
)
ORG_TEAMS = Stream(
    system=SYSTEM, name="teams", path="/orgs/{org}/teams", primary_key=("slug",), paginator=_LINK,
)
TEAM_MEMBERS = Stream(
    system=SYSTEM, name="team_members", path="/orgs/{org}/teams/{team_slug}/members",
    primary_key=("login",), paginator=_LINK, parent=ORG_TEAMS, child_context={"team_slug": "slug"},
    missing_ok=True,
)

MORE_STREAMS: tuple[Stream, ...] = (
    WORKFLOW_RUNS, CODE_SCANNING_ALERTS, DEPENDABOT_ALERTS, COMMIT_STATUSES, ORG_MEMBERS, ORG_TEAMS, TEAM_MEMBERS,
)
