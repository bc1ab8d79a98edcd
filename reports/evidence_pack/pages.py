"""One evidence page per sampled change, from warehouse/explain.py's evidence chain, with a
timeline that marks every step out of order against the production deployment and the merge."""
from __future__ import annotations

from datetime import datetime

from reports.document import fmt_when, outcome_css, outcome_label, status_label
from reports.evidence_pack.model import ChangePage, Row, Table, TimelineStep
from reports.quarterly.model import LabelValue
from reports.quarterly.sections import clip
from warehouse.explain import Explanation, explain, explain_many

NONE = "None recorded."
TEXT = 240  # characters of source text shown per cell; the full text is in the attachments


def _t(value) -> str:
    return fmt_when(value) if isinstance(value, datetime) else ("—" if value in (None, "") else str(value))


def _table(heads, rows, empty=NONE, widths=None) -> Table:
    return Table(heads, [r if isinstance(r, Row) else Row([_t(c) for c in r]) for r in rows], empty, widths)


def _after(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a > b


def timeline(exp: Explanation) -> list[TimelineStep]:
    """Every dated step of the change in time order; a step out of order carries its flag."""
    deployed = exp.change.get("deployed_at")
    merged = [p["merged_at"] for p in exp.pull_requests if p.get("merged_at")]
    last_merge = max(merged) if merged else None
    steps: list[tuple[datetime | None, str, str, str]] = []
    if exp.ticket:
        created = exp.ticket.get("created_at")
        late = _after(created, deployed) and not exp.change.get("is_emergency")
        steps.append((created, "Ticket created", exp.ticket["number"], "ticket created after deploy" if late else ""))
    for a in exp.approvals:
        flag = "approved after deploy" if a.get("state") == "approved" and _after(a.get("updated_at"), deployed) else ""
        steps.append((a.get("updated_at"), f"Approval {a.get('state') or ''}".strip(),
                      f"{a.get('approver') or '—'} ({a.get('roles') or 'no role'})", flag))
    for r in exp.reviews:
        pr_merge = next((p["merged_at"] for p in exp.pull_requests if p["number"] == r["pr_number"]), None)
        flags = []
        if r.get("is_before_merge") is False or _after(r.get("submitted_at"), pr_merge):
            flags.append("reviewed after merge")
        if r.get("is_on_head") is False:
            flags.append("review not on the merged commit")
        if _after(r.get("submitted_at"), deployed):
            flags.append("reviewed after deploy")
        steps.append((r.get("submitted_at"), f"Review {str(r.get('state') or '').lower()}".strip(),
                      f"PR #{r['pr_number']} by {r.get('reviewer_login') or '—'} on {r.get('commit_id') or '—'}",
                      "; ".join(flags)))
    for p in exp.pull_requests:
        if p.get("merged_at"):
            steps.append((p["merged_at"], "PR merged", f"#{p['number']}",
                          "merged after deploy" if _after(p["merged_at"], deployed) else ""))
    for c in exp.checks:
        steps.append((c.get("completed_at"), "Check completed",
                      f"{c.get('name')}: {c.get('conclusion') or c.get('status') or '—'}",
                      "check completed after deploy" if _after(c.get("completed_at"), deployed) else ""))
    for s in exp.scans:
        steps.append((s.get("scanned_at"), "Scan", f"{s.get('tool_name')}: {s.get('open_critical_high', 0)} open critical/high",
                      "scanned after deploy" if _after(s.get("scanned_at"), deployed) else ""))
    for d in exp.staging:
        steps.append((d.get("succeeded_at"), "Staging deployment", d.get("environment") or "",
                      "staging after production" if _after(d.get("succeeded_at"), deployed) else ""))
    steps.append((deployed, "Production deployment (this change)", exp.change.get("deployment_id") or "",
                  "deployed before the merge" if _after(last_merge, deployed) else ""))
    for i in exp.incidents:
        steps.append((i.get("created_at"), "Incident opened", f"#{i.get('incident_number')} {i.get('priority') or ''}", ""))
    steps.sort(key=lambda s: (s[0] is None, s[0] or datetime.min, s[1]))
    return [TimelineStep(_t(when) if when else "time unknown", event, clip(detail, TEXT), flag,
                         "flag" if flag else "") for when, event, detail, flag in steps]


def change_page(con, change_id: str, run_id: str, reason_sampled: str) -> ChangePage:
    return page_of(explain(con, change_id, run_id), change_id, reason_sampled)


def change_pages(con, run_id: str, sampled: list[tuple[str, str]]) -> list[ChangePage]:
    """One page per (change id, reason sampled), in that order, from one batched explain_many."""
    exps = explain_many(con, [change_id for change_id, _ in sampled], run_id)
    return [page_of(exps[change_id], change_id, reason) for change_id, reason in sampled]


def page_of(exp: Explanation, change_id: str, reason_sampled: str) -> ChangePage:
    c = exp.change
    steps = timeline(exp)
    flags = sorted({f for s in steps if s.flag for f in s.flag.split("; ")})
    ticket = exp.ticket or {}
    ticket_fields = [LabelValue(label, _t(ticket.get(key))) for label, key in (
        ("Number", "number"), ("Type", "type"), ("Category", "category"), ("Risk", "risk"),
        ("State", "state"), ("Created (UTC)", "created_at"), ("Post-hoc review", "review_date"))]
    if ticket:
        ticket_fields.insert(1, LabelValue("Short description", clip(ticket.get("short_description"), TEXT)))
    not_passed = [r for r in exp.results if r["status"] in ("fail", "error")]
    return ChangePage(
        change_id=change_id, heading=f"{c.get('repo')} · deployment {c.get('deployment_id')}",
        reason_sampled=reason_sampled, outcome=outcome_label(c.get("outcome")),
        outcome_css=outcome_css(c.get("outcome")),
        facts=[LabelValue("Change", change_id), LabelValue("Service / team", f"{c.get('service') or '—'} / {c.get('team') or '—'}"),
               LabelValue("Deployed (UTC)", _t(c.get("deployed_at"))), LabelValue("Deployed commit", _t(c.get("sha"))),
               LabelValue("Deployer", f"{c.get('deployer_login') or '—'} ({c.get('deployer_person_id') or 'no person'})"),
               LabelValue("Category", f"{c.get('category') or 'unknown'}" + (" · emergency" if c.get("is_emergency") else "")
                          + (" · rollback" if c.get("is_rollback") else ""))],
        ticket=ticket_fields if ticket else [], ticket_empty="No ticket is linked to this change.",
        approvals=_table(["Approver", "Role", "State", "When (UTC)"],
                         [[a.get("approver"), a.get("roles"), a.get("state"), a.get("updated_at")] for a in exp.approvals],
                         "No approval recorded."),
        pull_requests=_table(["PR", "Title", "Author", "Head commit", "Merged (UTC)"],
                             [[f"#{p['number']}", clip(p.get("title"), TEXT), p.get("author_login"), p.get("head_sha"),
                               p.get("merged_at")] for p in exp.pull_requests], "No pull request is linked to this change.",
                             ["12mm", "", "28mm", "24mm", "27mm"]),
        reviews=_table(["PR", "Reviewer", "State", "On commit", "When (UTC)"],
                       [[f"#{r['pr_number']}", r.get("reviewer_login"), r.get("state"), r.get("commit_id"), r.get("submitted_at")]
                        for r in exp.reviews], "No review recorded."),
        commits=_table(["Commit", "PR", "Author", "Message"],
                       [[m.get("sha"), m.get("pr_number"), m.get("author_login"), clip(m.get("message"), TEXT)] for m in exp.commits],
                       "No commit linked through a pull request.", ["24mm", "12mm", "30mm", ""]),
        checks=_table(["Check at the deployed commit", "Status", "Conclusion", "Completed (UTC)"],
                      [[k.get("name"), k.get("status"), k.get("conclusion"), k.get("completed_at")] for k in exp.checks],
                      "No check ran on the deployed commit."),
        scans=_table(["Scanner", "Scanned (UTC)", "Results", "Open critical/high"],
                     [[s.get("tool_name"), s.get("scanned_at"), s.get("count_results"), s.get("open_critical_high")] for s in exp.scans],
                     "No scan of the deployed commit."),
        deployments=_table(["Environment", "Deployment", "By", "Succeeded (UTC)"],
                           [[d.get("environment"), "—", "—", d.get("succeeded_at")] for d in exp.staging]
                           + [[d.get("environment"), d.get("deployment_id"), d.get("creator_login"), d.get("succeeded_at")]
                              for d in exp.production], "No deployment of this commit recorded."),
        incidents=_table(["Incident", "Title", "Priority", "Opened (UTC)", "Post-incident review"],
                         [[f"#{i.get('incident_number')}", clip(i.get("title"), TEXT), i.get("priority"), i.get("created_at"),
                           "yes" if i.get("has_post_incident_review") else "no"] for i in exp.incidents],
                         "No incident is linked to this change.", ["16mm", "", "16mm", "27mm", "24mm"]),
        timeline=steps, flags=flags, flags_empty="Every dated step is in order.",
        results=_table(["Control", "Title", "Status", "Reason"],
                       [Row([r["control_id"], r.get("title") or "", status_label(r["status"]), clip(r.get("reason"), TEXT)],
                            "bad") for r in not_passed], "Every control passed or did not apply.",
                       ["14mm", "38mm", "14mm", ""]),
    )
