"""changetrail.toml: the sources to read, where the warehouse lives, and the policy knobs.

Non-secret by design: each source names the *environment variable* that holds its credential.
Defaults encode SOC2-CHG-001.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic import field_validator

from warehouse.policy_rules import glob_regex, weekly_spans

from flows.schedules import Schedules


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class Warehouse(_Strict):
    # a file (relative to this config) or a DuckDB URI kept as written: "file:/srv/ct.duckdb",
    # "md:changetrail" (MotherDuck, token from $motherduck_token); README "Scaling past one machine"
    path: Path = Field(Path("changetrail.duckdb"), description="DuckDB warehouse: a file or a DuckDB URI (file:, md:)")
    landing: Path = Path("landing")


class Approvers(_Strict):
    """§1: the roles whose ticket approvals a category needs, each held by a different person (CM-10)."""

    normal: list[str] = Field(default_factory=lambda: ["eng_lead", "qa"], description="Normal: Engineering Lead + QA")
    major: list[str] = Field(default_factory=lambda: ["eng_lead", "ciso"], description="Major: Engineering Lead + CISO")


class TicketCategories(_Strict):
    """§1: how a ticket system's change type (and risk) becomes a policy category."""

    types: dict[str, Literal["Standard", "Normal", "Emergency"]] = Field(
        default_factory=lambda: {"standard": "Standard", "normal": "Normal", "emergency": "Emergency"},
        description="ticket type (case-insensitive) -> category; other types are 'unknown'")
    major_risks: list[str] = Field(default_factory=lambda: ["1", "2"],
                                   description="risk values that make a Normal change Major")


class Categories(_Strict):
    servicenow: TicketCategories = Field(default_factory=TicketCategories, description="change_request.type and risk")
    jira: TicketCategories = Field(default_factory=TicketCategories, description="after the source's own categories/risks maps")


class Schedule(_Strict):
    """§2 Schedule (read by CM-13): deploy in a maintenance window, not in peak hours, with notice."""

    time_zone: str = Field("UTC", description="IANA zone the windows and peak hours are written in")
    maintenance_windows: list[str] = Field(default_factory=list, description=(
        "'<days> HH:MM-HH:MM', e.g. 'Tue,Thu 22:00-02:00'; empty = any time outside peak hours"))
    peak_hours: list[str] = Field(default_factory=lambda: ["Mon-Fri 09:00-17:00"], description="same form as the windows")
    notice_hours: int = Field(24, ge=0, description=(
        "stakeholders notified at least this long before the deployment; notice = the ticket's creation"))

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'Europe/Berlin')") from None
        return value

    @field_validator("maintenance_windows", "peak_hours")
    @classmethod
    def _weekly_spans(cls, value: list[str]) -> list[str]:
        for span in value:
            weekly_spans(span)   # ValueError names the span
        return value


SENSITIVE_PATHS = {
    "auth": ["**/auth/**", "**/*auth*", "**/login/**", "**/session*/**", "**/permission*/**", "**/rbac/**"],
    "data_access": ["**/migrations/**", "**/*.sql", "**/schema*/**", "**/repositories/**", "**/dao/**"],
    "encryption": ["**/crypto/**", "**/*crypt*", "**/kms/**", "**/tls/**", "**/secrets/**", "**/certs/**"],
}


class CategoryRule(_Strict):
    """§1 (CM-19): a change touching these paths may not be filed below `min_category`."""

    paths: list[str] = Field(..., min_length=1, description="globs on changed file paths ('**/' any directories)")
    min_category: Literal["Normal", "Major"] = Field(..., description="the lowest category such a change may carry")

    @field_validator("paths")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        for glob in value:
            glob_regex(glob)
        return value


CATEGORY_RULES = {   # §1 examples: schema migrations and infrastructure are Normal, authentication and pricing Major
    "schema_migration": ("Normal", ["**/migrations/**", "**/migrate/**", "**/alembic/**", "**/flyway/**", "**/*.sql"]),
    "infrastructure": ("Normal", ["**/terraform/**", "**/*.tf", "**/helm/**", "**/k8s/**"]),
    "authentication": ("Major", ["**/auth/**", "**/*auth*", "**/login/**", "**/session*/**", "**/rbac/**"]),
    "pricing": ("Major", ["**/pricing/**"]),
}


