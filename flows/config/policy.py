"""[policy]: SOC2-CHG-001 as settings. The defaults encode the policy; each key says which control reads it."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from warehouse.policy_rules import glob_regex, iana_zone, weekly_spans

from flows.config.base import _Strict


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
        return iana_zone(value)

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
