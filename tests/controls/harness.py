"""Given/expect harness for controls: staging-shaped rows in an in-memory DuckDB.

`Org` starts with a directory of people; `Org.change()` adds one production change that passes
every control (PR with two valid approvals incl. a senior, checks green, scan clean, staged,
Normal ticket approved by an Eng Lead and QA). Tests then edit the rows to build the case.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb

from flows.config import Config
from warehouse.models import build_models
from warehouse.periods import parse_period
from warehouse.runner import load_controls, control_rows, write_parameters

T = "TIMESTAMPTZ"
RUNTIME_CHANGES = (f"event_id VARCHAR, observed_at {T}, actor VARCHAR, actor_kind VARCHAR, service VARCHAR, environment VARCHAR,"
                   " resource_kind VARCHAR, resource_name VARCHAR, namespace VARCHAR, action VARCHAR, source_file VARCHAR, detail JSON")
STAGING = {
    "stg_github__repositories": "repo VARCHAR, repo_id BIGINT, default_branch VARCHAR, html_url VARCHAR, archived BOOLEAN",
    "stg_github__deployments": f"deployment_id BIGINT, repo VARCHAR, sha VARCHAR, ref VARCHAR, task VARCHAR, environment VARCHAR, description VARCHAR, payload JSON, creator_login VARCHAR, creator_type VARCHAR, created_at {T}, deployment_url VARCHAR",
    "stg_github__deployment_statuses": f"status_id BIGINT, deployment_id BIGINT, repo VARCHAR, state VARCHAR, creator_login VARCHAR, created_at {T}, log_url VARCHAR",
    "stg_github__pull_requests": f"pr_id BIGINT, repo VARCHAR, number INTEGER, title VARCHAR, body VARCHAR, state VARCHAR, author_login VARCHAR, head_ref VARCHAR, head_sha VARCHAR, base_ref VARCHAR, merge_commit_sha VARCHAR, is_draft BOOLEAN, created_at {T}, merged_at {T}, closed_at {T}, html_url VARCHAR",
    "stg_github__reviews": f"review_id BIGINT, repo VARCHAR, pr_number INTEGER, reviewer_login VARCHAR, state VARCHAR, commit_id VARCHAR, submitted_at {T}, html_url VARCHAR",
    "stg_github__pr_commits": f"repo VARCHAR, pr_number INTEGER, sha VARCHAR, author_login VARCHAR, author_email VARCHAR, author_name VARCHAR, committer_login VARCHAR, committer_email VARCHAR, message VARCHAR, authored_at {T}, committed_at {T}",
    "stg_github__commit_pulls": "repo VARCHAR, sha VARCHAR, pr_number INTEGER",
    "stg_github__compares": "repo VARCHAR, base_sha VARCHAR, head_sha VARCHAR, status VARCHAR, ahead_by INTEGER, behind_by INTEGER, total_commits INTEGER, count_commits_listed INTEGER",
    "stg_github__compare_commits": f"repo VARCHAR, base_sha VARCHAR, head_sha VARCHAR, sha VARCHAR, author_login VARCHAR, author_email VARCHAR, author_name VARCHAR, committer_login VARCHAR, committer_email VARCHAR, message VARCHAR, count_parents INTEGER, authored_at {T}, committed_at {T}, html_url VARCHAR",
    "stg_github__check_runs": f"check_run_id BIGINT, repo VARCHAR, head_sha VARCHAR, name VARCHAR, status VARCHAR, conclusion VARCHAR, started_at {T}, completed_at {T}, app_slug VARCHAR, html_url VARCHAR",
    "stg_servicenow__change_requests": f"sys_id VARCHAR, number VARCHAR, type VARCHAR, category VARCHAR, risk VARCHAR, state VARCHAR, short_description VARCHAR, description VARCHAR, justification VARCHAR, implementation_plan VARCHAR, backout_plan VARCHAR, test_plan VARCHAR, risk_impact_analysis VARCHAR, requested_by_sys_id VARCHAR, opened_by_sys_id VARCHAR, assigned_to_sys_id VARCHAR, approval VARCHAR, start_date {T}, end_date {T}, close_code VARCHAR, close_notes VARCHAR, closed_at {T}, review_date {T}, review_status VARCHAR, verbal_approver_sys_id VARCHAR, verbal_approved_at {T}, created_at {T}, updated_at {T}, ticket_url VARCHAR",
    "stg_servicenow__approvals": f"sys_id VARCHAR, change_sys_id VARCHAR, approver_sys_id VARCHAR, state VARCHAR, comments VARCHAR, created_at {T}, updated_at {T}",
    "stg_servicenow__users": "sys_id VARCHAR, user_name VARCHAR, email VARCHAR, name VARCHAR, is_active BOOLEAN",
    "stg_jira__change_requests": None,  # same columns as the ServiceNow entity views (filled in below)
    "stg_jira__approvals": None,
    "stg_jira__users": None,
    "stg_pagerduty__incidents": f"incident_id VARCHAR, incident_number BIGINT, title VARCHAR, status VARCHAR, urgency VARCHAR, priority VARCHAR, service_id VARCHAR, service_name VARCHAR, created_at {T}, resolved_at {T}, html_url VARCHAR",
    "stg_pagerduty__log_entries": f"log_entry_id VARCHAR, incident_id VARCHAR, type VARCHAR, created_at {T}, note VARCHAR, agent_id VARCHAR",
    "stg_sarif__scan_findings": f"scan_file VARCHAR, tool_name VARCHAR, run_index INTEGER, result_index INTEGER, repo VARCHAR, commit_sha VARCHAR, scanned_at {T}, rule_id VARCHAR, level VARCHAR, security_severity DOUBLE, severity VARCHAR, is_suppressed BOOLEAN, message VARCHAR, location_uri VARCHAR, fingerprint VARCHAR",
    "stg_sarif__scans": f"scan_file VARCHAR, tool_name VARCHAR, run_index INTEGER, repo VARCHAR, commit_sha VARCHAR, scanned_at {T}, count_results INTEGER",
    "stg_k8s_audit__runtime_changes": RUNTIME_CHANGES,
    "stg_cloudtrail__runtime_changes": RUNTIME_CHANGES,
    "stg_github__workflow_runs": f"run_id BIGINT, repo VARCHAR, workflow_name VARCHAR, event VARCHAR, status VARCHAR, conclusion VARCHAR, head_sha VARCHAR, head_branch VARCHAR, actor_login VARCHAR, triggering_actor_login VARCHAR, created_at {T}, run_started_at {T}, updated_at {T}, html_url VARCHAR",
    "stg_people__people": "person_id VARCHAR, name VARCHAR, email VARCHAR, github_login VARCHAR, servicenow_user_sys_id VARCHAR, pagerduty_user_id VARCHAR, roles VARCHAR[], team VARCHAR, kind VARCHAR, gitlab_username VARCHAR",
}

for _entity in ("change_requests", "approvals", "users"):
    STAGING[f"stg_jira__{_entity}"] = STAGING[f"stg_servicenow__{_entity}"]
# GitLab feeds the code-host entities with the GitHub views' columns (issue 3)
for _entity in ("repositories", "deployments", "deployment_statuses", "pull_requests", "reviews", "pr_commits",
                "commit_pulls", "compares", "compare_commits", "check_runs"):
    STAGING[f"stg_gitlab__{_entity}"] = STAGING[f"stg_github__{_entity}"]
# scanner reports and deploy logs share the SARIF and GitHub entities (issue 3)
for _system in ("trivy", "snyk", "pip_audit", "checkov", "bandit", "gitlab_sast"):
    for _entity in ("scan_findings", "scans"):
        STAGING[f"stg_{_system}__{_entity}"] = STAGING[f"stg_sarif__{_entity}"]
STAGING["stg_deploylog__deployments"] = STAGING["stg_github__deployments"].replace("deployment_id BIGINT", "deployment_id VARCHAR")
STAGING["stg_deploylog__deployment_statuses"] = STAGING["stg_github__deployment_statuses"].replace(
    "status_id BIGINT, deployment_id BIGINT", "status_id VARCHAR, deployment_id VARCHAR")
STAGING["stg_github_status__check_runs"] = STAGING["stg_github__check_runs"]
STAGING["stg_github__people"] = STAGING["stg_people__people"]
STAGING["stg_github__security_alerts"] = (
    f"alert_id VARCHAR, repo VARCHAR, kind VARCHAR, tool_name VARCHAR, rule_id VARCHAR, severity VARCHAR, state VARCHAR,"
    f" created_at {T}, fixed_at {T}, dismissed_at {T}, dismissed_reason VARCHAR, closed_at {T}, commit_sha VARCHAR,"
    f" location_uri VARCHAR, html_url VARCHAR")

# changed files of a compare (CM-18, CM-19)
STAGING["stg_github__compare_files"] = ("repo VARCHAR, base_sha VARCHAR, head_sha VARCHAR, filename VARCHAR,"
                                        " previous_filename VARCHAR, status VARCHAR")
STAGING["stg_gitlab__compare_files"] = STAGING["stg_github__compare_files"]
# labels of PRs/MRs and Jira tickets (§5 emergency detection by policy.emergency_labels)
STAGING["stg_github__pull_request_labels"] = "pr_id BIGINT, repo VARCHAR, number INTEGER, label VARCHAR"
STAGING["stg_gitlab__pull_request_labels"] = STAGING["stg_github__pull_request_labels"]
STAGING["stg_jira__ticket_labels"] = "sys_id VARCHAR, number VARCHAR, label VARCHAR"

PEOPLE = [  # person_id, roles, kind
    ("alice", ["engineer"], "human"), ("bob", ["senior_engineer"], "human"),
    ("carol", ["engineer"], "human"), ("dave", ["engineer"], "human"),
    ("lena", ["eng_lead"], "human"), ("quinn", ["qa"], "human"), ("cyrus", ["ciso"], "human"),
    ("deploy-bot", [], "service"), ("ops-shared", [], "shared"),
]
BASE = datetime(2026, 8, 4, 14, 0, tzinfo=timezone.utc)  # a Tuesday inside 2026Q3
# a change request complete for CM-11 (scope = implementation_plan) and CM-12 (five-part rollback plan)
COMPLETE_TICKET = dict(
    description="Add a feature", implementation_plan="Merge, build, deploy via pipeline",
    risk_impact_analysis="Low: behind a flag", test_plan="CI unit and integration tests",
    backout_plan="Trigger: error rate above 2%. Steps: redeploy the previous release. Owner: on-call."
                 " Verify: dashboards. Estimate: 10 minutes.")


def sys_id(person: str) -> str:
    return f"sn-{person}"


class Org:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {name: [] for name in STAGING}
        self._seq = 1000
        self.manifests: list[dict] = []    # raw._manifests rows: system, finished_at (EV-01)
        self.quarantined: list[dict] = []  # raw.quarantine rows: system, stream, source, reason (EV-02)
        for person, roles, kind in PEOPLE:
            self.rows["stg_people__people"].append(dict(
                person_id=person, name=person.title(), email=f"{person}@acme.test", github_login=person,
                servicenow_user_sys_id=sys_id(person) if kind == "human" else None,
                pagerduty_user_id=None, roles=roles, team="core", kind=kind))

    def next_id(self) -> int:
        self._seq += 1
        return self._seq

    def add(self, table: str, **row) -> dict:
        self.rows[table].append(row)
        return row

    def deploy(self, repo: str, sha: str, at: datetime, env: str = "production", creator: str = "alice",
               task: str = "deploy", description: str = "", payload: dict | None = None,
               state: str = "success") -> int:
        dep_id = self.next_id()
        self.add("stg_github__deployments", deployment_id=dep_id, repo=repo, sha=sha, ref="main", task=task,
                 environment=env, description=description, payload=json.dumps(payload or {}),
                 creator_login=creator, creator_type="User", created_at=at - timedelta(minutes=5),
                 deployment_url=f"https://api.github.com/repos/{repo}/deployments/{dep_id}")
        self.add("stg_github__deployment_statuses", status_id=self.next_id(), deployment_id=dep_id, repo=repo,
                 state=state, creator_login=creator, created_at=at,
                 log_url=f"https://github.com/{repo}/actions/runs/{dep_id}")  # CM-06: run by the pipeline
        return dep_id

    def change(self, repo: str = "acme/payments", at: datetime = BASE, ticket_type: str = "normal",
               risk: str = "3", ticket: str | None = "CHG0000001", author: str = "alice",
               reviewers: tuple[str, ...] = ("bob", "carol"), deployer: str = "alice") -> dict:
        """One compliant change (plus its predecessor baseline); returns the ids to edit."""
        n = self.next_id()
        base_sha, sha, head = f"b{n:039d}", f"m{n:039d}", f"h{n:039d}"
        self.deploy(repo, base_sha, at - timedelta(days=30))
        self.deploy(repo, sha, at - timedelta(hours=3), env="staging", creator=deployer)
        dep_id = self.deploy(repo, sha, at, creator=deployer)
        self.add("stg_github__compares", repo=repo, base_sha=base_sha, head_sha=sha, status="ahead",
                 ahead_by=1, behind_by=0, total_commits=1, count_commits_listed=1)
        self.add("stg_github__compare_commits", repo=repo, base_sha=base_sha, head_sha=sha, sha=sha,
                 author_login=author, author_email=f"{author}@acme.test", author_name=author,
                 committer_login="web-flow", committer_email="noreply@github.com",
                 message=f"Add feature (#{n})", count_parents=1, authored_at=at - timedelta(days=1),
                 committed_at=at - timedelta(days=1), html_url=None)
        merged = at - timedelta(hours=4)
        self.add("stg_github__pull_requests", pr_id=n, repo=repo, number=n, title=f"{ticket or 'no ticket'}: feature",
                 body="", state="closed", author_login=author, head_ref=f"feature/{n}", head_sha=head,
                 base_ref="main", merge_commit_sha=sha, is_draft=False, created_at=merged - timedelta(days=1),
                 merged_at=merged, closed_at=merged, html_url=None)
        self.add("stg_github__pr_commits", repo=repo, pr_number=n, sha=head, author_login=author,
                 author_email=f"{author}@acme.test", author_name=author, committer_login=author,
                 committer_email=f"{author}@acme.test", message="feature", authored_at=merged - timedelta(days=1),
                 committed_at=merged - timedelta(days=1))
        self.add("stg_github__commit_pulls", repo=repo, sha=sha, pr_number=n)
        for reviewer in reviewers:
            self.review(repo, n, reviewer, "APPROVED", head, merged - timedelta(hours=1))
        for check in ("build", "test"):
            self.add("stg_github__check_runs", check_run_id=self.next_id(), repo=repo, head_sha=sha, name=check,
                     status="completed", conclusion="success", started_at=at - timedelta(hours=5),
                     completed_at=at - timedelta(hours=4, minutes=50), app_slug="github-actions", html_url=None)
        self.add("stg_sarif__scans", scan_file=f"{sha}.sarif", tool_name="CodeQL", run_index=0, repo=repo,
                 commit_sha=sha, scanned_at=at - timedelta(hours=4), count_results=0)
        change_id = f"{repo}@{dep_id}"
        ids = dict(change_id=change_id, deployment_id=dep_id, sha=sha, head=head, pr=n, repo=repo,
                   merged_at=merged, deployed_at=at, ticket=ticket)
        if ticket:
            self.add("stg_servicenow__change_requests", sys_id=f"cr-{ticket}", number=ticket, type=ticket_type,
                     risk=risk, approval="approved", requested_by_sys_id=sys_id(author),
                     created_at=at - timedelta(days=2), ticket_url=None, **COMPLETE_TICKET,
                     close_code="successful", closed_at=at + timedelta(hours=2))
            if ticket_type == "normal":
                approvers = ("lena", "cyrus") if risk in ("1", "2") else ("lena", "quinn")
                for approver in approvers:
                    self.approve(ticket, approver, at - timedelta(days=1))
        return ids

    def review(self, repo, number, reviewer, state, commit, at) -> None:
        self.add("stg_github__reviews", review_id=self.next_id(), repo=repo, pr_number=number,
                 reviewer_login=reviewer, state=state, commit_id=commit, submitted_at=at, html_url=None)

    def approve(self, ticket, approver, at, state="approved") -> None:
        self.add("stg_servicenow__approvals", sys_id=f"ap-{self.next_id()}", change_sys_id=f"cr-{ticket}",
                 approver_sys_id=sys_id(approver), state=state, created_at=at - timedelta(hours=1), updated_at=at)

    def touch(self, ids: dict, *paths: str, renamed_from: str | None = None) -> None:
        """The change's compare lists these changed files (CM-18, CM-19)."""
        cmp = self.find("stg_github__compares", repo=ids["repo"], head_sha=ids["sha"])
        for path in paths:
            self.add("stg_github__compare_files", repo=ids["repo"], base_sha=cmp["base_sha"], head_sha=ids["sha"],
                     filename=path, previous_filename=renamed_from, status="renamed" if renamed_from else "modified")

    def label_pr(self, ids: dict, *labels: str) -> None:
        """The change's PR carries these labels (GitHub `labels[].name`)."""
        for label in labels:
            self.add("stg_github__pull_request_labels", pr_id=ids["pr"], repo=ids["repo"], number=ids["pr"], label=label)

    def find(self, table: str, **match) -> dict:
        hits = [r for r in self.rows[table] if all(r.get(k) == v for k, v in match.items())]
        assert len(hits) == 1, f"{table} {match}: {len(hits)} rows"
        return hits[0]

    def drop(self, table: str, **match) -> None:
        self.rows[table] = [r for r in self.rows[table] if not all(r.get(k) == v for k, v in match.items())]

    # -- evaluation ---------------------------------------------------------------------------
    def connect(self, config: Config | None = None, evaluated_at: datetime | None = None):
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema raw")
        con.execute("create table raw._manifests (system VARCHAR, unit VARCHAR, run_id VARCHAR,"
                    " started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ)")  # the columns EV-01 reads
        for m in self.manifests:
            con.execute("insert into raw._manifests values (?, ?, 'run', ?, ?)",
                        [m["system"], m.get("unit"), m["finished_at"], m["finished_at"]])
        con.execute("create table raw.quarantine (_run_id VARCHAR, system VARCHAR, stream VARCHAR, source VARCHAR,"
                    " locator VARCHAR, reason VARCHAR, raw VARCHAR, _loaded_at TIMESTAMPTZ)")
        for q in self.quarantined:
            con.execute("insert into raw.quarantine values ('run', ?, ?, ?, ?, ?, '', now())",
                        [q["system"], q["stream"], q["source"], q.get("locator", "page 1"), q["reason"]])
        for name, columns in STAGING.items():
            con.execute(f"create table {name} ({columns})")
            cols = [c.split()[0] for c in columns.split(", ")]
            rows = [tuple(r.get(c) for c in cols) for r in self.rows[name]]
            if rows:
                con.executemany(f"insert into {name} values ({', '.join('?' * len(cols))})", rows)
        config = config or Config()
        write_parameters(con, config, parse_period("2026Q3"),
                         evaluated_at or datetime(2026, 11, 27, tzinfo=timezone.utc))
        build_models(con, layers=("intermediate",), materialize=())
        return con

    def evaluate(self, control_id: str, **kwargs) -> dict[str, tuple[str, str]]:
        """subject_id -> (status, reason) for one control."""
        con = self.connect(**kwargs)
        control = next(c for c in load_controls() if c.control_id == control_id)
        return {row[0]: (row[1], row[2]) for row in control_rows(con, control)}