# CM-11: the change-request fields a category can require, and the ones SOC2-CHG-001 §2 requires
TicketCategory = Literal["Standard", "Normal", "Major", "Emergency", "unknown"]
TicketField = Literal["short_description", "description", "justification", "implementation_plan",
                      "risk_impact_analysis", "test_plan", "backout_plan"]
TICKET_CATEGORY_NAMES = ("Standard", "Normal", "Major", "Emergency", "unknown")
REQUIRED_TICKET_FIELDS = ("description", "implementation_plan", "risk_impact_analysis", "test_plan", "backout_plan")


class Policy(_Strict):
    """SOC2-CHG-001 as numbers and names. Clause references in the comments."""

    ticket_key_pattern: str = r"CHG[0-9]{7}"                          # §2 Submit
    required_checks: list[str] = Field(default_factory=lambda: ["build", "test"])  # §3 automated tests
    min_reviewers: int = 2                                              # §3 code review
    senior_roles: list[str] = Field(default_factory=lambda: ["senior_engineer", "eng_lead"])
    blocking_severities: list[str] = Field(default_factory=lambda: ["critical", "high"])  # §3 security scan
    emergency_documentation_hours: int = 24                            # §5
    emergency_review_business_days: int = 5                            # §5
    holidays: list[str] = Field(default_factory=list, description="YYYY-MM-DD, excluded from business days")
    rollback_incident_priorities: list[str] = Field(default_factory=lambda: ["P1", "P2", "P3"])  # §4
    rollback_incident_window_hours: int = 24
    post_incident_review_marker: str = "post-incident review"
    rollback_tasks: list[str] = Field(default_factory=lambda: ["deploy:rollback"])
    # §4 rollback plan (CM-12): part -> regex (RE2 syntax) that must match the ticket's backout_plan
    rollback_plan_parts: dict[str, str] = Field(default_factory=lambda: {
        "trigger": "(?i)trigger|roll ?back when", "steps": "(?i)steps?|procedure", "owner": "(?i)owner",
        "verification": "(?i)verif", "time_estimate": "(?i)(time|estimate|minutes|hours)"})
    closing_deadline_days: int = Field(5, description="§2 Close, §7: days after deployment to close the ticket (CM-21)")
    # §2 Submit (CM-11): ticket fields that must be non-blank, per category
    required_ticket_fields: dict[TicketCategory, list[TicketField]] = Field(
        default_factory=lambda: {category: list(REQUIRED_TICKET_FIELDS) for category in TICKET_CATEGORY_NAMES},
        description="category -> change-request fields that must be non-blank (CM-11); a category left out"
                    " requires the five default fields")
    # §6 undocumented infra changes (CM-07) and pipeline bypass (CM-06): changes must come from the pipeline
    pipeline_identities: list[str] = Field(default_factory=lambda: [
        "system:serviceaccount:argocd:*", "system:serviceaccount:flux-system:*",
        "arn:aws:sts::*:assumed-role/*deploy*/*", "github-actions[bot]"],
        description="exact names or globs: the runtime actor (CM-07), the deployment's creator (CM-06)")
    pipeline_run_urls: list[str] = Field(default_factory=lambda: [
        "*/actions/runs/*", "*/-/jobs/*", "*/-/pipelines/*"],
        description="globs on a deployment status's log URL that show a CI/CD run performed it (CM-06)")
    release_branches: list[str] = Field(default_factory=list, description=(
        "globs on branch names a production sha must be on (CM-06); empty = each repository's default branch"))
    # §6 production credentials outside production (CM-22): secret findings in non-production paths
    credential_rules: str = Field(
        r"(?i)(secret|credential|passw|private[-_.]?key|(access|api|auth|bearer)[-_.]?(key|token)|gitleaks|trufflehog)",
        description="regex (RE2) on '<tool_name>:<rule_id>' marking a scanner finding as a credential (CM-22)")
    nonproduction_paths: list[str] = Field(default_factory=lambda: [
        "tests/*", "test/*", "*_test.*", "*.test.*", "test_*", "fixtures/*", "testdata/*", "examples/*",
        "*staging*/*", "*.env.dev", "*.env.test", "*.env.local", "docker-compose*", "dev/*"], description=(
        "globs on a finding's file path (CM-22); without a leading '/' a pattern matches at any depth"))
    runtime_change_window_minutes: int = 30
    runtime_excluded_resources: list[str] = Field(default_factory=lambda: [
        "leases", "events", "endpoints", "endpointslices", "*/status"])
    runtime_ignored_identities: list[str] = Field(default_factory=lambda: [
        "system:kube-controller-manager", "system:kube-scheduler", "system:apiserver",
        "system:node:*", "system:serviceaccount:kube-system:*"], description="the cluster's own controllers")
    # §1 categories: how each ticket system's type/risk is recognized, and who must approve each
    categories: Categories = Field(default_factory=Categories)
    approvers: Approvers = Field(default_factory=Approvers)
    # §5 emergency: verbal approval (CISO, or Engineering Lead when the CISO is unavailable), CISO sign-off
    emergency_verbal_approver_roles: list[str] = Field(default_factory=lambda: ["ciso", "eng_lead"])
    emergency_signoff_roles: list[str] = Field(default_factory=lambda: ["ciso"], description="retroactive sign-off (CM-16)")
    emergency_labels: list[str] = Field(default_factory=lambda: ["hotfix", "emergency"], description=(
        "PR/MR or ticket labels (case-insensitive) that make a ticketed change an emergency (§5)"))
    # §2 Review: security reviews changes touching auth, data access or encryption (CM-18)
    sensitive_paths: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in SENSITIVE_PATHS.items()},
                                                  description="area -> globs on changed file paths")
    security_approver_roles: list[str] = Field(default_factory=lambda: ["ciso", "security"], description=(
        "CM-18: a ticket approval before deployment, or a valid PR approval, by a holder of one of these roles"))
    schedule: Schedule = Field(default_factory=Schedule)               # §2 Schedule (CM-13)
    # §1 category mismatch (CM-19): rule name -> paths and the lowest category they may be filed under
    category_rules: dict[str, CategoryRule] = Field(default_factory=lambda: {
        name: CategoryRule(min_category=minimum, paths=list(paths)) for name, (minimum, paths) in CATEGORY_RULES.items()},
        description="§1 (CM-19): rule -> { paths = globs on changed files, min_category = Normal|Major }")

    @field_validator("sensitive_paths")
    @classmethod
    def _sensitive_globs(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for area, globs in value.items():
            for glob in globs:
                try:
                    glob_regex(glob)
                except ValueError as exc:
                    raise ValueError(f"{area}: {exc}") from None
        return value


class SampleTier(_Strict):
    min_population: int = Field(..., ge=1, description="this size applies from this population size up")
    size: int = Field(..., ge=1, description="changes sampled (capped at the population)")


class EvidencePack(_Strict):
    """`changetrail report evidence-pack` (reports/evidence_pack/): the auditor's signed pack."""

    signing_key_env: str = Field("CHANGETRAIL_SIGNING_KEY", description="environment variable holding the Ed25519 "
                                 "private key: base64 of the 32 raw bytes, or the path of a PEM (PKCS#8) file")
    signing_key_file: Path | None = Field(None, description="PEM key file used when the variable is unset "
                                          "(`changetrail demo` writes one); neither = a one-off key, said so in the pack")
    sample_seed: int | None = Field(None, description="random seed of the sample; unset = derived from the period")
    sample_sizes: list[SampleTier] = Field(default_factory=lambda: [
        SampleTier(min_population=251, size=25), SampleTier(min_population=53, size=15),
        SampleTier(min_population=13, size=5), SampleTier(min_population=5, size=2),
        SampleTier(min_population=1, size=1)], description="sample size by population size (largest tier that applies)")
    oversample_emergency: int = Field(5, ge=0, description="extra emergency changes sampled on top of the base sample")
    oversample_major: int = Field(5, ge=0, description="extra Major changes sampled on top of the base sample")


class Reports(_Strict):
    organization: str = "Example Corp"
    out: Path = Path("reports")
    evidence_pack: EvidencePack = Field(default_factory=EvidencePack)


class Sealing(_Strict):
    """`changetrail seal` (warehouse/sealing.py): a quarter can be sealed this long after it ends."""

    grace_days: int = Field(15, ge=0, description="days after the quarter's end before it may be sealed (--force overrides, recorded)")


class Retention(_Strict):
    """`changetrail retention` (warehouse/retention.py): raw evidence older than this may be removed (§7)."""

    years: int = Field(3, ge=1, description="keep landing files and raw rows at least this many years (policy §7: 3)")


class Exceptions(_Strict):
    """The exceptions register (warehouse/exceptions.py): documented, approved deviations."""

    path: Path = Field(Path("exceptions.yaml"), description="YAML or CSV the compliance team edits; absent = none")
    approver_roles: list[str] = Field(default_factory=lambda: ["ciso", "eng_lead"],
                                      description="an exception counts only if its approver has one of these roles")
    allow_retroactive: bool = Field(False, description="count exceptions approved after the deployment they cover")


class Config(_Strict):
    warehouse: Warehouse = Field(default_factory=Warehouse)
    sources: Sources = Field(default_factory=Sources)
    policy: Policy = Field(default_factory=Policy)
    reports: Reports = Field(default_factory=Reports)
    sealing: Sealing = Field(default_factory=Sealing)
    exceptions: Exceptions = Field(default_factory=Exceptions)
    retention: Retention = Field(default_factory=Retention)
    schedules: Schedules = Field(default_factory=Schedules)
    teams: dict[str, str] = Field(default_factory=dict, description="repo (owner/name) -> team")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def environments(self, kind: Literal["production", "staging"]) -> list[str]:
        """Environment names of that kind across every configured code host (GitHub, GitLab)."""
        hosts = [src for src in (self.sources.github, self.sources.gitlab) if src is not None]
        names = {name for src in hosts for name in getattr(src, f"{kind}_environments")}
        return sorted(names) or [kind]

    def digest(self) -> str:
        """A stable hash of the effective configuration, recorded with every evaluation run."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


class ConfigError(ValueError):
    pass


def load_config(path: Path | str) -> Config:
    """Read a changetrail.toml; relative paths inside it are relative to the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one with `changetrail init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    return _resolve_paths(config, path.parent.resolve())


DATABASE_URI_SCHEMES = ("file:", "md:", "motherduck:")


def is_database_uri(path: Path | str) -> bool:
    """A warehouse location DuckDB opens as a URI (kept as written, not made relative to the config)."""
    return str(path).startswith(DATABASE_URI_SCHEMES)


def _resolve_paths(config: Config, base: Path) -> Config:
    def fix(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    if not is_database_uri(config.warehouse.path):
        config.warehouse.path = fix(config.warehouse.path)
    config.warehouse.landing = fix(config.warehouse.landing)
    config.reports.out = fix(config.reports.out)
    config.exceptions.path = fix(config.exceptions.path)
    if config.reports.evidence_pack.signing_key_file:
        config.reports.evidence_pack.signing_key_file = fix(config.reports.evidence_pack.signing_key_file)
    if config.sources.sarif:
        config.sources.sarif.path = fix(config.sources.sarif.path)
    if config.sources.people:
        config.sources.people.path = fix(config.sources.people.path)
    for file_source in (config.sources.scanners, config.sources.deploylog):
        if file_source:
            file_source.path = fix(file_source.path)
    for folder_source in (config.sources.k8s_audit, config.sources.cloudtrail):
        if folder_source:
            folder_source.path = fix(folder_source.path)
    for src in (config.sources.github, config.sources.gitlab, config.sources.servicenow, config.sources.pagerduty,
                config.sources.jira):
        if src and src.base_url.startswith("file://") and not src.base_url.startswith("file:///"):
            src.base_url = "file://" + str(fix(Path(src.base_url[len("file://"):])))
    return config
