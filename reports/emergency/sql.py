"""Read-only queries of the emergency-change report, scoped to one evaluation run.

Reads: change_outcomes, run_results(run) (CM-14/15/16 evidence: documented_at, review_date,
deadline, verbal_approver, verbal_approved_at, ciso_signoff), evaluation_runs; the warehouse's
business-day calendar `int_business_days_numbered` (holidays from the policy); the approvals
`int_ticket_approvals_resolved` + `int_change_requests_unioned` (when the sign-off was given);
`int_incidents_unioned` (PagerDuty); `int_people_unioned` (names and roles).
Tables a partial warehouse lacks give no rows, and the report says so.
"""
from __future__ import annotations

import duckdb

from reports.quarterly.sql import Row, rows

CLOSE_OUT = ("CM-14", "CM-15", "CM-16")


def optional_rows(con, sql: str, params: list | None = None) -> list[Row] | None:
    """Rows, or None when a model the query reads is not in this warehouse."""
    try:
        return rows(con, sql, params)
    except duckdb.CatalogException:
        return None


def emergency_changes(con, run_id: str, period: str) -> list[Row]:
    """Every emergency change of the run with the evidence of its §5 checks."""
    return rows(con, """
        with em as (
            select change_id, coalesce(service, repo, '') as service, coalesce(team, '') as team,
                   timezone('UTC', deployed_at) as deployed_at, ticket_number, ticket_url,
                   deployment_url, outcome, coalesce(failed_controls, []) as failed_controls
            from change_outcomes where run_id = ? and period = ? and is_emergency
        ),
        r as (select subject_id, control_id, status, reason, evidence, evaluated_at
              from run_results(?) where list_contains(?, control_id))
        select em.*,
               r14.status as s14, r14.reason as reason14,
               timezone('UTC', (r14.evidence->>'documented_at')::timestamptz) as documented_at,
               r15.status as s15, r15.reason as reason15,
               timezone('UTC', (r15.evidence->>'review_date')::timestamptz) as review_date,
               (r15.evidence->>'deadline')::date as deadline,
               timezone('UTC', r15.evaluated_at) as evaluated_at,
               r16.status as s16, r16.reason as reason16,
               r16.evidence->>'verbal_approver' as verbal_approver,
               timezone('UTC', (r16.evidence->>'verbal_approved_at')::timestamptz) as verbal_approved_at,
               coalesce((r16.evidence->'ciso_signoff')::varchar[], []) as signoff_people
        from em
        left join r as r14 on r14.subject_id = em.change_id and r14.control_id = 'CM-14'
        left join r as r15 on r15.subject_id = em.change_id and r15.control_id = 'CM-15'
        left join r as r16 on r16.subject_id = em.change_id and r16.control_id = 'CM-16'
        order by em.deployed_at, em.change_id""", [run_id, period, run_id, list(CLOSE_OUT)])


def failed_gates(con, run_id: str, change_ids: list[str], gates: list[str]) -> list[Row]:
    return rows(con, """
        select r.subject_id, r.control_id, coalesce(c.title, r.control_id) as title,
               coalesce(r.reason, '') as reason
        from run_results(?) r left join control_catalog c using (control_id)
        where r.status = 'fail' and list_contains(?, r.control_id)
          and list_contains(?, r.subject_id)
        order by r.subject_id, r.control_id""", [run_id, gates, change_ids])


def business_days_between(con, pairs: list[tuple[str, object, object]]) -> dict[str, int | None]:
    """change_id -> business days after the deployment day up to the review day, counted on the
    warehouse's calendar; None when the calendar does not cover both days."""
    if not pairs:
        return {}
    found = optional_rows(con, """
        with p as (select unnest(?::varchar[]) as change_id, unnest(?::date[]) as deployed,
                          unnest(?::date[]) as reviewed),
        cal as (select min(day) as first_day, max(day) as last_day from int_business_days_numbered)
        select p.change_id,
               case when cal.first_day <= p.deployed and cal.last_day >= p.reviewed then
                   (select count(*) from int_business_days_numbered b
                    where b.day > p.deployed and b.day <= p.reviewed) end as n
        from p, cal""", [[c for c, _, _ in pairs], [d for _, d, _ in pairs], [r for _, _, r in pairs]])
    return {r["change_id"]: (None if r["n"] is None else int(r["n"])) for r in found or []}


def signoff_times(con, ticket_numbers: list[str]) -> list[Row]:
    """Approved approval rows of these tickets with their resolved approver (when they signed)."""
    return optional_rows(con, """
        select t.number as ticket_number, a.approver_person_id as person_id,
               timezone('UTC', coalesce(a.updated_at, a.created_at)) as approved_at
        from int_ticket_approvals_resolved a
        join int_change_requests_unioned t on t.sys_id = a.change_sys_id
        where a.state = 'approved' and list_contains(?, t.number)
        order by approved_at""", [ticket_numbers]) or []


def people(con, person_ids: list[str]) -> dict[str, Row]:
    found = optional_rows(con, """
        select person_id, coalesce(name, person_id) as name, coalesce(roles, []) as roles
        from int_people_unioned where list_contains(?, person_id)""", [person_ids])
    return {r["person_id"]: r for r in found or []}


def incidents_near(con, changes: list[tuple[str, str, object]], window_hours: int) -> list[Row] | None:
    """PagerDuty incidents on the change's service (service name = repository name) created within
    `window_hours` of the deployment: the CM-17 matching rule, applied to emergencies."""
    if not changes:
        return []
    return optional_rows(con, """
        with c as (select unnest(?::varchar[]) as change_id, unnest(?::varchar[]) as service,
                          unnest(?::timestamp[]) as deployed_at)
        select c.change_id, coalesce(i.incident_number::varchar, i.incident_id) as number,
               coalesce(i.priority, '') as priority, coalesce(i.title, '') as title,
               timezone('UTC', i.created_at) as created_at, coalesce(i.html_url, '') as url
        from c join int_incidents_unioned i on i.service_name = c.service
         and timezone('UTC', i.created_at) between c.deployed_at - to_hours(?) and c.deployed_at + to_hours(?)
        order by c.change_id, i.created_at""",
                         [[x[0] for x in changes], [x[1] for x in changes], [x[2] for x in changes],
                          window_hours, window_hours])


def evaluated_periods(con) -> list[str]:
    return [r["period"] for r in rows(con, """
        select distinct period from evaluation_runs where finished_at is not null order by period""")]


def quarter_counts(con, run_id: str, period: str) -> Row:
    return rows(con, """
        select count(*) as changes, count(*) filter (where is_emergency) as emergencies,
               count(*) filter (where is_emergency and outcome in ('exception', 'compliant')) as closed,
               count(*) filter (where is_emergency and outcome = 'violation') as violations
        from change_outcomes where run_id = ? and period = ?""", [run_id, period])[0]
