"""Ground truth (expected failures, every change with its outcome, every control result, a
summary) and the demo's changetrail.toml."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import fields

from flows.demo.clock import Period, gh_time
from flows.demo.content import SCHEDULE
from flows.demo.model import ChangePlan, Org
from flows.demo.truth import CHANGE_CONTROLS, Change, Policy, Result
from flows.demo.writer import Files


def _csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def write_ground_truth(files: Files, changes: list[Change], ev03: list[Result], plans: list[ChangePlan],
                       org: Org, period: Period, meta: dict, others: list[Result] = ()) -> dict:
    """`others`: results whose subjects are not changes (CM-07 runtime changes, EV-02 repositories)."""
    by_deployment = {p.deployment.id: p for p in plans if p.deployment is not None}
    results = [r for c in changes for r in c.results.values()] + ev03 + list(others)
    failures = sorted((r for r in results if r.status == "fail"), key=lambda r: (r.control_id, r.subject_id))
    files.put("ground_truth/expected_failures.csv",
              _csv(["control_id", "subject_id", "reason"], [[r.control_id, r.subject_id, r.reason] for r in failures]))
    files.put("ground_truth/control_results.csv",
              _csv(["control_id", "subject_id", "status", "reason"],
                   [[r.control_id, r.subject_id, r.status, r.reason]
                    for r in sorted(results, key=lambda r: (r.control_id, r.subject_id))]))
    rows = []
    for c in sorted(changes, key=lambda c: (c.deployed_at, c.change_id)):
        plan = by_deployment[c.deployment_id]
        rows.append([c.change_id, c.repo, gh_time(c.deployed_at), c.category, _bool(c.is_emergency),
                     _bool(c.is_rollback), _bool(c.is_baseline), c.outcome, ";".join(plan.injected),
                     c.ticket.number if c.ticket else "", ";".join(c.failed)])
    files.put("ground_truth/changes.csv",
              _csv(["change_id", "repo", "deployed_at", "category", "is_emergency", "is_rollback", "is_baseline",
                    "expected_outcome", "injected", "ticket_number", "failed_controls"], rows))

    n = len(changes)
    controls = {}
    for control in CHANGE_CONTROLS:
        status = Counter(c.results[control].status for c in changes)
        applicable = status["pass"] + status["fail"]
        controls[control] = {"fail": status["fail"], "pass": status["pass"],
                             "not_applicable": status["not_applicable"],
                             "fail_rate_of_changes": round(status["fail"] / n, 4) if n else 0.0,
                             "fail_rate_of_applicable": round(status["fail"] / applicable, 4) if applicable else 0.0}
    controls["EV-03"] = {"fail": sum(r.status == "fail" for r in ev03),
                         "failing_subjects": [r.subject_id for r in ev03 if r.status == "fail"]}
    for control in sorted({r.control_id for r in others}):
        status = Counter(r.status for r in others if r.control_id == control)
        controls[control] = {"fail": status["fail"], "pass": status["pass"], "not_applicable": status["not_applicable"]}
    in_period = [by_deployment[c.deployment_id] for c in changes]
    summary = {
        **meta,
        "period": {"label": period.label, "start": gh_time(period.start), "end": gh_time(period.end)},
        "counts": {
            "changes": n, "repositories": len(org.repos),
            "people_human": sum(p.kind == "human" for p in org.people),
            "accounts_service": sum(p.kind == "service" for p in org.people),
            "accounts_shared": sum(p.kind == "shared" for p in org.people),
            "deployments": len(org.deployments),
            "deployments_production": sum(d.environment == "production" for d in org.deployments),
            "deployments_staging": sum(d.environment == "staging" for d in org.deployments),
            "deployments_failed": sum(d.first_success() is None for d in org.deployments),
            "pull_requests": len(org.pulls), "reviews": sum(len(p.reviews) for p in org.pulls),
            "change_requests": len(org.change_requests), "approvals": len(org.approvals),
            "incidents": len(org.incidents), "sarif_files": len(org.sarif_files),
            "emergencies": sum(c.is_emergency for c in changes), "rollbacks": sum(c.is_rollback for c in changes),
            "baselines": sum(c.is_baseline for c in changes),
            "expected_failures": len(failures),
        },
        "categories": dict(sorted(Counter(c.category for c in changes).items())),
        "outcomes": dict(sorted(Counter(c.outcome for c in changes).items())),
        "controls": controls,
        "injections": dict(sorted(Counter(k for p in in_period for k in p.injected).items())),
        "assumptions": {
            "evaluated_at": "any time after the end of the period + 10 days (CM-15 deadlines have passed)",
            "policy": {f.name: (sorted(getattr(Policy(), f.name)) if isinstance(getattr(Policy(), f.name), frozenset)
                                else getattr(Policy(), f.name)) for f in fields(Policy)},
        },
    }
    files.put("ground_truth/summary.json", json.dumps(summary, indent=2, default=list) + "\n")
    return summary


def content_policy_toml() -> str:
    """CM-13 schedule (the demo's own, flows/demo/content.py), CM-18/CM-19 defaults spelled out."""
    p = Policy()

    def lst(values) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    sched = SCHEDULE
    areas = ", ".join(f"{area} = {lst(globs)}" for area, globs in p.sensitive_paths)
    rules = ", ".join(f'{name} = {{ min_category = "{minimum}", paths = {lst(globs)} }}'
                      for name, minimum, globs in p.category_rules)
    return (f'schedule = {{ time_zone = "{sched["time_zone"]}", maintenance_windows = {lst(sched["maintenance_windows"])}, '
            f'peak_hours = {lst(sched["peak_hours"])}, notice_hours = {sched["notice_hours"]} }}\n'
            f"sensitive_paths = {{ {areas} }}\n"
            f"security_approver_roles = {lst(p.security_approver_roles)}\n"
            f"category_rules = {{ {rules} }}")


def config_toml(org: Org, unlisted: str | None = None) -> str:
    """`unlisted`: a deploying repository left out of `[teams]`, the onboarded list (EV-02, coverage.py)."""
    p = Policy()

    def lst(values) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    teams = "\n".join(f'"{r.full_name}" = "{r.team}"' for r in sorted(org.repos, key=lambda r: r.full_name)
                      if r.full_name != unlisted)
    return f"""# changetrail demo: the sample organization generated by `changetrail demo`.
# Sources are folders served through the FolderTransport; paths are relative to this file.
log_level = "INFO"

[warehouse]
path = "changetrail.duckdb"
landing = "landing"

[sources.github]
base_url = "file://sample/github"
org = "{org.org}"
production_environments = {lst(p.production_environments)}
staging_environments = {lst(p.staging_environments)}

[sources.servicenow]
base_url = "file://sample/servicenow"

[sources.pagerduty]
base_url = "file://sample/pagerduty"

[sources.sarif]
path = "sample/sarif"

[sources.people]
path = "sample/people.csv"

# SOC2-CHG-001 defaults, spelled out: the ground truth in sample/ground_truth assumes them.
[policy]
ticket_key_pattern = "CHG[0-9]{{7}}"
required_checks = {lst(p.required_checks)}
min_reviewers = {p.min_reviewers}
senior_roles = {lst(p.senior_roles)}
blocking_severities = {lst(p.blocking_severities)}
emergency_documentation_hours = {p.emergency_documentation_hours}
emergency_review_business_days = {p.emergency_review_business_days}
holidays = []
rollback_incident_priorities = {lst(p.rollback_incident_priorities)}
rollback_incident_window_hours = {p.rollback_incident_window_hours}
post_incident_review_marker = "{p.post_incident_review_marker}"
rollback_tasks = {lst(p.rollback_tasks)}
rollback_plan_parts = {{ {", ".join(f"{k} = {json.dumps(v)}" for k, v in p.rollback_plan_parts)} }}
closing_deadline_days = {p.closing_deadline_days}
{content_policy_toml()}

[reports]
organization = "Acme Cloud, Inc."
out = "."          # reports go to <this folder>/<period>/

[teams]
{teams}
"""
