"""The evidence chain of one change, read from the warehouse (no Prefect, read-only).

Used by `changetrail explain` and by reports that show one change per page.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from warehouse.runner import latest_run_id


@dataclass
class Explanation:
    change: dict
    commits: list[dict] = field(default_factory=list)
    pull_requests: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    ticket: dict | None = None
    approvals: list[dict] = field(default_factory=list)
    scans: list[dict] = field(default_factory=list)
    staging: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)


def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def find_change(con: duckdb.DuckDBPyConnection, ref: str, run_id: str) -> str:
    """Accept a change id, a deployment id or a commit sha (prefix of 7+)."""
    hits = con.execute(
        """select change_id from change_outcomes where run_id = $run and
           (change_id = $ref or deployment_id::varchar = $ref or (length($ref) >= 7 and sha like $ref || '%'))
           order by deployed_at""", {"run": run_id, "ref": ref}).fetchall()
    if not hits:
        raise LookupError(f"no change matches {ref!r} in evaluation run {run_id}")
    if len(hits) > 1:
        raise LookupError(f"{ref!r} matches {len(hits)} changes: " + ", ".join(h[0] for h in hits[:5]))
    return hits[0][0]


def explain(con: duckdb.DuckDBPyConnection, ref: str, run_id: str | None = None) -> Explanation:
    run_id = run_id or latest_run_id(con)
    if run_id is None:
        raise LookupError("the warehouse has no evaluation run yet (run `changetrail run` first)")
    change_id = find_change(con, ref, run_id)
    change = _rows(con, "select * from change_outcomes where run_id = ? and change_id = ?", [run_id, change_id])[0]
    repo, sha = change["repo"], change["sha"]
    exp = Explanation(change=change)
    exp.results = _rows(con, """select r.control_id, c.title, c.clause, r.status, r.reason
        from control_results r left join control_catalog c using (control_id)
        where r.run_id = ? and r.subject_id = ? order by r.control_id""", [run_id, change_id])
    # The models below are rebuilt per evaluation; they describe the latest one.
    exp.commits = _rows(con, """select left(sha, 12) as sha, pr_number, author_login,
        split_part(coalesce(message, ''), chr(10), 1) as message from int_change_commits_linked_to_prs
        where change_id = ? order by authored_at nulls first, sha""", [change_id])
    exp.pull_requests = _rows(con, """select number, title, author_login, head_ref, left(head_sha, 12) as head_sha,
        merged_at, html_url from int_changes_linked_to_prs where change_id = ? order by number""", [change_id])
    exp.reviews = _rows(con, """select r.pr_number, r.reviewer_login, r.state, left(r.commit_id, 12) as commit_id,
        r.submitted_at, r.is_on_head, r.is_before_merge, r.is_participant, r.is_latest_decision
        from int_reviews_evaluated r join int_changes_linked_to_prs p on p.repo = r.repo and p.number = r.pr_number
        where p.change_id = ? order by r.pr_number, r.submitted_at""", [change_id])
    exp.checks = _rows(con, """select name, status, conclusion, completed_at from int_check_runs_unioned
        where repo = ? and head_sha = ? order by name, completed_at""", [repo, sha])
    tickets = _rows(con, """select t.number, t.type, t.category, t.risk, t.state, t.short_description,
        t.created_at, t.review_date, t.ticket_url from int_changes_linked_to_tickets l
        join int_tickets_categorized t on t.sys_id = l.ticket_sys_id where l.change_id = ?""", [change_id])
    exp.ticket = tickets[0] if tickets else None
    if exp.ticket:
        exp.approvals = _rows(con, """select coalesce(a.approver_person_id, a.approver_sys_id) as approver,
            array_to_string(a.approver_roles, ', ') as roles, a.state, a.updated_at
            from int_ticket_approvals_resolved a join int_change_requests_unioned t on t.sys_id = a.change_sys_id
            where t.number = ? order by a.updated_at""", [exp.ticket["number"]])
    exp.scans = _rows(con, """select s.tool_name, s.scanned_at, s.count_results,
        count(r.rule_id) filter (where not r.is_suppressed and r.severity in ('critical', 'high')) as open_critical_high
        from int_scans_unioned s left join int_scan_findings_unioned r on r.scan_file = s.scan_file and r.run_index = s.run_index
        where s.repo = ? and s.commit_sha = ? group by all order by s.scanned_at""", [repo, sha])
    exp.staging = _rows(con, """select environment, succeeded_at from int_deployments_succeeded
        where is_staging and repo = ? and sha = ? order by succeeded_at""", [repo, sha])
    return exp
