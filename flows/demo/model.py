"""The in-memory sample organization.

These records carry exactly what the source APIs expose (the staging columns of
``warehouse/README.md``), so the payload writers serialize them and the reference evaluation
(``truth.py``) reads them without knowing how they were generated. Generation intent (what was
injected, on purpose) lives apart, in :class:`ChangePlan`.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class Person:
    person_id: str
    name: str
    email: str
    github_login: str
    github_id: int
    sn_sys_id: str          # '' for accounts without a ServiceNow user
    pd_id: str              # '' for accounts without a PagerDuty user
    roles: tuple[str, ...]
    team: str
    kind: str               # human / service / shared
    gh_type: str = "User"   # GitHub account type: User or Bot
    user_name: str = ""     # ServiceNow user_name

    @property
    def noreply_email(self) -> str:
        return f"{self.github_id}+{self.github_login}@users.noreply.github.com"


@dataclass(slots=True)
class Repo:
    name: str
    full_name: str
    id: int
    team: str
    language: str
    description: str
    created_at: int
    is_new: bool            # first production deployment falls inside the period
    weight: float = 1.0


@dataclass(slots=True)
class Commit:
    sha: str
    message: str
    author_name: str
    author_email: str
    author_login: str | None
    committer_name: str
    committer_email: str
    committer_login: str | None
    authored_at: int
    committed_at: int
    parents: list[str]
    tree: str


@dataclass(slots=True)
class Review:
    login: str
    state: str              # APPROVED / CHANGES_REQUESTED / COMMENTED / DISMISSED
    commit_id: str
    submitted_at: int
    body: str = ""
    id: int = 0


@dataclass(slots=True)
class PullRequest:
    repo: str               # full name
    number: int
    title: str
    body: str
    author_login: str
    head_ref: str
    base_ref: str
    created_at: int
    merged_at: int | None
    closed_at: int | None
    merge_commit_sha: str | None
    commits: list[Commit] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    draft: bool = False
    labels: tuple[str, ...] = ()
    merged_by: str | None = None
    id: int = 0

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha

    @property
    def state(self) -> str:
        return "open" if self.closed_at is None else "closed"


@dataclass(slots=True)
class DeploymentStatus:
    state: str              # queued / in_progress / success / failure / error / inactive
    created_at: int
    creator_login: str
    description: str = ""
    id: int = 0


@dataclass(slots=True)
class Deployment:
    repo: str
    sha: str
    ref: str
    task: str
    environment: str
    description: str
    payload: dict
    creator_login: str
    created_at: int
    statuses: list[DeploymentStatus] = field(default_factory=list)
    id: int = 0
    manual: bool = False        # made by hand (CM-06): no CI run log on its statuses, no GitLab job

    def first_success(self) -> int | None:
        times = [s.created_at for s in self.statuses if s.state == "success"]
        return min(times) if times else None


@dataclass(slots=True)
class Compare:
    repo: str
    base: str
    head: str
    status: str             # ahead / behind / identical / diverged
    ahead_by: int
    behind_by: int
    commits: list[Commit]
    files: list[str] = field(default_factory=list)    # changed files the compare lists (CM-18, CM-19)


@dataclass(slots=True)
class CheckRun:
    repo: str
    head_sha: str
    name: str
    status: str             # queued / in_progress / completed
    conclusion: str | None
    started_at: int
    completed_at: int | None
    app_slug: str = "github-actions"
    id: int = 0


@dataclass(slots=True)
class SarifRule:
    id: str
    name: str
    text: str
    level: str | None                 # defaultConfiguration.level
    security_severity: str | None     # properties.security-severity (number or word, as text)


@dataclass(slots=True)
class SarifResult:
    rule_id: str
    level: str | None
    message: str
    uri: str
    line: int
    fingerprint: str
    suppressions: list[dict] | None = None


@dataclass(slots=True)
class SarifRun:
    tool: str
    version: str
    repo: str               # full name
    commit_sha: str
    ref: str
    end_time: int
    rules: list[SarifRule]
    results: list[SarifResult]


@dataclass(slots=True)
class SarifFile:
    repo_name: str
    file_name: str
    runs: list[SarifRun]
    corrupt: bool = False   # written truncated: not JSON, the extractor must quarantine it


@dataclass(slots=True)
class ChangeRequest:
    sys_id: str
    number: str
    type: str               # standard / normal / emergency / (anything else: unknown)
    risk: str               # '1'..'4'
    impact: str
    state: str
    short_description: str
    description: str
    justification: str
    implementation_plan: str
    backout_plan: str
    test_plan: str
    risk_impact_analysis: str
    requested_by: str       # sys_id
    opened_by: str
    assigned_to: str
    approval: str           # approved / requested / rejected / not requested
    start_date: int | None
    end_date: int | None
    close_code: str
    close_notes: str
    closed_at: int | None
    review_date: int | None
    review_status: str
    verbal_approver: str    # sys_id or ''
    verbal_approved_at: int | None
    created_at: int
    updated_at: int
    category: str = "Software"


@dataclass(slots=True)
class Approval:
    sys_id: str
    change_sys_id: str
    approver_sys_id: str
    state: str              # approved / rejected / requested / not_required
    comments: str
    created_at: int
    updated_at: int


@dataclass(slots=True)
class LogEntry:
    id: str
    type: str               # trigger_log_entry / acknowledge_log_entry / annotate_log_entry / resolve_log_entry
    created_at: int
    agent_pd_id: str
    note: str = ""


@dataclass(slots=True)
class Incident:
    id: str
    number: int
    title: str
    status: str
    urgency: str
    priority: str | None    # P1..P5
    service_id: str
    service_name: str
    created_at: int
    resolved_at: int | None
    log_entries: list[LogEntry] = field(default_factory=list)


@dataclass(slots=True)
class ChangePlan:
    """Generation intent for one production deployment (what the ground truth explains)."""

    repo: str
    deploy_at: int                      # planned first success of the production deployment
    category: str                       # Standard / Normal / Major / Emergency / Expedited / none
    injected: list[str] = field(default_factory=list)
    expect: set[str] = field(default_factory=set)     # controls the injections are meant to fail
    is_rollback: bool = False
    is_baseline: bool = False
    after_rollback: bool = False
    rollback_target: str | None = None                 # sha a rollback goes back to
    deployment: Deployment | None = None
    sha: str = ""

    def has(self, name: str) -> bool:
        return name in self.injected


@dataclass
class Org:
    """Everything the sample APIs serve."""

    org: str
    people: list[Person]
    repos: list[Repo]
    pulls: list[PullRequest] = field(default_factory=list)
    commits: dict[tuple[str, str], Commit] = field(default_factory=dict)   # (repo, sha) -> commit on main
    commit_pulls: dict[tuple[str, str], list[PullRequest]] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    compares: list[Compare] = field(default_factory=list)
    check_runs: dict[tuple[str, str], list[CheckRun]] = field(default_factory=dict)
    sarif_files: list[SarifFile] = field(default_factory=list)
    change_requests: list[ChangeRequest] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)      # repo name -> PagerDuty service id
    bad_reviews: dict[tuple[str, int], Review] = field(default_factory=dict)  # served without "id"
    bad_people_rows: list[list[str]] = field(default_factory=list)
    touched_files: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (repo, deployed sha) -> files
