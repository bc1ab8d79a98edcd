"""[sources.*]: what to read. Each source names the environment variable holding its credential."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from flows.config.base import _Strict


class _HttpSource(_Strict):
    freshness_hours: float = Field(36, description="EV-01: evidence older than this at evaluation time is stale")


class _FileSource(_Strict):
    freshness_hours: float = Field(24 * 7, description="EV-01: evidence older than this at evaluation time is stale")


class GitHubSource(_HttpSource):
    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    org: str
    repos: list[str] = Field(default_factory=list, description="owner/name; empty = every repo of the org")
    production_environments: list[str] = Field(default_factory=lambda: ["production"])
    staging_environments: list[str] = Field(default_factory=lambda: ["staging"])
    per_page: int = 100
    api: Literal["graphql", "rest"] = Field("rest", description="pull requests (reviews, commits, labels), check runs and commit->PR links through GraphQL or REST")
    graphql_page_size: int = Field(50, ge=1, le=100, description="pull requests per GraphQL page (reviews/commits per PR: per_page)")
    max_retries: int = 5
    workers: int = Field(0, description="processes extracting repositories in parallel; 0 = one per CPU")
    overlap_hours: float = Field(24, description="incremental runs re-read this much before the last cursor")
    token_secret_block: str | None = Field(None, description="Prefect Secret block holding the token (instead of token_env)")
    # opt-in streams (a folder/demo API does not serve them; 403/404 is "not available", not an error)
    workflow_runs: bool = Field(False, description="GET /repos/{repo}/actions/runs?head_sha= for deployed shas")
    code_scanning_alerts: bool = Field(False, description="GET /repos/{repo}/code-scanning/alerts?state=all")
    dependabot_alerts: bool = Field(False, description="GET /repos/{repo}/dependabot/alerts?state=all")
    commit_statuses: bool = Field(False, description="GET /repos/{repo}/commits/{sha}/status for deployed shas")
    people_from_teams: bool = Field(False, description="org members and team memberships -> the people entity")
    team_roles: dict[str, str] = Field(default_factory=dict, description="team slug -> role, e.g. senior-engineers = 'senior_engineer'")


class GitLabSource(_HttpSource):
    base_url: str = "https://gitlab.com/api/v4"
    token_env: str = "GITLAB_TOKEN"
    group: str | None = Field(None, description="group id or full path; its projects (with subgroups) are read")
    projects: list[str] = Field(default_factory=list, description="path_with_namespace; empty = every project of the group")
    production_environments: list[str] = Field(default_factory=lambda: ["production"])
    staging_environments: list[str] = Field(default_factory=lambda: ["staging"])
    per_page: int = 100
    max_retries: int = 5


class ServiceNowSource(_HttpSource):
    base_url: str
    user_env: str = "SERVICENOW_USER"
    password_env: str = "SERVICENOW_PASSWORD"
    page_size: int = 1000
    overlap_hours: float = Field(24, description="incremental runs re-read this much before the last cursor")
    password_secret_block: str | None = Field(None, description="Prefect Secret block holding the password")


class PagerDutySource(_HttpSource):
    base_url: str = "https://api.pagerduty.com"
    token_env: str = "PAGERDUTY_TOKEN"
    page_size: int = 100
    overlap_hours: float = Field(24, description="incremental runs re-read this much before the last cursor")
    token_secret_block: str | None = Field(None, description="Prefect Secret block holding the token (instead of token_env)")


class JiraSource(_HttpSource):
    """Jira Cloud (`deployment = "cloud"`: basic auth e-mail + API token) or Data Center
    (`"datacenter"`: bearer personal access token in `token_env`)."""

    base_url: str
    deployment: Literal["cloud", "datacenter"] = "cloud"
    user_env: str = "JIRA_USER"
    token_env: str = "JIRA_TOKEN"
    jql: str = "project = CHG"
    page_size: int = 100
    overlap_hours: float = Field(24, description="incremental runs re-read this much before the last cursor")
    fields: dict[str, str] = Field(default_factory=dict, description=(
        "change-request column -> Jira field id, e.g. risk = 'customfield_10050'; keys: category, risk, "
        "description, justification, implementation_plan, backout_plan, test_plan, risk_impact_analysis, "
        "requested_by, assigned_to, approval, start_date, end_date, close_code, close_notes, review_date, "
        "review_status, verbal_approver, verbal_approved_at"))
    approved_status_ids: list[str] = Field(default_factory=list, description="status ids (not names) meaning approved")
    category_field: str = Field("issuetype", description="'issuetype' (by issue type id) or a select field id")
    categories: dict[str, str] = Field(default_factory=dict, description="issue type id / option value -> standard|normal|emergency")
    risks: dict[str, str] = Field(default_factory=lambda: {"Critical": "1", "High": "2", "Moderate": "3", "Medium": "3", "Low": "4"},
                                  description="risk option value -> risk code ('1','2' make a normal change Major)")
    approvers_field: str | None = Field(None, description="multi-user field of approvers (instead of the changelog)")
    approved_at_field: str | None = Field(None, description="date field of the approvers field's approval")


class SarifSource(_FileSource):
    path: Path


class PeopleSource(_FileSource):
    path: Path


class ScannersSource(_FileSource):
    """Scanner JSON reports (Trivy, Snyk, pip-audit, Checkov, Bandit, GitLab SAST) under `path`."""

    path: Path
    path_pattern: str = Field(r"(?:^|/)(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?P<sha>[0-9a-fA-F]{7,40})/[^/]+$",
                              description="regex on the file's path under `path`: named groups owner, repo, sha")


class DeployLogSource(_FileSource):
    """Deployments from any CD tool as JSON Lines or CSV (`path`: a file or a folder of them)."""

    path: Path
    columns: dict[str, str] = Field(default_factory=dict, description=(
        "field -> column (CSV header, or a dotted JSON key); fields: deployment_id, repo, sha, ref, environment, "
        "status, started_at, finished_at, deployer, triggered_by, description, ticket, task, url"))
    statuses: dict[str, str] = Field(default_factory=dict, description=(
        "tool status -> success|failure|error|in_progress|queued|inactive (added to the built-in defaults)"))
    repo_prefix: str = Field("", description="prepended to a bare service name to make owner/name, e.g. 'acme/'")


K8S_RESOURCES = ["deployments", "statefulsets", "daemonsets", "cronjobs", "jobs", "configmaps", "secrets",
                 "services", "ingresses", "roles", "rolebindings", "clusterroles", "clusterrolebindings"]


class K8sAuditSource(_FileSource):
    """Kubernetes audit logs (audit.k8s.io/v1 Event JSON lines): `path/<cluster>/*.log|*.json[l][.gz]`."""

    path: Path
    production_clusters: list[str] = Field(default_factory=lambda: ["production"])
    resources: list[str] = Field(default_factory=lambda: list(K8S_RESOURCES), description="objectRef.resource kept")
    service_identity_patterns: list[str] = Field(default_factory=lambda: ["system:serviceaccount:*", "system:*"])
    human_identity_patterns: list[str] = Field(default_factory=lambda: ["*@*", "oidc:*"])
    services: dict[str, str] = Field(default_factory=dict, description=(
        "'<namespace>/<name>' or '<namespace>' -> repository (owner/name) the workload is deployed from"))


class CloudTrailSource(_FileSource):
    """AWS CloudTrail log files (`{"Records": [...]}`, .json or .json.gz) under `path`."""

    path: Path
    accounts: list[str] = Field(default_factory=list, description="account ids in scope (production); empty = all")
    regions: list[str] = Field(default_factory=list, description="regions in scope; empty = all")
    service_identity_patterns: list[str] = Field(default_factory=list, description="globs on the actor ARN")
    human_identity_patterns: list[str] = Field(default_factory=lambda: ["*:assumed-role/AWSReservedSSO_*"])
    services: dict[str, str] = Field(default_factory=dict, description="resource name or ARN -> repository")


class Sources(_Strict):
    github: GitHubSource | None = None
    gitlab: GitLabSource | None = None
    servicenow: ServiceNowSource | None = None
    pagerduty: PagerDutySource | None = None
    jira: JiraSource | None = None
    sarif: SarifSource | None = None
    people: PeopleSource | None = None
    scanners: ScannersSource | None = None
    deploylog: DeployLogSource | None = None
    k8s_audit: K8sAuditSource | None = None
    cloudtrail: CloudTrailSource | None = None
